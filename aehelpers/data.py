"""Finding, checking and loading the data sets into memory.

Every lesson reads its data through one setting: the environment variable ``AEHELPERS_DATA``
(default: the git-ignored ``data/`` folder at the top of the repository). The folder uses
torchvision's layout (``MNIST/raw/*.gz``, ``flowers-102/...``), so the same folder works for
torchvision itself.

Defined in lesson 1 (``notebooks/01_conv_autoencoder.ipynb``).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

DATA_ENV = "AEHELPERS_DATA"
REPO_ROOT = Path(__file__).resolve().parent.parent

# The official files and the md5 sums torchvision checks them against.
MNIST_FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MNIST_COUNTS = {True: 60_000, False: 10_000}


class DataError(RuntimeError):
    """The data is missing or damaged; the message says what to do about it."""


def data_root() -> Path:
    """The folder that holds every data set: ``$AEHELPERS_DATA``, else ``<repo>/data``."""
    configured = os.environ.get(DATA_ENV, "").strip()
    return Path(configured).expanduser() if configured else REPO_ROOT / "data"


@dataclass(frozen=True)
class ImageSet:
    """Images and labels held in memory as tensors, ready to be sliced into batches.

    ``images`` is float32 of shape (N, C, H, W) with values in [0, 1]; ``labels`` is int64 (N,).
    """

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, count: int) -> "ImageSet":
        """The first ``count`` examples (the order of the file, so the same on every run)."""
        return ImageSet(self.images[:count], self.labels[:count])


def md5sum(path: Path, chunk_size: int = 1 << 20) -> str:
    """The md5 hex digest of a file, read in chunks so large files need little memory."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


@functools.lru_cache(maxsize=None)
def _verified(path: Path, size: int, mtime_ns: int, expected_md5: str) -> bool:
    # Keyed by size and modification time, so each file is hashed once per process and a
    # file replaced on disk is checked again.
    return md5sum(path) == expected_md5


def verify_file(path: Path, expected_md5: str) -> None:
    """Raise :class:`DataError` when ``path`` does not have the expected md5 sum."""
    stat = path.stat()
    if not _verified(path, stat.st_size, stat.st_mtime_ns, expected_md5):
        raise DataError(
            f"{path} is damaged or not the official file (md5 differs from {expected_md5}).\n"
            f"Fix: delete it and get it again (for example let torchvision download it with "
            f"`torchvision.datasets.MNIST(root='{path.parent.parent.parent}', download=True)`), "
            f"or point {DATA_ENV} at a folder with intact files."
        )


def _read_idx(path: Path, expected_magic: int) -> np.ndarray:
    """Parse one gzip-compressed IDX file (the MNIST format) into a uint8 array."""
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    magic = int.from_bytes(raw[0:4], "big")
    if magic != expected_magic:
        raise DataError(f"{path} is not an MNIST IDX file (magic number {magic}, expected {expected_magic}).")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise DataError(f"{path} is truncated: expected {int(np.prod(dims))} values, found {data.size}.")
    return data.reshape(dims)


def _mnist_paths(root: Path, train: bool) -> tuple[Path, Path]:
    prefix = "train" if train else "t10k"
    raw = root / "MNIST" / "raw"
    return raw / f"{prefix}-images-idx3-ubyte.gz", raw / f"{prefix}-labels-idx1-ubyte.gz"


def _missing_mnist_message(root: Path, missing: list[Path], reason: str) -> str:
    names = "\n".join(f"  {root / 'MNIST' / 'raw' / name}" for name in MNIST_FILES)
    return (
        f"MNIST not found: {', '.join(p.name for p in missing)} missing under {root / 'MNIST' / 'raw'}.\n"
        f"{reason}\n"
        f"Expected these four files (torchvision's layout):\n{names}\n"
        "Fix, one of:\n"
        f"  - point the data setting at a folder that has them: export {DATA_ENV}=/path/to/data\n"
        f"  - with internet, download them: python -c \"import torchvision; "
        f"torchvision.datasets.MNIST('{root}', download=True)\""
    )


def _download_mnist(root: Path, missing: list[Path]) -> None:
    """Fall back on torchvision's own download; turn any failure into one clear message."""
    try:
        import torchvision

        root.mkdir(parents=True, exist_ok=True)
        torchvision.datasets.MNIST(str(root), train=True, download=True)
        torchvision.datasets.MNIST(str(root), train=False, download=True)
    except Exception as err:  # no internet, read-only folder, a mirror down...
        raise DataError(
            _missing_mnist_message(root, missing, f"torchvision's download failed too: {type(err).__name__}: {err}")
        ) from err


@functools.lru_cache(maxsize=4)
def _load_mnist_cached(root: Path, train: bool, download: bool) -> ImageSet:
    image_path, label_path = _mnist_paths(root, train)
    missing = [p for p in (image_path, label_path) if not p.is_file()]
    if missing:
        if not download:
            raise DataError(_missing_mnist_message(root, missing, "Downloading was switched off (download=False)."))
        _download_mnist(root, missing)
    for path in (image_path, label_path):
        verify_file(path, MNIST_FILES[path.name])
    # Read the .gz files directly: that works on a read-only folder, where torchvision's
    # dataset class would try (and fail) to write the extracted files beside them.
    images = _read_idx(image_path, expected_magic=2051)
    labels = _read_idx(label_path, expected_magic=2049)
    if len(images) != MNIST_COUNTS[train] or len(labels) != len(images):
        raise DataError(f"{image_path} holds {len(images)} images and {len(labels)} labels, expected {MNIST_COUNTS[train]}.")
    # uint8 0..255 -> float32 0..1, with a channel axis: (N, 1, 28, 28).
    tensor = torch.from_numpy(images.copy()).unsqueeze(1).float().div_(255.0)
    return ImageSet(tensor, torch.from_numpy(labels.astype(np.int64)))


def load_mnist(train: bool = True, root: str | Path | None = None, download: bool = True) -> ImageSet:
    """Load the MNIST training (60,000) or test (10,000) images into memory once.

    Later calls in the same process return the same tensors at no cost. With ``download=True``
    and no files, torchvision's download is tried; every failure raises :class:`DataError`
    saying where we looked and how to fix it.
    """
    root_path = Path(root).expanduser() if root is not None else data_root()
    return _load_mnist_cached(root_path.resolve(), bool(train), bool(download))


def add_noise(images: torch.Tensor, noise_factor: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add Gaussian noise of standard deviation ``noise_factor`` and clip back into [0, 1].

    Defined in lesson 2 (``notebooks/02_denoising_autoencoder.ipynb``).
    """
    noise = torch.randn(images.shape, generator=generator, dtype=images.dtype, device=images.device)
    return (images + noise_factor * noise).clamp_(0.0, 1.0)
