"""Checkpoints load safely (no code runs), and a run never resumes from a different run's file."""

import functools
import inspect
import os
import pickle
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import aehelpers as ae
from aehelpers.augment import FlowerAugmenter
from aehelpers.checkpoints import CheckpointError, describe_callable, load_history, load_model, save_model
from aehelpers.runtime import set_seed
from aehelpers.training import Recipe, fit

SMALL = dict(num_epochs=1, batch_size=64, lr=3e-3, progress=False, device="cpu")


class Planted:
    """An object whose unpickling would run a shell command (what a malicious checkpoint does)."""

    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_file_that_would_run_code_is_refused_and_nothing_runs(tmp_path):
    marker, path = tmp_path / "code-ran", tmp_path / "evil.pt"
    torch.save({"signature": {}, "model": Planted(marker)}, path)
    with pytest.raises(CheckpointError, match="can run code hidden in the file"):
        load_model(ae.ConvAutoencoder(), path)
    assert not marker.exists()
    # Plain pickle would have run it: the planted file really is dangerous.
    with open(path, "rb"):
        pass
    assert pickle.loads(pickle.dumps(Planted(marker))) == 0 and marker.exists()


def test_training_checkpoint_is_plain_data_and_its_history_loads(tiny_images, tmp_path):
    path = tmp_path / "run.pt"
    set_seed(0)
    history = fit(ae.ConvAutoencoder(), tiny_images, tiny_images[:64], checkpoint=path, **SMALL)
    torch.load(path, weights_only=True)  # no pickled classes, no code
    assert load_history(path).test_loss == history.test_loss


def upsampler(mode: str) -> nn.Module:
    set_seed(0)
    return nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.Upsample(scale_factor=2, mode=mode),
                         nn.Conv2d(1, 1, 3, padding=1), nn.AvgPool2d(2))


def test_a_changed_architecture_with_the_same_shapes_is_refused(tiny_images, tmp_path):
    path = tmp_path / "run.pt"
    fit(upsampler("nearest"), tiny_images, checkpoint=path, **SMALL)
    with pytest.raises(CheckpointError, match="the architecture changed .*nearest.*bilinear"):
        fit(upsampler("bilinear"), tiny_images, checkpoint=path, **SMALL)


noise_factor = 0.5


def noisy(images, generator):
    return ae.add_noise(images, noise_factor, generator)


def test_a_changed_input_pipeline_is_refused(tiny_images, tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    set_seed(0)
    fit(ae.ConvAutoencoder(), tiny_images, checkpoint=path, recipe=Recipe(make_inputs=noisy), **SMALL)
    set_seed(0)
    resumed = fit(ae.ConvAutoencoder(), tiny_images, checkpoint=path, recipe=Recipe(make_inputs=noisy), **SMALL)
    assert resumed.epochs == 1  # the same run resumes (here: nothing left to do)
    monkeypatch.setitem(globals(), "noise_factor", 0.8)  # what an exercise does: change the noise level
    with pytest.raises(CheckpointError, match="input maker changed"):
        fit(ae.ConvAutoencoder(), tiny_images, checkpoint=path, recipe=Recipe(make_inputs=noisy), **SMALL)


@pytest.mark.parametrize("first, second", [
    (lambda x, g: ae.add_noise(x, 0.5, g), lambda x, g: ae.add_noise(x, 0.3, g)),
    (functools.partial(F.cross_entropy, label_smoothing=0.1), functools.partial(F.cross_entropy, label_smoothing=0.2)),
    (FlowerAugmenter(32), FlowerAugmenter(32, jitter=0.0)),
    (F.mse_loss, F.l1_loss),
])
def test_descriptions_tell_different_pipelines_apart(first, second):
    assert describe_callable(first) != describe_callable(second)
    assert describe_callable(first) == describe_callable(first)


def test_saved_weights_load_onto_the_models_device(tmp_path):
    path = tmp_path / "model.pt"
    save_model(ae.ConvAutoencoder(), path)
    # map_location follows the receiving model, so a file written on a GPU loads on a laptop
    source = inspect.getsource(load_model)
    assert "map_location=device" in source
    assert next(load_model(ae.ConvAutoencoder(), path).parameters()).device.type == "cpu"


GPU_RUN = Path(__file__).parent / "fixtures" / "gpu_run.pt"  # written on a CUDA GPU by benchmarks/gpu_lessons.sh


@pytest.mark.skipif(not GPU_RUN.exists(), reason="no checkpoint from a GPU run stored yet")
def test_a_checkpoint_written_on_a_gpu_loads_and_resumes_on_the_cpu(tiny_images, tmp_path):
    model = ae.ConvAutoencoder()
    load_model(model, GPU_RUN)  # the weights, mapped onto the CPU
    assert next(model.parameters()).device.type == "cpu"
    # The GPU run (fused, capturable Adam, learning rate on the GPU) continues here for a third epoch.
    path = tmp_path / "gpu_run.pt"
    path.write_bytes(GPU_RUN.read_bytes())
    images = ae.load_mnist(True).images[:512]
    set_seed(0)
    history = fit(ae.ConvAutoencoder(), images, images[:128], num_epochs=3, batch_size=64, lr=1e-3, progress=False,
                  device="cpu", checkpoint=path)
    assert history.epochs == 3 and history.test_loss[-1] < history.test_loss[0]



def test_an_edited_forward_pass_is_refused(tiny_images, tmp_path):
    # A learner runs a model cell, trains, then edits the cell's forward pass and runs both again. The layer
    # tree is unchanged; only the model's code tells the two runs apart.
    class Autoencoder(ae.ConvAutoencoder):  # the cell as first run
        def forward(self, images):
            return super().forward(images)

    first = Autoencoder

    class Autoencoder(ae.ConvAutoencoder):  # the same cell, edited and run again
        def forward(self, images):
            return super().forward(images).clamp(0.01, 0.99)

    path = tmp_path / "run.pt"
    set_seed(0)
    fit(first(), tiny_images, checkpoint=path, **SMALL)
    set_seed(0)
    resumed = fit(first(), tiny_images, checkpoint=path, **SMALL)
    assert resumed.epochs == 1  # the unedited cell resumes its own run
    with pytest.raises(CheckpointError, match="model code changed .*Autoencoder.forward"):
        fit(Autoencoder(), tiny_images, checkpoint=path, **SMALL)

def elbo_like(outputs, images):
    return squared(outputs, images).mean()


def squared(outputs, images):
    return (outputs - images) ** 2


def test_a_loss_is_described_with_the_functions_it_calls(monkeypatch):
    # Lesson 6's negative_elbo calls elbo_terms, both in the learner's cells: editing the second changes the first.
    before = describe_callable(elbo_like)
    monkeypatch.setitem(globals(), "squared", lambda outputs, images: (outputs - images).abs())
    assert describe_callable(elbo_like) != before
