"""Pack Flowers-102 small enough to travel to a lent GPU machine (at most 64 MiB).

The JPEG files in the data folder take 88 MB. This keeps, for every image, the same centred square
the lessons use at 100 px (``aehelpers.data`` decodes it identically), re-encoded as JPEG quality 90,
plus the labels and the official splits: about 40 MB. A GPU run labels its results as made from
these re-encoded images.

    python benchmarks/flowers_pack.py gpu_data/flowers100.pt
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from aehelpers.data import _decode_square, _flowers_folder, _flowers_split, data_root

SIZE = 100


def pack(out: Path) -> None:
    folder = _flowers_folder(data_root(), download=False)
    packed = {"size": SIZE, "quality": 90}
    for split in ("train", "val", "test"):
        files, labels = _flowers_split(folder, split)
        blobs = []
        for f in files:
            buffer = io.BytesIO()
            Image.fromarray(_decode_square(f, SIZE).transpose(1, 2, 0)).save(buffer, format="JPEG", quality=90)
            # a uint8 tensor per JPEG: a file of plain tensors loads with weights_only=True (no pickled objects)
            blobs.append(torch.frombuffer(bytearray(buffer.getvalue()), dtype=torch.uint8))
        packed[split] = {"jpeg": blobs, "labels": torch.from_numpy(labels)}
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(packed, out)
    print(f"wrote {out}: {out.stat().st_size / 2**20:.1f} MiB")


def unpack(path: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode one split of a packed file into uint8 images (N, 3, 100, 100) and labels."""
    packed = torch.load(path, weights_only=True)
    images = np.stack([np.asarray(Image.open(io.BytesIO(b.numpy().tobytes())).convert("RGB")).transpose(2, 0, 1)
                       for b in packed[split]["jpeg"]])
    return torch.from_numpy(images), packed[split]["labels"]


if __name__ == "__main__":
    pack(Path(sys.argv[1]))
