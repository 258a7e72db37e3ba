"""Lesson 6's variational autoencoder: shapes, the loss's two terms, the likelihood estimate, training."""

from __future__ import annotations

import math

import pytest
import torch

import aehelpers as ae


def small_vae(latent_size: int = 4) -> ae.VariationalAutoencoder:
    ae.set_seed(0)
    return ae.VariationalAutoencoder(latent_size=latent_size, width=4)


def test_forward_gives_logits_and_the_codes_distribution():
    outputs = small_vae()(torch.rand(3, 1, 28, 28))
    assert outputs.logits.shape == (3, 1, 28, 28)
    assert outputs.mean.shape == outputs.log_var.shape == (3, 4)


def test_kl_is_zero_exactly_at_the_prior_and_positive_elsewhere():
    images = torch.zeros(2, 1, 28, 28)
    at_prior = ae.VAEOutput(torch.zeros(2, 1, 28, 28), torch.zeros(2, 3), torch.zeros(2, 3))
    reconstruction, kl = ae.elbo_terms(at_prior, images)
    assert kl.tolist() == [0.0, 0.0]
    assert reconstruction.tolist() == pytest.approx([784 * math.log(2)] * 2)  # logit 0: every pixel a coin flip
    moved = at_prior._replace(mean=torch.ones(2, 3))
    assert ae.elbo_terms(moved, images)[1].tolist() == pytest.approx([1.5, 1.5])  # 0.5 * sum(mean^2)


def test_beta_weighs_the_kl_term():
    outputs = ae.VAEOutput(torch.zeros(1, 1, 28, 28), torch.ones(1, 2), torch.zeros(1, 2))
    images = torch.zeros(1, 1, 28, 28)
    plain, heavy = ae.negative_elbo(outputs, images), ae.negative_elbo(outputs, images, beta=4.0)
    assert (heavy - plain).item() == pytest.approx(3 * 1.0)  # KL = 1.0 here, counted 4 times instead of once


def test_binarize_draws_pixels_with_their_grey_level_as_probability():
    grey = torch.full((200, 1, 28, 28), 0.3)
    binary = ae.binarize(grey, torch.Generator().manual_seed(0))
    assert set(binary.unique().tolist()) <= {0.0, 1.0}
    assert binary.mean().item() == pytest.approx(0.3, abs=0.01)
    again = ae.binarize(grey, torch.Generator().manual_seed(0))
    assert torch.equal(binary, again)


def test_importance_weighted_estimate_is_below_the_elbo_and_repeatable(tiny_images):
    model = small_vae()
    images = ae.binarize(tiny_images[:20], torch.Generator().manual_seed(1))
    neg_elbo = sum(ae.elbo_terms_per_image(model, images, seed=0))
    nll_1 = ae.importance_weighted_nll(model, images, samples=1, seed=0)
    nll_50 = ae.importance_weighted_nll(model, images, samples=50, seed=0)
    assert nll_50.mean() < nll_1.mean()  # more samples: a tighter bound
    assert nll_50.mean() < neg_elbo.mean()
    assert torch.equal(nll_50, ae.importance_weighted_nll(model, images, samples=50, seed=0))


def test_training_lowers_the_negative_elbo_and_records_both_terms(tiny_images):
    model = small_vae()
    test = ae.binarize(tiny_images[:64], torch.Generator().manual_seed(1))
    recipe = ae.Recipe(loss_fn=ae.negative_elbo, augment=ae.binarize,
                       extra_scores={"reconstruction": ae.reconstruction_nats, "KL": ae.kl_nats})
    history = ae.fit(model, tiny_images, test, num_epochs=3, batch_size=32, lr=3e-3, recipe=recipe, progress=False,
                     device="cpu")
    assert history.test_loss[-1] < history.test_loss[0] and history.train_loss[-1] < history.train_loss[0]
    for epoch in range(3):  # the two recorded terms add up to the recorded loss (each with its own noise draw)
        total = history.test_scores["reconstruction"][epoch] + history.test_scores["KL"][epoch]
        assert total == pytest.approx(history.test_loss[epoch], rel=0.05)


def test_samples_are_probabilities_and_bad_codes_are_named():
    model = small_vae()
    samples = ae.sample_images(model, 5, seed=0)
    assert samples.shape == (5, 1, 28, 28) and 0 <= samples.min() and samples.max() <= 1
    assert torch.equal(samples, ae.sample_images(model, 5, seed=0))
    with pytest.raises(ValueError, match=r"codes of shape \(batch, 4\)"):
        model.decode(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="latent_size"):
        ae.VariationalAutoencoder(latent_size=0)


def test_the_evaluations_leave_the_model_in_the_mode_they_found_it():
    vae, images = small_vae(), torch.rand(2, 1, 28, 28).bernoulli()
    for training in (True, False):
        vae.train(training)
        ae.importance_weighted_nll(vae, images, samples=2)
        ae.elbo_terms_per_image(vae, images)
        ae.sample_images(vae, 2)
        assert vae.training is training


