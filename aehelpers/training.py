"""One training loop for every lesson: in-memory batches, honest losses, checkpoints, Ctrl-C.

Defined in lesson 1 (``notebooks/01_conv_autoencoder.ipynb``).
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .progress import ProgressBar
from .runtime import get_device, set_seed

# Turns clean images into the model's input, e.g. by adding noise (lesson 2). It must draw its
# randomness from the generator it is given, so a seeded run repeats exactly.
InputMaker = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite; the message names the epoch, the batch and a fix."""


@dataclass
class History:
    """What ``fit`` measured, one entry per finished epoch.

    ``train_loss`` and ``test_loss`` are averages per example (for MSE: per pixel), so numbers
    from different batch sizes compare directly; ``seconds`` is the wall-clock time spent training
    up to the end of each epoch.
    """

    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    interrupted: bool = False
    # Filled only by classifiers (``fit(..., track_accuracy=True)``): top-1 accuracy in percent.
    train_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    # With ``keep_best=True``: the epoch (1-based) whose weights the model was given back.
    best_epoch: int | None = None

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def as_dict(self) -> dict:
        return asdict(self)


def batch_indices(count: int, batch_size: int, generator: torch.Generator, shuffle: bool = True) -> Iterator[torch.Tensor]:
    """Yield index tensors that cover ``range(count)`` once, in a seeded random order.

    Slicing in-memory tensors with these indices replaces a ``DataLoader``: no per-image Python
    work, no worker processes, and the order depends only on the generator's seed.
    """
    order = torch.randperm(count, generator=generator) if shuffle else torch.arange(count)
    yield from order.split(batch_size)


def evaluate(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    loss_fn: LossFn = F.mse_loss,
    batch_size: int = 2_000,
    device: torch.device | None = None,
) -> float:
    """The loss of ``model`` over a whole data set, averaged per example.

    Runs in large batches under ``torch.inference_mode()`` (no autograd bookkeeping) and puts the
    model back in its former train/eval mode afterwards.
    """
    return evaluate_scores(model, inputs, targets, {"loss": loss_fn}, batch_size, device)["loss"]


def evaluate_scores(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    score_fns: dict[str, LossFn],
    batch_size: int = 2_000,
    device: torch.device | None = None,
) -> dict[str, float]:
    """Several per-batch averages at once (e.g. loss and accuracy), in one pass over the data."""
    totals = dict.fromkeys(score_fns, 0.0)
    for start, outputs in _batched_outputs(model, inputs, batch_size, device):
        y = targets[start : start + len(outputs)].to(outputs.device, non_blocking=True)
        for name, fn in score_fns.items():
            totals[name] += float(fn(outputs, y)) * len(outputs)
    return {name: total / len(inputs) for name, total in totals.items()}


def predict(model: nn.Module, inputs: torch.Tensor, batch_size: int = 2_000) -> torch.Tensor:
    """Run ``model`` over ``inputs`` in eval mode, in large batches, and return the outputs on the CPU."""
    return torch.cat([outputs.cpu() for _, outputs in _batched_outputs(model, inputs, batch_size)])


def _batched_outputs(model: nn.Module, inputs: torch.Tensor, batch_size: int, device: torch.device | None = None) -> Iterator[tuple[int, torch.Tensor]]:
    """Yield (start index, outputs) batch by batch, in eval mode under ``torch.inference_mode()``.

    Eval mode makes batch norm use its running statistics and switches dropout off; the model's
    former mode is restored afterwards, even if the caller stops early.
    """
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(inputs), batch_size):
                yield start, model(inputs[start : start + batch_size].to(device, non_blocking=True))
    finally:
        model.train(was_training)


def top1_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The share of examples whose highest-scoring class is the right one, in percent."""
    return (logits.argmax(dim=1) == labels).float().mean() * 100


def warmup_cosine(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """Learning-rate factor per step: a linear warm-up, then a cosine decay towards zero.

    The warm-up lets a large learning rate start gently while Adam's statistics settle; the decay
    lets the last epochs settle into a minimum instead of bouncing around it.
    """

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


class _StopRequest:
    """Catch Ctrl-C during training so the current batch can finish before we stop."""

    def __init__(self) -> None:
        self.requested = False
        self.at_batch = 0
        self._previous = None

    def __enter__(self) -> "_StopRequest":
        # Signal handlers can only be set from the main thread; elsewhere Ctrl-C keeps its default.
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.requested = True

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def fit(
    model: nn.Module,
    train_images: torch.Tensor,
    test_images: torch.Tensor | None = None,
    *,
    num_epochs: int,
    batch_size: int = 20,
    lr: float = 1e-3,
    warmup_epochs: float = 0.0,
    cosine: bool = False,
    train_targets: torch.Tensor | None = None,
    test_targets: torch.Tensor | None = None,
    make_inputs: InputMaker | None = None,
    augment: InputMaker | None = None,
    loss_fn: LossFn = F.mse_loss,
    track_accuracy: bool = False,
    keep_best: bool = False,
    weight_decay: float = 0.0,
    channels_last: bool = True,
    device: str | torch.device | None = None,
    seed: int = 0,
    checkpoint_path: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
) -> History:
    """Train ``model`` with Adam and return its :class:`History`.

    By default the model learns to reproduce its input (an autoencoder): the target of each image
    is the image itself. Pass ``make_inputs`` to feed it altered images instead (a denoiser), or
    ``train_targets`` / ``test_targets`` for labels (a classifier, with a matching ``loss_fn``).
    ``augment`` changes each training batch at random (never the test images); an autoencoder
    then learns to rebuild the augmented image.

    Args:
        num_epochs: passes over ``train_images``.
        batch_size, lr: Adam's batch size and peak learning rate.
        warmup_epochs, cosine: the learning-rate schedule (constant when both are off).
        weight_decay: decoupled weight decay (AdamW's), which shrinks the weights a little every step.
        track_accuracy: also record top-1 accuracy per epoch (for classifiers).
        keep_best: at the end, give the model back the weights of its best epoch on the test
            images (highest accuracy when tracked, else lowest loss): pass the validation split
            as ``test_images`` and the validation split picks the epoch.
        channels_last: store the weights in the channels-last memory format, which the CPU's
            convolution kernels run faster on (measured in ``benchmarks/``).
        device: ``None`` picks CUDA, then MPS, then the CPU.
        seed: seeds the weights' initial values (when the model is built after ``set_seed``),
            the shuffling and the noise, so a CPU run repeats bit for bit.
        checkpoint_path: save the whole training state there after every epoch (atomically).
        resume: continue from ``checkpoint_path`` if it exists, as if never stopped.
        progress: show a progress bar over the epochs.
    """
    _check_arguments(num_epochs, batch_size, lr, train_images)
    device = get_device(device) if not isinstance(device, torch.device) else device
    set_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)

    # The data moves to the device once, not batch by batch.
    train_images = train_images.to(device)
    if train_targets is not None:  # None: every image is its own target (an autoencoder)
        train_targets = train_targets.to(device)
    test_inputs = test_targets_ = None
    if test_images is not None:
        test_targets_ = test_images if test_targets is None else test_targets
        # Test inputs are made once, with their own seed, so every epoch is scored on the same images.
        test_inputs = test_images if make_inputs is None else make_inputs(test_images, torch.Generator().manual_seed(seed + 1))

    steps_per_epoch = math.ceil(len(train_images) / batch_size)
    # Adam's fused kernel: one launch per step instead of dozens, about 20 % faster on a GPU. On the
    # CPU its gain was within the machine's noise (benchmarks/step_time.py), and it would change
    # every stored lesson's numbers, so the CPU keeps the default.
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay,
                                 decoupled_weight_decay=weight_decay > 0, fused=True if device.type == "cuda" else None)
    total_steps = num_epochs * steps_per_epoch
    warmup_steps = round(warmup_epochs * steps_per_epoch)
    schedule = warmup_cosine(total_steps, warmup_steps) if cosine else (lambda s: min(1.0, (s + 1) / max(1, warmup_steps)))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)

    # What defines this run: resuming is refused when any of it changed since the checkpoint.
    run_settings = dict(
        num_epochs=num_epochs, batch_size=batch_size, lr=lr, warmup_epochs=warmup_epochs, cosine=cosine,
        weight_decay=weight_decay, seed=seed, train_examples=len(train_images), denoising=make_inputs is not None,
    )
    if augment is not None:  # only then, so checkpoints saved before augmentation existed still resume
        run_settings["augmented"] = True
    history = History()
    start_epoch = 0
    if resume and checkpoint_path is not None and Path(checkpoint_path).exists():
        from .checkpoints import load_training_state

        state = load_training_state(checkpoint_path, model, optimizer, scheduler, device, run_settings)
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        history = History(**state["history"])
        start_epoch = history.epochs
        print(f"Resuming from {checkpoint_path}: {start_epoch} of {num_epochs} epochs already done.")

    best_state = None
    bar = ProgressBar(range(start_epoch, num_epochs), initial=start_epoch, total=num_epochs, desc="epochs", disable=not progress)
    elapsed = history.seconds[-1] if history.seconds else 0.0
    with _StopRequest() as stop:
        for epoch in bar:
            epoch_start = time.perf_counter()
            train_loss, train_accuracy = _train_one_epoch(
                model, train_images, train_targets, make_inputs, augment, loss_fn, track_accuracy,
                optimizer, scheduler, generator, batch_size, epoch, stop,
            )
            if stop.requested:
                history.interrupted = True
                _report_interrupt(epoch, stop.at_batch, steps_per_epoch, checkpoint_path, history)
                break
            elapsed += time.perf_counter() - epoch_start
            history.train_loss.append(train_loss)
            history.seconds.append(elapsed)
            if track_accuracy:
                history.train_accuracy.append(train_accuracy)
            if test_inputs is not None:
                scores = {"loss": loss_fn, "accuracy": top1_accuracy} if track_accuracy else {"loss": loss_fn}
                scores = evaluate_scores(model, test_inputs, test_targets_, scores, device=device)
                history.test_loss.append(scores["loss"])
                if track_accuracy:
                    history.test_accuracy.append(scores["accuracy"])
                if keep_best and _is_best(history):
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                    history.best_epoch = history.epochs
            bar.set_postfix(train=f"{history.train_loss[-1]:.5f}", test=f"{history.test_loss[-1]:.5f}" if history.test_loss else "-")
            if checkpoint_path is not None:
                from .checkpoints import save_training_state

                save_training_state(checkpoint_path, model, optimizer, scheduler, generator, history, run_settings)
    bar.close()
    if keep_best and best_state is not None:
        model.load_state_dict(best_state)
        print(f"Kept the weights of epoch {history.best_epoch} of {history.epochs}, the best on the held-out images given.")
    elif keep_best and history.best_epoch is not None:
        # The best epoch came before a resume; checkpoints hold only the latest weights.
        print(f"Epoch {history.best_epoch} was the best, but it finished before this run resumed and its weights "
              f"were not saved: the model keeps the weights of epoch {history.epochs}.")
        history.best_epoch = None
    return history


def _is_best(history: History) -> bool:
    """Whether the epoch just finished is the best so far on the held-out images."""
    if history.test_accuracy:
        return history.test_accuracy[-1] >= max(history.test_accuracy)
    return history.test_loss[-1] <= min(history.test_loss)


def _train_one_epoch(model, images, targets, make_inputs, augment, loss_fn, track_accuracy, optimizer, scheduler, generator, batch_size, epoch, stop) -> tuple[float, float]:
    """One pass over the training set in shuffled batches.

    Returns the loss averaged per example, and the top-1 accuracy in percent with
    ``track_accuracy`` (else NaN). ``targets=None`` means each image is its own target.
    """
    model.train()
    running, seen, correct = 0.0, 0, 0.0
    for step, idx in enumerate(batch_indices(len(images), batch_size, generator)):
        clean = images[idx]
        if augment is not None:
            clean = augment(clean, generator)
        inputs = clean if make_inputs is None else make_inputs(clean, generator)
        batch_targets = clean if targets is None else targets[idx]
        outputs = model(inputs)
        loss = loss_fn(outputs, batch_targets)
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            raise TrainingDiverged(
                f"The loss became {loss_value} at epoch {epoch + 1}, batch {step + 1}. "
                f"The learning rate ({optimizer.param_groups[0]['lr']:.2g}) is probably too high: "
                "try a smaller `lr` or a longer `warmup_epochs`, and check the inputs hold no NaN."
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        # loss is a mean over the batch: weight it by the batch's size, so the epoch's average is
        # per example even when the last batch is smaller (the course divided by the batch count).
        running += loss_value * len(idx)
        seen += len(idx)
        if track_accuracy:
            correct += (outputs.detach().argmax(dim=1) == batch_targets).sum().item()
        if stop.requested:  # Ctrl-C: the batch in flight has finished; stop here
            stop.at_batch = step
            break
    return running / seen, (100 * correct / seen if track_accuracy else math.nan)


def _check_arguments(num_epochs: int, batch_size: int, lr: float, train_images: torch.Tensor) -> None:
    if not isinstance(num_epochs, int) or num_epochs < 1:
        raise ValueError(f"num_epochs must be a whole number >= 1, got {num_epochs!r}.")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1, got {batch_size!r}.")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}.")
    if not isinstance(train_images, torch.Tensor) or len(train_images) == 0:
        raise ValueError("train_images must be a non-empty tensor of images (N, C, H, W).")


def _report_interrupt(epoch: int, step: int, steps_per_epoch: int, checkpoint_path, history: History) -> None:
    where = f"epoch {epoch + 1}, batch {step + 1} of {steps_per_epoch}"
    if checkpoint_path is not None and os.path.exists(checkpoint_path):
        how = (
            f"The last checkpoint ({history.epochs} finished epochs) is {checkpoint_path}: run the same "
            "fit(...) call with resume=True to continue from there."
        )
    else:
        how = "Pass checkpoint_path=... (and resume=True) to fit to be able to continue a stopped run."
    print(f"Stopped by Ctrl-C after {where}. The model keeps its weights and the history its {history.epochs} finished epochs. {how}")
