"""Train a lesson's model the course way and the aehelpers way, side by side, and compare.

    python benchmarks/train_speed.py              # full run: lesson 1's model, then lesson 2's denoiser
    python benchmarks/train_speed.py --quick      # a few epochs on a slice (used by the tests)

(a) The course way: torchvision's MNIST dataset with a per-image ``ToTensor`` transform, a
    ``DataLoader`` (batch 20, no workers, no shuffling, as in the course), Adam 1e-3, MSE.
(b) The aehelpers way: ``aehelpers.fit`` with the settings the lessons use.

Both are scored on the same test images after every epoch; scoring is not counted as training
time. The headline is how much sooner (b) reaches the test MSE that (a) ends with.
Results go to ``benchmarks/results/<task>.json`` and ``.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import aehelpers as ae

RESULTS = Path(__file__).resolve().parent / "results"

# The settings each lesson uses (the aehelpers way) and the course's own (the course way).
TASKS = {
    "conv_autoencoder": dict(
        model=ae.ConvAutoencoder, noise=None, course_epochs=30,
        aehelpers=dict(batch_size=16, lr=2e-3, warmup_epochs=0.5, cosine=True),
    ),
    "denoising_autoencoder": dict(
        model=ae.DenoisingAutoencoder, noise=0.5, course_epochs=20,
        aehelpers=dict(batch_size=32, lr=2e-3, warmup_epochs=0.5, cosine=True),
    ),
}


def machine() -> dict:
    """What ran the benchmark: enough to judge whether another machine's numbers compare."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


def course_way(task: dict, epochs: int, train_count: int, test_images, test_targets, seed: int) -> dict:
    """The course's loop, faithfully: a per-image transform inside a DataLoader, batch 20."""
    import torchvision
    from torchvision import transforms

    # torchvision's MNIST class extracts the .gz files beside themselves: work on a writable copy.
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(ae.data_root() / "MNIST" / "raw", Path(tmp) / "MNIST" / "raw")
        dataset = torchvision.datasets.MNIST(tmp, train=True, download=True, transform=transforms.ToTensor())
        if train_count < len(dataset):
            dataset = torch.utils.data.Subset(dataset, range(train_count))
        loader = torch.utils.data.DataLoader(dataset, batch_size=20, num_workers=0)
        ae.set_seed(seed)
        model = task["model"]()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        seconds, test_mse, elapsed = [], [], 0.0
        for _ in range(epochs):
            started = time.perf_counter()
            for images, _ in loader:
                inputs = images if task["noise"] is None else (images + task["noise"] * torch.randn(*images.shape)).clamp(0, 1)
                loss = F.mse_loss(model(inputs), images)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            elapsed += time.perf_counter() - started
            seconds.append(elapsed)
            test_mse.append(ae.evaluate(model, test_images, test_targets))
            print(f"  course way, epoch {len(seconds)}: {elapsed:.0f} s, test MSE {test_mse[-1]:.5f}", flush=True)
    return {"seconds": seconds, "test_mse": test_mse, "images": train_count,
            "settings": {"batch_size": 20, "lr": 1e-3, "loader": "DataLoader+ToTensor"}}


def aehelpers_way(task: dict, epochs: int, train_images, test_images, seed: int) -> dict:
    ae.set_seed(seed)
    model = task["model"]()
    make_inputs = None if task["noise"] is None else (lambda x, g: ae.add_noise(x, task["noise"], g))
    history = ae.fit(model, train_images, test_images, num_epochs=epochs, make_inputs=make_inputs,
                     seed=seed, progress=False, **task["aehelpers"])
    for epoch, (s, mse) in enumerate(zip(history.seconds, history.test_loss), 1):
        print(f"  aehelpers way, epoch {epoch}: {s:.0f} s, test MSE {mse:.5f}", flush=True)
    return {"seconds": history.seconds, "test_mse": history.test_loss, "images": len(train_images), "settings": task["aehelpers"]}


def epochs_to_reach(run: dict, target: float) -> int | None:
    """How many epochs the run needed for its test MSE to reach ``target`` (None: never)."""
    for epoch, mse in enumerate(run["test_mse"], 1):
        if mse <= target:
            return epoch
    return None


def median_epoch_seconds(run: dict) -> float:
    """The median duration of one epoch: robust to a passing hiccup of the machine."""
    durations = sorted(b - a for a, b in zip([0.0] + run["seconds"][:-1], run["seconds"]))
    middle = len(durations) // 2
    return durations[middle] if len(durations) % 2 else (durations[middle - 1] + durations[middle]) / 2


def summarise(name: str, course: dict, ours: dict) -> dict:
    """Compare the two runs. Times are epochs needed x the median epoch's duration, for both ways
    alike, so a background hiccup during one epoch cannot tilt the ratio; raw clock times are kept too."""
    course_mse = course["test_mse"][-1]
    course_epoch, ours_epoch = median_epoch_seconds(course), median_epoch_seconds(ours)
    course_time = len(course["test_mse"]) * course_epoch
    ours_epochs = epochs_to_reach(ours, course_mse)
    ours_time = None if ours_epochs is None else ours_epochs * ours_epoch
    best = min(range(len(ours["test_mse"])), key=ours["test_mse"].__getitem__)
    return {
        "task": name,
        "course_test_mse": course_mse,
        "course_seconds": course_time,
        "aehelpers_test_mse_at_course_budget": ours["test_mse"][-1],
        "aehelpers_epochs_to_course_quality": ours_epochs,
        "aehelpers_seconds_to_course_quality": ours_time,
        "time_to_course_quality_ratio": None if ours_time is None else course_time / ours_time,
        "seconds_per_epoch": {"course": course_epoch, "aehelpers": ours_epoch},
        "images_per_second": {"course": course["images"] / course_epoch, "aehelpers": ours["images"] / ours_epoch},
        "raw_clock_seconds": {"course": course["seconds"][-1], "aehelpers": ours["seconds"][-1]},
        "best_test_mse": ours["test_mse"][best],
        "best_test_mse_budget_seconds": (best + 1) * ours_epoch,
        "course": course,
        "aehelpers": ours,
    }


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ae.set_style(dpi=100)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for key, label in (("course", "course way (DataLoader, batch 20)"), ("aehelpers", "aehelpers way")):
        ax.plot(result[key]["seconds"], result[key]["test_mse"], marker=".", label=label)
    ax.axhline(result["course_test_mse"], color="0.5", ls="--", lw=1, label="course's final test MSE")
    ax.set(xlabel="training seconds (wall clock)", ylabel="test MSE", yscale="log",
           title=f"{result['task']}: {result['time_to_course_quality_ratio'] or 0:.1f}x sooner to the course's quality")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def run(task_name: str, quick: bool, out: Path, seed: int = 0) -> dict:
    task = TASKS[task_name]
    epochs = 2 if quick else task["course_epochs"]
    train_count, test_count = (3_000, 1_000) if quick else (60_000, 10_000)
    train_images = ae.load_mnist(True).images[:train_count]
    clean_test = ae.load_mnist(False).images[:test_count]
    # Both ways are scored on the same fixed-seed noisy test images.
    test_inputs = clean_test if task["noise"] is None else ae.add_noise(clean_test, task["noise"], torch.Generator().manual_seed(seed + 1))
    print(f"{task_name}: {epochs} epochs on {train_count} images, the course way", flush=True)
    course = course_way(task, epochs, train_count, test_inputs, clean_test, seed)
    print(f"{task_name}: the aehelpers way", flush=True)
    ours = aehelpers_way(task, epochs, train_images, clean_test, seed)
    result = {**summarise(task_name, course, ours), "quick": quick, "epochs": epochs, "machine": machine()}
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{task_name}.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(result, out / f"{task_name}.png")
    ratio = result["time_to_course_quality_ratio"]
    print(f"{task_name}: course test MSE {result['course_test_mse']:.5f} in {result['course_seconds']:.0f} s; "
          f"aehelpers {result['aehelpers_test_mse_at_course_budget']:.5f} after the same epochs; "
          f"reached the course's quality {'%.1fx sooner' % ratio if ratio else 'never'}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 epochs on 3,000 images (a smoke test)")
    parser.add_argument("--task", choices=[*TASKS, "all"], default="all")
    parser.add_argument("--out", type=Path, default=None, help="folder for the JSON and PNG (default: benchmarks/results)")
    parser.add_argument("--summarise-only", action="store_true", help="redo the summary and plot from the stored runs")
    args = parser.parse_args(argv)
    out = args.out or (RESULTS / "quick" if args.quick else RESULTS)
    for name in TASKS if args.task == "all" else [args.task]:
        if args.summarise_only:
            resummarise(out / f"{name}.json")
        else:
            run(name, args.quick, out)
    return 0


def resummarise(path: Path) -> None:
    """Recompute a stored result's summary (after a change to ``summarise``) without retraining."""
    stored = json.loads(path.read_text())
    for way in ("course", "aehelpers"):
        stored[way].setdefault("images", 3_000 if stored["quick"] else 60_000)
    result = {**stored, **summarise(stored["task"], stored["course"], stored["aehelpers"])}
    path.write_text(json.dumps(result, indent=2) + "\n")
    plot(result, path.with_suffix(".png"))
    print(f"{path}: ratio {result['time_to_course_quality_ratio']}")


if __name__ == "__main__":
    sys.exit(main())
