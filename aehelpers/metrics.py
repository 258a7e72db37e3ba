"""How good is a reconstruction? Per-image mean squared error and PSNR.

Defined in lesson 1 (``notebooks/01_conv_autoencoder.ipynb``).
"""

from __future__ import annotations

import torch
from torch import nn

from .evaluation import predict

# PSNR of a perfect reconstruction is infinite; flooring the error at 1e-10 caps it at 100 dB,
# so a mean over images stays finite.
_MIN_MSE = 1e-10


def mse_per_image(reconstructions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean squared error of each image over its pixels: a tensor of shape (N,)."""
    if reconstructions.shape != targets.shape:
        raise ValueError(f"Shapes differ: reconstructions {tuple(reconstructions.shape)}, targets {tuple(targets.shape)}.")
    return (reconstructions.float() - targets.float()).pow(2).flatten(1).mean(dim=1)


def psnr_per_image(reconstructions: torch.Tensor, targets: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio of each image in decibels: 10 log10(range^2 / MSE).

    Higher is better; every halving of the error adds about 3 dB.
    """
    mse = mse_per_image(reconstructions, targets).clamp_min(_MIN_MSE)
    return 10.0 * torch.log10(data_range**2 / mse)


def reconstruction_scores(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None) -> dict[str, float]:
    """Test-set MSE (per pixel) and mean per-image PSNR of ``model``'s outputs against ``targets``.

    ``targets`` defaults to ``inputs`` (plain autoencoding); a denoiser gets noisy inputs and clean targets.
    """
    targets = inputs if targets is None else targets
    outputs = predict(model, inputs)
    return {
        "mse": mse_per_image(outputs, targets).mean().item(),
        "psnr": psnr_per_image(outputs, targets).mean().item(),
    }


def tile_error_map(reconstructions: torch.Tensor, targets: torch.Tensor, period: int = 4) -> torch.Tensor:
    """Mean squared error by position inside ``period`` x ``period`` tiles: a (period, period) map.

    Digits sit anywhere relative to the tile grid, so a decoder that treats every pixel alike
    makes the same error at every tile position; a decoder that paints tiles does not.

    Defined in lesson 1 (``notebooks/01_conv_autoencoder.ipynb``).
    """
    error = (reconstructions.float() - targets.float()).pow(2).flatten(0, -3)  # (N, H, W)
    height, width = error.shape[-2:]
    if height % period or width % period:
        raise ValueError(f"Image size {height}x{width} is not a multiple of the period {period}.")
    tiles = error.reshape(-1, height // period, period, width // period, period)
    return tiles.mean(dim=(0, 1, 3))


def checkerboard_score(reconstructions: torch.Tensor, targets: torch.Tensor, period: int = 4) -> float:
    """How unevenly the error falls on the positions of a ``period``-pixel tile grid.

    The standard deviation of :func:`tile_error_map` divided by its mean: 0 means every position in
    a tile is reconstructed equally well; 0.25 means positions differ by about 25 % of the mean error.
    The image border (zero padding) touches only the outermost tiles, so it barely moves the score.

    Defined in lesson 3 (``notebooks/03_upsampling_autoencoder.ipynb``).
    """
    tile_map = tile_error_map(reconstructions, targets, period)
    return (tile_map.std() / tile_map.mean()).item()


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]  # (1, 1, size, size)


def ssim_per_image(images: torch.Tensor, targets: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Structural similarity (Wang et al., 2004) of each grey-scale image with its target: shape (N,).

    Written here (rather than taken from a library) with the paper's standard settings: an 11x11
    Gaussian window of sigma 1.5, K1 = 0.01, K2 = 0.03, statistics over the valid window positions.
    SSIM compares local brightness, contrast and structure, so it punishes blur and speckle more
    the way an eye does than MSE; 1.0 means identical.

    Defined in lesson 2 (``notebooks/02_denoising_autoencoder.ipynb``).
    """
    if images.shape != targets.shape or images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"Expected two grey-scale batches of one shape (N, 1, H, W), got {tuple(images.shape)} and {tuple(targets.shape)}.")
    x, y = images.float(), targets.float()
    window = _gaussian_window().to(x.device)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(t: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.conv2d(t, window)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return ssim_map.flatten(1).mean(dim=1)
