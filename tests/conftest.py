"""Shared fixtures: the real data when it is there, small fake data sets when a test needs control."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from aehelpers.data import MNIST_FILES, data_root


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """The configured data folder (``AEHELPERS_DATA``); the tests that use it need the real MNIST files."""
    return data_root()


@pytest.fixture()
def mnist_copy(tmp_path, mnist_root) -> Path:
    """A private copy of the MNIST files that a test may damage."""
    target = tmp_path / "data" / "MNIST" / "raw"
    target.mkdir(parents=True)
    for name in MNIST_FILES:
        shutil.copy(mnist_root / "MNIST" / "raw" / name, target / name)
    return tmp_path / "data"


@pytest.fixture(scope="session")
def tiny_images(mnist_root) -> torch.Tensor:
    """The first 256 MNIST training digits: small enough to train on in a second."""
    from aehelpers.data import load_mnist

    return load_mnist(True, mnist_root).images[:256].clone()


def write_idx(path: Path, array: np.ndarray, magic: int) -> None:
    """Write an array in MNIST's gzip-compressed IDX format (for tests that build odd files)."""
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())
