"""The self-checks of lesson 6's exercises (``notebooks/exercises/06_variational_autoencoder_exercises.ipynb``)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from ..evaluation import model_device
from .common import (
    CheckFailed, passed, require, check_shape, check_guess,
)


def _as_number(exercise: str, name: str, value: object) -> float:
    """``value`` as a Python float: a number or a one-element tensor; a tensor of many values is a CheckFailed."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise CheckFailed(f"{exercise}: {name} is a tensor of shape {tuple(value.shape)}, one value per image; "
                              "take the mean over the images as one number: `.mean().item()`.")
        return value.item()
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise CheckFailed(f"{exercise}: {name} should be a number, got a {type(value).__name__} ({value!r}).")
    return float(value)


def l06_codes(codes: object, mean: torch.Tensor, log_var: torch.Tensor, noise: torch.Tensor) -> None:
    """Exercise 1 of lesson 6: the reparameterisation trick, ``codes = mean + exp(0.5 * log_var) * noise``."""
    require("Exercise 1", codes=codes)
    check_shape("Exercise 1", "`codes`", codes, tuple(mean.shape))
    std = torch.exp(0.5 * log_var)
    expected = mean + std * noise
    if torch.allclose(codes, expected, atol=1e-5):
        passed(f"codes = mean + exp(0.5 * log_var) * noise, {tuple(codes.shape)}: one code drawn per image.")
        return
    # The usual slips, each named: why the learner's codes differ, not only that they do.
    mistakes = [
        (mean + torch.exp(log_var) * noise, "the noise is scaled by the variance exp(log_var); scale it by the "
                                            "standard deviation, its square root: exp(0.5 * log_var)"),
        (mean + log_var * noise, "the noise is scaled by log_var itself, which can be negative; the standard "
                                 "deviation is exp(0.5 * log_var)"),
        (mean + noise, "the noise is not scaled: multiply it by the standard deviation exp(0.5 * log_var)"),
        (mean, "there is no noise: the codes are the means; add exp(0.5 * log_var) * noise"),
        (std * noise, "the mean is missing: add `mean` to the scaled noise"),
    ]
    for wrong, why in mistakes:
        if torch.allclose(codes, wrong, atol=1e-5):
            raise CheckFailed(f"Exercise 1: {why}.")
    worst = (codes - expected).abs().max().item()
    raise CheckFailed(f"Exercise 1: `codes` differs from mean + exp(0.5 * log_var) * noise by up to {worst:.3g}. "
                      "Use the `noise` given in the cell (not fresh random numbers), and the formula exactly.")


def l06_kl(kl: object, mean: torch.Tensor, log_var: torch.Tensor) -> None:
    """Exercise 1 of lesson 6: the KL term per image, 0.5 * sum_j(mean_j^2 + var_j - 1 - log var_j), shape (N,).

    Compared with this check's own closed form and with ``ae.elbo_terms`` (which the lesson trains with),
    so a learner's formula is tested against the code the lesson actually uses.
    """
    from ..vae import VAEOutput, elbo_terms  # lesson 6's loss; imported here as no other check needs it

    require("Exercise 1", kl=kl)
    expected = 0.5 * (mean.pow(2) + log_var.exp() - 1 - log_var).sum(dim=1)
    dummy = torch.zeros(len(mean), 1, 28, 28)  # elbo_terms needs pixels too; only its KL term is used here
    library = elbo_terms(VAEOutput(dummy, mean, log_var), dummy)[1]
    if not isinstance(kl, torch.Tensor):
        raise CheckFailed(f"Exercise 1: `kl` should be a tensor of shape ({len(mean)},), one value per image, "
                          f"got a {type(kl).__name__}.")
    if tuple(kl.shape) == tuple(mean.shape):
        raise CheckFailed(f"Exercise 1: `kl` has shape {tuple(kl.shape)}, one value per image and code value: sum "
                          "over the code values (`.sum(dim=1)`) to get one number per image.")
    if kl.numel() == 1:
        raise CheckFailed(f"Exercise 1: `kl` is one number; it should have one value per image, shape ({len(mean)},): "
                          "sum over the code values only (`.sum(dim=1)`), not over the images too.")
    check_shape("Exercise 1", "`kl`", kl, (len(mean),))
    if torch.allclose(kl, 2 * expected, rtol=1e-4, atol=1e-4):
        raise CheckFailed("Exercise 1: `kl` is twice the KL divergence: the formula starts with a factor 0.5.")
    if not torch.allclose(kl, expected, rtol=1e-4, atol=1e-4):
        raise CheckFailed(f"Exercise 1: the first image's `kl` is {kl[0].item():.4f} nats; the closed form "
                          f"0.5 * sum(mean^2 + exp(log_var) - 1 - log_var) gives {expected[0].item():.4f}. The "
                          "variance is exp(log_var), and log var is log_var itself.")
    assert torch.allclose(expected, library, rtol=1e-4, atol=1e-4), "ae.elbo_terms and the closed form disagree"
    passed(f"KL per image, {tuple(kl.shape)}, the same as ae.elbo_terms: mean {kl.mean().item():.2f} nats over "
           f"these {len(kl)} images.")


L06_DROP_CHOICES = ("under 1 nat", "1 to 10 nats", "over 10 nats")


L06_SAMPLES = (1, 10, 100)  # exercise 2's numbers of importance samples K


def l06_guess(my_guess: object) -> None:
    """Exercise 2 of lesson 6: the written-down guess is one of ``L06_DROP_CHOICES``."""
    check_guess("Exercise 2", my_guess, L06_DROP_CHOICES)


def _drop_outcome(drop: float) -> str:
    return L06_DROP_CHOICES[0] if drop < 1 else (L06_DROP_CHOICES[1] if drop <= 10 else L06_DROP_CHOICES[2])


def l06_importance(nll: object, model: nn.Module, images: torch.Tensor, my_guess: object,
                   tolerance: float = 0.5) -> None:
    """Exercise 2 of lesson 6: ``nll`` maps K = 1, 10, 100 to the mean importance-weighted -log p(x) on ``images``.

    The check recomputes all three itself (seed 0) and accepts the learner's values within ``tolerance``
    nats. Why so tight: another seed moves a mean over 200 images by about a tenth of a nat, while K = 10
    and K = 100 differ by more than a nat for the lesson's VAE, so a K = 10 value reused for K = 100 fails.
    """
    from ..vae import importance_weighted_nll

    require("Exercise 2", nll=nll)
    if not isinstance(nll, Mapping) or set(nll) != set(L06_SAMPLES):
        keys = sorted(nll) if isinstance(nll, Mapping) else type(nll).__name__
        raise CheckFailed(f"Exercise 2: `nll` should be a dict with the keys 1, 10 and 100 (the numbers of samples K), "
                          f"got {keys}.")
    values = {samples: _as_number("Exercise 2", f"nll[{samples}]", nll[samples]) for samples in L06_SAMPLES}
    for samples, value in values.items():
        if value <= 0:
            raise CheckFailed(f"Exercise 2: nll[{samples}] is {value:.2f}: an estimate of -log p(x) is positive (a "
                              "probability below 1 has a negative log). Keep the minus sign that "
                              "ae.importance_weighted_nll already applies.")
    references = {samples: importance_weighted_nll(model, images, samples=samples, seed=0).mean().item()
                  for samples in L06_SAMPLES}
    for samples in L06_SAMPLES:
        value, reference = values[samples], references[samples]
        if abs(value - reference) <= tolerance:
            continue
        if len(images) > 1 and abs(value - len(images) * reference) < tolerance * len(images):
            raise CheckFailed(f"Exercise 2: nll[{samples}] is {value:.1f}, about {len(images)} times the mean: take "
                              "the mean over the images (`.mean()`), not the sum.")
        reused = [k for k in L06_SAMPLES if k != samples and abs(value - references[k]) <= tolerance]
        if reused:
            raise CheckFailed(f"Exercise 2: nll[{samples}] is {value:.2f}, the estimate with K = {reused[0]} "
                              f"({references[reused[0]]:.2f}); with K = {samples} the check measures "
                              f"{reference:.2f}. Did you pass samples={samples}?")
        raise CheckFailed(f"Exercise 2: nll[{samples}] is {value:.2f} nats; the check measures {reference:.2f} "
                          f"(K = {samples}, seed 0, the same {len(images)} images). Estimate it on the binarised "
                          "images `scored`, averaged over them.")
    drop = values[1] - values[100]
    outcome = _drop_outcome(drop)
    verdict = "as you guessed" if my_guess == outcome else f"you guessed {my_guess!r}"
    estimates = ", ".join(f"K = {samples}: {value:.2f}" for samples, value in values.items())
    passed(f"-log p(x) estimates (nats) {estimates}. K = 100 lies {drop:.2f} nats below K = 1, {outcome}: {verdict}.")


L06_ACTIVE_THRESHOLD = 0.01  # Burda et al. (2016): a unit is active when Var_x(mu_j(x)) exceeds this


def l06_active_units(means: object, unit_variance: object, active: object, model: nn.Module,
                     images: torch.Tensor, rows: int = 200) -> None:
    """Exercise 3 of lesson 6: the encoder's means, each code value's variance over the images, the active count.

    ``means`` is checked against the model on its first ``rows`` rows only (encoding them all again would
    double the exercise's time); the variance and the count against this check's own computation from ``means``.
    """
    exercise = "Exercise 3"
    require(exercise, means=means)
    latent_size = model.latent_size
    check_shape(exercise, "`means`", means, (len(images), latent_size))
    with torch.inference_mode():
        mean, log_var = (t.cpu() for t in model.encode(images[:rows].to(model_device(model))))
    if torch.allclose(means[:rows], log_var, atol=1e-3):
        raise CheckFailed(f"{exercise}: `means` holds the log-variances, the encoder's second output: take the first, "
                          "`mean, log_var = vae.encode(batch)`.")
    if not torch.allclose(means[:rows], mean, atol=1e-3):
        raise CheckFailed(f"{exercise}: the rows of `means` are not the encoder's means for `test_binary`: encode the "
                          "binarised test images in order (`vae.encode(batch)[0]` for each batch), and join the "
                          "batches with torch.cat.")
    require(exercise, unit_variance=unit_variance)
    if isinstance(unit_variance, torch.Tensor) and tuple(unit_variance.shape) == (len(images),):
        raise CheckFailed(f"{exercise}: `unit_variance` has one value per image: take the variance over the images, "
                          f"`means.var(dim=0)`, one value per code value ({latent_size}).")
    check_shape(exercise, "`unit_variance`", unit_variance, (latent_size,))
    candidates = [means.var(dim=0), means.var(dim=0, correction=0)]  # either convention is fine
    if not any(torch.allclose(unit_variance, c, rtol=1e-3, atol=1e-7) for c in candidates):
        if torch.allclose(unit_variance, means.std(dim=0), rtol=1e-3, atol=1e-7):
            raise CheckFailed(f"{exercise}: `unit_variance` is the standard deviation; the test is on the variance, "
                              "its square: `means.var(dim=0)`.")
        raise CheckFailed(f"{exercise}: `unit_variance` is not the variance of each column of `means` over the images: "
                          "`means.var(dim=0)`.")
    require(exercise, active=active)
    if isinstance(active, torch.Tensor) and active.numel() == 1:
        active = active.item()
    counts = {int((c > L06_ACTIVE_THRESHOLD).sum()) for c in candidates}
    if not isinstance(active, int) or isinstance(active, bool) or active not in counts:
        raise CheckFailed(f"{exercise}: `active` is {active!r}; it should be the number of code values whose variance "
                          f"exceeds {L06_ACTIVE_THRESHOLD}: `int((unit_variance > {L06_ACTIVE_THRESHOLD}).sum())`.")
    passed(f"{active} of {latent_size} code values are active (variance of their mean over the images above "
           f"{L06_ACTIVE_THRESHOLD}); {latent_size - active} are not.")
