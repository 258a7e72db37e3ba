"""The CUDA-graph training path (``aehelpers/cuda_graphs.py``).

Most machines that run these tests have no GPU, so the bookkeeping around the graph is tested on the
CPU: ``record_graph`` is replaced by an eager stand-in that runs the warm-up steps and then returns the
step itself as its "replay". What is left is everything of ours: the fixed input buffers, the state put
back after the warm-up (weights, Adam's moments, the random-number generator), the loss summed on the
device, the last smaller batch. A captured epoch must then train exactly as ``train_one_epoch`` does.
The tests marked ``cuda`` run the real capture where a GPU is present.
"""

from __future__ import annotations

import pytest
import torch

import aehelpers as ae
from aehelpers import cuda_graphs, training


def eager_stand_in(step, warmup_steps: int = 3):
    """Warm up like ``record_graph`` (the same steps, eagerly), then "replay" by calling the step again."""
    for _ in range(warmup_steps):
        step()
    return step


class NeverStop:
    requested = False
    at_batch = 0


def vae_setup(device: str = "cpu", epochs: int = 2):
    torch.manual_seed(0)
    images = torch.rand(200, 1, 28, 28)
    ae.set_seed(0)
    model = ae.VariationalAutoencoder(4, width=4).to(device)
    recipe = ae.Recipe(loss_fn=ae.negative_elbo, augment=ae.binarize, cosine=True)
    optimizer, scheduler = training.make_optimizer(model, 1e-3, recipe, epochs, 4, torch.device(device))
    return model, images.to(device), recipe, optimizer, scheduler


def run_epochs(epoch, epochs: int = 2) -> list[float]:
    generator = torch.Generator().manual_seed(0)
    return [epoch(generator, NeverStop())[0] for _ in range(epochs)]


def eager_and_captured(monkeypatch, restore_random_state: bool = True):
    monkeypatch.setattr(cuda_graphs, "record_graph", eager_stand_in)
    model, images, recipe, optimizer, scheduler = vae_setup()
    ae.set_seed(0)  # the noise of the VAE's forward pass starts from the same point in both runs, as in `fit`
    eager = run_epochs(lambda g, stop: training.train_one_epoch(model, images, None, recipe, optimizer, scheduler,
                                                                  g, stop, batch_size=64))
    eager_weights = [p.detach().clone() for p in model.parameters()]

    model, images, recipe, optimizer, scheduler = vae_setup()
    ae.set_seed(0)
    if not restore_random_state:  # what the capture would do if it forgot the generator: restore a stranger
        monkeypatch.setattr(cuda_graphs, "default_generator", lambda device: torch.Generator())
    captured_epoch = cuda_graphs.CapturedEpoch(model, images, None, recipe, optimizer, scheduler, batch_size=64)
    captured = run_epochs(captured_epoch)
    return eager, captured, eager_weights, list(model.parameters())


def test_a_captured_vae_trains_exactly_like_the_eager_loop(monkeypatch):
    # 200 images in batches of 64: three replays and one smaller, eager batch per epoch
    eager, captured, eager_weights, captured_weights = eager_and_captured(monkeypatch)
    # the epoch loss is summed in float32 on the device (one synchronisation per epoch), so it may
    # differ from the eager float64 sum in the last digits; the weights must be identical
    assert captured == pytest.approx(eager, rel=1e-6)
    for mine, theirs in zip(captured_weights, eager_weights):
        torch.testing.assert_close(mine.detach(), theirs, rtol=0, atol=0)


def test_the_capture_puts_the_noise_generator_back(monkeypatch):
    # The warm-up draws noise too: without putting the generator back, the captured run would use
    # other noise than the eager one (and other weights at the end)
    eager, captured, eager_weights, captured_weights = eager_and_captured(monkeypatch, restore_random_state=False)
    assert any(not torch.equal(mine.detach(), theirs) for mine, theirs in zip(captured_weights, eager_weights))


def test_a_vae_is_captured_but_dropout_is_not(monkeypatch):
    monkeypatch.delenv(cuda_graphs.OFF_ENV, raising=False)
    vae = ae.VariationalAutoencoder(4, width=4)
    assert cuda_graphs.can_capture(vae, torch.device("cuda"))  # its noise comes from the graph-safe generator
    assert not cuda_graphs.can_capture(vae, torch.device("cpu"))
    assert cuda_graphs.can_capture(ae.ConvAutoencoder(), torch.device("cuda"))  # lesson 1's model, as before
    with_dropout = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5))
    assert not cuda_graphs.can_capture(with_dropout, torch.device("cuda"))


def test_the_default_generator_is_the_one_the_noise_comes_from():
    generator = cuda_graphs.default_generator(torch.device("cpu"))
    state = generator.get_state()
    first = torch.randn(3)
    generator.set_state(state)
    assert torch.equal(torch.randn(3), first)


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@cuda
def test_each_replay_draws_fresh_noise_and_the_same_noise_as_eager_steps():
    # The claim the VAE's capture rests on: the default CUDA generator is registered with the graph
    noise = torch.zeros(1000, device="cuda")
    torch.cuda.manual_seed(0)
    replay = cuda_graphs.record_graph(lambda: noise.copy_(torch.randn(1000, device="cuda")), warmup_steps=1)
    torch.cuda.manual_seed(0)
    replay()
    first = noise.clone()
    replay()
    assert not torch.equal(noise, first)
    torch.cuda.manual_seed(0)
    assert torch.equal(torch.randn(1000, device="cuda"), first)


@cuda
def test_a_captured_vae_on_the_gpu_follows_the_eager_loss_curve(monkeypatch, tiny_images):
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    recipe = ae.Recipe(loss_fn=ae.negative_elbo, augment=ae.binarize, cosine=True)
    # the VAE really is captured on CUDA (a capture that failed would fall back to eager and pass below)
    model = ae.VariationalAutoencoder(8, width=8).cuda()
    optimizer, scheduler = training.make_optimizer(model, 1e-3, recipe, 1, 2, torch.device("cuda"))
    runner = training.epoch_runner(model, tiny_images.cuda(), None, recipe, optimizer, scheduler, 128)
    assert isinstance(runner, cuda_graphs.CapturedEpoch)

    curves = {}
    for name, switch in (("eager", "0"), ("captured", "1")):
        monkeypatch.setenv(cuda_graphs.OFF_ENV, switch)
        ae.set_seed(0)
        model = ae.VariationalAutoencoder(8, width=8)
        history = ae.fit(model, tiny_images, tiny_images[:128], num_epochs=3, batch_size=64, recipe=recipe,
                         device="cuda", progress=False)
        curves[name] = history.train_loss + history.test_loss
    # The same digits, batches and noise; only the order of floating-point sums inside the kernels may
    # differ (lesson 1's model: 0.007 % after one epoch, benchmarks/README.md). Real digits, not random
    # pixels: on random pixels the loss is near 784 ln 2 whatever the noise, and this could not fail.
    assert curves["captured"] == pytest.approx(curves["eager"], rel=1e-3)


@cuda
def test_a_checkpoint_on_the_gpu_keeps_the_noise_generator(tmp_path, tiny_images):
    # fit seeds the GPU's generator afresh; a resumed VAE must continue its noise, not repeat it
    from aehelpers.checkpoints import TrainingCheckpoint

    model = ae.VariationalAutoencoder(8, width=8).cuda()
    recipe = ae.Recipe(loss_fn=ae.negative_elbo)
    optimizer, scheduler = training.make_optimizer(model, 1e-3, recipe, 1, 2, torch.device("cuda"))
    saver = TrainingCheckpoint(tmp_path / "run.pt", {"name": "test"})
    generator = torch.Generator().manual_seed(0)
    torch.cuda.manual_seed(0)
    torch.randn(10, device="cuda")  # move the generator on from its seed
    saved = torch.cuda.get_rng_state()
    saver.save(model, optimizer, scheduler, generator, ae.History())
    torch.cuda.manual_seed(1)
    saver.resume(model, optimizer, scheduler, generator)
    assert torch.equal(torch.cuda.get_rng_state(), saved)
