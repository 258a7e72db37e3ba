"""Code a lesson defines in its own cells, kept identical to its twin in the package.

A lesson teaches its model, its loss and its training step in cells the learner edits and re-runs;
the lesson then uses the cell's definitions. Later lessons and the tests import the same code from the
package. A *twin cell* starts with a line naming the module that holds the package's copy::

    # Twin of aehelpers/models.py: edit and re-run this cell; the lesson uses what it defines.

Every top-level ``class`` and ``def`` in such a cell must equal, character for character, the definition
of the same name in that module (``tests/test_lesson_code.py`` checks every notebook). Other lines of the
cell (imports, comments) are the cell's own.

Direction of the sync: the package is where the code is edited, linted and unit-tested;
``python -m aehelpers.twins --write`` then copies each definition into its cells (``--check``, the default,
lists the differences). Why this way and not d2l's (notebook to library): one definition may serve
several lessons, and the package's tests and type checks run on the copy that is edited.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

from .paths import REPO_ROOT

MARKER = re.compile(r"^# Twin of aehelpers/(\w+)\.py\b")
NOTEBOOKS = REPO_ROOT / "notebooks"


def _spans(source: str) -> dict[str, tuple[int, int]]:
    """The line span [start, end) of every top-level class and function of ``source``, decorators included."""
    spans = {}
    for node in ast.parse(source).body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            spans[node.name] = (start - 1, node.end_lineno)
    return spans


def definitions(source: str) -> dict[str, str]:
    """Every top-level class and function of ``source`` by name, as its exact text."""
    lines = source.splitlines()
    return {name: "\n".join(lines[a:b]) for name, (a, b) in _spans(source).items()}


def package_definitions(module: str) -> dict[str, str]:
    """The top-level definitions of ``aehelpers/<module>.py``; a clear error for a module that does not exist."""
    path = REPO_ROOT / "aehelpers" / f"{module}.py"
    if not path.is_file():
        raise FileNotFoundError(f"A twin cell names aehelpers/{module}.py, which does not exist. Fix the cell's first line.")
    return definitions(path.read_text())


def twin_cells(notebook: dict) -> list[tuple[int, str]]:
    """(cell index, module name) of every twin cell of a notebook read as JSON."""
    found = []
    for index, cell in enumerate(notebook["cells"]):
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and (match := MARKER.match(source)):
            found.append((index, match.group(1)))
    return found


def differences(notebook: dict) -> list[str]:
    """What differs between a notebook's twin cells and the package: one line per definition, empty when in sync."""
    problems = []
    for index, module in twin_cells(notebook):
        cell_defs = definitions("".join(notebook["cells"][index]["source"]))
        if not cell_defs:
            problems.append(f"cell {index}: a twin cell of aehelpers/{module}.py that defines nothing")
        package = package_definitions(module)
        for name, text in cell_defs.items():
            if name not in package:
                problems.append(f"cell {index}: {name} is not defined in aehelpers/{module}.py")
            elif text != package[name]:
                problems.append(f"cell {index}: {name} differs from aehelpers/{module}.py "
                                "(fix: python -m aehelpers.twins --write, after editing the package)")
    return problems


def synced_source(source: str, module: str) -> str:
    """``source`` (a twin cell) with every definition replaced by the package's text of it."""
    package = package_definitions(module)
    lines = source.splitlines()
    for name, (a, b) in sorted(_spans(source).items(), key=lambda item: -item[1][0]):  # bottom up: spans stay valid
        if name in package:
            lines[a:b] = package[name].splitlines()
    return "\n".join(lines)


def _notebook_paths(paths: list[str]) -> list[Path]:
    return [Path(p) for p in paths] if paths else sorted(NOTEBOOKS.rglob("*.ipynb"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks to check (default: all under notebooks/)")
    parser.add_argument("--write", action="store_true", help="copy the package's definitions into the twin cells")
    args = parser.parse_args(argv)
    import nbformat

    status = 0
    for path in _notebook_paths(args.notebooks):
        notebook = nbformat.read(path, as_version=4)
        if args.write and differences(notebook):  # rewrite only a notebook that is out of sync
            for index, module in twin_cells(notebook):
                notebook.cells[index].source = synced_source(notebook.cells[index].source, module)
            nbformat.write(notebook, path)
        for problem in differences(notebook):
            print(f"{path.name}: {problem}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
