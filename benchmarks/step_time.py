"""Time one training step of lesson 1's model under each speed option.

    python benchmarks/step_time.py                 # CPU, about 2 minutes; writes results/step_time.json
    python benchmarks/step_time.py --device cuda   # the same on a GPU; writes results/step_time_cuda.json

Each row trains ``ConvAutoencoder`` on in-memory MNIST batches and reports milliseconds per step
and images per second. The options are the ones the performance issue asked us to try: batch
size, CPU threads, channels-last memory format, Adam's fused kernel, ``torch.compile``, mixed
precision on a GPU, and (for comparison) the course's ``DataLoader`` with a per-image ``ToTensor``.

A shared machine's speed drifts from minute to minute, so the options are not timed one after
the other: every option is timed once per round, for several rounds, and the table keeps each
option's median round. Drift then hits every option alike.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

import aehelpers as ae
from aehelpers.runtime import describe_machine

RESULTS = Path(__file__).resolve().parent / "results"


def in_memory_stepper(batch_size: int, device: torch.device, threads: int = 2, channels_last: bool = False,
                      fused: bool = False, compiled: bool = False, bf16: bool = False,
                      flush_denormal: bool = False) -> Callable[[int], float]:
    """A function that trains for ``steps`` steps on in-memory batches and returns seconds per step."""
    images = ae.load_mnist(True).images.to(device)
    ae.set_seed(0)
    model = ae.ConvAutoencoder().to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True if fused else None)
    forward = torch.compile(model) if compiled else model
    # bfloat16 autocast: the GPU's mixed precision (no loss scaling needed, unlike float16).
    autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if bf16 else nullcontext
    position = 0

    def step() -> None:
        nonlocal position
        position = (position + batch_size) % (len(images) - batch_size)
        batch = images[position : position + batch_size]
        with autocast():
            loss = F.mse_loss(forward(batch).float(), batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def run(steps: int) -> float:
        torch.set_num_threads(threads)
        torch.set_flush_denormal(flush_denormal)  # treat tiny floats as zero (a CPU setting)
        _synchronise(device)
        started = time.perf_counter()
        for _ in range(steps):
            step()
        _synchronise(device)
        torch.set_flush_denormal(False)
        return (time.perf_counter() - started) / steps

    run(30)  # warm-up (and compilation), not timed
    return run


def dataloader_stepper(device: torch.device, batch_size: int = 20) -> Callable[[int], float]:
    """The course's way: a DataLoader over torchvision's MNIST with a per-image ToTensor, batch 20."""
    import torchvision
    from torchvision import transforms

    tmp = tempfile.mkdtemp()  # torchvision extracts the .gz files beside themselves: a writable copy
    shutil.copytree(ae.data_root() / "MNIST" / "raw", Path(tmp) / "MNIST" / "raw")
    dataset = torchvision.datasets.MNIST(tmp, train=True, download=True, transform=transforms.ToTensor())
    shutil.rmtree(tmp)  # the dataset keeps its tensors in memory; the files are no longer needed
    ae.set_seed(0)
    model = ae.ConvAutoencoder().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def batches():
        while True:
            yield from torch.utils.data.DataLoader(dataset, batch_size=batch_size, num_workers=0)

    loader = batches()

    def run(steps: int) -> float:
        torch.set_num_threads(2)
        _synchronise(device)
        started = time.perf_counter()
        for _ in range(steps):
            images, _ = next(loader)
            images = images.to(device)
            loss = F.mse_loss(model(images), images)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        _synchronise(device)
        return (time.perf_counter() - started) / steps

    run(30)
    return run


def _synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _in_memory_builder(device: torch.device) -> Callable[..., Callable[[], Callable[[int], float]]]:
    """``s(batch, **settings)`` -> a builder of that in-memory stepper, built only when timing starts."""
    return lambda batch, **settings: (lambda: in_memory_stepper(batch, device, **settings))


def cpu_options(device: torch.device) -> list[tuple[str, int, Callable[[], Callable[[int], float]]]]:
    """(label, batch size, builder) for each CPU option; indented rows change one thing of the row above them."""
    s = _in_memory_builder(device)
    return [
        ("course: DataLoader + ToTensor, batch 20", 20, lambda: dataloader_stepper(device)),
        ("in-memory tensors, batch 20", 20, s(20)),
        ("in-memory tensors, batch 16", 16, s(16)),
        ("  ... 1 thread instead of 2", 16, s(16, threads=1)),
        ("  ... fused Adam", 16, s(16, fused=True)),
        ("  ... torch.compile", 16, s(16, compiled=True)),
        ("  ... channels-last (the lessons' setting)", 16, s(16, channels_last=True)),
        ("    ... and fused Adam", 16, s(16, channels_last=True, fused=True)),
        ("    ... and 1 thread instead of 2", 16, s(16, channels_last=True, threads=1)),
        ("    ... and flush-denormal", 16, s(16, channels_last=True, flush_denormal=True)),
        ("in-memory, channels-last, batch 20", 20, s(20, channels_last=True)),
        ("in-memory, channels-last, batch 64", 64, s(64, channels_last=True)),
        ("in-memory, channels-last, batch 256", 256, s(256, channels_last=True)),
    ]


def cuda_options(device: torch.device) -> list[tuple[str, int, Callable[[], Callable[[int], float]]]]:
    """The GPU's options: where the batches live, mixed precision, compilation, batch size."""
    s = _in_memory_builder(device)
    return [
        ("course: DataLoader + ToTensor on the CPU, batch 20", 20, lambda: dataloader_stepper(device)),
        ("in-memory on the GPU, batch 20", 20, s(20)),
        ("in-memory on the GPU, batch 16", 16, s(16)),
        ("  ... fused Adam", 16, s(16, fused=True)),
        ("  ... channels-last", 16, s(16, channels_last=True)),
        ("  ... bfloat16 autocast", 16, s(16, bf16=True)),
        ("  ... torch.compile", 16, s(16, compiled=True)),
        ("in-memory on the GPU, batch 256", 256, s(256)),
        ("  ... bfloat16 autocast", 256, s(256, bf16=True)),
        ("  ... channels-last", 256, s(256, channels_last=True)),
        ("in-memory on the GPU, batch 2048", 2048, s(2048)),
        ("  ... bfloat16 autocast", 2048, s(2048, bf16=True)),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--rounds", type=int, default=5, help="rounds over all options (the median is kept)")
    parser.add_argument("--steps", type=int, default=300, help="timed steps per option and round")
    args = parser.parse_args(argv)
    device = ae.get_device(args.device)
    options = (cuda_options if device.type == "cuda" else cpu_options)(device)
    runners = [(name, batch, build()) for name, batch, build in options]
    # Kept by position, not by label: sub-options under different rows share labels ("... fused Adam").
    rounds: list[list[float]] = [[] for _ in runners]
    for round_ in range(args.rounds):
        for times, (_, _, run) in zip(rounds, runners):
            times.append(run(args.steps))
        print(f"round {round_ + 1} of {args.rounds} done", flush=True)
    rows = []
    for times, (name, batch_size, _) in zip(rounds, runners):
        seconds = statistics.median(times)
        rows.append({"option": name, "batch_size": batch_size, "ms_per_step": seconds * 1e3,
                     "images_per_second": batch_size / seconds, "ms_per_step_rounds": [s * 1e3 for s in times]})
        print(f"{name:<52} {seconds * 1e3:7.3f} ms/step {batch_size / seconds:9.0f} images/s", flush=True)

    RESULTS.mkdir(exist_ok=True)
    name = "step_time.json" if device.type == "cpu" else f"step_time_{device.type}.json"
    (RESULTS / name).write_text(json.dumps({"rows": rows, "rounds": args.rounds, "steps": args.steps,
                                            "machine": describe_machine(device)}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
