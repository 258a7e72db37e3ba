"""Run-time switches every lesson shares: quick mode, seeding and the device.

Defined in lesson 1 (``notebooks/01_conv_autoencoder.ipynb``).
"""

from __future__ import annotations

import os
import platform
import random
from pathlib import Path

import numpy as np
import torch

QUICK_ENV = "AEHELPERS_QUICK"
RECORD_ENV = "AEHELPERS_RECORD_RUN"
_TRUE_WORDS = {"1", "true", "yes", "on"}


def is_quick() -> bool:
    """True when ``AEHELPERS_QUICK`` asks for the short test run of a lesson.

    Read each time (not once at import) so a test can switch it with ``monkeypatch``.
    """
    return env_flag(QUICK_ENV)


def is_recording_run() -> bool:
    """True when ``AEHELPERS_RECORD_RUN`` marks a full run as the course's record (``make execute`` sets it).

    Only such a run writes ``notebooks/results/*.json``, ``weights/`` and ``weights/curves/``. Why: a
    learner's own full run must not overwrite the files in git that the tests check against each other.
    """
    return env_flag(RECORD_ENV)


def env_flag(name: str) -> bool:
    """Whether the environment variable ``name`` is on: ``1``, ``true``, ``yes`` or ``on``, in any case."""
    return os.environ.get(name, "").strip().lower() in _TRUE_WORDS


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch so a CPU run repeats bit for bit."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def get_device(name: str | None = None) -> torch.device:
    """Pick the fastest device there is: CUDA, then Apple's MPS, then the CPU.

    Args:
        name: force a device (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``); ``None`` chooses.
    """
    if name is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"Unknown device name {name!r}. Use 'cpu', 'cuda', 'cuda:<index>', 'mps', "
            "or None to let get_device() choose."
        ) from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"Device {name!r} asked for, but this machine has no CUDA GPU. Use 'cpu' or None.")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"Device {name!r} asked for, but MPS is not available here. Use 'cpu' or None.")
    if device.type not in {"cpu", "cuda", "mps"}:
        raise ValueError(f"Device {name!r} is not supported by aehelpers. Use 'cpu', 'cuda' or 'mps'.")
    return device


def describe_machine(device: str | torch.device | None = None) -> dict:
    """What ran a measurement, for the records in ``benchmarks/results``: enough to judge whether another
    machine's numbers compare.

    Keys: ``device`` (in words: the GPU's name, or ``"2-core CPU (x86_64)"``), ``cpu`` (the processor's
    model), ``cores``, ``torch_threads``, ``torch``, ``python`` and ``gpu`` (its name, or ``None``).
    ``device`` is the one that did the work (default: :func:`get_device`'s choice). Why one function: every
    benchmark names its machine the same way, so records from different scripts can be read side by side.
    """
    device = get_device(None if device is None else str(device))
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    words = {"cuda": gpu, "mps": f"Apple GPU (MPS, {platform.machine()})"}.get(
        device.type, f"{os.cpu_count()}-core CPU ({platform.machine()})")
    return {"device": words, "cpu": _cpu_model(), "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(), "gpu": gpu}


def _cpu_model() -> str:
    """The processor's marketing name where Linux says it (``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
