"""The exercise notebooks and their solutions (notebooks/exercises, notebooks/solutions) stay in step.

Every exercise notebook has a solutions notebook with the same exercises in the same order (the same
"## Exercise N" headings and the same self-check calls), at least one `...` TODO per exercise, and, run
untouched, stops at its first TODO with the ExerciseNotDone message only (no traceback from aehelpers/).
The solutions themselves run under nbval in quick mode with the lessons (`make test`).
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
EXERCISES = sorted((NOTEBOOKS / "exercises").glob("*_exercises.ipynb"))
HEADING = re.compile(r"^## (Exercise \d+)\b", re.MULTILINE)
CHECK_CALL = re.compile(r"\bchecks\.(\w+)\(")


def solutions_for(exercises: Path) -> Path:
    return NOTEBOOKS / "solutions" / exercises.name.replace("_exercises.ipynb", "_solutions.ipynb")


def read(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    return nb


def sections(nb: nbformat.NotebookNode) -> dict[str, list[nbformat.NotebookNode]]:
    """The cells of each exercise, from its "## Exercise N" heading up to the next one."""
    parts: dict[str, list] = {}
    current = None
    for cell in nb.cells:
        found = HEADING.search(cell.source) if cell.cell_type == "markdown" else None
        if found:
            current = found.group(1)
            parts[current] = []
        if current is not None:
            parts[current].append(cell)
    return parts


def check_calls(nb: nbformat.NotebookNode) -> list[str]:
    return [name for cell in nb.cells if cell.cell_type == "code" for name in CHECK_CALL.findall(cell.source)]


def has_todo(source: str) -> bool:
    """A code cell with a `...` placeholder (parsed, so "..." inside a string does not count) and a TODO note."""
    tree = ast.parse(source)
    ellipsis = any(isinstance(node, ast.Constant) and node.value is Ellipsis for node in ast.walk(tree))
    return ellipsis and "TODO" in source


def test_there_are_exercise_notebooks():
    assert len(EXERCISES) >= 2, f"expected the exercise notebooks in {NOTEBOOKS / 'exercises'}"


@pytest.mark.parametrize("exercises", EXERCISES, ids=lambda path: path.stem)
def test_exercises_and_solutions_match(exercises):
    solutions = solutions_for(exercises)
    assert solutions.is_file(), f"{exercises.name} has no solutions notebook {solutions}"
    ex_nb, sol_nb = read(exercises), read(solutions)
    for nb in (ex_nb, sol_nb):
        for cell in nb.cells:
            if cell.cell_type == "code":
                ast.parse(cell.source)  # every code cell is valid Python
    assert list(sections(ex_nb)) == list(sections(sol_nb)), "the two notebooks have different exercise headings"
    assert 3 <= len(sections(ex_nb)) <= 5, "each lesson gets 3 to 5 exercises"
    assert check_calls(ex_nb) == check_calls(sol_nb), "the self-checks differ between exercises and solutions"
    lesson = exercises.name.removesuffix("_exercises.ipynb")
    for nb in (ex_nb, sol_nb):
        assert f"../{lesson}.ipynb" in nb.cells[0].source, "the first cell should link to its lesson"
        assert any("QUICK = ae.is_quick()" in cell.source for cell in nb.cells if cell.cell_type == "code")


@pytest.mark.parametrize("exercises", EXERCISES, ids=lambda path: path.stem)
def test_every_exercise_has_a_todo_and_its_solution_none(exercises):
    for name, cells in sections(read(exercises)).items():
        code = [cell.source for cell in cells if cell.cell_type == "code"]
        assert any(has_todo(source) for source in code), f"{exercises.name}: {name} has no `...` TODO cell"
    for name, cells in sections(read(solutions_for(exercises))).items():
        for cell in cells:
            if cell.cell_type == "code":
                assert not has_todo(cell.source), f"{name} of the solutions still has a TODO:\n{cell.source}"


@pytest.mark.parametrize("exercises", EXERCISES, ids=lambda path: path.stem)
def test_untouched_exercise_notebook_stops_at_the_first_todo_with_its_message(exercises):
    """Runs the notebook in a kernel (quick mode): the first error must be ExerciseNotDone for exercise 1."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = read(exercises)
    env = {**os.environ, "AEHELPERS_QUICK": "1", "MPLBACKEND": "Agg"}
    client = NotebookClient(nb, timeout=60, kernel_name="python3",
                            resources={"metadata": {"path": str(exercises.parent)}})
    with pytest.raises(CellExecutionError):
        client.execute(env=env)
    errors = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
              if output.output_type == "error"]
    assert len(errors) == 1, "expected exactly one error, in the first check"
    error = errors[0]
    assert error.ename == "ExerciseNotDone"
    assert error.evalue.startswith("Exercise 1 is not done yet: fill in `")
    traceback = "\n".join(error.traceback)
    assert "aehelpers/" not in traceback and "Traceback" not in traceback, traceback
    assert traceback == f"ExerciseNotDone: {error.evalue}"
