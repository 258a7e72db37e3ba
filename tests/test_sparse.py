import pytest
import torch

from aehelpers.sparse import (
    SparseAutoencoder, auxk_loss, dead_fraction, fraction_of_variance_explained, label_purity, mean_l0,
    normalise_decoder_, remove_latents, train_sae,
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
        history = train_sae(sae, inputs, num_epochs=25, batch_size=256, lr=3e-3, l1_coefficient=coefficient)
        with torch.no_grad():
            l0[coefficient] = mean_l0(sae.encode(inputs))
        assert history.train_loss[-1] < history.train_loss[0] and history.epochs == 25
    assert l0[0.3] < l0[0.01]


def test_train_sae_keeps_unit_columns_and_tracks_dead_latents():
    inputs = planted_activations()
    torch.manual_seed(0)
    sae = SparseAutoencoder(16, 256, k=2)  # many latents, few used per input: some die
    history = train_sae(sae, inputs, num_epochs=20, batch_size=128, lr=1e-2, auxk_coefficient=1.0, k_aux=16)
    assert torch.allclose(sae.decoder.weight.norm(dim=0), torch.ones(256), atol=1e-5)
    # the last epoch's dead share, as recorded, is the share of latents that fired on no input of that epoch
    with torch.no_grad():
        assert history.test_scores["dead share"][-1] == pytest.approx(dead_fraction(sae.encode(inputs)), abs=0.02)
    assert len(history.test_scores["dead share"]) == history.epochs == 20


def test_train_sae_refuses_activations_of_the_wrong_width():
    with pytest.raises(ValueError, match=r"activations must be \(N, 16\)"):
        train_sae(SparseAutoencoder(16, 32), torch.randn(10, 8), num_epochs=1)


def test_label_purity_on_planted_units():
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    activations = torch.tensor([[5.0, 1, 0], [4, 2, 0], [1, 3, 0], [0, 4, 0], [0, 5, 1], [0, 6, 0]])
    purity, commonest = label_purity(activations, labels, top=2)
    assert purity[0] == 1.0 and commonest[0] == 0  # unit 0: its two strongest inputs are both 0s
    assert purity[1] == 1.0 and commonest[1] == 2  # unit 1: inputs 5 and 4, both 2s
    assert purity[2].isnan()  # unit 2 fires on one input only: too rare to judge with top=2
    purity, _ = label_purity(activations, labels, top=4)
    assert purity[1] == 0.5  # inputs 5, 4, 3, 2: two 2s and two 1s


def test_remove_latents_takes_out_exactly_those_latents_parts():
    torch.manual_seed(0)
    sae = SparseAutoencoder(16, 32, k=4)
    inputs = torch.randn(8, 16)
    with torch.no_grad():
        codes = sae.encode(inputs)
        latent = codes.argmax(1)
        switched_off = torch.zeros_like(codes, dtype=torch.bool)
        switched_off[torch.arange(8), latent] = True
        change = inputs - remove_latents(sae, inputs, switched_off)
        both = codes.topk(2, dim=1).indices
        switched_off[torch.arange(8), both[:, 1]] = True
        change_of_two = inputs - remove_latents(sae, inputs, switched_off)
    expected = codes.gather(1, latent[:, None]) * sae.decoder.weight.T[latent]
    assert torch.allclose(change, expected, atol=1e-6) and (change.norm(dim=1) > 0).all()
    second = codes.gather(1, both[:, 1:]) * sae.decoder.weight.T[both[:, 1]]
    assert torch.allclose(change_of_two, expected + second, atol=1e-6)  # parts add up: the decoder is linear


def test_auxk_reaches_only_the_dead_latents():
    torch.manual_seed(0)
    sae = SparseAutoencoder(16, 32, k=2)
    inputs = torch.randn(64, 16)
    dead = torch.zeros(32, dtype=torch.bool)
    reconstruction, _ = sae(inputs)
    assert auxk_loss(sae, inputs, reconstruction, dead, k_aux=4).item() == 0.0  # nothing dead: no extra term
    dead[:8] = True
    auxk_loss(sae, inputs, reconstruction.detach(), dead, k_aux=4).backward()
    row_gradients = sae.encoder.weight.grad.abs().sum(1)
    assert (row_gradients[8:] == 0).all() and (row_gradients[:8] > 0).any()
