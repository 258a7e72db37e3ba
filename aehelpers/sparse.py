"""Sparse autoencoders: a wide, sparse code for a trained network's activations, and the field's metrics.

Defined in lesson 8 (``notebooks/08_sparse_autoencoders.ipynb``). A sparse autoencoder (SAE) rewrites each
activation vector of a layer as a sum of a few directions out of many (the decoder's columns), so that
each direction can be read on its own. Two kinds: a ReLU code with an L1 penalty, and a TopK code that
keeps the k largest values (Gao et al., 2024), with the AuxK loss that gives unused latents a gradient.
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
from torch import nn

from .history import History
from .training import StopOnCtrlC, batch_indices


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


def reconstruction_error(reconstruction: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """Squared error per input, summed over its values, averaged over the inputs (the SAE's main loss)."""
    return (reconstruction - inputs).pow(2).sum(1).mean()


def l1_penalty(codes: torch.Tensor) -> torch.Tensor:
    """The L1 norm of each code, averaged: what the ReLU SAE pays per unit of activity, so it stays sparse."""
    return codes.abs().sum(1).mean()


def auxk_loss(sae: SparseAutoencoder, inputs: torch.Tensor, reconstruction: torch.Tensor, dead: torch.Tensor,
              k_aux: int) -> torch.Tensor:
    """Gao et al.'s AuxK term: the ``k_aux`` largest *dead* latents try to rebuild what the code left over.

    ``dead`` is a boolean mask over the latents. Why: a latent that never fires gets no gradient from the
    main loss; this term gives the dead ones a job (the residual), so they can come back to life.
    """
    if not dead.any():
        return inputs.new_zeros(())
    residual = (inputs - reconstruction).detach()
    latents = F.relu(sae.pre_activations(inputs)).masked_fill(~dead, 0.0)
    codes = keep_largest(latents, min(k_aux, int(dead.sum())))
    return reconstruction_error(codes @ sae.decoder.weight.T, residual)


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


def train_sae(sae: SparseAutoencoder, activations: torch.Tensor, *, num_epochs: int, batch_size: int = 1024,
              lr: float = 3e-3, l1_coefficient: float = 0.0, auxk_coefficient: float = 0.0, k_aux: int = 64,
              seed: int = 0) -> History:
    """Train ``sae`` to rebuild ``activations`` (N, input_size) with Adam; the history of the run.

    Each step: squared error (+ ``l1_coefficient`` x L1 of the code; + ``auxk_coefficient`` x the AuxK term on
    the latents that fired on none of the last epoch's worth of inputs), an Adam step, then the decoder's
    columns back to unit length. The learning rate falls linearly to 0 over the second half of the run. The
    decoder bias starts at the mean activation; why: the code then describes departures from the typical
    activation from the first step. ``History.train_loss`` holds the squared error per input of each epoch,
    ``History.test_scores["dead share"]`` the share of latents that fired on none of the epoch's inputs.
    Trains in seconds, so it keeps no checkpoint; Ctrl-C stops it after the current batch (nothing shipped).
    """
    if num_epochs < 1 or batch_size < 1 or not lr > 0:
        raise ValueError(f"num_epochs and batch_size must be >= 1 and lr > 0, got {num_epochs}, {batch_size}, {lr}.")
    if activations.ndim != 2 or activations.shape[1] != sae.decoder.out_features:
        raise ValueError(f"activations must be (N, {sae.decoder.out_features}), got {tuple(activations.shape)}.")
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        sae.decoder.bias.copy_(activations.mean(0))
    optimizer = torch.optim.Adam(sae.parameters(), lr=lr)
    steps_per_epoch = math.ceil(len(activations) / batch_size)
    total_steps = num_epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, 2 * (1 - step / total_steps)))
    steps_since_fired = torch.zeros(sae.decoder.in_features, dtype=torch.long)
    history = History()
    with StopOnCtrlC() as stop:
        for _ in range(num_epochs):
            started = time.perf_counter()
            error_sum, fired = 0.0, torch.zeros_like(steps_since_fired, dtype=torch.bool)
            for indices in batch_indices(len(activations), batch_size, generator):
                inputs = activations[indices]
                reconstruction, codes = sae(inputs)
                error = reconstruction_error(reconstruction, inputs)
                loss = error + l1_coefficient * l1_penalty(codes)
                active = (codes != 0).any(0)
                fired |= active
                steps_since_fired = torch.where(active, 0, steps_since_fired + 1)
                dead = steps_since_fired >= steps_per_epoch
                if auxk_coefficient > 0:
                    loss = loss + auxk_coefficient * auxk_loss(sae, inputs, reconstruction, dead, k_aux)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
                normalise_decoder_(sae)
                error_sum += error.item() * len(indices)
                if stop.requested:
                    history.interrupted = True
                    print(f"Stopped by Ctrl-C after {history.epochs} finished epochs; nothing was shipped.")
                    return history
            history.record_epoch(error_sum / len(activations), float("nan"), time.perf_counter() - started, None)
            history.test_scores.setdefault("dead share", []).append(1 - fired.float().mean().item())
    return history


def label_purity(activations: torch.Tensor, labels: torch.Tensor, top: int = 50) -> tuple[torch.Tensor, torch.Tensor]:
    """(purity, commonest label) of every unit (column): the share of its ``top`` most-activating inputs that
    carry the commonest label among them. NaN for a unit active on fewer than ``top`` inputs: too rare to judge.

    Why this measure: it needs no human judgement, only labels, so neurons and features are scored alike.
    """
    values, rows = activations.topk(top, dim=0)
    counts = F.one_hot(labels[rows], int(labels.max()) + 1).sum(0)  # (units, classes)
    most, commonest = counts.max(1)
    purity = most.float() / top
    return purity.masked_fill(values[-1] <= 0, float("nan")), commonest


def remove_latents(sae: SparseAutoencoder, activations: torch.Tensor, switched_off: torch.Tensor) -> torch.Tensor:
    """``activations`` with some latents' parts taken out: in row i, those True in row i of ``switched_off``.

    A latent's part is its value times its decoder column; ``switched_off`` is a boolean (N, latent_size) mask.
    Taken out of the activations themselves, not out of the SAE's reconstruction; why: everything else the
    network had, including what the SAE fails to rebuild, stays as it was, so a change is those latents' doing.
    """
    codes = sae.encode(activations) * switched_off
    return activations - codes @ sae.decoder.weight.T
