"""A lesson's training on a CUDA GPU: eager steps against steps replayed from a CUDA graph, in one run.

    python benchmarks/cuda_graphs.py                 # lesson 1 -> results/cuda_graphs.json
    python benchmarks/cuda_graphs.py --lesson 6      # lesson 6's VAE -> results/cuda_graphs_vae.json
    python benchmarks/cuda_graphs.py --quick         # a smoke test on 2,048 images, any device, writes nothing

Both runs use the lesson's model and settings (lesson 1: ConvAutoencoder, batch 16, lr 2e-3, warm-up +
cosine; lesson 6: the VAE with 32 code values, width 32, binarised batches of 128, lr 1e-3, cosine,
negative ELBO). The eager and captured runs of --eager-epochs epochs use the same schedule: their
per-epoch times give the speed-up and their curves must agree (for the VAE too: a replay draws its noise
from the default CUDA generator exactly where an eager step would). A captured run of the lesson's full
epochs then gives the total time and a learning curve to set against the lesson's CPU run.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

import aehelpers as ae
from aehelpers.runtime import describe_machine
from aehelpers.cuda_graphs import OFF_ENV

RESULTS = Path(__file__).parent / "results"
LESSONS = {
    1: {"epochs": 30, "batch_size": 16, "lr": 2e-3, "out": "cuda_graphs.json", "score": "test MSE",
        "settings": "lesson 1: ConvAutoencoder, 60,000 images, batch 16, lr 2e-3, warm-up 0.5 + cosine, seed 0"},
    6: {"epochs": 10, "batch_size": 128, "lr": 1e-3, "out": "cuda_graphs_vae.json", "score": "test negative ELBO (nats)",
        "settings": "lesson 6: VariationalAutoencoder(32, width=32), 60,000 images binarised afresh each epoch, "
                    "batch 128, lr 1e-3, cosine, negative ELBO, seed 0; scored on lesson 6's binarised test set"},
}


def model_and_recipe(lesson: int) -> tuple[torch.nn.Module, ae.Recipe]:
    if lesson == 1:
        return ae.ConvAutoencoder(), ae.Recipe(warmup_epochs=0.5, cosine=True)
    return ae.VariationalAutoencoder(32, width=32), ae.Recipe(loss_fn=ae.negative_elbo, augment=ae.binarize,
                                                              cosine=True)


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def train(lesson: int, epochs: int, captured: bool, train_images, test_images, device: str) -> dict:
    os.environ[OFF_ENV] = "1" if captured else "0"
    settings = LESSONS[lesson]
    ae.set_seed(0)
    model, recipe = model_and_recipe(lesson)
    synchronize(device)
    started = time.perf_counter()
    history = ae.fit(model, train_images, test_images, num_epochs=epochs, batch_size=settings["batch_size"],
                     lr=settings["lr"], device=device, recipe=recipe, seed=0, progress=False)
    synchronize(device)
    wall = time.perf_counter() - started
    print(f"{'captured' if captured else 'eager'}: {epochs} epochs in {wall:.1f} s "
          f"({history.seconds[-1] / epochs:.2f} s an epoch of training), final {settings['score']} "
          f"{history.test_loss[-1]:.5f}", flush=True)
    return {"epochs": epochs, "wall_seconds": round(wall, 2), "epoch_seconds": [round(s, 3) for s in history.seconds],
            "test_loss": [round(v, 6) for v in history.test_loss], "train_loss": [round(v, 6) for v in history.train_loss]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", type=int, choices=sorted(LESSONS), default=1)
    parser.add_argument("--eager-epochs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=None, help="the full captured run (default: the lesson's)")
    parser.add_argument("--out", type=Path, default=None, help="default: results/ + the lesson's file name")
    parser.add_argument("--quick", action="store_true", help="2,048 images, 1 epoch each, any device; writes nothing")
    args = parser.parse_args()
    settings = LESSONS[args.lesson]
    epochs = args.epochs or settings["epochs"]
    device = str(ae.get_device())
    train_images, test_images = ae.load_mnist(train=True).images, ae.load_mnist(train=False).images
    if args.quick:
        train_images, test_images, args.eager_epochs, epochs = train_images[:2048], test_images[:512], 1, 1
    elif not device.startswith("cuda"):
        raise SystemExit(f"This benchmark compares CUDA graphs with eager steps and needs a CUDA GPU; found {device}. "
                         "Run it with --quick for a smoke test here.")
    if args.lesson == 6:  # lesson 6's binarised test set (the same draw as the lesson's)
        test_images = ae.binarize(test_images, torch.Generator().manual_seed(1))
    eager = train(args.lesson, args.eager_epochs, False, train_images, test_images, device)
    captured_short = train(args.lesson, args.eager_epochs, True, train_images, test_images, device)
    captured = train(args.lesson, epochs, True, train_images, test_images, device)
    per_epoch = {name: run["epoch_seconds"][-1] / run["epochs"] for name, run in (("eager", eager),
                                                                                  ("captured", captured_short))}
    result = {
        "machine": describe_machine(device),
        "settings": settings["settings"], "score": settings["score"],
        "eager": eager, "captured_same_schedule": captured_short, "captured": captured,
        "speed_up_per_epoch": round(per_epoch["eager"] / per_epoch["captured"], 2),
        # the same run, eager and captured: how far apart their test losses end up, epoch by epoch
        "relative_test_loss_gap": [abs(a - b) / a for a, b in zip(eager["test_loss"], captured_short["test_loss"])],
    }
    print(f"speed-up per epoch {result['speed_up_per_epoch']}x; relative test-loss gaps over the first epochs: "
          f"{[f'{g:.1e}' for g in result['relative_test_loss_gap']]}")
    if args.quick:
        return
    out = args.out or RESULTS / settings["out"]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
