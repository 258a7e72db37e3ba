"""Headline numbers as data: each lesson's full run writes them to ``notebooks/results/``.

The READMEs' tables are filled from these files (``python -m aehelpers.update_readme``): the lesson
table in README.md, the speed tables in benchmarks/README.md. So no number in a table can drift
away from the run that produced it.

Defined in lesson 1 (``notebooks/01_conv_autoencoder.ipynb``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from .paths import BENCHMARK_DIR, README, REPO_ROOT, RESULTS_DIR
from .runtime import is_quick, is_recording_run

# What the README's table says about each lesson: its title, and how to word the headline
# from the lesson's results file. A lesson whose file is missing shows "not run yet".
LESSONS: dict[str, tuple[str, str]] = {
    "01_conv_autoencoder": (
        "Convolutional autoencoder on MNIST: shapes, the 196-value code, training, reconstructions",
        "test MSE {test_mse:.4f}, PSNR {test_psnr:.1f} dB after {epochs} epochs",
    ),
    "02_denoising_autoencoder": (
        "Denoising autoencoder: noisy in, clean out; classical filters, a U-Net, other noise levels",
        "noise {noise_factor}: noisy {noisy_psnr:.1f} dB, median filter {median_filter_psnr:.1f} dB, "
        "course model {course_denoised_psnr:.1f} dB, U-Net {denoised_psnr:.1f} dB (SSIM {denoised_ssim:.2f})",
    ),
    "03_upsampling_autoencoder": (
        "Checkerboard artifacts of transpose convolutions, and the upsample + convolution fix, with a controlled twin",
        "196-value code: test MSE {transpose_test_mse:.4f} (transpose) vs {twin_test_mse:.4f} (its twin, only the "
        "upsampling changed) vs {upsample_test_mse:.4f} (upsampling model); checkerboard score "
        "{transpose_checkerboard_score:.2f} vs {twin_checkerboard_score:.2f} vs {upsample_checkerboard_score:.2f}",
    ),
    "04a_flowers_course_classifiers": (
        "The course's autoencoder-based classifiers for Oxford Flowers-102: its four variants, its bug, overfitting",
        "top-1 on the 6,149 test images (reduced schedule): {course_base_top1:.2f}% (base) to "
        "{course_best_top1:.2f}% (best variant)",
    ),
    "04b_flowers_residual_classifier": (
        "Beyond the course: a residual autoencoder classifier; augmentation, label smoothing, pretraining, an ablation",
        "top-1 on the 6,149 test images: **{best_top1:.2f}%** ({best_top1_without_flips:.2f}% without test-time flips), "
        "{final_epochs} epochs at {image_size} px",
    ),
    "05_autoencoder_vs_pca": (
        "PCA as the best linear autoencoder; a convolutional autoencoder with a dense bottleneck only ties it; "
        "the same network beside a linear shortcut beats it, most of all when the shortcut starts as PCA",
        "test MSE with a 196-value code: PCA {pca_k196_mse:.6f}, bottleneck network from scratch "
        "{scratch_k196_mse:.6f} (a tie), shortcut model started at random {shortcut_random_start_k196_mse:.6f}, "
        "PCA + learned correction **{ae_k196_mse:.6f}**, lesson 1's model {course_k196_mse:.6f}; with 32 values: "
        "PCA {pca_k32_mse:.6f}, PCA + correction {ae_k32_mse:.6f}",
    ),
    "06_variational_autoencoder": (
        "Beyond the course: the variational autoencoder; sampling, interpolation, a 2-value code, the beta trade-off, "
        "a long run",
        "binarised MNIST: test negative ELBO {test_neg_elbo:.2f} nats, importance-weighted -log p(x) "
        "**{test_nll_nats:.2f}** nats (K = {nll_samples}, {nll_images:,} test images drawn at random) after {epochs} epochs; "
        "the long run (width {long_run_width}, {long_run_epochs} epochs, weights shipped): -log p(x) "
        "**{long_run_nll_nats:.2f}** nats (K = {long_run_nll_samples:,}, all {long_run_nll_images:,} test images)",
    ),
    "07_anomaly_detection": (
        "Beyond the course: anomaly detection by reconstruction error on one-class MNIST, against PCA, a VAE and "
        "scikit-learn's detectors",
        "mean AUROC over the ten digits: autoencoder **{autoencoder_mean_auroc_over_seeds:.1f}%** (mean of 5 seeds; "
        "seed 0: {autoencoder_mean_auroc:.1f}%), PCA {pca_mean_auroc:.1f}%, VAE {vae_mean_auroc:.1f}%, best scikit-learn "
        "detector {best_classical_mean_auroc:.1f}%",
    ),
    "08_sparse_autoencoders": (
        "Beyond the course: sparse autoencoders read a digit classifier's layer and lesson 4b's flower classifier; "
        "dead latents, the sparsity-fidelity frontier, purity, a causal test",
        "TopK SAE 8x as wide as the layer, k = {sae_l0:.0f}: FVE **{sae_fve:.3f}**, {sae_dead_fraction:.1%} dead, "
        "the classifier's accuracy on the rebuilt layer {sae_accuracy_drop:.2f} points below its "
        "{classifier_test_accuracy:.2f}%; label purity {feature_purity:.2f} (features) vs {neuron_purity:.2f} (neurons) and "
        "{untrained_sae_purity:.2f} (an untrained SAE); "
        "switching off a digit's features lowers its probability by {ablation_effect:.1f} points, as many other active "
        "latents by {control_effect:.1f}",
    ),
    "09_vq_autoencoder": (
        "Beyond the course: images as tokens; a VQ-VAE with a 7x7 grid of 64 codebook entries, its codebook's health, "
        "and a small causal transformer that writes token grids",
        "test MSE **{vq_test_mse:.4f}** with {vq_bits_per_image:.0f} bits per image (PCA at {pca_bits_per_image} bits: "
        "{pca_equal_bits_mse:.4f}); codebook perplexity {vq_codebook_perplexity:.1f} of {vq_codebook_size}; samples named "
        "with >= 90% confidence: {prior_confident_share:.1f}% (lesson 6's VAE: {vae_confident_share:.1f}%); "
        "-log p(x) <= {nll_bound_nats:.1f} nats",
    ),
}


def save_results(notebook_name: str, values: dict, shipped: dict[str, str] | None = None) -> Path | None:
    """Write a lesson's headline numbers as JSON: only a full run marked as the course's record does.

    Never in quick mode, after loading shipped weights, or without ``AEHELPERS_RECORD_RUN=1`` (see
    ``runtime.is_recording_run``): a learner's own run leaves the files in git alone.

    ``shipped`` maps a shipped weights file (``weights/<name>.pt``) to the key of the number it gives,
    so the manifest records it and ``tests/test_weights.py`` can check it.
    """
    from . import weights  # imported here: weights needs the training loop, results must not

    if is_quick():
        print(f"Quick mode: results not saved (the stored {notebook_name}.json is from a full run).")
        return None
    if weights.loaded_shipped_weights():
        print(f"Trained weights were loaded, not trained: results not saved (the stored {notebook_name}.json is from "
              "the full run that made them).")
        return None
    if not is_recording_run():  # a learner's full run: the stored file stays the course's record, silently
        return None
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{notebook_name}.json"
    path.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")
    for name, key in (shipped or {}).items():
        weights.record_headline(name, notebook_name, key, values[key])
    return path  # silent, like a learner's run, so the stored outputs are what a learner sees


def load_results(notebook_name: str) -> dict | None:
    """A lesson's stored headline numbers (``notebooks/results/<name>.json``), or ``None`` if it was never run."""
    path = RESULTS_DIR / f"{notebook_name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def load_benchmark(name: str) -> dict | None:
    """A stored benchmark result (``benchmarks/results/<name>.json``), or ``None`` if it was never run."""
    path = BENCHMARK_DIR / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def lesson_table() -> str:
    """The README's lessons table, in Markdown, built from the results files and the lesson-time benchmarks.

    Columns: a full run's minutes on 2 CPU cores (from each lesson's results), a full run's minutes on a
    GPU (``benchmarks/results/lesson_times_gpu.json``, blank where not measured) and the minutes with the
    shipped trained weights (``benchmarks/results/lesson_times_trained.json``).
    """
    gpu = load_benchmark("lesson_times_gpu") or {"minutes": {}, "machine": "GPU"}
    trained = load_benchmark("lesson_times_trained") or {"minutes": {}}
    lines = [f"| lesson | what it teaches | full run (2-core CPU) | full run ({gpu['machine']}) | with trained weights "
             "(2-core CPU) | headline result |", "| --- | --- | --- | --- | --- | --- |"]
    for name, (teaches, headline) in LESSONS.items():
        results = load_results(name)
        if results is None:
            run, result = "-", "not run yet"
        else:
            # Never below the run's own wall time: `full_run_minutes` adds loaded models' recorded training
            # time, which leaves out the per-epoch test scoring, so a run that trained everything is longer.
            run = f"{max(results['full_run_minutes'], results.get('this_run_minutes', 0.0)):.0f} min"
            result = headline.format(**results)
        on_gpu = f"{gpu['minutes'][name]:.1f} min" if name in gpu["minutes"] else ""
        with_weights = f"{trained['minutes'][name]:.1f} min" if name in trained["minutes"] else ""
        lines.append(f"| [`{name}`](notebooks/{name}.ipynb) | {teaches} | {run} | {on_gpu} | {with_weights} | {result} |")
    return "\n".join(lines)


def benchmark_table() -> str:
    """The README's benchmark table, in Markdown, built from ``benchmarks/results/*.json``.

    A result trained with several seeds shows its headline (median) seed's numbers and every
    seed's speed-up, so the spread is in plain sight.
    """
    lines = [
        "| model | course way: test MSE, time | aehelpers way: test MSE at the course's epochs | "
        "time to the course's quality | speed-up | speed-up, each seed | to within 2 %, each seed | machine |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for path in sorted(BENCHMARK_DIR.glob("*.json")):
        r = json.loads(path.read_text())
        if "time_to_course_quality_ratio" not in r:  # another kind of result (step times, lesson 4's GPU run)
            continue
        seconds, epochs = r["aehelpers_seconds_to_course_quality"], r["aehelpers_epochs_to_course_quality"]
        reach = "never" if seconds is None else f"{seconds:.0f} s (epoch {epochs})"
        seeds = r.get("seeds", [{"seed": r.get("seed", 0), "time_to_course_quality_ratio": r["time_to_course_quality_ratio"]}])
        per_seed = ", ".join(f"{s['seed']}: {_speed_up(s['time_to_course_quality_ratio'])}" for s in seeds)
        near = ", ".join(f"{s['seed']}: {_speed_up(s['within_2_percent_ratio'])}" for s in seeds if "within_2_percent_ratio" in s) or "-"
        headline = f"seed {r['headline_seed']}, the median" if len(seeds) > 1 else f"seed {seeds[0]['seed']}"
        machine = r["machine"]
        lines.append(
            f"| `{r['task']}` ({r['epochs']} epochs; {headline}) | {r['course_test_mse']:.5f}, {r['course_seconds']:.0f} s "
            f"| {r['aehelpers_test_mse_at_course_budget']:.5f} | {reach} | **{_speed_up(r['time_to_course_quality_ratio'])}** "
            f"| {per_seed} | {near} | {machine['cpu']}, {machine['cores']} cores, torch {machine['torch']} |"
        )
    return "\n".join(lines)


def _speed_up(ratio: float | None) -> str:
    return "never" if ratio is None else f"{ratio:.1f}x"


def step_time_table(name: str = "step_time") -> str:
    """A README table of per-step timings, from ``benchmarks/results/<name>.json``."""
    path = BENCHMARK_DIR / f"{name}.json"
    if not path.is_file():
        return "(not measured yet: run `python benchmarks/step_time.py`)"
    data = json.loads(path.read_text())
    lines = ["| option | ms per step | images per second |", "| --- | ---: | ---: |"]
    # Indented labels mark a change to the row above; Markdown would swallow plain leading spaces.
    lines += [f"| {_indent(r['option'])} | {r['ms_per_step']:.2f} | {r['images_per_second']:,.0f} |" for r in data["rows"]]
    machine = data["machine"]
    where = machine["gpu"] if machine.get("gpu") else f"{machine['cpu']}, {machine['cores']} cores"
    rounds = f", the median of {data['rounds']} rounds" if "rounds" in data else ""
    lines.append(f"\n({where}, torch {machine['torch']}{rounds}.)")
    return "\n".join(lines)


def _indent(label: str) -> str:
    stripped = label.lstrip(" ")
    return "&nbsp;&nbsp;" * ((len(label) - len(stripped)) // 2) + stripped


# The speed tables live in the benchmarks' own README, away from the learners' page.
BENCHMARKS_README = REPO_ROOT / "benchmarks" / "README.md"

# Every generated block, by the name in its markers (<!-- name:start --> ... <!-- name:end -->).
GENERATED_BLOCKS: dict[str, Callable[[], str]] = {
    "lessons": lesson_table,
    "benchmark": benchmark_table,
    "steptime": step_time_table,
    "steptime-cuda": lambda: step_time_table("step_time_cuda"),
}
README_BLOCKS = ("lessons",)
BENCHMARKS_README_BLOCKS = ("benchmark", "steptime", "steptime-cuda")


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def _replace_block(text: str, name: str, content: str, readme: Path) -> str:
    start, end = _markers(name)
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"{readme} has no {start} ... {end} markers: put them back where the table belongs.")
    return pattern.sub(lambda _: f"{start}\n{content}\n{end}", text)


def _refill(path: Path, required: tuple[str, ...]) -> bool:
    """Refill every generated block found in ``path``; the ``required`` ones must be there.

    Why required: a block whose markers were lost in an edit would otherwise go stale without a word.
    """
    if not path.is_file():
        raise ValueError(f"{path} is missing; it holds the generated tables {', '.join(required)}.")
    text = path.read_text()
    updated = text
    for name, table in GENERATED_BLOCKS.items():
        if name in required or _markers(name)[0] in updated:
            updated = _replace_block(updated, name, table(), path)
    if updated != text:
        path.write_text(updated)
    return updated != text


def update_readme(readme: Path = README, benchmarks_readme: Path | None = BENCHMARKS_README) -> bool:
    """Rewrite the generated tables between their markers; True when any file changed.

    The lesson table lives in ``readme`` (README.md), the speed tables in ``benchmarks_readme``
    (benchmarks/README.md; ``None`` leaves it alone). Each file must hold its own tables' markers.
    """
    changed = _refill(readme, README_BLOCKS)
    if benchmarks_readme is not None:
        changed = _refill(benchmarks_readme, BENCHMARKS_README_BLOCKS) or changed
    return changed
