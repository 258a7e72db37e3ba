"""Train a lesson's model the course way and the aehelpers way, side by side, and compare.

    python benchmarks/train_speed.py              # full run: lesson 1's model (3 seeds), lesson 2's denoiser
    python benchmarks/train_speed.py --quick      # a few epochs on a slice (used by the tests)
    python benchmarks/train_speed.py --task conv_autoencoder --seeds 3 4   # more seeds for one model

(a) The course way: torchvision's MNIST dataset with a per-image ``ToTensor`` transform, a
    ``DataLoader`` (batch 20, no workers, no shuffling, as in the course), Adam 1e-3, MSE.
(b) The aehelpers way: ``aehelpers.fit`` with the settings the lessons use.

Both are scored on the same test images after every epoch; scoring is not counted as training
time. The headline is how much sooner (b) reaches the test MSE that (a) ends with.

The seed matters a lot for these small models: it picks the initial weights (the same for both
ways), and with them how many of the few code channels stay alive. So each seed is a paired
run of both ways, stored in ``benchmarks/results/runs/<task>_seed<k>.json``, and the summary
``benchmarks/results/<task>.json`` (with its plot, ``.png``) reports every seed and takes its
headline from the seed with the median speed-up: a real run, not an average of runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import aehelpers as ae
from aehelpers.runtime import describe_machine

RESULTS = Path(__file__).resolve().parent / "results"

# The settings each lesson uses (the aehelpers way) and the course's own (the course way).
# seeds: those a full run trains (the course's denoiser takes 13 minutes a seed on 2 cores).
TASKS = {
    "conv_autoencoder": dict(
        model=ae.ConvAutoencoder, noise=None, course_epochs=30, seeds=(0, 1, 2),
        aehelpers=dict(batch_size=16, lr=2e-3, warmup_epochs=0.5, cosine=True),
    ),
    "denoising_autoencoder": dict(
        model=ae.DenoisingAutoencoder, noise=0.5, course_epochs=20, seeds=(0,),
        aehelpers=dict(batch_size=16, lr=2e-3, warmup_epochs=0.5, cosine=True),
    ),
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
    settings = task["aehelpers"]
    recipe = ae.Recipe(make_inputs=make_inputs, warmup_epochs=settings["warmup_epochs"], cosine=settings["cosine"])
    history = ae.fit(model, train_images, test_images, num_epochs=epochs, batch_size=settings["batch_size"],
                     lr=settings["lr"], recipe=recipe, seed=seed, progress=False)
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
    # A looser reading: how much sooner each way comes within 2 % of the course's final test MSE
    # (the tolerance for quality), both ways timed the same way.
    near = course_mse * 1.02
    course_near, ours_near = epochs_to_reach(course, near), epochs_to_reach(ours, near)
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
        "within_2_percent_ratio": None if ours_near is None else (course_near * course_epoch) / (ours_near * ours_epoch),
        "best_test_mse": ours["test_mse"][best],
        "best_test_mse_budget_seconds": (best + 1) * ours_epoch,
        "course": course,
        "aehelpers": ours,
    }


def plot(runs: list[dict], summary: dict, path: Path) -> None:
    """Test MSE against training seconds, both ways, one panel per seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ae.set_style(dpi=100)
    fig, axes = plt.subplots(1, len(runs), figsize=(max(6.5, 4.2 * len(runs) + 1), 3.8), sharey=True, squeeze=False)
    for ax, run_ in zip(axes[0], runs):
        for key, label in (("course", "course way (DataLoader, batch 20)"), ("aehelpers", "aehelpers way")):
            ax.plot(run_[key]["seconds"], run_[key]["test_mse"], marker=".", label=label)
        ax.axhline(run_["course_test_mse"], color="0.5", ls="--", lw=1, label="course's final test MSE")
        ratio = run_["time_to_course_quality_ratio"]
        ax.set(xlabel="training seconds (wall clock)", yscale="log",
               title=f"seed {run_['seed']}: " + (f"{ratio:.1f}x sooner" if ratio else "never reached"))
    axes[0][0].set_ylabel("test MSE")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{summary['task']}: the course way and the aehelpers way, paired by seed", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def run(task_name: str, quick: bool, out: Path, seed: int = 0) -> dict:
    """Train both ways with one seed; store the paired run in ``out/runs/<task>_seed<seed>.json``."""
    task = TASKS[task_name]
    epochs = 2 if quick else task["course_epochs"]
    train_count, test_count = (3_000, 1_000) if quick else (60_000, 10_000)
    train_images = ae.load_mnist(True).images[:train_count]
    clean_test = ae.load_mnist(False).images[:test_count]
    # Both ways are scored on the same fixed-seed noisy test images.
    test_inputs = clean_test if task["noise"] is None else ae.add_noise(clean_test, task["noise"], torch.Generator().manual_seed(seed + 1))
    print(f"{task_name}, seed {seed}: {epochs} epochs on {train_count} images, the course way", flush=True)
    course = course_way(task, epochs, train_count, test_inputs, clean_test, seed)
    print(f"{task_name}, seed {seed}: the aehelpers way", flush=True)
    ours = aehelpers_way(task, epochs, train_images, clean_test, seed)
    result = {**summarise(task_name, course, ours), "seed": seed, "quick": quick, "epochs": epochs, "machine": describe_machine()}
    path = run_path(out, task_name, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    ratio = result["time_to_course_quality_ratio"]
    print(f"{task_name}, seed {seed}: course test MSE {result['course_test_mse']:.5f} in {result['course_seconds']:.0f} s; "
          f"aehelpers {result['aehelpers_test_mse_at_course_budget']:.5f} after the same epochs; "
          f"reached the course's quality {'%.1fx sooner' % ratio if ratio else 'never'}", flush=True)
    return result


def run_path(out: Path, task_name: str, seed: int) -> Path:
    return out / "runs" / f"{task_name}_seed{seed}.json"


def summarise_seeds(task_name: str, out: Path) -> dict:
    """Combine every stored seed of a task into ``out/<task>.json`` and its plot.

    The headline fields are those of the seed with the median speed-up (a seed that never reached
    the course's quality counts as the slowest); ``seeds`` lists every seed's own numbers.
    """
    runs = [json.loads(p.read_text()) for p in (out / "runs").glob(f"{task_name}_seed*.json")]
    # Derived numbers are recomputed from the stored curves, so a change to `summarise` reaches old runs.
    runs = [{**r, **summarise(r["task"], r["course"], r["aehelpers"])} for r in runs]
    if not runs:
        raise FileNotFoundError(f"No stored runs of {task_name} in {out / 'runs'}: run the benchmark first.")
    runs.sort(key=lambda r: r["seed"])
    by_speed = sorted(runs, key=lambda r: r["time_to_course_quality_ratio"] or 0.0)
    headline = by_speed[(len(by_speed) - 1) // 2]  # the lower median when the count is even
    keys = ("course_test_mse", "course_seconds", "aehelpers_test_mse_at_course_budget",
            "aehelpers_epochs_to_course_quality", "aehelpers_seconds_to_course_quality",
            "time_to_course_quality_ratio", "within_2_percent_ratio", "seconds_per_epoch", "best_test_mse",
            "best_test_mse_budget_seconds")
    result = {**headline, "headline_seed": headline["seed"],
              "seeds": [{"seed": r["seed"], **{k: r[k] for k in keys}} for r in runs]}
    del result["seed"]
    (out / f"{task_name}.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(runs, result, out / f"{task_name}.png")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 epochs on 3,000 images, seed 0 (a smoke test)")
    parser.add_argument("--task", choices=[*TASKS, "all"], default="all")
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="seeds to train (default: the task's own list; 0 with --quick)")
    parser.add_argument("--out", type=Path, default=None, help="folder for the JSON and PNG (default: benchmarks/results)")
    parser.add_argument("--summarise-only", action="store_true", help="redo the summaries and plots from the stored runs")
    args = parser.parse_args(argv)
    out = args.out or (RESULTS / "quick" if args.quick else RESULTS)
    for name in TASKS if args.task == "all" else [args.task]:
        if not args.summarise_only:
            for seed in args.seeds or ((0,) if args.quick else TASKS[name]["seeds"]):
                run(name, args.quick, out, seed)
        result = summarise_seeds(name, out)
        ratios = ", ".join(f"seed {r['seed']}: " + (f"{r['time_to_course_quality_ratio']:.1f}x" if r["time_to_course_quality_ratio"] else "never")
                           for r in result["seeds"])
        print(f"{name}: {ratios}; headline (median) seed {result['headline_seed']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
