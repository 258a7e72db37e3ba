"""The self-checks of lesson 5's exercises (``notebooks/exercises/05_autoencoder_vs_pca_exercises.ipynb``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..models import count_parameters
from ..pca import fit_pca
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
    check_in_range("Exercise 2", "mse_8 (PCA, k = 8)", mse_8, 0.03, 0.045, quick_range=(0.025, 0.06))
    check_in_range("Exercise 2", "mse_32 (PCA, k = 32)", mse_32, 0.012, 0.02, quick_range=(0.01, 0.035))
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
    passed(f"code (2,), output (1, 28, 28) in [0, 1]; {count_parameters(model):,} parameters.")


def l05_dense_trained(mse_dense: object, mse_pca: object) -> None:
    """Exercise 3 of lesson 5: the brief training of the dense 2-value autoencoder: test MSE in range, against PCA."""
    require("Exercise 3", mse_dense=mse_dense, mse_pca=mse_pca)
    checked = check_in_range("Exercise 3", "mse_dense", mse_dense, 0.025, 0.065, quick_range=(0.02, 0.25))
    if checked:
        lower = "the dense autoencoder" if mse_dense < mse_pca else "PCA"
        passed(f"test MSE with a 2-value code: dense autoencoder {mse_dense:.4f}, PCA {mse_pca:.4f} ({lower} lower).")
