"""The variational autoencoder: a code that is a distribution, a loss in nats, and a log-likelihood estimate.

Defined in lesson 6 (``notebooks/06_variational_autoencoder.ipynb``); lesson 7 scores anomalies with it.
The images are MNIST *binarised by sampling* (each pixel is 1 with probability its grey level, drawn
afresh every time a batch is used), as the literature measures likelihoods: then every image is a set
of 784 yes/no pixels, the decoder gives each pixel a probability, and a log-likelihood in nats means
the same thing in every paper.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .evaluation import eval_mode, model_device
from .models import check_images


class VAEOutput(NamedTuple):
    """What a VAE's forward pass returns: the decoder's pixel logits and the code's distribution."""

    logits: torch.Tensor  # (N, 1, 28, 28): log-odds that each pixel is on
    mean: torch.Tensor  # (N, latent_size): the centre of q(z | x)
    log_var: torch.Tensor  # (N, latent_size): the log of its variance, per code value


def binarize(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each pixel on (1.0) with probability equal to its grey level, drawn from ``generator``.

    Used as a ``Recipe(augment=...)``, so every epoch sees a fresh draw (dynamic binarisation, which
    keeps the model from memorising one fixed set of black-and-white images). The random numbers come
    from the CPU generator and then move to the images' device, so a seeded run repeats on any device.
    """
    draws = torch.rand(images.shape, generator=generator).to(images.device)
    return (draws < images).to(images.dtype)


class VariationalAutoencoder(nn.Module):
    """A convolutional VAE for 28x28 binary images, with a code of ``latent_size`` values.

    The encoder ends in *two* sets of numbers per image, the mean and the log-variance of a Gaussian
    over the code; training draws the code from it with the reparameterisation trick, and the decoder
    turns a code into one logit per pixel (a Bernoulli distribution, the right model for on/off pixels).

    Args:
        latent_size: values in the code z.
        width: channels at 28x28 and 14x14; the 7x7 stage has twice as many.
    """

    def __init__(self, latent_size: int = 32, width: int = 32) -> None:
        super().__init__()
        if not isinstance(latent_size, int) or latent_size < 1:
            raise ValueError(f"latent_size must be a whole number >= 1, got {latent_size!r}.")
        self.latent_size = latent_size
        features = 2 * width * 7 * 7
        self.encoder = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ELU(),  # 1x28x28 -> w x28x28
            nn.Conv2d(width, width, 4, stride=2, padding=1), nn.ELU(),  # -> w x14x14
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ELU(),  # -> 2w x14x14
            nn.Conv2d(2 * width, 2 * width, 4, stride=2, padding=1), nn.ELU(),  # -> 2w x7x7
            nn.Flatten(),
            nn.Linear(features, 2 * latent_size),  # -> mean and log-variance, latent_size each
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_size, features), nn.ELU(),
            nn.Unflatten(1, (2 * width, 7, 7)),  # -> 2w x7x7
            nn.ConvTranspose2d(2 * width, 2 * width, 4, stride=2, padding=1), nn.ELU(),  # -> 2w x14x14
            nn.Conv2d(2 * width, width, 3, padding=1), nn.ELU(),  # -> w x14x14
            nn.ConvTranspose2d(width, width, 4, stride=2, padding=1), nn.ELU(),  # -> w x28x28
            nn.Conv2d(width, 1, 3, padding=1),  # -> 1x28x28 logits (no sigmoid: the loss takes logits)
        )

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (N, 1, 28, 28) -> the mean and log-variance of q(z | x), each (N, latent_size)."""
        check_images(images, 1, (28, 28), type(self).__name__)
        mean, log_var = self.encoder(images).chunk(2, dim=1)
        return mean, log_var

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (N, latent_size) -> pixel logits (N, 1, 28, 28); ``torch.sigmoid`` gives probabilities."""
        if codes.dim() != 2 or codes.shape[1] != self.latent_size:
            raise ValueError(f"{type(self).__name__} decodes codes of shape (batch, {self.latent_size}), "
                             f"got {tuple(codes.shape)}.")
        return self.decoder(codes)

    def forward(self, images: torch.Tensor) -> VAEOutput:
        mean, log_var = self.encode(images)
        # The reparameterisation trick: z = mean + std * noise. The noise carries the randomness, so
        # gradients flow through mean and std to the encoder.
        codes = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        return VAEOutput(self.decode(codes), mean, log_var)


def elbo_terms(outputs: VAEOutput, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The two terms of the negative ELBO, per image, in nats: (reconstruction, KL divergence).

    reconstruction = -log p(x | z), the Bernoulli cross-entropy of all pixels for the sampled code;
    KL = KL(q(z | x) || N(0, I)), in closed form for two Gaussians.
    """
    reconstruction = F.binary_cross_entropy_with_logits(outputs.logits, images, reduction="none").flatten(1).sum(1)
    kl = 0.5 * (outputs.mean.pow(2) + outputs.log_var.exp() - 1 - outputs.log_var).sum(1)
    return reconstruction, kl


def negative_elbo(outputs: VAEOutput, images: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
    """The VAE's loss: reconstruction + beta * KL, averaged over the batch (nats per image).

    With beta = 1 it is the negative evidence lower bound, an upper bound on -log p(x); a beta-VAE
    weighs the KL term more (beta > 1) or less (beta < 1).
    """
    reconstruction, kl = elbo_terms(outputs, images)
    return (reconstruction + beta * kl).mean()


def reconstruction_nats(outputs: VAEOutput, images: torch.Tensor) -> torch.Tensor:
    """The reconstruction term alone, averaged over the batch (for the per-epoch curves)."""
    return elbo_terms(outputs, images)[0].mean()


def kl_nats(outputs: VAEOutput, images: torch.Tensor) -> torch.Tensor:
    """The KL term alone, averaged over the batch (for the per-epoch curves)."""
    return elbo_terms(outputs, images)[1].mean()


def _draw_codes(model: VariationalAutoencoder, images: torch.Tensor, samples: int,
                generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """(mean, log_var, noise, codes): ``samples`` codes per image drawn from q(z | x), codes (samples, N, d).

    The noise comes from ``generator`` on the CPU, so every estimate below repeats exactly on any device.
    """
    mean, log_var = model.encode(images)
    noise = torch.randn((samples, *mean.shape), generator=generator).to(mean.device)
    return mean, log_var, noise, mean + torch.exp(0.5 * log_var) * noise


def log_importance_weights(model: VariationalAutoencoder, images: torch.Tensor, samples: int,
                           generator: torch.Generator) -> torch.Tensor:
    """log p(x, z_k) - log q(z_k | x) for ``samples`` codes z_k drawn from q per image: (samples, N).

    Each is the log of one importance weight p(x, z_k) / q(z_k | x); the mean of the weights estimates
    p(x). Why logs: for a whole digit p(x, z) is around e^-100, below the smallest float32 number.
    """
    _, log_var, noise, codes = _draw_codes(model, images, samples, generator)
    logits = model.decode(codes.flatten(0, 1)).view(samples, *images.shape)
    log_p_x = -F.binary_cross_entropy_with_logits(logits, images.expand_as(logits), reduction="none").flatten(2).sum(2)
    log_p_z = -0.5 * (codes.pow(2) + math.log(2 * math.pi)).sum(2)
    log_q_z = -0.5 * (noise.pow(2) + log_var + math.log(2 * math.pi)).sum(2)
    return log_p_x + log_p_z - log_q_z


@torch.inference_mode()
def importance_weighted_nll(model: VariationalAutoencoder, images: torch.Tensor, samples: int = 100,
                            seed: int = 0, batch_size: int = 100) -> torch.Tensor:
    """An estimate of -log p(x) per image, in nats, from ``samples`` codes per image (Burda et al., 2016).

    -log (1/K sum_k p(x, z_k) / q(z_k | x)), with z_k drawn from q(z | x). With K = 1 it is the negative
    ELBO (on average); as K grows it falls towards the true -log p(x) and never goes below it on
    average. Why the log-sum-exp: the K ratios are far too small to add as plain numbers.
    """
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples!r}.")
    generator = torch.Generator().manual_seed(seed)
    device = model_device(model)
    with eval_mode(model):
        nll = [-(torch.logsumexp(log_importance_weights(model, batch.to(device), samples, generator).double(), 0)
                 - math.log(samples)).float().cpu() for batch in images.split(batch_size)]
    return torch.cat(nll)


@torch.inference_mode()
def elbo_terms_per_image(model: VariationalAutoencoder, images: torch.Tensor, seed: int = 0,
                         batch_size: int = 1_000) -> tuple[torch.Tensor, torch.Tensor]:
    """The loss's two terms for each image (nats): (reconstruction, KL), one code drawn per image.

    The code is drawn from a seeded generator, so the same model and images always give the same
    numbers; their sum is the image's negative ELBO.
    """
    generator = torch.Generator().manual_seed(seed)
    device = model_device(model)
    terms = []
    with eval_mode(model):
        for batch in images.split(batch_size):
            batch = batch.to(device)
            mean, log_var, _, codes = _draw_codes(model, batch, 1, generator)
            outputs = VAEOutput(model.decode(codes[0]), mean, log_var)
            terms.append([term.cpu() for term in elbo_terms(outputs, batch)])
    return torch.cat([t[0] for t in terms]), torch.cat([t[1] for t in terms])


@torch.inference_mode()
def sample_images(model: VariationalAutoencoder, count: int, seed: int = 0) -> torch.Tensor:
    """``count`` new images from the prior: codes z ~ N(0, I), decoded to pixel probabilities (N, 1, 28, 28)."""
    codes = torch.randn((count, model.latent_size), generator=torch.Generator().manual_seed(seed))
    return decode_to_probabilities(model, codes)


@torch.inference_mode()
def decode_to_probabilities(model: VariationalAutoencoder, codes: torch.Tensor) -> torch.Tensor:
    """Decode codes to pixel probabilities on the CPU (the grey level shown is each pixel's chance of being on)."""
    with eval_mode(model):
        return torch.sigmoid(model.decode(codes.to(model_device(model)))).cpu()
