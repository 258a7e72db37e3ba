"""Saving and restoring models and training runs: safely, and never mixing two different runs.

Defined in lesson 1 (``notebooks/01_conv_autoencoder.ipynb``).

Every file is written as plain tensors, numbers, strings, lists and dicts, and read back with
``torch.load(..., weights_only=True)``: a file passed on by someone else can then hold no code that
runs when it is loaded (the reason PyTorch made ``weights_only=True`` its default).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import pickle
import tempfile
import types
import zipfile
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from .history import History
from .paths import CHECKPOINT_DIR
from .runtime import is_quick


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used here; the message says why and what to do."""


def model_signature(model: nn.Module) -> dict[str, list[int]]:
    """The class name and every parameter's shape: enough to tell two models of different sizes apart."""
    return {"class": type(model).__name__, **{name: list(t.shape) for name, t in model.state_dict().items()}}


def describe_model(model: nn.Module) -> str:
    """The model's class and its printed layer tree, which names settings that no weight shape shows.

    Why not the weights' shapes alone: nearest and bilinear upsampling, or another activation,
    leave every shape as it was but make a different model.
    """
    return f"{type(model).__qualname__}\n{model!r}"


def describe_model_code(model: nn.Module) -> str:
    """One line per method of every class in ``model`` that is not PyTorch's: its name and a hash of its code.

    Why: editing a notebook's ``forward`` (say, the reparameterisation step) leaves the layer tree
    exactly as it was; without this line a finished checkpoint of the old code would be taken for the
    new one, and the learner would see the old results instead of a new training.
    """
    lines = []
    for cls in sorted({type(m) for m in model.modules()}, key=lambda c: (c.__module__, c.__qualname__)):
        for klass in cls.__mro__:
            if klass.__module__.startswith(("torch", "builtins", "typing")):
                continue
            lines += [f"{klass.__qualname__}.{name}: {_code_fingerprint(value.__code__)}"
                      for name, value in sorted(vars(klass).items()) if isinstance(value, types.FunctionType)]
    return "\n".join(dict.fromkeys(lines))  # a base class shared by two layers is listed once


_PLAIN = (int, float, str, bool, type(None))


def describe_callable(fn: Callable | None) -> str:
    """A text that changes whenever ``fn`` would compute something else.

    For a function: its source, its default arguments, the values it closes over and the plain
    values (numbers, strings) it reads from global variables, so that editing ``noise_factor = 0.5``
    in a notebook changes the description of the ``noisy`` function that reads it. For a
    ``functools.partial``: the function and its arguments. For another callable object: its class
    and its ``repr``. Library functions (``F.mse_loss``) are named by module and name.
    """
    if fn is None:
        return "none"
    if isinstance(fn, functools.partial):
        return f"partial({describe_callable(fn.func)}, args={fn.args!r}, keywords={sorted(fn.keywords.items())!r})"
    if isinstance(fn, types.FunctionType) and not _is_library(fn):
        return _describe_function(fn)
    if isinstance(fn, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
        return f"{fn.__module__}.{fn.__qualname__}"
    return f"{type(fn).__module__}.{type(fn).__qualname__}: {fn!r}"


def _is_library(fn: types.FunctionType) -> bool:
    return fn.__module__ is not None and fn.__module__.startswith(("torch", "aehelpers"))


def _describe_function(fn: types.FunctionType, seen: frozenset[int] = frozenset()) -> str:
    try:
        source = inspect.getsource(fn).strip()
    except (OSError, TypeError):  # no source file (e.g. built with exec): the bytecode stands in for it
        source = hashlib.sha256(fn.__code__.co_code).hexdigest()
    closure = [cell.cell_contents for cell in fn.__closure__ or ()]
    globals_read = {name: fn.__globals__[name] for name in fn.__code__.co_names if name in fn.__globals__}
    global_values = {name: value for name, value in globals_read.items() if isinstance(value, _PLAIN)}
    parts = [source, f"code={_code_fingerprint(fn.__code__)}", f"defaults={fn.__defaults__!r}",
             f"globals={sorted(global_values.items())!r}"]
    parts += [describe_callable(v) if callable(v) else repr(v) for v in closure]
    # The learner's own functions that this one calls (a loss calling `elbo_terms`): an edit there changes
    # what this function computes too. `seen` stops a function that calls itself.
    seen = seen | {id(fn)}
    parts += [f"calls {name}:\n{_describe_function(value, seen)}" for name, value in sorted(globals_read.items())
              if isinstance(value, types.FunctionType) and not _is_library(value) and id(value) not in seen]
    return "\n".join(parts)


def _code_fingerprint(code: types.CodeType) -> str:
    """A hash of the bytecode and its constants: tells apart two lambdas written on one source line."""
    constants = [_code_fingerprint(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts
                 if isinstance(c, (types.CodeType, *_PLAIN, tuple))]
    return hashlib.sha256(code.co_code + repr((constants, code.co_names)).encode()).hexdigest()[:16]


def atomic_save(obj: dict, path: Path) -> None:
    """``torch.save`` to ``path`` so that an interrupted write never leaves a broken file.

    Why: the file is written aside in the same folder, then renamed over ``path``; a rename is
    all-or-nothing on one file system, so a crash or Ctrl-C mid-write keeps the previous file whole.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def read_file(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load a file saved by this package with ``weights_only=True``; explain every way it can fail."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint at {path}. Train first, or check the path.")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"Refused to load {path}: it holds Python objects other than tensors, numbers, strings, lists and "
            "dicts, and loading such objects can run code hidden in the file. Fix: only load files from people "
            "you trust; a file from an older aehelpers version must be deleted and the model trained again."
        ) from err
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as err:
        raise CheckpointError(
            f"{path} is truncated or not a checkpoint ({type(err).__name__}: {err}). "
            "Fix: delete it and train again (or resume from an earlier copy)."
        ) from err


def _check_signature(saved: dict, model: nn.Module, path: str | Path) -> None:
    expected = model_signature(model)
    if saved != expected:
        differences = sorted(k for k in set(saved) | set(expected) if saved.get(k) != expected.get(k))
        raise CheckpointError(
            f"{path} was saved from a different model ({saved.get('class')}) than the one given "
            f"({expected['class']}); they differ in: {', '.join(differences[:6])}. "
            "Fix: build the same model class with the same settings as when it was saved, or use another file."
        )


def save_model(model: nn.Module, path: str | Path) -> None:
    """Save a model's weights with its signature, so loading can refuse a mismatched model."""
    atomic_save({"signature": model_signature(model), "model": model.state_dict()}, Path(path))


def load_model(model: nn.Module, path: str | Path) -> nn.Module:
    """Load weights saved by :func:`save_model` (or a training checkpoint) into ``model``.

    Tensors are mapped onto the model's device, so a checkpoint made on a GPU loads on a laptop.
    """
    device = next(model.parameters()).device
    state = read_file(path, map_location=device)
    _check_signature(state.get("signature", {}), model, path)
    model.load_state_dict(state["model"])
    return model


def load_history(path: str | Path) -> History:
    """The :class:`History` stored in a training checkpoint (what was measured, epoch by epoch)."""
    state = read_file(path)
    if "history" not in state:
        raise CheckpointError(f"{path} holds weights only, no training history. Fix: pass a training checkpoint.")
    return History(**state["history"])


def checkpoint_path(name: str) -> Path | None:
    """Where a lesson keeps its training checkpoint (``<repo>/checkpoints/<name>.pt``, git-ignored).

    ``None`` in quick mode: a test run must really train, never pick up an earlier run.
    """
    return None if is_quick() else CHECKPOINT_DIR / f"{name}.pt"


class TrainingCheckpoint:
    """A training run's whole state in one file, saved after every epoch, so a stopped run continues exactly.

    ``identity`` says what defines the run: the model's architecture, the input pipeline (noise,
    augmentation, loss) and the settings. Resuming is refused when any of it changed: continuing
    would silently mix two different runs, or show a finished run's results for a changed experiment.
    """

    def __init__(self, path: str | Path | None, identity: dict[str, object]) -> None:
        self.path = Path(path) if path is not None else None
        self.identity = identity

    def resume(self, model: nn.Module, optimizer, scheduler, generator: torch.Generator) -> History | None:
        """Restore the saved state into the given objects and return its history; ``None`` if there is none."""
        if self.path is None or not self.path.exists():
            return None
        state = read_file(self.path, map_location=next(model.parameters()).device)
        _check_signature(state.get("signature", {}), model, self.path)
        self._check_identity(state.get("identity", {}))
        model.load_state_dict(state["model"])
        _load_optimizer_state(optimizer, state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        # Random-number states live on the CPU whatever device the tensors went to.
        generator.set_state(state["generator"].cpu())
        torch.set_rng_state(state["torch_rng"].cpu())
        device = next(model.parameters()).device
        if state.get("cuda_rng") is not None and device.type == "cuda":  # a VAE's noise on the GPU resumes too
            torch.cuda.set_rng_state(state["cuda_rng"].cpu(), device)
        return History(**state["history"])

    def save(self, model: nn.Module, optimizer, scheduler, generator: torch.Generator, history: History) -> None:
        """Write everything needed to resume exactly: weights, optimizer, schedule, random states, history."""
        if self.path is None:
            return
        atomic_save({
            "identity": self.identity, "signature": model_signature(model), "model": model.state_dict(),
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "generator": generator.get_state(), "torch_rng": torch.get_rng_state(), "cuda_rng": _cuda_rng_state(model),
            "history": history.as_dict(),
        }, self.path)

    def _check_identity(self, saved: dict) -> None:
        # The model's code has been recorded since December 2026: a file written before is judged without it.
        changed = [key for key in self.identity if saved.get(key) != self.identity[key]
                   and not (key == "model code" and key not in saved)]
        if changed:
            details = "; ".join(_difference(key, saved.get(key), self.identity[key]) for key in changed)
            raise CheckpointError(
                f"{self.path} belongs to another run: {details}. Fix: give this run its own checkpoint name "
                "(an exercise should never reuse a lesson's), restore the old setting to continue that run, "
                "or delete the file to start afresh."
            )


def _cuda_rng_state(model: nn.Module) -> torch.Tensor | None:
    """The state of the CUDA generator a model on the GPU draws its noise from (a VAE's); ``None`` elsewhere.

    Why: on the CPU the noise comes from the generator saved as ``torch_rng``; on a GPU it comes from
    the device's own, which ``fit``'s seeding resets, so without it a resumed run would repeat its noise.
    """
    device = next(model.parameters()).device
    return torch.cuda.get_rng_state(device) if device.type == "cuda" else None


def _load_optimizer_state(optimizer: torch.optim.Optimizer, saved: dict) -> None:
    """Adam's moments and learning rate from the file, this machine's way of computing them.

    Why: a run saved on a GPU uses fused, capturable Adam with its learning rate in GPU memory; the
    same run continued on a CPU (or the other way round) needs this machine's settings for those.
    """
    mine = [{k: group[k] for k in ("fused", "capturable", "foreach", "lr") if k in group} for group in optimizer.param_groups]
    optimizer.load_state_dict(saved)
    for group, settings in zip(optimizer.param_groups, mine):
        value = float(group["lr"])
        group.update(settings)
        if isinstance(settings["lr"], torch.Tensor):
            settings["lr"].fill_(value)
        else:
            group["lr"] = value
        for param in group["params"]:
            step = optimizer.state.get(param, {}).get("step")
            if isinstance(step, torch.Tensor):  # capturable Adam keeps its step count beside the weights
                optimizer.state[param]["step"] = step.to(param.device if group.get("capturable") else "cpu")


def _difference(key: str, old: object, new: object) -> str:
    if not isinstance(old, str) or not isinstance(new, str):
        return f"{key} was {old!r}, now {new!r}"
    old_lines, new_lines = old.splitlines(), new.splitlines()
    first = next((i for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b), min(len(old_lines), len(new_lines)))
    then = old_lines[first].strip() if first < len(old_lines) else "(nothing)"
    now = new_lines[first].strip() if first < len(new_lines) else "(nothing)"
    return f"the {key} changed (was: {then[:80]!r}; now: {now[:80]!r})"
