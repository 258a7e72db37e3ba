"""Sparse autoencoders: a wide, sparse code for a trained network's activations, and the field's metrics.

For lesson 8 (issue #31; the lesson itself is not written yet). A sparse autoencoder (SAE) rewrites each
activation vector of a layer as a sum of a few directions out of many (the decoder's columns), so that
each direction can be read on its own. Two kinds: a ReLU code with an L1 penalty, and a TopK code that
keeps the k largest values (Gao et al., 2024), with the AuxK loss that gives unused latents a gradient.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SparseAutoencoder(nn.Module):
    """``input_size`` activations -> ``latent_size`` latents (ReLU, or the ``k`` largest) -> ``input_size``.

    The decoder's bias is subtracted before encoding and added back after decoding, so the code describes
    how an activation departs from the typical one. Decoder columns are kept at unit norm
    (:func:`normalise_decoder_`); why: otherwise an L1 penalty is dodged by shrinking the code and growing
    the columns, and latents could not be compared by their values.

    Args:
        k: ``None`` for a ReLU code (sparse through an L1 penalty in the loss); a number for a TopK code.
    """

    def __init__(self, input_size: int, latent_size: int, k: int | None = None) -> None:
        super().__init__()
        if k is not None and not 1 <= k <= latent_size:
            raise ValueError(f"k must be between 1 and latent_size ({latent_size}), got {k!r}.")
        self.k = k
        self.encoder = nn.Linear(input_size, latent_size)
        self.decoder = nn.Linear(latent_size, input_size)
        with torch.no_grad():  # start with the encoder as the decoder's transpose: each latent reads its column
            self.decoder.weight.copy_(F.normalize(torch.randn(input_size, latent_size), dim=0))
            self.encoder.weight.copy_(self.decoder.weight.T)
            self.encoder.bias.zero_()
            self.decoder.bias.zero_()

    def pre_activations(self, inputs: torch.Tensor) -> torch.Tensor:
        """The latents before the sparsity step, (N, latent_size)."""
        return self.encoder(inputs - self.decoder.bias)

    def encode(self, inputs: torch.Tensor) -> torch.Tensor:
        """The sparse code, (N, latent_size): ReLU, or the ``k`` largest values (after a ReLU), the rest 0."""
        latents = F.relu(self.pre_activations(inputs))
        return latents if self.k is None else keep_largest(latents, self.k)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        return self.decoder(codes)

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction, code)."""
        codes = self.encode(inputs)
        return self.decode(codes), codes


def keep_largest(latents: torch.Tensor, k: int) -> torch.Tensor:
    """The ``k`` largest values of each row kept in place, every other value set to 0 (the TopK step)."""
    top = latents.topk(k, dim=1)
    return torch.zeros_like(latents).scatter(1, top.indices, top.values)


@torch.no_grad()
def normalise_decoder_(sae: SparseAutoencoder) -> None:
    """Scale every decoder column to unit length, in place (after each optimiser step)."""
    sae.decoder.weight.div_(sae.decoder.weight.norm(dim=0, keepdim=True).clamp_min(1e-8))


def l1_loss(sae: SparseAutoencoder, inputs: torch.Tensor, l1_coefficient: float) -> torch.Tensor:
    """The ReLU SAE's loss: squared error per input (summed over its values) + ``l1_coefficient`` * L1 of the code."""
    reconstruction, codes = sae(inputs)
    return (reconstruction - inputs).pow(2).sum(1).mean() + l1_coefficient * codes.abs().sum(1).mean()


def auxk_loss(sae: SparseAutoencoder, inputs: torch.Tensor, dead: torch.Tensor, k_aux: int) -> torch.Tensor:
    """Gao et al.'s AuxK term: the ``k_aux`` largest *dead* latents try to rebuild what the code left over.

    ``dead`` is a boolean mask over the latents. Why: a latent that never fires gets no gradient from the
    main loss; this term gives the dead ones a job (the residual), so they can come back to life.
    """
    if not dead.any():
        return inputs.new_zeros(())
    reconstruction, _ = sae(inputs)
    residual = (inputs - reconstruction).detach()
    latents = F.relu(sae.pre_activations(inputs)).masked_fill(~dead, 0.0)
    codes = keep_largest(latents, min(k_aux, int(dead.sum())))
    return (codes @ sae.decoder.weight.T - residual).pow(2).sum(1).mean()


def fraction_of_variance_explained(inputs: torch.Tensor, reconstruction: torch.Tensor) -> float:
    """1 - (squared error) / (squared distance from the mean input): 1 is perfect, 0 no better than the mean."""
    error = (inputs - reconstruction).pow(2).sum()
    spread = (inputs - inputs.mean(0)).pow(2).sum()
    return (1 - error / spread).item()


def mean_l0(codes: torch.Tensor) -> float:
    """Latents that are not zero, per input, on average (L0)."""
    return (codes != 0).sum(1).float().mean().item()


def dead_fraction(codes: torch.Tensor) -> float:
    """The share of latents that are zero for every input given (dead on this set)."""
    return (codes != 0).any(0).logical_not().float().mean().item()
