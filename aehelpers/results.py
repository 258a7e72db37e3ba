"""Headline numbers as data: each lesson's full run writes them to ``notebooks/results/``.

The README's lesson table is filled from these files (``python -m aehelpers.results``), so no
number in the prose can drift away from the run that produced it.

Defined in lesson 1 (``notebooks/01_conv_autoencoder.ipynb``).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from .runtime import is_quick

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "notebooks" / "results"
README = REPO_ROOT / "README.md"

# What the README's table says about each lesson: its title, and how to word the headline
# from the lesson's results file. A lesson whose file is missing shows "not run yet".
LESSONS: dict[str, tuple[str, str]] = {
    "01_conv_autoencoder": (
        "Convolutional autoencoder on MNIST: shapes, the 196-value code, training, reconstructions",
        "test MSE {test_mse:.4f}, PSNR {test_psnr:.1f} dB after {epochs} epochs",
    ),
}


def save_results(notebook_name: str, values: dict) -> Path | None:
    """Write a lesson's headline numbers as JSON, except in quick mode (never overwrite a full run)."""
    if is_quick():
        print(f"Quick mode: results not saved (the stored {notebook_name}.json is from a full run).")
        return None
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{notebook_name}.json"
    path.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")
    print(f"Saved {path.relative_to(REPO_ROOT)}")
    return path


def load_results(notebook_name: str) -> dict | None:
    path = RESULTS_DIR / f"{notebook_name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def lesson_table() -> str:
    """The README's lessons table, in Markdown, built from the results files."""
    lines = ["| lesson | what it teaches | full run (2-core CPU) | headline result |", "| --- | --- | --- | --- |"]
    for name, (teaches, headline) in LESSONS.items():
        results = load_results(name)
        if results is None:
            run, result = "-", "not run yet"
        else:
            run = f"{results['full_run_minutes']:.0f} min"
            result = headline.format(**results)
        lines.append(f"| [`{name}`](notebooks/{name}.ipynb) | {teaches} | {run} | {result} |")
    return "\n".join(lines)


def update_readme(readme: Path = README) -> bool:
    """Replace the table between the README's ``<!-- lessons -->`` markers; True when it changed."""
    text = readme.read_text()
    pattern = re.compile(r"(<!-- lessons:start -->\n).*?(\n<!-- lessons:end -->)", re.S)
    if not pattern.search(text):
        raise ValueError(f"{readme} has no <!-- lessons:start --> ... <!-- lessons:end --> markers.")
    updated = pattern.sub(lambda m: m.group(1) + lesson_table() + m.group(2), text)
    if updated != text:
        readme.write_text(updated)
    return updated != text


if __name__ == "__main__":
    changed = update_readme()
    print("README lesson table " + ("updated." if changed else "already up to date."))
    sys.exit(0)
