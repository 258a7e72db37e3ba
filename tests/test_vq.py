import math

import pytest
import torch

from aehelpers.vq import (
    TokenPrior, VectorQuantizer, VQAutoencoder, codebook_perplexity, prior_loss, sample_tokens, vq_loss,
)


def test_each_vector_gets_its_nearest_entry():
    quantizer = VectorQuantizer(3, 2)
    with torch.no_grad():
        quantizer.codebook.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    vectors = torch.tensor([[0.9, 0.2], [0.1, 0.7], [0.1, -0.1]]).T.reshape(1, 2, 1, 3)
    out = quantizer(vectors)
    assert out.tokens.tolist() == [[[1, 2, 0]]]
    assert torch.allclose(out.vectors, quantizer.codebook.weight[out.tokens.flatten()].T.reshape(1, 2, 1, 3))
    with pytest.raises(ValueError, match="codebook_size must be >= 2"):
        VectorQuantizer(1, 2)


def test_the_gradient_reaches_the_encoder_and_each_term_trains_its_own_side():
    torch.manual_seed(0)
    model = VQAutoencoder(codebook_size=8, dim=8, width=16)  # (width 4 can start with every decoder ReLU off)
    images = torch.rand(6, 1, 28, 28)
    logits, quantized = model(images)
    torch.nn.functional.binary_cross_entropy_with_logits(logits, images).backward(retain_graph=True)
    assert model.encoder[0].weight.grad.abs().sum() > 0  # straight through the argmin
    assert model.quantizer.codebook.weight.grad is None or model.quantizer.codebook.weight.grad.abs().sum() == 0
    model.zero_grad()
    quantized.codebook_loss.backward(retain_graph=True)  # moves the entries only
    assert model.quantizer.codebook.weight.grad.abs().sum() > 0 and model.encoder[0].weight.grad is None
    model.zero_grad()
    quantized.commitment_loss.backward()  # moves the encoder only
    assert model.encoder[0].weight.grad.abs().sum() > 0
    assert model.quantizer.codebook.weight.grad is None or model.quantizer.codebook.weight.grad.abs().sum() == 0


def test_unused_entries_are_reseeded_at_badly_served_vectors():
    torch.manual_seed(0)
    quantizer = VectorQuantizer(4, 2, reseed_every=1)
    with torch.no_grad():
        quantizer.codebook.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0], [50.0, 50.0], [60.0, 60.0]]))
    vectors = torch.tensor([[0.1, 0.0], [0.9, 0.1], [5.0, 5.0], [0.0, 0.2]]).T.reshape(1, 2, 1, 4)
    quantizer.train()
    quantizer(vectors)  # entries 2 and 3 chosen by nobody: restarted at the worst-served vectors
    entries = quantizer.codebook.weight
    assert any(torch.allclose(entries[i], torch.tensor([5.0, 5.0])) for i in (2, 3))
    assert torch.allclose(entries[0], torch.zeros(2))  # used entries keep their place
    assert quantizer.usage.sum() == 0  # counting starts again


def test_without_the_remedy_unused_entries_stay():
    quantizer = VectorQuantizer(4, 2)
    before = quantizer.codebook.weight.detach().clone()
    quantizer.train()
    quantizer(torch.randn(1, 2, 3, 3))
    assert torch.equal(quantizer.codebook.weight, before)


def test_perplexity_counts_entries_in_use():
    assert codebook_perplexity(torch.arange(8).repeat(10), 16) == pytest.approx(8.0)
    assert codebook_perplexity(torch.zeros(50, dtype=torch.long), 16) == pytest.approx(1.0)
    assert 1 < codebook_perplexity(torch.tensor([0, 0, 0, 1]), 4) < 2


def test_the_prior_is_causal():
    torch.manual_seed(0)
    prior = TokenPrior(codebook_size=10, length=12, dim=16, heads=2, layers=2).eval()
    tokens = torch.randint(10, (3, 12))
    changed = tokens.clone()
    changed[:, 5] = (changed[:, 5] + 1) % 10
    with torch.no_grad():
        a, b = prior(tokens), prior(changed)
    assert torch.allclose(a[:, :6], b[:, :6], atol=1e-6)  # positions 0..5 predict without seeing token 5
    assert not torch.allclose(a[:, 6:], b[:, 6:])


def test_a_prior_learns_a_planted_pattern_and_sampling_keeps_a_prefix():
    torch.manual_seed(0)
    prior = TokenPrior(codebook_size=4, length=6, dim=16, heads=2, layers=1)
    first = torch.randint(4, (256, 1))
    tokens = (first + torch.arange(6)) % 4  # each token is the one before plus 1: predictable after the first
    optimizer = torch.optim.Adam(prior.parameters(), lr=1e-2)
    for _ in range(150):
        loss = prior_loss(prior(tokens), tokens)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < math.log(4) + 0.3  # about log 4 for the first token, near 0 for the other five
    samples = sample_tokens(prior, 20, seed=0, prefix=torch.full((20, 2), 3))
    assert (samples[:, :2] == 3).all()
    assert ((samples[:, 2:] - samples[:, 1:-1]) % 4 == 1).float().mean() > 0.9  # the written tokens follow the rule


def test_a_small_vq_autoencoder_loss_falls():
    torch.manual_seed(0)
    images = (torch.rand(64, 1, 28, 28) < 0.2).float()
    model = VQAutoencoder(codebook_size=8, dim=4, width=4, reseed_every=5)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss = vq_loss(model(images), images)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]
    assert model.encode(images).shape == (64, 7, 7) and model.decode(model.encode(images)).shape == (64, 1, 28, 28)
