"""One training loop for every lesson: ``train_one_epoch`` (the loop itself) and ``fit`` (the loop plus conveniences).

Defined in lesson 1 (``notebooks/01_conv_autoencoder.ipynb``), where the learner first writes the bare
loop by hand. ``fit`` adds, each in a small piece of its own: data moved to the device once, a
learning-rate schedule, held-out scores per epoch, checkpoints that resume exactly, Ctrl-C that
stops cleanly, keeping the best epoch, and a progress bar.

Where the model lives: ``fit`` borrows the fastest device for training and hands the model back on
the CPU, where the lessons keep their images. Every analysis helper (``predict``, ``evaluate``,
the metrics) runs on the model's device and returns CPU tensors, so notebook code never moves tensors.
"""

from __future__ import annotations

import functools
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .checkpoints import TrainingCheckpoint, describe_callable, describe_model, describe_model_code
from .evaluation import LossFn, evaluate_scores, top1_accuracy
from .history import History
from .progress import ProgressBar
from .recipe import InputMaker, Recipe, TrainingDiverged, batch_indices  # noqa: F401 (re-exported)
from .runtime import get_device, set_seed


def train_one_epoch(model: nn.Module, images: torch.Tensor, labels: torch.Tensor | None, recipe: Recipe,
                    optimizer: torch.optim.Optimizer, scheduler, generator: torch.Generator, stop: StopOnCtrlC,
                    batch_size: int) -> tuple[float, float]:
    """One pass over the training set in shuffled batches: the loop every lesson trains with.

    Returns the loss averaged per example, and the top-1 accuracy in percent when ``labels`` are
    given (else NaN). ``labels=None`` means each image is its own target (an autoencoder).
    """
    model.train()
    total_loss, seen, correct = 0.0, 0, 0
    for step, idx in enumerate(batch_indices(len(images), batch_size, generator)):
        clean = images[idx] if recipe.augment is None else recipe.augment(images[idx], generator)
        inputs = clean if recipe.make_inputs is None else recipe.make_inputs(clean, generator)
        targets = clean if labels is None else labels[idx]
        outputs = model(inputs)  # forward
        loss = recipe.loss_fn(outputs, targets)
        loss_value = loss.item()
        check_finite(loss_value, optimizer, step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # backward: gradients of the loss for every weight
        optimizer.step()  # one Adam step
        scheduler.step()  # the learning rate for the next step
        # loss is a mean over the batch: weight it by the batch's size, so the epoch's average is
        # per example even when the last batch is smaller (the course divided by the batch count).
        total_loss += loss_value * len(idx)
        seen += len(idx)
        if labels is not None:
            correct += (outputs.detach().argmax(dim=1) == targets).sum().item()
        if stop.requested:  # Ctrl-C: the batch in flight has finished; stop here
            stop.at_batch = step
            break
    return total_loss / seen, (100 * correct / seen if labels is not None else math.nan)


def fit(
    model: nn.Module,
    train_images: torch.Tensor,
    test_images: torch.Tensor | None = None,
    *,
    num_epochs: int,
    batch_size: int = 20,
    lr: float = 1e-3,
    labels: tuple[torch.Tensor, torch.Tensor | None] | None = None,
    recipe: Recipe = Recipe(),
    device: str | torch.device | None = None,
    seed: int = 0,
    checkpoint: str | Path | None = None,
    progress: bool = True,
) -> History:
    """Train ``model`` with Adam for ``num_epochs`` and return its :class:`History`; the model ends on the CPU.

    By default the model learns to reproduce its input (an autoencoder). Pass ``labels=(train_labels,
    test_labels)`` to train a classifier (with ``Recipe(loss_fn=F.cross_entropy)``); accuracy is then
    recorded too. ``test_images`` are scored after every epoch and never trained on.

    Args:
        device: where to train; ``None`` picks CUDA, then MPS, then the CPU.
        seed: seeds the shuffling and the noise: on the same machine and library versions a re-run
            gives the same numbers; another CPU, thread count, PyTorch build or code version may differ.
        checkpoint: a file to save the whole run in after every epoch; if it exists, the run
            continues from it, as if never stopped (a file from a different run is refused).
        progress: show a progress bar over the epochs.
    """
    check_fit_arguments(num_epochs, batch_size, lr, train_images, labels)
    device = get_device(device)
    set_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model.to(device, memory_format=torch.channels_last)  # channels-last: faster CPU convolutions (benchmarks/)
    images = train_images.to(device)  # the data moves to the device once, not batch by batch
    train_labels = labels[0].to(device) if labels is not None else None
    held_out = HeldOutSet.make(test_images, labels, recipe, seed)
    optimizer, scheduler = make_optimizer(model, lr, recipe, num_epochs, math.ceil(len(images) / batch_size), device)
    saver = TrainingCheckpoint(checkpoint, run_identity(model, recipe, num_epochs, batch_size, lr, seed, len(images)))
    history = saver.resume(model, optimizer, scheduler, generator) or History()
    if history.epochs:
        print(f"Resuming from {checkpoint}: {history.epochs} of {num_epochs} epochs already done.")
    run_epoch = epoch_runner(model, images, train_labels, recipe, optimizer, scheduler, batch_size)
    best = BestWeights(recipe.keep_best)
    bar = ProgressBar(range(history.epochs, num_epochs), initial=history.epochs, total=num_epochs,
                      desc="epochs", disable=not progress)
    with StopOnCtrlC() as stop:
        for _ in bar:
            started = time.perf_counter()
            try:
                loss, accuracy = run_epoch(generator, stop)
            except TrainingDiverged as err:
                raise TrainingDiverged(f"In epoch {history.epochs + 1}: {err}") from None
            if stop.requested:
                report_interrupt(history, stop.at_batch, checkpoint)
                break
            history.record_epoch(loss, accuracy, time.perf_counter() - started, held_out.score(model))
            best.update(model, history)
            saver.save(model, optimizer, scheduler, generator, history)
            bar.set_postfix(train=f"{loss:.5f}", test=f"{history.test_loss[-1]:.5f}" if history.test_loss else "-")
    bar.close()
    best.restore(model, history)
    model.cpu()  # hand the model back where the lessons' tensors live
    return history


# The pieces that fit composes, each small enough to read on its own.


def check_fit_arguments(num_epochs: int, batch_size: int, lr: float, train_images: torch.Tensor,
                        labels: tuple[torch.Tensor, torch.Tensor | None] | None) -> None:
    """Refuse bad arguments up front, with the name of the argument and what it should be."""
    if not isinstance(num_epochs, int) or num_epochs < 1:
        raise ValueError(f"num_epochs must be a whole number >= 1, got {num_epochs!r}.")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1, got {batch_size!r}.")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}.")
    if not isinstance(train_images, torch.Tensor) or len(train_images) == 0:
        raise ValueError("train_images must be a non-empty tensor of images (N, C, H, W).")
    if labels is not None and (not isinstance(labels, tuple) or len(labels) != 2 or len(labels[0]) != len(train_images)):
        raise ValueError("labels must be a pair (train_labels, test_labels) with one train label per training "
                         "image; pass test_labels=None when there are no test images.")


def check_finite(loss_value: float, optimizer: torch.optim.Optimizer, step: int) -> None:
    """Stop with a useful message as soon as the loss is NaN or infinite, instead of training on garbage."""
    if not math.isfinite(loss_value):
        raise TrainingDiverged(
            f"the loss became {loss_value} at batch {step + 1}. "
            f"The learning rate ({optimizer.param_groups[0]['lr']:.2g}) is probably too high: "
            "try a smaller `lr` or a longer `Recipe(warmup_epochs=...)`, and check the inputs hold no NaN."
        )


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


def make_optimizer(model: nn.Module, lr: float, recipe: Recipe, num_epochs: int, steps_per_epoch: int,
                   device: torch.device) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """Adam (with AdamW's decoupled decay when asked) and its per-step learning-rate schedule."""
    # Adam's fused kernel: one launch per step instead of dozens, about 20 % faster on a GPU. On the
    # CPU its gain was within the machine's noise (benchmarks/step_time.py), and it would change
    # every stored lesson's numbers, so the CPU keeps the default.
    cuda = device.type == "cuda"
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=recipe.weight_decay,
                                 decoupled_weight_decay=recipe.weight_decay > 0,
                                 fused=True if cuda else None, capturable=cuda)
    warmup_steps = round(recipe.warmup_epochs * steps_per_epoch)
    if recipe.cosine:
        schedule = warmup_cosine(num_epochs * steps_per_epoch, warmup_steps)
    else:  # constant after the warm-up (if any)
        schedule = lambda step: min(1.0, (step + 1) / max(1, warmup_steps))  # noqa: E731
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    if cuda:  # a learning rate that lives on the GPU, so a recorded CUDA graph sees the schedule change it
        for group in optimizer.param_groups:
            group["lr"] = torch.tensor(group["lr"], device=device)
    return optimizer, scheduler


def epoch_runner(model: nn.Module, images: torch.Tensor, labels: torch.Tensor | None, recipe: Recipe,
                 optimizer: torch.optim.Optimizer, scheduler, batch_size: int) -> Callable:
    """``train_one_epoch`` with everything but the generator and Ctrl-C filled in; on CUDA, its CUDA-graph twin."""
    if images.device.type == "cuda":
        from .cuda_graphs import captured_epochs  # GPU only: the CPU path never imports it

        captured = captured_epochs(model, images, labels, recipe, optimizer, scheduler, batch_size)
        if captured is not None:
            return captured
    return functools.partial(train_one_epoch, model, images, labels, recipe, optimizer, scheduler,
                             batch_size=batch_size)


def run_identity(model: nn.Module, recipe: Recipe, num_epochs: int, batch_size: int, lr: float, seed: int,
                 train_examples: int) -> dict[str, object]:
    """What defines a training run, as plain values a checkpoint stores and compares before resuming."""
    return {
        "architecture": describe_model(model), "model code": describe_model_code(model),
        "loss": describe_callable(recipe.loss_fn),
        "input maker": describe_callable(recipe.make_inputs), "augmentation": describe_callable(recipe.augment),
        "num_epochs": num_epochs, "batch_size": batch_size, "lr": lr, "warmup_epochs": recipe.warmup_epochs,
        "cosine": recipe.cosine, "weight_decay": recipe.weight_decay, "seed": seed, "train_examples": train_examples,
    }


@dataclass
class HeldOutSet:
    """The images (and targets) scored after every epoch; ``score`` returns nothing when there are none."""

    inputs: torch.Tensor | None
    targets: torch.Tensor | None
    loss_fn: LossFn
    classify: bool
    extra_scores: dict[str, LossFn]

    @classmethod
    def make(cls, test_images: torch.Tensor | None, labels, recipe: Recipe, seed: int) -> HeldOutSet:
        if test_images is None:
            return cls(None, None, recipe.loss_fn, False, recipe.extra_scores)
        targets = test_images if labels is None else labels[1]
        # Test inputs are made once, with their own seed, so every epoch is scored on the same images.
        inputs = test_images if recipe.make_inputs is None else recipe.make_inputs(
            test_images, torch.Generator().manual_seed(seed + 1))
        return cls(inputs, targets, recipe.loss_fn, labels is not None, recipe.extra_scores)

    def score(self, model: nn.Module) -> dict[str, float] | None:
        if self.inputs is None:
            return None
        score_fns = {"loss": self.loss_fn, "accuracy": top1_accuracy} if self.classify else {"loss": self.loss_fn}
        return evaluate_scores(model, self.inputs, self.targets, score_fns | self.extra_scores)


class BestWeights:
    """Remembers the weights of the best epoch so far (with ``Recipe(keep_best=True)``) and restores them at the end."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.state: dict[str, torch.Tensor] | None = None

    def update(self, model: nn.Module, history: History) -> None:
        if self.enabled and history.is_best_epoch():
            self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            history.best_epoch = history.epochs

    def restore(self, model: nn.Module, history: History) -> None:
        if not self.enabled:
            return
        if self.state is not None:
            model.load_state_dict(self.state)
            print(f"Kept the weights of epoch {history.best_epoch} of {history.epochs}, the best on the held-out images.")
        elif history.best_epoch is not None:  # the best epoch came before a resume; checkpoints hold the latest only
            print(f"Epoch {history.best_epoch} was the best, but it finished before this run resumed and its weights "
                  f"were not saved: the model keeps the weights of epoch {history.epochs}.")
            history.best_epoch = None


class StopOnCtrlC:
    """Catch Ctrl-C during training so the current batch can finish before we stop."""

    def __init__(self) -> None:
        self.requested = False
        self.at_batch = 0
        self._previous = None

    def __enter__(self) -> StopOnCtrlC:
        # Signal handlers can only be set from the main thread; elsewhere Ctrl-C keeps its default.
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.requested = True

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def report_interrupt(history: History, at_batch: int, checkpoint: str | Path | None) -> None:
    """Say where training stopped and how to continue; the history keeps only finished epochs."""
    history.interrupted = True
    where = f"epoch {history.epochs + 1}, batch {at_batch + 1}"
    if checkpoint is not None and Path(checkpoint).exists():
        how = (f"The last checkpoint ({history.epochs} finished epochs) is {checkpoint}: run the same "
               "fit(...) call again to continue from there.")
    else:
        how = "Pass checkpoint=... to fit to be able to continue a stopped run."
    print(f"Stopped by Ctrl-C in {where}. The model keeps its weights and the history its "
          f"{history.epochs} finished epochs. {how}")
