"""The repository's size budgets: what a learner downloads stays small.

- ``weights/`` (every shipped model, its learning curves and the manifest) holds at most 24 MiB in all;
- a shallow clone (``git clone --depth 1``: the history of one commit plus the checked-out files) is at
  most 64 MiB.

Why budgets: a course is cloned on laptops and in classrooms on shared networks; every lesson added
must fit, so a model that is only compared ships its learning curves, not its weights.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from aehelpers.paths import REPO_ROOT

WEIGHTS_BUDGET = 24 * 2**20
SHALLOW_CLONE_BUDGET = 64 * 2**20


def folder_bytes(folder: Path) -> int:
    """The bytes of every file under ``folder`` (links not followed)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def test_folder_bytes_counts_every_file(tmp_path):
    (tmp_path / "a").write_bytes(b"x" * 1000)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_bytes(b"y" * 24)
    assert folder_bytes(tmp_path) == 1024


def test_weights_fit_their_budget():
    used = folder_bytes(REPO_ROOT / "weights")
    assert 0 < used <= WEIGHTS_BUDGET, (
        f"weights/ holds {used / 2**20:.1f} MiB, over its {WEIGHTS_BUDGET / 2**20:.0f} MiB budget: ship the learning "
        "curves only (weights/curves/) for models a lesson only compares, or store the model in float16")


@pytest.mark.skipif(shutil.which("git") is None or not (REPO_ROOT / ".git").exists(),
                    reason="needs git and a git checkout of the repository")
def test_a_shallow_clone_fits_its_budget(tmp_path):
    clone = tmp_path / "clone"
    # file:// makes git pack the objects as a remote clone does (a plain path would hard-link them all).
    subprocess.run(["git", "clone", "--quiet", "--depth", "1", REPO_ROOT.as_uri(), str(clone)], check=True,
                   capture_output=True)
    used = folder_bytes(clone)
    assert used <= SHALLOW_CLONE_BUDGET, (
        f"a shallow clone of the last commit takes {used / 2**20:.1f} MiB, over its "
        f"{SHALLOW_CLONE_BUDGET / 2**20:.0f} MiB budget: look for large notebooks (outputs), figures or weights")
