"""Time one training step of lesson 1's model under each speed option, one option at a time.

    python benchmarks/step_time.py        # about 2 minutes; writes benchmarks/results/step_time.json

Each row trains ``ConvAutoencoder`` for a fixed number of steps on in-memory MNIST batches and
reports milliseconds per step and images per second. The options are the ones the performance
issue asked us to try: batch size, CPU threads, channels-last memory format, Adam's fused kernel,
``torch.compile``, and (for comparison) a ``DataLoader`` with a per-image ``ToTensor``.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import aehelpers as ae

RESULTS = Path(__file__).resolve().parent / "results"


def time_steps(batch_size: int, threads: int = 2, channels_last: bool = False, fused: bool = False,
               foreach: bool | None = True, compiled: bool = False, flush_denormal: bool = False,
               steps: int = 400) -> float:
    """Seconds per training step, after a warm-up that is not timed."""
    torch.set_num_threads(threads)
    torch.set_flush_denormal(flush_denormal)
    images = ae.load_mnist(True).images
    ae.set_seed(0)
    model = ae.ConvAutoencoder()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True if fused else None, foreach=None if fused else foreach)
    forward = torch.compile(model) if compiled else model

    def step(i: int) -> None:
        start = (i * batch_size) % (len(images) - batch_size)
        batch = images[start : start + batch_size]
        loss = F.mse_loss(forward(batch), batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for i in range(30):  # warm-up (and compilation)
        step(i)
    started = time.perf_counter()
    for i in range(steps):
        step(i)
    return (time.perf_counter() - started) / steps


def time_dataloader(batch_size: int = 20, steps: int = 400) -> float:
    """Seconds per step the course's way: DataLoader over torchvision's dataset with ToTensor."""
    import torchvision
    from torchvision import transforms

    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(ae.data_root() / "MNIST" / "raw", Path(tmp) / "MNIST" / "raw")
        dataset = torchvision.datasets.MNIST(tmp, train=True, download=True, transform=transforms.ToTensor())
        loader = iter(torch.utils.data.DataLoader(dataset, batch_size=batch_size, num_workers=0))
        ae.set_seed(0)
        model = ae.ConvAutoencoder()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        for _ in range(30):
            next(loader)
        started = time.perf_counter()
        for _ in range(steps):
            images, _ = next(loader)
            loss = F.mse_loss(model(images), images)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return (time.perf_counter() - started) / steps


def main() -> int:
    options = [
        ("course: DataLoader + ToTensor, batch 20", 20, lambda: time_dataloader(20)),
        ("in-memory tensors, batch 20, Adam as the course", 20, lambda: time_steps(20, foreach=None)),
        ("in-memory, batch 20, foreach Adam", 20, lambda: time_steps(20)),
        ("in-memory, batch 16, foreach Adam", 16, lambda: time_steps(16)),
        ("  ... with 1 thread instead of 2", 16, lambda: time_steps(16, threads=1)),
        ("  ... with fused instead of foreach Adam", 16, lambda: time_steps(16, fused=True)),
        ("  ... with torch.compile", 16, lambda: time_steps(16, compiled=True)),
        ("  ... with channels-last (the lessons' setting)", 16, lambda: time_steps(16, channels_last=True)),
        ("  ... with channels-last and flush-denormal", 16, lambda: time_steps(16, channels_last=True, flush_denormal=True)),
        ("in-memory, batch 64, foreach, channels-last", 64, lambda: time_steps(64, channels_last=True)),
        ("in-memory, batch 256, foreach, channels-last", 256, lambda: time_steps(256, channels_last=True)),
    ]
    rows = []
    for name, batch_size, measure in options:
        seconds = measure()
        rows.append({"option": name, "batch_size": batch_size, "ms_per_step": seconds * 1e3,
                     "images_per_second": batch_size / seconds})
        print(f"{name:<42} {seconds * 1e3:6.2f} ms/step {batch_size / seconds:8.0f} images/s", flush=True)
    from train_speed import machine  # same folder

    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "step_time.json").write_text(json.dumps({"rows": rows, "machine": machine()}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
