"""PCA (``aehelpers.pca``) and lesson 5's bottleneck autoencoders."""

import pytest
import torch

from aehelpers.models import BottleneckAutoencoder, PCAShortcutAutoencoder, count_parameters
from aehelpers.pca import fit_pca
from aehelpers.runtime import set_seed
from aehelpers.evaluation import evaluate
from aehelpers.training import fit


@pytest.fixture(scope="module")
def random_images() -> torch.Tensor:
    torch.manual_seed(0)
    return torch.rand(300, 1, 6, 6)  # 36 pixels: more images than pixels, so full rank is 36


def test_full_rank_reconstructs_exactly(random_images):
    pca = fit_pca(random_images)
    assert pca.n_components == 36
    rebuilt = pca.reconstruct(random_images, clip=False)
    assert rebuilt.shape == random_images.shape
    torch.testing.assert_close(rebuilt, random_images, atol=1e-5, rtol=0)


def test_components_are_orthonormal_and_sorted(random_images):
    pca = fit_pca(random_images)
    gram = pca.components @ pca.components.T
    torch.testing.assert_close(gram, torch.eye(36, dtype=gram.dtype), atol=1e-10, rtol=0)
    assert torch.all(pca.explained_variance[:-1] >= pca.explained_variance[1:])
    # The variances add up to the data's total variance (nothing lost at full rank).
    total = random_images.flatten(1).double().var(dim=0).sum()
    torch.testing.assert_close(pca.explained_variance.sum(), total)


def test_more_components_never_reconstruct_worse(random_images):
    pca = fit_pca(random_images)
    errors = [(pca.reconstruct(random_images, k, clip=False) - random_images).pow(2).mean().item() for k in (1, 4, 16, 36)]
    assert errors == sorted(errors, reverse=True)
    clipped = (pca.reconstruct(random_images, 4) - random_images).pow(2).mean().item()
    assert clipped <= errors[1]  # clipping into [0, 1] can only help


def test_codes_are_the_coordinates_along_the_components(random_images):
    pca = fit_pca(random_images, n_components=5)
    codes = pca.encode(random_images[:3], 5)
    assert codes.shape == (3, 5)
    torch.testing.assert_close(pca.decode(codes), pca.reconstruct(random_images[:3], 5, clip=False).double())


@pytest.mark.parametrize("kwargs, words", [
    (dict(n_components=0), "n_components must be between 1 and 36"),
    (dict(n_components=37), "n_components must be between 1 and 36"),
])
def test_bad_pca_arguments_are_refused(random_images, kwargs, words):
    with pytest.raises(ValueError, match=words):
        fit_pca(random_images, **kwargs)


def test_pca_refuses_other_image_shapes_and_too_many_components(random_images):
    pca = fit_pca(random_images, n_components=4)
    with pytest.raises(ValueError, match=r"fitted on images of shape \(1, 6, 6\)"):
        pca.encode(torch.rand(2, 1, 28, 28))
    with pytest.raises(ValueError, match="k must be between 1 and 4"):
        pca.encode(random_images, 5)


@pytest.mark.parametrize("model_class", [BottleneckAutoencoder, PCAShortcutAutoencoder])
@pytest.mark.parametrize("code_size", [2, 32])
def test_bottleneck_shapes(model_class, code_size):
    model = model_class(code_size)
    images = torch.rand(4, 1, 28, 28)
    codes = model.encode(images)
    assert codes.shape == (4, code_size)
    outputs = model.decode(codes)
    assert outputs.shape == images.shape
    assert outputs.min() >= 0 and outputs.max() <= 1


def test_bottleneck_errors_are_clear():
    model = BottleneckAutoencoder(16)
    with pytest.raises(ValueError, match=r"BottleneckAutoencoder expects a float tensor of shape \(batch, 1, 28, 28\)"):
        model(torch.rand(1, 28, 28))
    with pytest.raises(ValueError, match=r"decodes codes of shape \(batch, 16\), got \(3, 8\)"):
        model.decode(torch.zeros(3, 8))
    with pytest.raises(ValueError, match="code_size must be a whole number"):
        BottleneckAutoencoder(0)
    small_pca = fit_pca(torch.rand(50, 1, 6, 6))
    with pytest.raises(ValueError, match=r"fits images of shape \(1, 6, 6\)"):
        PCAShortcutAutoencoder(4, small_pca)


def test_only_the_code_layers_depend_on_the_code_size():
    # conv layers are shared; the two Linear layers each hold 1568 * k weights (+ biases).
    difference = count_parameters(BottleneckAutoencoder(32)) - count_parameters(BottleneckAutoencoder(16))
    assert difference == 2 * 1568 * 16 + 16


def test_shortcut_model_starts_as_clipped_pca(tiny_images):
    pca = fit_pca(tiny_images, n_components=20)
    model = PCAShortcutAutoencoder(20, pca).eval()
    with torch.no_grad():
        torch.testing.assert_close(model(tiny_images), pca.reconstruct(tiny_images, 20), atol=1e-5, rtol=0)


@pytest.mark.parametrize("model_class", [BottleneckAutoencoder, PCAShortcutAutoencoder])
def test_loss_falls_on_a_tiny_config(model_class, tiny_images):
    set_seed(0)
    model = model_class(8) if model_class is BottleneckAutoencoder else model_class(8, fit_pca(tiny_images[:192]))
    before = evaluate(model, tiny_images[192:], tiny_images[192:])
    history = fit(model, tiny_images[:192], tiny_images[192:], num_epochs=6, batch_size=32, lr=3e-3, progress=False, device="cpu")
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.test_loss[-1] < before


def test_subspace_overlap_sees_the_space_not_the_basis():
    from aehelpers.pca import subspace_overlap

    torch.manual_seed(0)
    basis = torch.linalg.qr(torch.randn(10, 10))[0]
    mixed = basis[:, :3] @ torch.randn(3, 3)  # the same space, another (non-orthogonal) basis
    assert subspace_overlap(basis[:, :3], mixed) == pytest.approx(1.0, abs=1e-9)
    assert subspace_overlap(basis[:, :3], basis[:, 3:6]) == pytest.approx(0.0, abs=1e-9)
    half = torch.cat([basis[:, :1], basis[:, 5:6]], dim=1)  # shares one of two directions
    assert subspace_overlap(basis[:, :2], half) == pytest.approx(0.5, abs=1e-9)
    with pytest.raises(ValueError, match="two \\(D, k\\) matrices of one shape"):
        subspace_overlap(basis[:, :3], basis[:, :2])


def test_a_linear_autoencoder_trained_by_gradient_descent_finds_pcas_subspace():
    # Baldi and Hornik (1989), lesson 5's experiment in miniature: 16 pixels whose variance lies mostly
    # in 3 directions; a 3-value linear autoencoder started at random ends in PCA's 3-dimensional space.
    from aehelpers.models import LinearAutoencoder
    from aehelpers.pca import subspace_overlap

    from aehelpers.recipe import Recipe

    torch.manual_seed(0)
    basis = torch.linalg.qr(torch.randn(16, 16))[0]
    scales = torch.tensor([1.0, 0.7, 0.5] + [0.05] * 13)  # pixels need not lie in [0, 1] for a linear model
    images = ((torch.randn(1000, 16) * scales) @ basis.T + 0.5).reshape(1000, 1, 4, 4)
    pca = fit_pca(images)
    set_seed(0)
    model = LinearAutoencoder(3, image_shape=(1, 4, 4))
    before = subspace_overlap(model.decoder[0].weight.detach(), pca.components[:3].T)
    history = fit(model, images, images, num_epochs=60, batch_size=20, lr=1e-2, recipe=Recipe(cosine=True),
                  progress=False)
    after = subspace_overlap(model.decoder[0].weight.detach(), pca.components[:3].T)
    assert history.train_loss[-1] < history.train_loss[0] / 20  # the loss really falls
    assert before < 0.5 < 0.999 < after
    pca_error = ((pca.reconstruct(images, 3, clip=False) - images) ** 2).mean().item()
    assert history.test_loss[-1] == pytest.approx(pca_error, rel=0.05)  # and PCA's error, within 5 %
