"""Data augmentation on whole batches of in-memory images (no per-image Python, no PIL).

With only 2,040 labelled flowers, a classifier soon learns the training images by heart. Showing
it a new random crop, mirror image and colour shift of every flower in every epoch makes that much
harder, so it has to learn what a species looks like instead. Each batch is transformed at once
with one affine sampling grid per image, so augmentation costs little next to the model.

Defined in lessons 4a and 4b (``notebooks/04a_flowers_course_classifiers.ipynb``, ``04b_flowers_residual_classifier.ipynb``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .data import flowers_to_float


def _uniform(count: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(count, generator=generator)


def random_resized_crop(
    images: torch.Tensor,
    size: int,
    generator: torch.Generator,
    scale: tuple[float, float] = (0.35, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    flip: bool = True,
) -> torch.Tensor:
    """Cut a random rectangle from each image (``scale``: its share of the area), resize it to ``size``.

    With ``flip`` half the crops are mirrored left-right. The crop is expressed as an affine map
    from output to input coordinates and sampled bilinearly, for the whole batch in one call.
    Works on float images (N, C, H, W); returns (N, C, size, size).
    """
    n = len(images)
    area = _uniform(n, *scale, generator)
    log_ratio = _uniform(n, math.log(ratio[0]), math.log(ratio[1]), generator)
    aspect = torch.exp(log_ratio)
    # Width and height of the crop as fractions of the image's, clipped to fit inside it.
    width = torch.sqrt(area * aspect).clamp(max=1.0)
    height = torch.sqrt(area / aspect).clamp(max=1.0)
    # The crop's centre, in the [-1, 1] coordinates of affine_grid, anywhere that keeps it inside.
    centre_x = (1 - width) * (2 * torch.rand(n, generator=generator) - 1)
    centre_y = (1 - height) * (2 * torch.rand(n, generator=generator) - 1)
    mirror = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0) if flip else torch.ones(n)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = width * mirror
    theta[:, 0, 2] = centre_x
    theta[:, 1, 1] = height
    theta[:, 1, 2] = centre_y
    theta = theta.to(images.device, images.dtype)
    grid = F.affine_grid(theta, [n, images.shape[1], size, size], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def colour_jitter(images: torch.Tensor, generator: torch.Generator, strength: float = 0.3) -> torch.Tensor:
    """Random brightness, contrast and saturation per image, each by a factor in [1-strength, 1+strength].

    Works on images in [-1, 1] and keeps them there. Flowers of one species vary in light and
    shade; the species is in the shape and the pattern, which this leaves alone.
    """
    n = len(images)

    def factor() -> torch.Tensor:
        return _uniform(n, 1 - strength, 1 + strength, generator).view(n, 1, 1, 1).to(images.device, images.dtype)

    x = (images + 1) / 2  # to [0, 1], where brightness is a plain product
    x = x * factor()
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * factor() + mean
    grey = x.mean(dim=1, keepdim=True)
    x = (x - grey) * factor() + grey
    return x.clamp(0, 1) * 2 - 1


class FlowerAugmenter:
    """Turns a batch of uint8 training images into augmented [-1, 1] floats of ``size`` pixels.

    Called by ``fit`` as ``augment(batch, generator)`` on every training batch (never on test
    images), drawing all its randomness from the generator, so a seeded run repeats exactly.
    """

    def __init__(self, size: int, scale: tuple[float, float] = (0.35, 1.0), jitter: float = 0.3) -> None:
        self.size, self.scale, self.jitter = size, scale, jitter

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        x = random_resized_crop(flowers_to_float(images), self.size, generator, scale=self.scale)
        return colour_jitter(x, generator, self.jitter) if self.jitter > 0 else x

    def __repr__(self) -> str:
        return f"FlowerAugmenter(size={self.size}, scale={self.scale}, jitter={self.jitter})"


def resize_for_eval(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 images -> [-1, 1] floats of ``size`` pixels, whole image, no randomness (for testing)."""
    x = flowers_to_float(images)
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
