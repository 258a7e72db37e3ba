"""Saving and restoring a training run, so a stopped run continues exactly where it was.

Defined in lesson 1 (``notebooks/01_conv_autoencoder.ipynb``).
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path

import torch
from torch import nn

from .runtime import is_quick

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used here; the message says why and what to do."""


def model_signature(model: nn.Module) -> dict[str, list[int]]:
    """The class name and every parameter's shape: enough to tell two models apart."""
    return {"class": type(model).__name__, **{name: list(t.shape) for name, t in model.state_dict().items()}}


def _atomic_save(obj: dict, path: Path) -> None:
    # Write to a temporary file in the same folder, then rename: a crash mid-write leaves the
    # previous checkpoint whole, because a rename is all-or-nothing on one file system.
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


def save_model(model: nn.Module, path: str | Path) -> None:
    """Save a model's weights with its signature, so loading can refuse a mismatched model."""
    _atomic_save({"signature": model_signature(model), "model": model.state_dict()}, Path(path))


def _read(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint at {path}. Train first, or check the path.")
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, OSError) as err:
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


def load_model(model: nn.Module, path: str | Path) -> nn.Module:
    """Load weights saved by :func:`save_model` (or a training checkpoint) into ``model``.

    Tensors are mapped onto the model's device, so a checkpoint made on a GPU loads on a laptop.
    """
    device = next(model.parameters()).device
    state = _read(path, map_location=device)
    _check_signature(state.get("signature", {}), model, path)
    model.load_state_dict(state["model"])
    return model


def checkpoint_path(name: str) -> Path | None:
    """Where a lesson keeps its training checkpoint (``<repo>/checkpoints/<name>.pt``, git-ignored).

    ``None`` in quick mode: a test run must really train, never pick up an earlier run.
    """
    return None if is_quick() else CHECKPOINT_DIR / f"{name}.pt"


def save_training_state(path, model, optimizer, scheduler, generator: torch.Generator, history, settings: dict) -> None:
    """Everything needed to resume exactly: weights, optimizer, schedule, random states, history."""
    _atomic_save(
        {
            "settings": settings,
            "signature": model_signature(model),
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "generator": generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "history": history.as_dict(),
        },
        Path(path),
    )


def load_training_state(path, model, optimizer, scheduler, device: torch.device, settings: dict) -> dict:
    """Restore what :func:`save_training_state` wrote; return the random states and history.

    Refuses a checkpoint made with other settings (say another learning rate): continuing it
    would silently mix two different runs.
    """
    state = _read(path, map_location=device)
    _check_signature(state.get("signature", {}), model, path)
    saved = state.get("settings", {})
    changed = {k: (saved.get(k), v) for k, v in settings.items() if saved.get(k) != v}
    if changed:
        listed = ", ".join(f"{k}: {old!r} then, {new!r} now" for k, (old, new) in changed.items())
        raise CheckpointError(
            f"{path} belongs to a run with other settings ({listed}). "
            "Fix: restore those settings to continue it, or delete the file to start afresh."
        )
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    # Random-number states must live on the CPU whatever device the tensors went to.
    state["generator"] = state["generator"].cpu()
    state["torch_rng"] = state["torch_rng"].cpu()
    return state
