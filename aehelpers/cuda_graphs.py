"""A training epoch whose steps replay one recorded CUDA graph: the GPU path of ``fit`` for small models.

Defined for lesson 1 (``notebooks/01_conv_autoencoder.ipynb``); used by ``fit`` on CUDA only.

Why: lesson 1's model has 1,077 weights. On a GPU each step is dozens of tiny kernels, and the GPU
waits for Python to launch them (about 1.7 ms a step on an H100). A CUDA graph records the forward
pass, the backward pass and Adam's update once, then replays them with one launch per step.
The data handling (choosing the batch, noise, augmentation) stays in ordinary PyTorch, outside the
graph, and writes into the graph's fixed input buffers. The CPU path never comes here.

Random numbers drawn *inside* the step (a VAE's code, ``torch.randn_like`` in its forward pass) come
from the default CUDA generator, which PyTorch registers with every graph it captures: each replay
reads the generator's current offset and moves it on by what the step consumes, exactly as an eager
step would. So a replay draws fresh noise every time, the same noise an eager run with the same seed
draws, and a VAE needs no eager fallback.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

import torch
from torch import nn

from .recipe import Recipe, TrainingDiverged, batch_indices


OFF_ENV = "AEHELPERS_CUDA_GRAPHS"  # set to 0 to train eagerly on CUDA too (benchmarks/cuda_graphs.py compares)


def can_capture(model: nn.Module, device: torch.device) -> bool:
    """CUDA, not switched off, and no dropout layer (its masks are not yet measured against eager on a GPU).

    A model that samples in its forward pass (a VAE) is captured: its noise comes from the default CUDA
    generator, which a replay advances like an eager step (see the module's docstring).
    """
    if device.type != "cuda" or os.environ.get(OFF_ENV, "1").strip() == "0":
        return False
    return not any(isinstance(m, nn.modules.dropout._DropoutNd) for m in model.modules())


def default_generator(device: torch.device) -> torch.Generator:
    """The generator that ``torch.randn_like`` and friends use for tensors on ``device``."""
    if device.type == "cuda":
        return torch.cuda.default_generators[device.index if device.index is not None else torch.cuda.current_device()]
    return torch.default_generator


def record_graph(step: Callable[[], None], warmup_steps: int = 3) -> Callable[[], None]:
    """Run ``step`` a few times on a side stream (CUDA needs this before capturing), record it, return the replay."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(warmup_steps):
            step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    return graph.replay


class CapturedEpoch:
    """Runs epochs like ``train_one_epoch`` (same batches, same random draws), each full batch as one graph replay."""

    def __init__(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor | None, recipe: Recipe,
                 optimizer: torch.optim.Optimizer, scheduler, batch_size: int) -> None:
        self.model, self.images, self.labels, self.recipe = model, images, labels, recipe
        self.optimizer, self.scheduler, self.batch_size = optimizer, scheduler, batch_size
        example = self._batch(torch.arange(batch_size, device=images.device), torch.Generator().manual_seed(0))
        self.inputs, self.targets = (t.clone() for t in example)
        self.total_loss = torch.zeros((), device=images.device)
        self.correct = torch.zeros((), device=images.device)
        model.train()  # a graph keeps the mode it was recorded in: record the training step in training mode
        self.replay = self._capture()

    def _batch(self, idx: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        clean = self.images[idx] if self.recipe.augment is None else self.recipe.augment(self.images[idx], generator)
        inputs = clean if self.recipe.make_inputs is None else self.recipe.make_inputs(clean, generator)
        return inputs, (clean if self.labels is None else self.labels[idx])

    def _step(self) -> None:
        outputs = self.model(self.inputs)
        loss = self.recipe.loss_fn(outputs, self.targets)
        self.optimizer.zero_grad(set_to_none=False)  # gradients stay in place: the graph reuses their memory
        loss.backward()
        self.optimizer.step()
        self.total_loss += loss.detach() * len(self.inputs)
        if self.labels is not None:
            self.correct += (outputs.detach().argmax(dim=1) == self.targets).sum()

    def _capture(self) -> Callable[[], None]:
        # Warm-up steps (needed before capturing) change the weights, Adam's state and, for a model
        # that samples, the random-number generator: remember all three and put them back, so the
        # captured run starts exactly where an eager one would and draws the same noise.
        saved = [t.detach().clone() for t in self._state_tensors()]
        generator = default_generator(self.images.device)
        random_state = generator.get_state()
        try:
            replay = record_graph(self._step)
        finally:
            # Adam's moments made by the warm-up did not exist before: a fresh start is zeros.
            for tensor in self._state_tensors()[len(saved):]:
                tensor.detach().zero_()
            for tensor, before in zip(self._state_tensors(), saved):
                tensor.detach().copy_(before)
            generator.set_state(random_state)
        return replay

    def _state_tensors(self) -> list[torch.Tensor]:
        tensors = list(self.model.parameters()) + list(self.model.buffers())
        for param in self.model.parameters():
            tensors += [v for v in self.optimizer.state.get(param, {}).values() if isinstance(v, torch.Tensor)]
        return tensors

    def __call__(self, generator: torch.Generator, stop) -> tuple[float, float]:
        self.model.train()
        self.total_loss.zero_()
        self.correct.zero_()
        seen = 0
        for step, idx in enumerate(batch_indices(len(self.images), self.batch_size, generator)):
            inputs, targets = self._batch(idx.to(self.images.device), generator)
            if len(idx) == self.batch_size:
                self.inputs.copy_(inputs)
                self.targets.copy_(targets)
                self.replay()
            else:  # the last, smaller batch: the same step, run eagerly
                self._eager_step(inputs, targets)
            self.scheduler.step()
            seen += len(idx)
            if stop.requested:
                stop.at_batch = step
                break
        loss = self.total_loss.item() / seen  # one synchronisation per epoch, not one per step
        if not math.isfinite(loss):
            raise TrainingDiverged(f"the loss became {loss} during this epoch (captured CUDA steps). Try a smaller "
                                   "`lr` or a longer `Recipe(warmup_epochs=...)`, and check the inputs hold no NaN.")
        return loss, (100 * self.correct.item() / seen if self.labels is not None else math.nan)

    def _eager_step(self, inputs: torch.Tensor, targets: torch.Tensor) -> None:
        outputs = self.model(inputs)
        loss = self.recipe.loss_fn(outputs, targets)
        self.optimizer.zero_grad(set_to_none=False)
        loss.backward()
        self.optimizer.step()
        self.total_loss += loss.detach() * len(inputs)
        if self.labels is not None:
            self.correct += (outputs.detach().argmax(dim=1) == targets).sum()


def captured_epochs(model: nn.Module, images: torch.Tensor, labels: torch.Tensor | None, recipe: Recipe,
                    optimizer: torch.optim.Optimizer, scheduler, batch_size: int) -> Callable | None:
    """A :class:`CapturedEpoch`, or ``None`` (train eagerly) when capturing is not possible here."""
    if not can_capture(model, images.device) or len(images) < batch_size:
        return None
    try:
        return CapturedEpoch(model, images, labels, recipe, optimizer, scheduler, batch_size)
    except (RuntimeError, TypeError) as err:  # an operation that cannot be captured: fall back, and say so
        print(f"CUDA graph capture failed ({type(err).__name__}: {str(err)[:120]}); training eagerly instead.")
        return None
