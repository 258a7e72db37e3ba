"""How a run trains, and the order of its batches: shared by ``fit``'s eager loop and its CUDA-graph path.

Defined in lesson 1 (``notebooks/01_conv_autoencoder.ipynb``). Why a module of its own: ``training``
(the eager loop and ``fit``) and ``cuda_graphs`` (the GPU path) both need these few names, and with them
here the imports run one way only: ``training`` -> ``cuda_graphs`` -> ``recipe``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .evaluation import LossFn

# Turns clean images into the model's input, e.g. by adding noise (lesson 2), or augments them
# (lesson 4). It must draw its randomness from the generator it is given, so a seeded run repeats.
InputMaker = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite; the message names the epoch, the batch and a fix."""


@dataclass(frozen=True)
class Recipe:
    """How to train, beyond the basics (epochs, batch size, learning rate) that ``fit`` takes itself.

    Attributes:
        loss_fn: compares the model's outputs with the targets (MSE for images, cross-entropy for labels).
        make_inputs: turns each clean batch into the model's input (a denoiser's noise); the clean
            images stay the targets.
        augment: changes each training batch at random (never the test images).
        warmup_epochs: epochs over which the learning rate rises linearly from near zero to ``lr``.
        cosine: after the warm-up, let the learning rate fall along a cosine towards zero.
        weight_decay: decoupled weight decay (AdamW's), which shrinks the weights a little every step.
        keep_best: at the end, give the model back the weights of its best epoch on the held-out
            images (highest accuracy for a classifier, else lowest loss).
        extra_scores: more scores of the held-out images per epoch, by name (lesson 6 follows the two
            terms of its loss); recorded in ``History.test_scores``.
    """

    loss_fn: LossFn = F.mse_loss
    make_inputs: InputMaker | None = None
    augment: InputMaker | None = None
    warmup_epochs: float = 0.0
    cosine: bool = False
    weight_decay: float = 0.0
    keep_best: bool = False
    extra_scores: dict[str, LossFn] = field(default_factory=dict)


def batch_indices(count: int, batch_size: int, generator: torch.Generator, shuffle: bool = True) -> Iterator[torch.Tensor]:
    """Yield index tensors that cover ``range(count)`` once, in a seeded random order.

    Slicing in-memory tensors with these indices replaces a ``DataLoader``: no per-image Python
    work, no worker processes, and the order depends only on the generator's seed.
    """
    order = torch.randperm(count, generator=generator) if shuffle else torch.arange(count)
    yield from order.split(batch_size)
