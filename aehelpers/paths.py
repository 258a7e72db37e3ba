"""Where things live: the repository's folders, defined once for every module.

Why one module: data, caches, checkpoints, results and shipped weights are all found relative to the
repository root, and two modules computing that root separately could silently disagree.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO_ROOT / "data"  # overridden by the AEHELPERS_DATA environment variable
CACHE_DIR = REPO_ROOT / "cache"  # decoded Flowers-102 images (git-ignored)
CHECKPOINT_DIR = REPO_ROOT / "checkpoints"  # training checkpoints (git-ignored)
RESULTS_DIR = REPO_ROOT / "notebooks" / "results"  # each lesson's headline numbers (tracked)
BENCHMARK_DIR = REPO_ROOT / "benchmarks" / "results"
README = REPO_ROOT / "README.md"
WEIGHTS_DIR = REPO_ROOT / "weights"  # trained weights shipped with the course (tracked)
