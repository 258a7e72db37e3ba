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

from .paths import CACHE_DIR, DEFAULT_DATA_DIR

DATA_ENV = "AEHELPERS_DATA"
# The last line of every DataError: one command that checks the data and the rest of the set-up.
DOCTOR_HINT = "To check the whole set-up (data, packages, device, folders): python -m aehelpers.doctor"

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
    return Path(configured).expanduser() if configured else DEFAULT_DATA_DIR


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

    def spread_subset(self, count: int) -> "ImageSet":
        """``count`` examples spread evenly over the set, for files sorted by class.

        Flowers-102's splits list the images species by species, so the first few hundred would
        all be a handful of species; taking every k-th image keeps them all.
        """
        if count >= len(self):
            return self
        index = torch.linspace(0, len(self) - 1, count).round().long()
        return ImageSet(self.images[index], self.labels[index])


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
            f"or point {DATA_ENV} at a folder with intact files.\n{DOCTOR_HINT}"
        )


def _read_idx(path: Path, expected_magic: int) -> np.ndarray:
    """Parse one gzip-compressed IDX file (the MNIST format) into a uint8 array."""
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    magic = int.from_bytes(raw[0:4], "big")
    if magic != expected_magic:
        raise DataError(
            f"{path} is not an MNIST IDX file (magic number {magic}, expected {expected_magic}).\n"
            f"Fix: replace it with the official file of that name.\n{DOCTOR_HINT}"
        )
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise DataError(
            f"{path} is truncated: expected {int(np.prod(dims))} values, found {data.size}.\n"
            f"Fix: delete it and get an intact copy of the official file.\n{DOCTOR_HINT}"
        )
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
        f"torchvision.datasets.MNIST('{root}', download=True)\"\n"
        f"{DOCTOR_HINT}"
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
        raise DataError(
            f"{image_path} holds {len(images)} images and {len(labels)} labels, expected {MNIST_COUNTS[train]}.\n"
            f"Fix: replace both files with the official ones.\n{DOCTOR_HINT}"
        )
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
    # The noise is drawn where the generator lives (fit's is on the CPU) and then moved to the images,
    # so a seeded run draws the same noise on a CPU and on a GPU.
    where = generator.device if generator is not None else images.device
    noise = torch.randn(images.shape, generator=generator, dtype=images.dtype, device=where).to(images.device)
    return (images + noise_factor * noise).clamp_(0.0, 1.0)


# --- Oxford Flowers-102 (lesson 4) -------------------------------------------------------------

FLOWERS_FILES: dict[str, str] = {
    "imagelabels.mat": "e0620be6f572b9609742df49c70aed4d",
    "setid.mat": "a5357ecc9cb78c4bef273ce3793fc85c",
}
FLOWERS_SPLITS = {"train": "trnid", "val": "valid", "test": "tstid"}
FLOWERS_COUNTS = {"train": 1_020, "val": 1_020, "test": 6_149}
_CACHE_VERSION = 1


def flower_names() -> list[str]:
    """The 102 class names in label order (label 0 is 'pink primrose'), for figure titles."""
    import torchvision

    return list(torchvision.datasets.Flowers102.classes)


def _missing_flowers_message(folder: Path, reason: str) -> str:
    return (
        f"Oxford Flowers-102 not found under {folder}.\n{reason}\n"
        f"Expected torchvision's layout: {folder / 'imagelabels.mat'}, {folder / 'setid.mat'} and "
        f"{folder / 'jpg'}/image_00001.jpg ... image_08189.jpg.\n"
        "Fix, one of:\n"
        f"  - point the data setting at a folder that has them: export {DATA_ENV}=/path/to/data\n"
        f"  - with internet, download them (330 MB): python -c \"import torchvision; "
        f"torchvision.datasets.Flowers102('{folder.parent}', download=True)\"\n"
        f"{DOCTOR_HINT}"
    )


def _flowers_folder(root: Path, download: bool) -> Path:
    folder = root / "flowers-102"
    if not (folder / "setid.mat").is_file():
        if not download:
            raise DataError(_missing_flowers_message(folder, "Downloading was switched off (download=False)."))
        try:
            import torchvision

            root.mkdir(parents=True, exist_ok=True)
            torchvision.datasets.Flowers102(str(root), download=True)
        except Exception as err:  # no internet, read-only folder, no scipy...
            raise DataError(
                _missing_flowers_message(folder, f"torchvision's download failed too: {type(err).__name__}: {err}")
            ) from err
    for name, md5 in FLOWERS_FILES.items():
        if not (folder / name).is_file():
            raise DataError(_missing_flowers_message(folder, f"{name} is missing."))
        verify_file(folder / name, md5)
    return folder


def _flowers_split(folder: Path, split: str) -> tuple[list[Path], np.ndarray]:
    """The image files and 0-based labels of one official split, read from the .mat files."""
    try:
        from scipy.io import loadmat
    except ImportError as err:
        raise DataError(
            "Reading Flowers-102's split files (.mat) needs scipy, which is not installed.\n"
            "Fix: pip install -r requirements.txt (or: pip install scipy).\n"
            f"{DOCTOR_HINT}"
        ) from err
    ids = np.atleast_1d(loadmat(folder / "setid.mat", squeeze_me=True)[FLOWERS_SPLITS[split]])
    all_labels = loadmat(folder / "imagelabels.mat", squeeze_me=True)["labels"]
    files = [folder / "jpg" / f"image_{i:05d}.jpg" for i in ids]
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise DataError(_missing_flowers_message(folder, f"{len(missing)} image(s) of the {split} split are missing, e.g. {missing[0]}."))
    return files, all_labels[ids - 1].astype(np.int64) - 1  # the .mat files count from 1


def _decode_square(path: Path, size: int) -> np.ndarray:
    """Decode one JPEG, scale its shorter side to ``size`` and cut out the centre square."""
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as image:
            square = ImageOps.fit(image.convert("RGB"), (size, size), method=Image.Resampling.BICUBIC)
    except OSError as err:
        raise DataError(f"{path} could not be decoded ({err}). Fix: replace it with an intact copy of the file.\n{DOCTOR_HINT}") from err
    return np.asarray(square).transpose(2, 0, 1)  # (H, W, C) -> (C, H, W)


def _load_cache(path: Path, split: str, size: int) -> ImageSet:
    try:
        saved = torch.load(path, weights_only=True)
        images, labels = saved["images"], saved["labels"]
        ok = saved["version"] == _CACHE_VERSION and images.shape == (FLOWERS_COUNTS[split], 3, size, size)
    except Exception as err:  # truncated file, not a torch file, other keys...
        # torch's own message for a broken file is long and about pickle security; ours says what to do.
        raise DataError(f"The image cache {path} is damaged or not a cache file ({type(err).__name__}).\nFix: delete it; the next call rebuilds it from the JPEG files.\n{DOCTOR_HINT}") from err
    if not ok:
        raise DataError(f"The image cache {path} does not hold the expected {split} images at {size} px.\nFix: delete it; the next call rebuilds it from the JPEG files.\n{DOCTOR_HINT}")
    return ImageSet(images, labels)


@functools.lru_cache(maxsize=8)
def _load_flowers_cached(root: Path, split: str, size: int, download: bool, cache_dir: Path) -> ImageSet:
    cache_path = cache_dir / f"flowers102_{split}_{size}px.pt"
    if cache_path.is_file():
        return _load_cache(cache_path, split, size)
    folder = _flowers_folder(root, download)
    files, labels = _flowers_split(folder, split)
    # Decoding JPEGs is the slow part (seconds per thousand images): do it once, keep uint8 pixels.
    images = torch.from_numpy(np.stack([_decode_square(f, size) for f in files]))
    result = ImageSet(images, torch.from_numpy(labels))
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_path.with_suffix(".tmp")
    torch.save({"images": result.images, "labels": result.labels, "version": _CACHE_VERSION}, tmp)
    tmp.replace(cache_path)  # atomic: an interrupted save never leaves a half-written cache
    return result


def load_flowers(split: str, size: int = 100, root: str | Path | None = None, download: bool = True, cache_dir: str | Path | None = None) -> ImageSet:
    """Load one official split of Oxford Flowers-102 as square uint8 images (N, 3, size, size).

    Each image's shorter side is scaled to ``size`` and its centre square kept. The decoded pixels
    are cached (git-ignored ``cache/`` folder, one file per split and size), so the JPEG files are
    decoded once, never in a training loop. The images stay uint8 (a quarter of float32's memory);
    :func:`flowers_to_float` turns a batch into the [-1, 1] floats the models take.

    Defined in lesson 4a (``notebooks/04a_flowers_course_classifiers.ipynb``).
    """
    if split not in FLOWERS_SPLITS:
        raise ValueError(f"split must be one of {sorted(FLOWERS_SPLITS)}, got {split!r}.")
    if not isinstance(size, int) or not 8 <= size <= 500:
        raise ValueError(f"size must be a whole number of pixels between 8 and 500, got {size!r}.")
    root_path = Path(root).expanduser() if root is not None else data_root()
    cache_path = Path(cache_dir).expanduser() if cache_dir is not None else CACHE_DIR
    return _load_flowers_cached(root_path.resolve(), split, size, bool(download), cache_path.resolve())


def flowers_to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels 0..255 -> float32 in [-1, 1], the range the course's Tanh decoder outputs."""
    return images.float().div_(127.5).sub_(1.0)
