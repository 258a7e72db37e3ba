"""Lesson 6's VAE trained for a long time: does it reach the literature's 84 nats?

    python benchmarks/vae_long.py                  # width 64, 150 epochs: minutes on a GPU, many hours on 2 CPU cores
    python benchmarks/vae_long.py --quick          # 1 epoch on 2,000 images, K = 10 on 100 images: a smoke test

Lesson 6 trains ``ae.VariationalAutoencoder`` (32 code values) for the 10 epochs a lesson allows and reaches
about 91 nats (importance-weighted, K = 100). Measured on a lent H200 with the lesson's recipe, width 64 reached
85.95 nats after 29 epochs with the test loss still falling: the gap to 84 looked like a question of epochs, not
of a new model. This script trains that model with the lesson's recipe (binarised afresh every epoch, Adam at
0.001 with a cosine decay over all epochs, batch 128, seed 0) for ``--epochs`` epochs, then estimates
-log p(x) with K = 1,000 importance samples on all 10,000 test images of lesson 6's binarised test set, with
its standard error.

Both halves can be interrupted and resumed (Ctrl-C, or a session that ends): the training keeps
``checkpoints/06_vae_long.pt`` (``ae.fit``'s checkpoint), and the estimate keeps the images it has scored in
``checkpoints/06_vae_long_nll.pt`` (chunks of 100 images, each with its own seed, so a resumed estimate is
the same as an uninterrupted one). Run the same command again to continue. Both files are git-ignored, and
the machines this course is built on keep nothing between sessions but the commits on main (two runs were
lost so, at epochs 46 and 69): so a session that stops the run commits them under ``benchmarks/state/`` and
removes them again in the next commit (CONTRIBUTING.md says how). A later run on a full clone that has
neither brings back the last ones kept in history, until the run has finished (a shallow clone has no
history: it starts again at epoch 1). On Linux, start it with the three ``MALLOC_*_`` variables of
``benchmarks/cpu_allocator.py`` (its ``TUNED``): the same arithmetic, a faster CPU step (measured there).

A complete run ships the weights as ``weights/06_vae_long.pt`` with a manifest entry (first: the estimate
scores the shipped, rounded weights) and writes ``benchmarks/results/vae_long.json`` (settings, curves, the
estimate, the machines), for a section of lesson 6 on the long run (to be written once the run has finished)
to load. Every stretch of training, finished or stopped, adds a line to
``benchmarks/results/vae_long_progress.json`` (which epochs, on which machine, how long, the test negative
ELBO at its end), so a run that spans sessions and machines says where each epoch was trained.
``--quick`` writes none of these.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import subprocess
import time
from pathlib import Path

import torch

import aehelpers as ae
from aehelpers.runtime import describe_machine
from aehelpers.checkpoints import atomic_save, read_file
from aehelpers.weights import ship_weights

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "vae_long.json"
PROGRESS = ROOT / "benchmarks" / "results" / "vae_long_progress.json"
NAME = "06_vae_long"
KEPT = "benchmarks/state"  # where a stopped session keeps the checkpoint and the estimate's store in main's history
CHUNK = 100  # test images scored per resumable step of the estimate (K = 1,000: 100,000 decoder passes)
CODES_PER_BATCH = 10_000  # images x samples decoded at once (K = 1,000: 10 images a batch)


def train(args: argparse.Namespace, train_images: torch.Tensor, test_binary: torch.Tensor) -> tuple:
    ae.set_seed(0)
    model = ae.VariationalAutoencoder(32, width=args.width)
    recipe = ae.Recipe(loss_fn=ae.negative_elbo, augment=ae.binarize, cosine=True,
                       extra_scores={"reconstruction": ae.reconstruction_nats, "KL": ae.kl_nats})
    history = ae.fit(model, train_images, test_binary, num_epochs=args.epochs, batch_size=128, lr=1e-3,
                     recipe=recipe, seed=0, device=args.device,
                     checkpoint=None if args.quick else ae.checkpoint_path(NAME))
    return model, history


def epochs_done() -> int:
    """Finished epochs in the training checkpoint (0 when there is none)."""
    path = ae.checkpoint_path(NAME)
    return len(read_file(path)["history"]["train_loss"]) if path.is_file() else 0


def git(*arguments: str, text: bool = True) -> subprocess.CompletedProcess:
    """Run git in the repository, capturing its output (never raising: a failure is read from returncode)."""
    return subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, text=text)


def restore_kept(name: str) -> str | None:
    """Bring back ``checkpoints/<name>.pt`` from the last commit that kept it, when this machine has none.

    Returns the commit it came from, or ``None`` (the file is here already, the run has finished, it was
    never kept, or the clone is shallow). A finished run (its results written) is never continued: running
    the script again then repeats it from epoch 1. Why history and not the working tree: the training
    checkpoint (16 MB: the weights and Adam's two moments in float32) would count twice in a shallow clone
    (packed and checked out), over its 64 MiB budget; removed again in the next commit, it costs only a full
    clone, which is what a long run resumes from.
    """
    path, kept = ae.checkpoint_path(name), f"{KEPT}/{name}.pt"
    if path is None or path.is_file() or RESULTS.is_file():
        return None
    found = git("log", "-1", "--diff-filter=AM", "--format=%H", "--", kept)
    commit = found.stdout.strip() if found.returncode == 0 else ""
    if not commit:
        if git("rev-parse", "--is-shallow-repository").stdout.strip() == "true":
            print(f"A shallow clone has no history, so no kept {name}.pt: `git fetch --unshallow` first to continue "
                  "the long run where it stopped.")
        return None
    content = git("show", f"{commit}:{kept}", text=False)
    if content.returncode != 0:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".tmp").write_bytes(content.stdout)
    path.with_suffix(".tmp").replace(path)
    print(f"Restored {path.name}, kept in commit {commit[:10]}.")
    return commit


def record_stretch(first_epoch: int, history, device: str, wall_seconds: float) -> list[dict]:
    """Add this session's stretch of training to the progress file; return every stretch so far.

    Lines beyond the checkpoint belong to a run whose checkpoint is gone (a new machine or a fresh clone
    starts again from epoch 1): they move to ``lost_runs``, kept as a check on the new run, which retraces
    them closely but, on another machine, not bit for bit (its CPU kernels may round differently).
    """
    progress = json.loads(PROGRESS.read_text()) if PROGRESS.is_file() else {}
    stretches, lost_runs = progress.get("stretches", []), progress.get("lost_runs", [])
    lost = [stretch for stretch in stretches if stretch["epochs"][1] > first_epoch]
    if lost:
        lost_runs.append(lost)
    stretches = [stretch for stretch in stretches if stretch["epochs"][1] <= first_epoch]
    last_recorded = stretches[-1]["epochs"][1] if stretches else 0
    if first_epoch > last_recorded:  # a stretch that ended without Ctrl-C (killed) left no line: say so
        stretches.append({"epochs": [last_recorded + 1, first_epoch], "machine": "not recorded (stopped without Ctrl-C)"})
    if history.epochs > first_epoch:
        stretches.append({
            "epochs": [first_epoch + 1, history.epochs], "machine": describe_machine(device)["device"], "torch": torch.__version__,
            "date": datetime.date.today().isoformat(), "wall_minutes": round(wall_seconds / 60, 1),
            "test_neg_elbo_at_end": round(history.test_loss[-1], 3),
            "test_neg_elbo": [round(value, 3) for value in history.test_loss[first_epoch:]],
        })
    if stretches or lost_runs:
        what = ("benchmarks/vae_long.py: each stretch of training (epochs counted from 1, both ends included) and "
                "where it ran; lost_runs: stretches of earlier runs whose checkpoint was lost")
        PROGRESS.write_text(json.dumps({"what": what, "stretches": stretches, "lost_runs": lost_runs}, indent=1) + "\n")
    return stretches


def weights_fingerprint(model: torch.nn.Module) -> str:
    """A short hash of the model's weights (the same whatever their memory layout or device)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def estimate(model: torch.nn.Module, images: torch.Tensor, samples: int, store: Path | None) -> tuple[torch.Tensor, list[str]]:
    """-log p(x) per image (K = ``samples``), chunk by chunk, and the machines that scored the chunks.

    Finished chunks are kept in ``store`` and reused only by the same estimate: the same weights, images, K,
    chunk and batch size (anything else starts afresh). Each chunk has its own seed (its first image's
    index), so a resumed estimate equals an uninterrupted one on the same kind of device (a GPU's
    arithmetic differs from the CPU's in the last bits). Why the batches are small: K = 1,000 codes for
    each of 100 images would put 100,000 decoded images of 64 x 28 x 28 activations in memory at once
    (about 20 GB a layer at width 64).
    """
    batch_size = max(1, CODES_PER_BATCH // samples)
    key = {"samples": samples, "chunk": CHUNK, "batch_size": batch_size, "weights": weights_fingerprint(model),
           "images": hashlib.sha256(images.cpu().numpy().tobytes()).hexdigest()[:16]}
    done = read_file(store) if store is not None and store.is_file() else {}  # weights_only: tensors, numbers, strings
    if done.get("key") != key:
        if done:
            print(f"estimate: {store} belongs to another estimate (other weights, images or settings): starting afresh")
        done = {"key": key, "chunks": {}, "machines": {}}
    machine = describe_machine(str(next(model.parameters()).device))["device"]
    starts = list(range(0, len(images), CHUNK))
    todo = [start for start in starts if start not in done["chunks"]]
    started = time.perf_counter()
    for count, start in enumerate(todo, 1):
        done["chunks"][start] = ae.importance_weighted_nll(model, images[start:start + CHUNK], samples=samples,
                                                           seed=start, batch_size=batch_size)
        done["machines"][start] = machine
        if store is not None:  # written aside, then renamed: a Ctrl-C while saving cannot spoil the kept chunks
            atomic_save(done, store)
        elapsed = time.perf_counter() - started
        scored = sum(len(chunk) for chunk in done["chunks"].values())
        print(f"estimate: {scored:,} of {len(images):,} images scored ({elapsed / 60:.1f} min "
              f"in this run, about {elapsed / count * (len(todo) - count) / 60:.0f} min left)", flush=True)
    return torch.cat([done["chunks"][start] for start in starts]), sorted(set(done["machines"].values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=64, help="the VAE's channels at 28x28 (lesson 6: 32)")
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--samples", type=int, default=1_000, help="importance samples per test image, K")
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    parser.add_argument("--quick", action="store_true", help="a smoke test that writes nothing")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.samples = 1, 10
    train_images = ae.load_mnist(train=True).images[:2_000 if args.quick else None]
    test_images = ae.load_mnist(train=False).images[:100 if args.quick else None]
    test_binary = ae.binarize(test_images, torch.Generator().manual_seed(1))  # lesson 6's binarised test set

    device = args.device or str(ae.get_device())
    if not args.quick:
        for name in (NAME, f"{NAME}_nll"):
            restore_kept(name)
    first_epoch = 0 if args.quick else epochs_done()
    started = time.perf_counter()
    model, history = train(args, train_images, test_binary)
    stretches = [] if args.quick else record_stretch(first_epoch, history, device, time.perf_counter() - started)
    if history.interrupted:
        print("Training interrupted; run the same command again to resume from its checkpoint.")
        return
    model.eval()
    if not args.quick:
        # Shipping rounds the large tensors to float16 in the model too (ship_weights): estimate after it,
        # so the published -log p(x) is that of the file a learner loads. A resumed estimate ships the same
        # rounded weights again, so its chunks (keyed by the weights) are reused.
        ship_weights(model, NAME, history)
    store = None if args.quick else ae.checkpoint_path(f"{NAME}_nll")
    try:
        nll, estimate_machines = estimate(model, test_binary, args.samples, store)
    except KeyboardInterrupt:
        if store is None:
            raise
        print(f"Estimate interrupted; the images scored so far are kept in {store}. Run the same command again "
              "to continue.")
        return
    mean, standard_error = nll.mean().item(), nll.std().item() / math.sqrt(len(nll))
    print(f"after {history.epochs} epochs (width {args.width}): test negative ELBO {history.test_loss[-1]:.2f} nats; "
          f"-log p(x) {mean:.2f} nats (K = {args.samples:,}, {len(nll):,} test images, standard error "
          f"{standard_error:.2f})")
    if args.quick:
        return
    RESULTS.write_text(json.dumps({
        "width": args.width, "latent_size": 32, "epochs": history.epochs, "batch_size": 128, "lr": 1e-3,
        "nll_nats": round(mean, 2), "nll_standard_error": round(standard_error, 2), "nll_samples": args.samples,
        "nll_images": len(nll), "test_neg_elbo": [round(v, 3) for v in history.test_loss],
        "train_seconds": round(history.seconds[-1], 1), "stretches": stretches,
        "estimate_machines": estimate_machines,
    }, indent=2) + "\n")
    print(f"written: {RESULTS.relative_to(ROOT)} and weights/{NAME}.pt")


if __name__ == "__main__":
    main()
