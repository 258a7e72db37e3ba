import pytest
import torch

from aehelpers.sparse import (
    SparseAutoencoder, auxk_loss, dead_fraction, fraction_of_variance_explained, l1_loss, mean_l0,
    normalise_decoder_,
)


def planted_activations(count: int = 2_048, size: int = 16, features: int = 32, active: int = 3) -> torch.Tensor:
    """Activations that really are sparse sums: each is `active` of `features` unit directions, positive weights."""
    generator = torch.Generator().manual_seed(0)
    directions = torch.nn.functional.normalize(torch.randn(features, size, generator=generator), dim=1)
    chosen = torch.rand(count, features, generator=generator).argsort(1)[:, :active]
    weights = torch.zeros(count, features).scatter(1, chosen, 1 + torch.rand(count, active, generator=generator))
    return weights @ directions


def test_topk_keeps_exactly_k_latents_and_relu_none_negative():
    torch.manual_seed(0)
    inputs = torch.randn(64, 16)
    codes = SparseAutoencoder(16, 128, k=5).encode(inputs)
    assert ((codes != 0).sum(1) == 5).all() and (codes >= 0).all()
    assert (SparseAutoencoder(16, 128).encode(inputs) >= 0).all()
    with pytest.raises(ValueError, match="k must be between 1 and latent_size"):
        SparseAutoencoder(16, 8, k=9)


def test_decoder_columns_are_kept_at_unit_length():
    sae = SparseAutoencoder(16, 64)
    with torch.no_grad():
        sae.decoder.weight.mul_(torch.rand(64) * 3)
    normalise_decoder_(sae)
    assert torch.allclose(sae.decoder.weight.norm(dim=0), torch.ones(64), atol=1e-6)


def test_the_metrics_on_planted_cases():
    inputs = torch.randn(100, 8)
    assert fraction_of_variance_explained(inputs, inputs) == pytest.approx(1.0)
    assert fraction_of_variance_explained(inputs, inputs.mean(0).expand_as(inputs)) == pytest.approx(0.0, abs=1e-6)
    codes = torch.tensor([[1.0, 0.0, 0.0, 2.0], [0.0, 0.0, 0.0, 3.0]])
    assert mean_l0(codes) == 1.5 and dead_fraction(codes) == 0.5  # latents 1 and 2 never fire


def test_a_topk_sae_learns_planted_sparse_activations():
    torch.manual_seed(0)
    inputs = planted_activations()
    sae = SparseAutoencoder(16, 64, k=3)
    optimizer = torch.optim.Adam(sae.parameters(), lr=1e-2)
    first = None
    for step in range(600):
        batch = inputs[(step * 256) % len(inputs):][:256]
        reconstruction, _ = sae(batch)
        loss = (reconstruction - batch).pow(2).sum(1).mean()
        first = first if first is not None else loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        normalise_decoder_(sae)
    with torch.no_grad():
        reconstruction, codes = sae(inputs)
    assert loss.item() < first / 5  # the loss really falls
    assert fraction_of_variance_explained(inputs, reconstruction) > 0.85 and mean_l0(codes) == 3


def test_a_larger_l1_penalty_gives_a_sparser_code():
    inputs = planted_activations()
    l0 = {}
    for coefficient in (0.01, 0.3):
        torch.manual_seed(0)
        sae = SparseAutoencoder(16, 64)
        optimizer = torch.optim.Adam(sae.parameters(), lr=3e-3)
        for step in range(200):
            loss = l1_loss(sae, inputs[(step * 256) % len(inputs):][:256], coefficient)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            normalise_decoder_(sae)
        with torch.no_grad():
            l0[coefficient] = mean_l0(sae.encode(inputs))
    assert l0[0.3] < l0[0.01]


def test_auxk_reaches_only_the_dead_latents():
    torch.manual_seed(0)
    sae = SparseAutoencoder(16, 32, k=2)
    inputs = torch.randn(64, 16)
    dead = torch.zeros(32, dtype=torch.bool)
    assert auxk_loss(sae, inputs, dead, k_aux=4).item() == 0.0  # nothing dead: no extra term
    dead[:8] = True
    auxk_loss(sae, inputs, dead, k_aux=4).backward()
    row_gradients = sae.encoder.weight.grad.abs().sum(1)
    assert (row_gradients[8:] == 0).all() and (row_gradients[:8] > 0).any()
