"""How long each lesson takes top to bottom: with the shipped trained weights, or as a full run.

    python benchmarks/lesson_times.py --mode trained [--lessons 01_conv_autoencoder ...]
    python benchmarks/lesson_times.py --mode full --lessons 01_conv_autoencoder --out gpu_lesson_times.json

Each lesson runs in a fresh kernel (the kernel's start counts) on a copy in memory: the notebook file is
never written. ``--mode full`` trains as ``make execute`` does, so it writes the lesson's results and weights
like a full run; use it on a machine whose copy of the repository may change (a lent GPU machine).
Writes ``benchmarks/results/lesson_times_<mode>.json`` with the machine's name.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

from aehelpers.runtime import describe_machine

ROOT = Path(__file__).resolve().parent.parent


def run_lesson(name: str) -> float:
    notebook = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    started = time.perf_counter()
    NotebookClient(notebook, timeout=None, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["trained", "full"], required=True)
    parser.add_argument("--lessons", nargs="*", help="lesson names (default: every lesson with shipped weights)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.mode == "trained":
        os.environ["AEHELPERS_TRAINED_WEIGHTS"] = "1"
    else:
        os.environ.pop("AEHELPERS_TRAINED_WEIGHTS", None)
        os.environ["AEHELPERS_RECORD_RUN"] = "1"  # a full run here renews the lesson's record, as `make execute` does
    os.environ.pop("AEHELPERS_QUICK", None)
    if not args.lessons:
        from aehelpers.weights import lessons_with_weights

        args.lessons = [Path(p).stem for p in lessons_with_weights()]
    minutes = {}
    for name in args.lessons:
        minutes[name] = round(run_lesson(name) / 60, 2)
        print(f"{name}: {minutes[name]:.2f} min ({args.mode})", flush=True)
    out = args.out or ROOT / "benchmarks" / "results" / f"lesson_times_{args.mode}.json"
    # Timing some lessons keeps the other lessons' times measured on the same machine; drops the rest.
    previous = json.loads(out.read_text()) if out.is_file() else {}
    machine = describe_machine()["device"]
    if previous.get("machine") == machine:
        minutes = {**previous.get("minutes", {}), **minutes}
    out.write_text(json.dumps({"mode": args.mode, "machine": machine, "torch": torch.__version__,
                               "minutes": minutes}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
