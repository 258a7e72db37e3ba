import os
import signal

import pytest
import torch

from aehelpers.checkpoints import CheckpointError, load_model, save_model
from aehelpers.models import ConvAutoencoder
from aehelpers.runtime import get_device, set_seed
from aehelpers.evaluation import evaluate
from aehelpers.training import Recipe, TrainingDiverged, batch_indices, fit

SMALL = dict(batch_size=32, lr=3e-3, progress=False, device="cpu")


def new_model(seed: int = 0) -> ConvAutoencoder:
    set_seed(seed)
    return ConvAutoencoder()


def test_loss_falls_on_a_tiny_config(tiny_images):
    model = new_model()
    before = evaluate(model, tiny_images, tiny_images)
    history = fit(model, tiny_images[:192], tiny_images[192:], num_epochs=8, **SMALL)
    assert history.epochs == 8 and len(history.test_loss) == 8 and len(history.seconds) == 8
    assert history.train_loss[-1] < 0.7 * history.train_loss[0]
    assert history.test_loss[-1] < 0.5 * before


def test_same_seed_same_run_bit_for_bit(tiny_images):
    runs = []
    for _ in range(2):
        model = new_model()
        history = fit(model, tiny_images, num_epochs=2, seed=7, **SMALL)
        runs.append((history.train_loss, [p.detach().clone() for p in model.parameters()]))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))
    other = fit(new_model(), tiny_images, num_epochs=2, seed=8, **SMALL)
    assert other.train_loss != runs[0][0]  # the seed really changes the shuffling


def test_epoch_loss_is_a_per_example_average(tiny_images):
    # With a learning rate too small to move the weights, the epoch's training loss must equal the
    # loss of the whole set; 250 images in batches of 32 leave a last batch of 26 that counts less.
    images = tiny_images[:250]
    model = new_model()
    expected = evaluate(model, images, images)
    history = fit(model, images, num_epochs=1, batch_size=32, lr=1e-30, progress=False, device="cpu")
    assert history.train_loss[0] == pytest.approx(expected, rel=1e-5)


def test_batches_cover_every_example_once():
    order = torch.cat(list(batch_indices(103, 10, torch.Generator().manual_seed(0))))
    assert sorted(order.tolist()) == list(range(103))


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(num_epochs=0), "num_epochs must be a whole number >= 1"),
        (dict(num_epochs=1, batch_size=-4), "batch_size must be a whole number >= 1"),
        (dict(num_epochs=1, lr=0.0), "lr must be a positive number"),
        (dict(num_epochs=1, device="tpu"), "Unknown device name 'tpu'"),
    ],
)
def test_bad_arguments_are_named(tiny_images, kwargs, words):
    options = {**SMALL, **kwargs}
    with pytest.raises(ValueError, match=words):
        fit(new_model(), tiny_images, **options)


def test_get_device_prefers_an_accelerator_and_falls_back_to_cpu():
    device = get_device()
    assert device.type in {"cuda", "mps", "cpu"}
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            get_device("cuda")


def test_describe_machine_names_the_device_that_did_the_work(monkeypatch):
    import os
    import platform

    from aehelpers.runtime import describe_machine

    on_cpu = describe_machine("cpu")
    assert on_cpu["device"] == f"{os.cpu_count()}-core CPU ({platform.machine()})" and on_cpu["gpu"] is None
    assert on_cpu["cores"] == os.cpu_count() and on_cpu["torch"] == torch.__version__ and on_cpu["cpu"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # as on a GPU machine, without one
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Example GPU 80GB")
    on_gpu = describe_machine("cuda")
    assert on_gpu["device"] == on_gpu["gpu"] == "Example GPU 80GB"
    assert describe_machine("cpu")["device"] == on_cpu["device"]  # the CPU named even where a GPU exists


def test_exploding_loss_stops_with_epoch_batch_and_hint(tiny_images):
    poisoned = tiny_images.clone()
    poisoned[70] = float("nan")  # lands in some batch of the first epoch
    with pytest.raises(TrainingDiverged, match=r"In epoch 1: the loss became nan at batch \d+\. The learning rate"):
        fit(new_model(), poisoned, num_epochs=1, **SMALL)


def test_resume_gives_exactly_the_uninterrupted_run(tiny_images, tmp_path, monkeypatch):
    options = dict(num_epochs=4, recipe=Recipe(warmup_epochs=1, cosine=True), **SMALL)
    straight = new_model()
    full = fit(straight, tiny_images, tiny_images[:64], **options)

    # The same run, stopped by Ctrl-C during epoch 3 (the signal arrives while epoch 2 is scored).
    import aehelpers.training as training

    scored = {"n": 0}

    score_every_epoch = training.evaluate_scores

    def evaluate_then_interrupt(*args, **kwargs):
        scored["n"] += 1
        if scored["n"] == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return score_every_epoch(*args, **kwargs)

    path = tmp_path / "run.pt"
    with monkeypatch.context() as patch:
        patch.setattr(training, "evaluate_scores", evaluate_then_interrupt)
        stopped = fit(new_model(), tiny_images, tiny_images[:64], **options, checkpoint=path)
    assert stopped.interrupted and stopped.epochs == 2

    # A fresh process would build a fresh model: resume must restore everything from the file.
    resumed_model = new_model(seed=99)
    resumed = fit(resumed_model, tiny_images, tiny_images[:64], **options, checkpoint=path)
    assert resumed.train_loss == full.train_loss and resumed.test_loss == full.test_loss
    assert all(torch.equal(a, b) for a, b in zip(straight.parameters(), resumed_model.parameters()))


def test_ctrl_c_stops_after_the_batch_and_keeps_the_model(tiny_images, tmp_path):
    calls = {"n": 0}

    def interrupt_on_third_batch(images, generator):
        calls["n"] += 1
        if calls["n"] == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return images

    handler_before = signal.getsignal(signal.SIGINT)  # default_int_handler, or SIG_IGN in a background job
    history = fit(
        new_model(), tiny_images, num_epochs=3, recipe=Recipe(make_inputs=interrupt_on_third_batch), checkpoint=tmp_path / "c.pt",
        **SMALL,
    )
    assert history.interrupted and history.epochs == 0
    assert calls["n"] == 3  # the batch in flight finished, no later batch started
    assert signal.getsignal(signal.SIGINT) is handler_before  # Ctrl-C works as before again


def test_checkpoint_from_another_model_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    save_model(torch.nn.Sequential(torch.nn.Linear(3, 2)), path)
    with pytest.raises(CheckpointError, match="saved from a different model \\(Sequential\\)"):
        load_model(ConvAutoencoder(), path)


def test_truncated_checkpoint_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    save_model(ConvAutoencoder(), path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="truncated or not a checkpoint"):
        load_model(ConvAutoencoder(), path)


def test_saved_model_loads_back_identically(tmp_path):
    model, path = new_model(1), tmp_path / "model.pt"
    save_model(model, path)
    copy = load_model(new_model(2), path)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), copy.parameters()))


def test_resume_with_other_settings_is_refused(tiny_images, tmp_path):
    path = tmp_path / "run.pt"
    fit(new_model(), tiny_images, num_epochs=1, checkpoint=path, **SMALL)
    with pytest.raises(CheckpointError, match=r"belongs to another run: lr was 0.003, now 0.001"):
        fit(new_model(), tiny_images, num_epochs=1, checkpoint=path, **{**SMALL, "lr": 1e-3})
