"""Lesson 1's training on a CUDA GPU: eager steps against steps replayed from a CUDA graph, in one run.

    python benchmarks/cuda_graphs.py [--eager-epochs 3] [--epochs 30] [--out benchmarks/results/cuda_graphs.json]

Both use lesson 1's model and settings (60,000 images, batch 16, lr 2e-3, warm-up + cosine, seed 0).
The eager and captured runs of --eager-epochs epochs use the same schedule: their per-epoch times give the
speed-up and their curves must agree. A captured run of the full 30 epochs then gives the total time and a
learning curve to set against lesson 1's CPU run.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

import aehelpers as ae
from aehelpers.cuda_graphs import OFF_ENV


def train(epochs: int, captured: bool, train_images, test_images) -> dict:
    os.environ[OFF_ENV] = "1" if captured else "0"
    ae.set_seed(0)
    model = ae.ConvAutoencoder()
    torch.cuda.synchronize()
    started = time.perf_counter()
    history = ae.fit(model, train_images, test_images, num_epochs=epochs, batch_size=16, lr=2e-3, device="cuda",
                     recipe=ae.Recipe(warmup_epochs=0.5, cosine=True), seed=0, progress=False)
    torch.cuda.synchronize()
    wall = time.perf_counter() - started
    print(f"{'captured' if captured else 'eager'}: {epochs} epochs in {wall:.1f} s "
          f"({history.seconds[-1] / epochs:.2f} s an epoch of training), final test MSE {history.test_loss[-1]:.5f}",
          flush=True)
    return {"epochs": epochs, "wall_seconds": round(wall, 2), "epoch_seconds": [round(s, 3) for s in history.seconds],
            "test_mse": [round(v, 6) for v in history.test_loss], "train_mse": [round(v, 6) for v in history.train_loss]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eager-epochs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "cuda_graphs.json")
    args = parser.parse_args()
    train_images, test_images = ae.load_mnist(train=True).images, ae.load_mnist(train=False).images
    eager = train(args.eager_epochs, False, train_images, test_images)
    captured_short = train(args.eager_epochs, True, train_images, test_images)  # the same schedule as the eager run
    captured = train(args.epochs, True, train_images, test_images)
    per_epoch = {name: run["epoch_seconds"][-1] / run["epochs"] for name, run in (("eager", eager), ("captured", captured_short))}
    result = {
        "machine": {"device": torch.cuda.get_device_name(), "torch": torch.__version__},
        "settings": "lesson 1: ConvAutoencoder, 60,000 images, batch 16, lr 2e-3, warm-up 0.5 + cosine, seed 0",
        "eager": eager, "captured_same_schedule": captured_short, "captured": captured,
        "speed_up_per_epoch": round(per_epoch["eager"] / per_epoch["captured"], 2),
        # the same run, eager and captured: how far apart their test losses end up, epoch by epoch
        "relative_test_mse_gap": [abs(a - b) / a for a, b in zip(eager["test_mse"], captured_short["test_mse"])],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"speed-up per epoch {result['speed_up_per_epoch']}x; relative test-MSE gaps over the first epochs: "
          f"{[f'{g:.1e}' for g in result['relative_test_mse_gap']]}")


if __name__ == "__main__":
    main()
