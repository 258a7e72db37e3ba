"""Tests of the browser test: planted mistakes must fail it, with the notebook and the cell named.

Tiny notebooks are written to a temporary folder and checked together, in one JupyterLab and one
browser, exactly as ``browser_check.py`` checks the lessons. A clean one must pass, or the other
tests would prove nothing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import nbformat
import pytest
from browser_check import check_notebooks

CLEAN = [
    "import matplotlib.pyplot as plt\nfrom aehelpers.progress import ProgressBar",
    "bar = ProgressBar(range(3), desc='steps')\nfor step in bar:\n    pass\nbar.close()",
    "fig, ax = plt.subplots(figsize=(3, 2))\nax.plot([0, 1])",
]
RAISES = ["print('before')", "raise ValueError('planted mistake')", "print('after')"]
STDERR = ["import sys\nprint('planted warning', file=sys.stderr)"]
FIGURE_MISSING = ["import matplotlib.pyplot as plt", "fig, ax = plt.subplots()\nax.plot([0, 1])\nplt.close(fig)"]


def notebook(sources: list[str], stored_outputs: dict[int, list] | None = None) -> nbformat.NotebookNode:
    """A notebook with one code cell per source; ``stored_outputs`` plants saved outputs by cell index."""
    cells = [nbformat.v4.new_code_cell(source) for source in sources]
    for index, outputs in (stored_outputs or {}).items():
        cells[index].outputs, cells[index].execution_count = outputs, index + 1
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": kernelspec})


# Saved outputs a learner would see on opening: a traceback, and a progress bar saved without its
# widget state, whose text copy is the raw HBox(children=...) (so nothing clean is left to show).
TRACEBACK = nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                                   traceback=["ZeroDivisionError: division by zero"])
RAW_WIDGET = nbformat.v4.new_output("display_data", data={
    "application/vnd.jupyter.widget-view+json": {"model_id": "0123abcd", "version_major": 2, "version_minor": 0},
    "text/plain": "HBox(children=(HTML(value=''), FloatProgress(value=0.0, max=3.0)))",
})
PROGRESS = "from aehelpers.progress import ProgressBar\nfor step in ProgressBar(range(3)):\n    pass"
# An explorer that works (its numbers name the new value) and one whose picture and numbers ignore its slider.
EXPLORER = ("import torch\nfrom aehelpers.explorers import threshold_explorer\nlabels = torch.arange(500) % 10\n"
            "scores = {d: torch.rand(500) + 0.5 * (labels != d) for d in range(10)}\n"
            "threshold_explorer(scores, {d: labels != d for d in range(10)})")
STUCK_EXPLORER = ("import ipywidgets as widgets\nfrom aehelpers.explorers import Explorer\n"
                  "Explorer([widgets.IntSlider(description='k', max=9)],\n"
                  "         lambda figure: figure.subplots().plot([0, 1]) and 'k stays', (2, 2))")

PLANTED = {
    "clean.ipynb": notebook(CLEAN),
    "raises.ipynb": notebook(RAISES),
    "stderr.ipynb": notebook(STDERR),
    "figure_missing.ipynb": notebook(FIGURE_MISSING),
    "stored_error.ipynb": notebook(["1 / 0"], stored_outputs={0: [TRACEBACK]}),
    "stored_raw_widget.ipynb": notebook([PROGRESS], stored_outputs={0: [RAW_WIDGET]}),
    "explorer.ipynb": notebook([EXPLORER]),
    "stuck_explorer.ipynb": notebook([STUCK_EXPLORER]),
}


@pytest.fixture(scope="module")
def report() -> dict[str, list[str]]:
    """The checker's verdict on every planted notebook (a temporary folder: nothing is left behind)."""
    with tempfile.TemporaryDirectory(prefix="aehelpers-planted-") as temporary:
        folder = Path(temporary)
        for name, planted in PLANTED.items():
            nbformat.write(planted, folder / name)
        notebooks = [folder / name for name in PLANTED]
        return check_notebooks(notebooks, screenshot_dir=folder / "screenshots", run_timeout=120)


def only_problem(report, notebook_name: str, *fragments: str) -> str:
    """The one problem reported for a notebook that mentions every fragment (and the notebook)."""
    matching = [problem for problem in report[notebook_name] if all(fragment in problem for fragment in fragments)]
    assert len(matching) == 1, f"expected a problem with {fragments}, got {report[notebook_name]}"
    assert matching[0].startswith(notebook_name)
    return matching[0]


def test_a_clean_notebook_passes(report):
    assert report["clean.ipynb"] == []


def test_a_raising_cell_is_named_and_the_cells_after_it_never_ran(report):
    only_problem(report, "raises.ipynb", "cell 2 `raise ValueError('planted mistake')`",
                 "raised ValueError: planted mistake")
    only_problem(report, "raises.ipynb", "never ran", "cell 3 `print('after')`")


def test_stderr_output_is_named(report):
    only_problem(report, "stderr.ipynb", "cell 1 `import sys`", "wrote to stderr", "planted warning")


def test_a_missing_figure_is_named(report):
    only_problem(report, "figure_missing.ipynb", "cell 2 `fig, ax = plt.subplots()`", "shows no image")


def test_a_stored_error_is_seen_before_running(report):
    only_problem(report, "stored_error.ipynb", "as opened: cell 1 `1 / 0`", "raised ZeroDivisionError")


def test_a_stored_raw_widget_is_seen_before_running(report):
    only_problem(report, "stored_raw_widget.ipynb", "as opened: cell 1", "widget not drawn", "HBox(children")


def test_an_explorer_that_follows_its_controls_passes(report):
    assert report["explorer.ipynb"] == []


def test_an_explorer_that_ignores_its_slider_is_caught(report):
    only_problem(report, "stuck_explorer.ipynb", "explorer 1", "numbers did not change", "'k 1'")
    only_problem(report, "stuck_explorer.ipynb", "explorer 1", "picture did not change")
