"""Does glibc's memory allocator slow a CPU training step? Lesson 6's VAE, default malloc against a tuned one.

    python benchmarks/cpu_allocator.py             # width 64 (the long run's VAE), about 5 minutes on 2 cores
    python benchmarks/cpu_allocator.py --width 32  # lesson 6's own VAE

Why it can matter: a training step frees and re-allocates the same large activation buffers (25 MB for one
64 x 28 x 28 layer of a batch of 128) every step. glibc hands the top of its heap back to the system when more
than a threshold is free, and asks for it again on the next step; the kernel then zeroes fresh pages, time
that shows up as system time (the table gives its share). Three environment variables keep the
memory instead: ``MALLOC_TRIM_THRESHOLD_`` (never give back less than 4 GB), ``MALLOC_TOP_PAD_`` (grow the
heap 512 MB at a time) and ``MALLOC_MMAP_THRESHOLD_`` (blocks up to 32 MiB come from the heap, not from a
fresh mapping each time). They change where memory comes from, never the arithmetic: the losses are the same.

Each variant runs in its own process (glibc reads the variables when a process starts), alternately, for
several rounds; the table keeps each variant's median round, so the machine's drift hits both alike. Linux
with glibc only. Writes ``results/cpu_allocator.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
TUNED = {"MALLOC_TRIM_THRESHOLD_": "4000000000", "MALLOC_TOP_PAD_": "536870912", "MALLOC_MMAP_THRESHOLD_": "33554432"}


def time_steps(width: int, steps: int) -> tuple[float, float, float]:
    """Milliseconds per training step (batch 128, Adam) of the VAE after 5 warm-up steps, the share of the
    process's CPU time spent in the kernel, and the last loss (the same whatever the allocator)."""
    import torch

    import aehelpers as ae

    ae.set_seed(0)
    model = ae.VariationalAutoencoder(32, width=width)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    images = ae.binarize(torch.rand(128, 1, 28, 28), torch.Generator().manual_seed(0))

    def step() -> float:
        loss = ae.negative_elbo(model(images), images)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    for _ in range(5):
        step()
    started, times = time.perf_counter(), os.times()
    for _ in range(steps):
        loss = step()
    elapsed, finished = time.perf_counter() - started, os.times()
    user, system = finished.user - times.user, finished.system - times.system
    return elapsed / steps * 1000, system / (user + system), loss


def run_child(width: int, steps: int, tuned: bool) -> tuple[float, float, float]:
    environment = {name: value for name, value in os.environ.items() if name not in TUNED}
    environment.update(TUNED if tuned else {})
    printed = subprocess.run([sys.executable, __file__, "--child", "--width", str(width), "--steps", str(steps)],
                             env=environment, check=True, capture_output=True, text=True).stdout
    milliseconds, system_share, loss = (float(word) for word in printed.split()[-3:])
    return milliseconds, system_share, loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--steps", type=int, default=40, help="timed steps per process")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for cpu_allocator.json")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("ms_per_step, system share, last loss:", *time_steps(args.width, args.steps))
        return
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        sys.exit("This benchmark tunes glibc's allocator: it needs Linux with glibc.")
    from aehelpers.runtime import describe_machine

    rounds: dict[str, list[float]] = {"default": [], "tuned": []}
    system_share: dict[str, list[float]] = {"default": [], "tuned": []}
    losses = set()
    for number in range(1, args.rounds + 1):
        for name in rounds:
            milliseconds, share, loss = run_child(args.width, args.steps, tuned=name == "tuned")
            rounds[name].append(milliseconds)
            system_share[name].append(share)
            losses.add(loss)
        print(f"round {number}: default {rounds['default'][-1]:.0f} ms, tuned {rounds['tuned'][-1]:.0f} ms a step",
              flush=True)
    if len(losses) != 1:
        sys.exit(f"The allocator changed the losses ({sorted(losses)}): the comparison is not like for like.")
    median = {name: statistics.median(values) for name, values in rounds.items()}
    ratio = median["default"] / median["tuned"]
    share = {name: statistics.median(values) for name, values in system_share.items()}
    print(f"width {args.width}: default {median['default']:.0f} ms a step ({share['default']:.0%} of it in the "
          f"kernel), tuned {median['tuned']:.0f} ms ({share['tuned']:.0%}): the tuned allocator is {ratio:.2f}x as "
          "fast, with the same losses")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cpu_allocator.json").write_text(json.dumps({
        "what": "lesson 6's VAE, one training step (batch 128, Adam), default glibc malloc against TUNED",
        "machine": describe_machine("cpu")["device"], "width": args.width, "steps": args.steps,
        "tuned": TUNED, "ms_per_step": {name: [round(v, 1) for v in values] for name, values in rounds.items()},
        "median_ms": {name: round(v, 1) for name, v in median.items()}, "speedup": round(ratio, 2),
        "median_system_share": {name: round(v, 3) for name, v in share.items()}, "same_losses": True,
    }, indent=1) + "\n")


if __name__ == "__main__":
    main()
