"""Trained weights shipped with the course (``weights/``): explore a trained model in seconds, not an hour.

Defined in lesson 1 (``notebooks/01_conv_autoencoder.ipynb``). Every file in ``weights/`` is written by
its lesson's full run (never by hand), is plain tensors and numbers (it loads with
``weights_only=True``), and is listed in ``weights/manifest.json`` with its sha256, the run that made
it and the headline number it gives; ``tests/test_weights.py`` re-computes that number from the file.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import subprocess
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from .checkpoints import _check_signature, atomic_save, checkpoint_path, describe_model, model_signature, read_file
from .history import History
from .paths import REPO_ROOT, WEIGHTS_DIR
from .runtime import env_flag, is_quick, is_recording_run
from .training import fit

TRAINED_ENV = "AEHELPERS_TRAINED_WEIGHTS"
MANIFEST = WEIGHTS_DIR / "manifest.json"
_loaded: set[str] = set()  # the shipped files this Python process loaded instead of training


def use_trained_weights(switch: bool = False) -> bool:
    """Whether a lesson loads the shipped weights instead of training.

    ``switch`` is the lesson's own setting; ``AEHELPERS_TRAINED_WEIGHTS=1`` turns it on for every
    lesson at once (read each time, so a test can set it).
    """
    return bool(switch) or env_flag(TRAINED_ENV)


def weights_path(name: str) -> Path:
    """Where the shipped weights called ``name`` live: ``weights/<name>.pt``."""
    return WEIGHTS_DIR / f"{name}.pt"


def loaded_shipped_weights() -> bool:
    """Whether this run loaded any shipped weights; its numbers then come from those, not from training."""
    return bool(_loaded)


def train_or_load(name: str, model: nn.Module, train_images: torch.Tensor, test_images: torch.Tensor | None = None,
                  *, trained: bool, trainer: Callable[..., History] | None = None, **fit_settings) -> History:
    """``fit`` the model (resuming ``checkpoints/<name>.pt``), or with ``trained=True`` load ``weights/<name>.pt``.

    A recording full run (``AEHELPERS_RECORD_RUN=1``, as ``make execute`` sets; not quick mode, not
    interrupted) then ships its weights: it writes ``weights/<name>.pt`` and the file's manifest entry.
    Returns the history of the run that trained the weights, so the lesson's curves look the same either way.
    ``trainer``, when given, trains instead of ``fit``, as ``trainer(model, train_images, **fit_settings)``
    (lesson 8's ``train_sae``, which runs in seconds and keeps no checkpoint).
    """
    if trained:
        return load_trained(model, name)
    if trainer is not None:
        history = trainer(model, train_images, **fit_settings)
    else:
        history = fit(model, train_images, test_images, checkpoint=checkpoint_path(name), **fit_settings)
    if _records(history):
        ship_weights(model, name, history)
    return history


def _records(history: History) -> bool:
    """Whether this training run writes to ``weights/``: a complete full run that is the course's record."""
    return not is_quick() and not history.interrupted and is_recording_run()


def curves_path(name: str) -> Path:
    """Where the learning curves of an unshipped model live: ``weights/curves/<name>.json``."""
    return WEIGHTS_DIR / "curves" / f"{name}.json"


def train_or_load_history(name: str, model: nn.Module, train_images: torch.Tensor,
                          test_images: torch.Tensor | None = None, *, trained: bool, **fit_settings) -> History:
    """Like :func:`train_or_load` for a model whose weights are not shipped, only its learning curves.

    With ``trained=True`` the model is left untouched (untrained) and the history of the full run that
    trained it comes back from ``weights/curves/<name>.json``. Why: lesson 4b's ablation trains four
    classifiers of 1.3 MB each only to compare their curves; shipping them would spend a fifth of the
    24 MiB budget for weights/ on models no lesson explores, while the curves take a few kilobytes.
    """
    path = curves_path(name)
    if trained:
        if not path.is_file():
            raise FileNotFoundError(
                f"No stored learning curves {path}. Fix: run its lesson ({_lesson_of(name)}) in full, which stores "
                f"them; or turn the trained-weights switch off to train here (unset {TRAINED_ENV}).")
        history = History(**json.loads(path.read_text()))
        _loaded.add(name)
        print(f"Loaded the learning curves weights/curves/{path.name} of the full run instead of training "
              f"({history.epochs} epochs); this model's weights are not shipped, so it stays untrained.")
        return history
    history = fit(model, train_images, test_images, checkpoint=checkpoint_path(name), **fit_settings)
    if _records(history):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(history.as_dict()) + "\n")
    return history


def load_trained(model: nn.Module, name: str) -> History:
    """Load the shipped weights ``name`` into ``model`` (on the CPU) and return the history of their training run.

    The run then counts as one that did not train this model: it saves no results (see ``save_results``).
    """
    history = _load(model, name)
    _loaded.add(name)
    return history


def load_lesson_model(name: str, model: nn.Module) -> History:
    """Load another lesson's shipped model (lesson 5 builds on lesson 1's), as that lesson's full run trained it.

    Unlike :func:`load_trained` this does not stop this lesson from saving its own results: the
    loaded model is an input of this lesson, trained and checked by its own lesson.
    """
    return _load(model, name)


def _load(model: nn.Module, name: str) -> History:
    path = weights_path(name)
    if not path.is_file():
        raise FileNotFoundError(
            f"No shipped weights {path}. Fix: run its lesson ({_lesson_of(name)}) in full, which ships it; or turn "
            f"the trained-weights switch off to train it here (unset {TRAINED_ENV}); or restore the file with git "
            "(`git checkout -- weights/`).")
    state = read_file(path)
    _check_signature(state["signature"], model, path)
    model.load_state_dict(state["model"])
    # as fit hands a model back: on the CPU, channels-last (the same layout gives the same numbers, and
    # the CPU's convolutions run about 2.5x faster in it)
    model.to("cpu", memory_format=torch.channels_last)
    history = History(**state["history"])
    print(f"Loaded the trained weights weights/{path.name} instead of training "
          f"({history.epochs} epochs, {history.seconds[-1] / 60:.1f} min of training in the run that made them).")
    return history


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def read_manifest() -> dict[str, dict]:
    """The manifest: one entry per shipped file, keyed by name."""
    return json.loads(MANIFEST.read_text()) if MANIFEST.is_file() else {}


def _write_manifest(entries: dict[str, dict]) -> None:
    MANIFEST.parent.mkdir(parents=True, exist_ok=True)
    MANIFEST.write_text(json.dumps(dict(sorted(entries.items())), indent=2) + "\n")


def ship_weights(model: nn.Module, name: str, history: History) -> Path:
    """Write a full run's final weights and training history to ``weights/<name>.pt``, and its manifest entry.

    The headline number is added by :func:`record_headline` once the lesson has measured it.
    """
    path = weights_path(name)
    weights = {k: _storage_precision(v.detach().cpu().contiguous()) for k, v in model.state_dict().items()}
    atomic_save({"signature": model_signature(model), "architecture": describe_model(model), "model": weights,
                 "history": history.as_dict()}, path)
    # From here on the lesson measures exactly the weights it ships, so the stored numbers can be
    # re-computed from the file (tests/test_weights.py does); the rounding moves the loss by about 1e-8.
    # Silent, so that the stored lesson prints only what a learner's own run prints (CONTRIBUTING.md).
    model.load_state_dict(weights)
    device = next(model.parameters()).device
    entries = read_manifest()
    entries[name] = {
        "file": f"weights/{path.name}", "lesson": _lesson_of(name), "model": type(model).__name__,
        "parameters": sum(p.numel() for p in model.parameters()), "sha256": _sha256(path),
        "run": {"date": datetime.date.today().isoformat(), "commit": _git_commit(), "machine": platform.machine(),
                "trained_on": os.environ.get("AEHELPERS_RUN_DEVICE", str(device)), "torch": torch.__version__,
                "epochs": history.epochs, "train_seconds": round(history.seconds[-1], 1) if history.seconds else 0.0},
        "storage": "float16 for tensors of 4,096 values or more, else as trained", "headline": None,
    }
    _write_manifest(entries)
    return path


def _storage_precision(tensor: torch.Tensor) -> torch.Tensor:
    """Large float tensors as float16 (half the bytes; 11 significant bits), the rest as they are.

    Why: every model a learner would explore must fit the 24 MiB budget for weights/; the dense layers
    of lesson 5 alone take 12 MB in float32. Small tensors (biases, batch-norm statistics) keep float32.
    """
    return tensor.half() if tensor.is_floating_point() and tensor.numel() >= 4096 else tensor


def record_headline(name: str, results_file: str, key: str, value: float) -> None:
    """Tie a shipped file to the headline number it gives (``notebooks/results/<results_file>.json``, ``key``)."""
    entries = read_manifest()
    if name not in entries:
        raise KeyError(f"weights/{name}.pt was not shipped by this run: train it in full first.")
    entries[name]["headline"] = {"results": f"notebooks/results/{results_file}.json", "key": key, "value": value}
    _write_manifest(entries)


def _lesson_of(name: str) -> str:
    """The lesson a weights name belongs to, from its prefix: ``04b_residual_classifier`` -> ``04b_...``."""
    prefix = name.split("_", 1)[0]
    matches = sorted((REPO_ROOT / "notebooks").glob(f"{prefix}_*.ipynb"))
    return matches[0].stem if matches else prefix


def lessons_with_weights() -> list[str]:
    """The lesson notebooks (paths from the repository root) whose models are all shipped in ``weights/``."""
    return sorted({f"notebooks/{entry['lesson']}.ipynb" for entry in read_manifest().values()})
