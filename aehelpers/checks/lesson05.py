"""The self-checks of lesson 5's exercises (``notebooks/exercises/05_autoencoder_vs_pca_exercises.ipynb``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..models import count_parameters
from ..pca import fit_pca
from ..runtime import is_quick
from .common import (
    CheckFailed, passed, require, check_shape, check_in_range, run_or_not_done, check_guess,
)


L05_K = 32  # the number of components of exercise 1


def l05_mean(mean: object, subset: torch.Tensor) -> None:
    """Exercise 1 of lesson 5: ``mean`` is the mean image of ``subset``, flattened to (784,)."""
    require("Exercise 1", mean=mean)
    check_shape("Exercise 1", "`mean`", mean, (subset[0].numel(),))
    expected = subset.flatten(1).double().mean(dim=0)
    if not torch.allclose(mean.double(), expected, atol=1e-6):
        raise CheckFailed("Exercise 1: `mean` is not the mean image of `subset`: average the flattened images over "
                          "the image axis, `flat.mean(dim=0)`.")
    passed(f"mean: the mean image, {tuple(mean.shape)}.")


def l05_components(components: object, subset: torch.Tensor) -> None:
    """Exercise 1 of lesson 5: ``components`` are the first 32 principal components of ``subset`` (any sign)."""
    require("Exercise 1", components=components)
    pixels = subset[0].numel()
    check_shape("Exercise 1", "`components`", components, (L05_K, pixels))
    basis = components.double()
    gram = basis @ basis.T
    if not torch.allclose(gram, torch.eye(L05_K, dtype=gram.dtype), atol=1e-4):
        raise CheckFailed("Exercise 1: the rows of `components` are not orthonormal (length 1, at right angles to "
                          "each other): take rows of `vh`, which torch.linalg.svd returns orthonormal.")
    # Rows of vh may differ from fit_pca's components in sign; compare what they capture instead.
    flat = subset.flatten(1).double()
    centred = flat - flat.mean(dim=0)
    reference = fit_pca(subset, L05_K).components
    captured, best = ((centred @ b.T).square().sum().item() for b in (basis, reference))
    if captured < best * (1 - 1e-6):
        raise CheckFailed(f"Exercise 1: the rows of `components` capture {captured / best:.1%} of the variance that "
                          f"PCA's first {L05_K} components capture: take the first {L05_K} rows of `vh` (`vh[:k]`), "
                          "which torch.linalg.svd sorts strongest first, from the SVD of the centred images.")
    passed(f"components: {L05_K} orthonormal rows spanning the same directions as ae.fit_pca's first {L05_K}.")


def l05_guess(my_guess: object, choices: Sequence[str]) -> None:
    """Exercise 2 of lesson 5: the written-down guess is one of ``choices``."""
    check_guess("Exercise 2", my_guess, choices)


def l05_ratio(mse_8: object, mse_32: object, my_guess: object) -> None:
    """Exercise 2 of lesson 5: PCA's test MSE with 8 and with 32 components, in range; their ratio against the guess."""
    require("Exercise 2", mse_8=mse_8, mse_32=mse_32)
    # The full run's clipped values are 0.03641 and 0.01521; without clipping they would be 0.03744 and 0.01683,
    # so the ranges are narrow enough to tell the two apart (PCA is solved exactly: no seed spread).
    for name, value, low, high, unclipped, quick_range in (("mse_8", mse_8, 0.0355, 0.0370, 0.03744, (0.025, 0.06)),
                                                            ("mse_32", mse_32, 0.0148, 0.0160, 0.01683, (0.01, 0.035))):
        if not is_quick() and isinstance(value, float) and abs(value - unclipped) < 3e-4:
            raise CheckFailed(f"Exercise 2: `{name}` is {value:.5f}, PCA's error *without* clipping. The lesson compares "
                              "with clipped PCA: `pca.reconstruct(test_images, k)` clips by default (leave out clip=False).")
        check_in_range("Exercise 2", f"{name} (PCA, k = {name[4:]})", value, low, high, quick_range=quick_range)
    ratio = mse_8 / mse_32
    outcome = "under 1.5" if ratio < 1.5 else ("1.5 to 3" if ratio <= 3 else "over 3")
    verdict = "as you guessed" if my_guess == outcome else f"you guessed {my_guess!r}"
    passed(f"k = 8 has {ratio:.2f} times the error of k = 32 ({mse_8:.5f} against {mse_32:.5f}): {verdict}.")


def l05_dense_model(model: object) -> None:
    """Exercise 3 of lesson 5: a dense autoencoder with a 2-value code: code and output shapes, pixels in [0, 1]."""
    require("Exercise 3", model=model)
    require("Exercise 3", encoder=getattr(model, "encoder", None), decoder=getattr(model, "decoder", None))
    if not isinstance(model, nn.Module) or not hasattr(model, "encode"):
        raise CheckFailed("Exercise 3: `model` should be an instance of your class, a subclass of ae.Autoencoder.")
    images = torch.rand(2, 1, 28, 28)
    code = run_or_not_done("Exercise 3", "the encoder", model.encode, images)
    check_shape("Exercise 3", "the code of 2 digits", code, (2, 2))
    output = run_or_not_done("Exercise 3", "the decoder", model.decode, code)
    check_shape("Exercise 3", "the output for 2 digits", output, (2, 1, 28, 28))
    if output.min() < 0 or output.max() > 1:
        raise CheckFailed("Exercise 3: the output leaves the pixel range 0..1: end the decoder with nn.Sigmoid() "
                          "(before the nn.Unflatten).")
    # Without its ReLU the encoder is affine, and the exercise's question (what does non-linearity buy over
    # PCA?) loses its point: an affine map satisfies f(a + b) = f(a) + f(b) - f(0), a network with ReLU does not.
    generator = torch.Generator().manual_seed(0)
    a, b = torch.rand(2, 1, 28, 28, generator=generator), torch.rand(2, 1, 28, 28, generator=generator)
    with torch.no_grad():
        gap = model.encode(a + b) - model.encode(a) - model.encode(b) + model.encode(torch.zeros_like(a))
    if gap.abs().max() < 1e-5:
        raise CheckFailed("Exercise 3: the encoder is linear (plus a bias): it can only do what PCA does. Put a "
                          "nn.ReLU() between its two Linear layers (and between the decoder's).")
    expected = 784 * 256 + 256 + 256 * 2 + 2 + 2 * 256 + 256 + 256 * 784 + 784
    if count_parameters(model) != expected:
        raise CheckFailed(f"Exercise 3: the model has {count_parameters(model):,} parameters, the exercise's "
                          f"784 -> 256 -> 2 -> 256 -> 784 layers have {expected:,}. Check the layer sizes.")
    passed(f"code (2,), output (1, 28, 28) in [0, 1]; {count_parameters(model):,} parameters.")


def l05_dense_trained(mse_dense: object, mse_pca: object) -> None:
    """Exercise 3 of lesson 5: the brief training of the dense 2-value autoencoder: test MSE in range, against PCA."""
    require("Exercise 3", mse_dense=mse_dense, mse_pca=mse_pca)
    checked = check_in_range("Exercise 3", "mse_dense", mse_dense, 0.025, 0.065, quick_range=(0.02, 0.25))
    # PCA's error with 2 components is 0.05547 in the full run (0.05567 unclipped); quick mode fits fewer images.
    check_in_range("Exercise 3", "mse_pca (PCA, k = 2)", mse_pca, 0.054, 0.057, quick_range=(0.04, 0.08))
    if checked:
        lower = "the dense autoencoder" if mse_dense < mse_pca else "PCA"
        passed(f"test MSE with a 2-value code: dense autoencoder {mse_dense:.4f}, PCA {mse_pca:.4f} ({lower} lower).")
