"""The metrics the lessons write by hand agree with the well-kept implementations.

SSIM (lesson 2) against scikit-image's ``structural_similarity``; the AUROC and the ROC curve (lesson 7)
against scikit-learn's ``roc_auc_score`` and ``roc_curve``. scikit-image is needed by this test only.
"""

import numpy as np
import pytest
import torch

import aehelpers as ae

skimage_metrics = pytest.importorskip("skimage.metrics", reason="scikit-image is in requirements.txt for this test")
sklearn_metrics = pytest.importorskip("sklearn.metrics")


def digit_pairs(count: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    """Blurry strokes and noisy copies of them: (N, 1, 28, 28) in [0, 1], as a denoiser's outputs and targets."""
    generator = torch.Generator().manual_seed(0)
    clean = torch.zeros(count, 1, 28, 28)
    for i in range(count):
        row = 6 + 2 * i
        clean[i, 0, row:row + 3, 5:23] = 1.0
        clean[i, 0, 4:24, 10 + i:13 + i] = 0.8
    noisy = (clean + 0.3 * torch.randn(clean.shape, generator=generator)).clamp(0, 1)
    return noisy, clean


def test_ssim_matches_scikit_image():
    images, targets = digit_pairs()
    ours = ae.ssim_per_image(images, targets)
    theirs = [skimage_metrics.structural_similarity(x[0].double().numpy(), y[0].double().numpy(), data_range=1.0,
                                                    gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
              for x, y in zip(images, targets)]
    np.testing.assert_allclose(ours.numpy(), theirs, atol=1e-5)
    assert ours.min() < 0.9, "the pairs must differ, or the comparison would only test identical images"


@pytest.mark.parametrize("tied", [False, True], ids=["distinct scores", "tied scores"])
def test_auroc_and_roc_curve_match_scikit_learn(tied):
    generator = torch.Generator().manual_seed(1)
    is_anomaly = torch.rand(500, generator=generator) < 0.3
    scores = torch.randn(500, generator=generator) + 1.2 * is_anomaly
    if tied:
        scores = (scores * 2).round() / 2  # many equal scores: ties count one half
    assert ae.auroc(scores, is_anomaly) == pytest.approx(sklearn_metrics.roc_auc_score(is_anomaly, scores), abs=1e-12)
    false_alarms, detections = ae.roc_curve(scores, is_anomaly)
    fpr, tpr, _ = sklearn_metrics.roc_curve(is_anomaly, scores, drop_intermediate=False)
    np.testing.assert_allclose(false_alarms.numpy(), fpr, atol=1e-12)
    np.testing.assert_allclose(detections.numpy(), tpr, atol=1e-12)
    assert ae.average_precision(scores, is_anomaly) == pytest.approx(
        sklearn_metrics.average_precision_score(is_anomaly, scores), abs=1e-12)
