"""Running a trained model over many images: predictions, losses and accuracy.

Defined in lesson 1 (``notebooks/01_conv_autoencoder.ipynb``). Every function here takes images on
the CPU, runs them on whatever device the model lives on, and hands results back on the CPU: the
notebooks never need to move tensors themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def model_device(model: nn.Module) -> torch.device:
    """The device the model's weights are on (the CPU for a model without weights)."""
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode for a ``with`` block, then restore the mode it had (even after an error).

    Why: evaluating must not leave a model that was training in eval mode (dropout and batch norm
    would silently stop training), nor the other way round.
    """
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def batched_outputs(model: nn.Module, inputs: torch.Tensor, batch_size: int = 2_000) -> Iterator[tuple[int, torch.Tensor]]:
    """Yield (start index, outputs) batch by batch, in eval mode under ``torch.inference_mode()``.

    Eval mode makes batch norm use its running statistics and switches dropout off; the model's
    former mode is restored afterwards, even if the caller stops early. Each batch is moved to the
    model's device, so the inputs may stay on the CPU.
    """
    device = model_device(model)
    with eval_mode(model), torch.inference_mode():
        for start in range(0, len(inputs), batch_size):
            yield start, model(inputs[start : start + batch_size].to(device, non_blocking=True))


def predict(model: nn.Module, inputs: torch.Tensor, batch_size: int = 2_000) -> torch.Tensor:
    """Run ``model`` over ``inputs`` in eval mode, in large batches, and return the outputs on the CPU."""
    return torch.cat([outputs.cpu() for _, outputs in batched_outputs(model, inputs, batch_size)])


def evaluate_scores(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, score_fns: dict[str, LossFn], batch_size: int = 2_000
) -> dict[str, float]:
    """Several per-batch averages at once (e.g. loss and accuracy), in one pass over the data.

    Each batch's score is weighted by the batch's size, so the result is a per-example average.
    """
    totals = dict.fromkeys(score_fns, 0.0)
    for start, outputs in batched_outputs(model, inputs, batch_size):
        count = min(batch_size, len(inputs) - start)  # outputs may be a tuple (a VAE's), so not len(outputs)
        y = targets[start : start + count].to(model_device(model), non_blocking=True)
        for name, fn in score_fns.items():
            totals[name] += float(fn(outputs, y)) * count
    return {name: total / len(inputs) for name, total in totals.items()}


def evaluate(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss_fn: LossFn = F.mse_loss,
             batch_size: int = 2_000) -> float:
    """The loss of ``model`` over a whole data set, averaged per example."""
    return evaluate_scores(model, inputs, targets, {"loss": loss_fn}, batch_size)["loss"]


def top1_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The share of examples whose highest-scoring class is the right one, in percent."""
    return (logits.argmax(dim=1) == labels).float().mean() * 100
