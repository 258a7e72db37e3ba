"""Images as tokens: a vector-quantised autoencoder (VQ-VAE) and a small causal transformer that writes its tokens.

Defined in lesson 9 (``notebooks/09_vq_autoencoder.ipynb``). The encoder maps a 28x28 digit to a 7x7 grid
of vectors; each vector is replaced by its nearest entry of a learned codebook, so the image becomes 49
whole numbers (tokens). The decoder draws the image back from the codebook entries. A prior over the 49
tokens, read in raster order, then generates new token grids, which the decoder turns into digits.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

GRID = 7  # tokens per side: a 28x28 digit becomes 7 x 7 = 49 tokens


class Quantized(NamedTuple):
    """What :class:`VectorQuantizer` returns for a map of vectors (N, D, H, W)."""

    vectors: torch.Tensor  # the codebook entries, with the straight-through gradient to the encoder (N, D, H, W)
    tokens: torch.Tensor  # the index of each chosen entry (N, H, W)
    codebook_loss: torch.Tensor  # pulls the chosen entries towards the encoder's vectors
    commitment_loss: torch.Tensor  # pulls the encoder's vectors towards their entries


class VectorQuantizer(nn.Module):
    """Replace each vector of a map by its nearest codebook entry, and pass the gradient straight through.

    The nearest-entry choice has no gradient; the straight-through trick copies the decoder's gradient
    from the entry onto the encoder's vector (van den Oord et al., 2017), so the encoder still learns.
    In training mode it also counts how often each entry is chosen, and every ``reseed_every`` calls gives
    each entry chosen not once since the last time a new start: the encoder vector worst served by its own
    entry in the current batch. Why: an entry that is never chosen gets no gradient and stays unused.
    """

    def __init__(self, codebook_size: int, dim: int, reseed_every: int | None = None) -> None:
        super().__init__()
        if codebook_size < 2 or dim < 1:
            raise ValueError(f"codebook_size must be >= 2 and dim >= 1, got {codebook_size} and {dim}.")
        self.codebook = nn.Embedding(codebook_size, dim)
        nn.init.uniform_(self.codebook.weight, -1 / codebook_size, 1 / codebook_size)
        self.reseed_every = reseed_every
        self.register_buffer("usage", torch.zeros(codebook_size))  # choices since the last re-seeding
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))

    def nearest(self, flat: torch.Tensor) -> torch.Tensor:
        """The index of the nearest codebook entry to each row of ``flat`` (M, D), by squared distance."""
        entries = self.codebook.weight
        distances = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ entries.T + entries.pow(2).sum(1)
        return distances.argmin(1)

    def forward(self, vectors: torch.Tensor) -> Quantized:
        n, d, h, w = vectors.shape
        flat = vectors.permute(0, 2, 3, 1).reshape(-1, d)
        tokens = self.nearest(flat.detach())
        chosen = self.codebook(tokens)
        codebook_loss = F.mse_loss(chosen, flat.detach())
        commitment_loss = F.mse_loss(flat, chosen.detach())
        if self.training:
            self._count_and_reseed(flat.detach(), chosen.detach(), tokens)
        straight_through = flat + (chosen - flat).detach()  # forward: the entry; backward: identity to the encoder
        quantized = straight_through.view(n, h, w, d).permute(0, 3, 1, 2)
        return Quantized(quantized, tokens.view(n, h, w), codebook_loss, commitment_loss)

    @torch.no_grad()
    def _count_and_reseed(self, flat: torch.Tensor, chosen: torch.Tensor, tokens: torch.Tensor) -> None:
        self.usage += torch.bincount(tokens, minlength=len(self.usage)).to(self.usage.dtype)
        self.calls += 1
        if self.reseed_every is None or int(self.calls) % self.reseed_every:
            return
        unused = (self.usage == 0).nonzero().flatten()
        if len(unused):
            worst = (flat - chosen).pow(2).sum(1).argsort(descending=True)[:len(unused)]
            self.codebook.weight[unused[:len(worst)]] = flat[worst]
        self.usage.zero_()


class VQAutoencoder(nn.Module):
    """28x28 digits -> a 7x7 grid of ``dim``-value vectors -> tokens of a ``codebook_size`` codebook -> pixel logits.

    The decoder upsamples with nearest-neighbour + convolution (lesson 3: no checkerboard). It returns logits:
    the pixel probabilities are their sigmoid, and the loss is a Bernoulli cross-entropy, so the model's
    -log p(x | tokens) on binarised digits is in nats, comparable with lesson 6's VAE.
    """

    def __init__(self, codebook_size: int = 64, dim: int = 16, width: int = 32, reseed_every: int | None = None) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, width, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(2 * width, dim, 1),
        )
        self.quantizer = VectorQuantizer(codebook_size, dim, reseed_every)
        self.decoder = nn.Sequential(
            nn.Conv2d(dim, 2 * width, 3, padding=1), nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(2 * width, width, 3, padding=1), nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(width, 1, 3, padding=1),
        )

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """The token grid of each image, (N, 7, 7) whole numbers."""
        return self.quantizer(self.encoder(images)).tokens

    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Pixel logits (N, 1, 28, 28) for token grids (N, 7, 7)."""
        return self.decoder(self.quantizer.codebook(tokens).permute(0, 3, 1, 2))

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, Quantized]:
        """(pixel logits, the quantizer's output)."""
        quantized = self.quantizer(self.encoder(images))
        return self.decoder(quantized.vectors), quantized


def vq_loss(outputs: tuple[torch.Tensor, Quantized], images: torch.Tensor, commitment: float = 0.25) -> torch.Tensor:
    """Bernoulli cross-entropy per image (nats, summed over pixels, averaged) + the codebook and commitment terms.

    The two codebook terms are mean squared distances per value; they are scaled by the number of values in a
    grid (7 x 7 x dim) so that they weigh on the same per-image scale as the reconstruction term.
    """
    logits, quantized = outputs
    reconstruction = F.binary_cross_entropy_with_logits(logits, images, reduction="sum") / len(images)
    values = quantized.vectors[0].numel()
    return reconstruction + values * (quantized.codebook_loss + commitment * quantized.commitment_loss)


def codebook_perplexity(tokens: torch.Tensor, codebook_size: int) -> float:
    """exp(entropy) of how often each entry is used: the number of entries in effective use (1 to codebook_size)."""
    counts = torch.bincount(tokens.flatten(), minlength=codebook_size).double()
    p = counts / counts.sum()
    return math.exp(-(p[p > 0] * p[p > 0].log()).sum().item())


class TokenPrior(nn.Module):
    """A small causal transformer over token sequences read in raster order (row by row, left to right).

    ``forward(tokens)`` (N, L) returns logits (N, L, codebook_size): position i's logits predict token i from
    tokens 0..i-1 only (a start token stands before the first). Why a mask: without it position i could
    look at token i itself and the model would learn to copy instead of predict.
    """

    def __init__(self, codebook_size: int, length: int = GRID * GRID, dim: int = 64, heads: int = 4,
                 layers: int = 2) -> None:
        super().__init__()
        self.codebook_size, self.length = codebook_size, length
        self.token_embedding = nn.Embedding(codebook_size + 1, dim)  # the last index is the start token
        self.position_embedding = nn.Parameter(torch.zeros(length, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout=0.0, batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(dim, codebook_size)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(length), persistent=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        tokens = tokens.flatten(1)
        start = torch.full_like(tokens[:, :1], self.codebook_size)
        inputs = torch.cat([start, tokens[:, :-1]], dim=1)  # shifted right: position i sees tokens before i
        x = self.token_embedding(inputs) + self.position_embedding[: inputs.shape[1]]
        x = self.transformer(x, mask=self.mask[: inputs.shape[1], : inputs.shape[1]], is_causal=True)
        return self.head(x)


def prior_loss(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """The prior's negative log-likelihood, nats per token grid (summed over its tokens, averaged over grids)."""
    return F.cross_entropy(logits.transpose(1, 2), tokens.flatten(1), reduction="sum") / len(tokens)


@torch.no_grad()
def sample_tokens(prior: TokenPrior, count: int, seed: int = 0, prefix: torch.Tensor | None = None,
                  temperature: float = 1.0) -> torch.Tensor:
    """``count`` token sequences written one token at a time; ``prefix`` (count, P) fixes the first P tokens."""
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.zeros(count, prior.length, dtype=torch.long)
    start = 0 if prefix is None else prefix.shape[1]
    if prefix is not None:
        tokens[:, :start] = prefix
    was_training = prior.training
    prior.eval()
    for position in range(start, prior.length):
        logits = prior(tokens)[:, position] / temperature
        tokens[:, position] = torch.multinomial(logits.softmax(1), 1, generator=generator).flatten()
    prior.train(was_training)
    return tokens
