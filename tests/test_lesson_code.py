"""The lessons' own code follows the package's contracts: device placement, public API, readable loop, shown code."""

from __future__ import annotations

import __future__
import ast
import inspect
import textwrap
import types
from pathlib import Path

import nbformat
import pytest

import aehelpers as ae
from aehelpers import augment, classifiers, training, twins
from aehelpers.source import show_source, source_of

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").rglob("*.ipynb"))


def code_cells(path: Path, lesson_code_only: bool = False) -> list[tuple[int, ast.Module]]:
    """Every code cell, parsed; ``lesson_code_only`` leaves out the twin cells, which hold package code
    (a copy of aehelpers/, its device handling and imports included, checked against the package below)."""
    cells = []
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if lesson_code_only and twins.MARKER.match(cell.source):
            continue
        if cell.cell_type == "code":
            # IPython magics (%env, !pip) are not Python: blank them out before parsing
            source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines())
            cells.append((index, ast.parse(source)))
    return cells


FIT_AND_ITS_WRAPPERS = {"fit", "train_or_load", "train_or_load_history"}


def device_moves(tree: ast.Module) -> list[str]:
    """Calls that put a tensor or a model on a device by hand: ``.to(device)``, ``.cuda()``, ``device=`` outside fit.

    ``train_or_load`` and ``train_or_load_history`` hand their settings to fit, so ``device=`` is fit's there.
    """
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in {"cuda", "mps"}:
            found.append(f"line {node.lineno}: .{name}()")
        if name == "to" and any(isinstance(a, ast.Name) and "device" in a.id for a in node.args):
            found.append(f"line {node.lineno}: .to({ast.unparse(node.args[0])})")
        if name not in FIT_AND_ITS_WRAPPERS and any(k.arg == "device" for k in node.keywords):
            found.append(f"line {node.lineno}: {name}(..., device=...)")
    return found


def test_the_device_check_catches_hand_placed_tensors():
    planted = ast.parse("y = model(x.to(device))\nz = x.cuda()\nw = torch.zeros(3, device=device)\nh = ae.fit(m, x, device=device)\n"
                        "g = ae.train_or_load('a', m, x, trained=False, device=device)")
    assert len(device_moves(planted)) == 3  # fit(..., device=...) and its wrappers are the allowed places


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_leave_devices_to_the_package(path):
    # fit trains on the fastest device and hands the model back on the CPU; every helper runs on the
    # model's device and returns CPU tensors. A notebook that moves tensors itself breaks on a GPU
    # (the class of crash seen on an H100), so no lesson may.
    moves = [f"cell {i}, {m}" for i, tree in code_cells(path, lesson_code_only=True) for m in device_moves(tree)]
    assert not moves, f"{path.name} places tensors on a device by hand: {moves}"


def internal_reaches(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            found.append(f"line {node.lineno}: global {', '.join(node.names)}")
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
            chain = ast.unparse(node)
            if chain.startswith("ae.") and (node.attr.startswith("_") or node.attr in ae.__all__ or node.attr.isupper()):
                found.append(f"line {node.lineno}: {chain} (use the public ae.{node.attr.lstrip('_')} or ask for one)")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("aehelpers."):
            public = [alias.name for alias in node.names if alias.name in ae.__all__]
            if public:
                found.append(f"line {node.lineno}: from {node.module} import {', '.join(public)} (use ae.{public[0]})")
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "torch.load":
            found.append(f"line {node.lineno}: torch.load (use ae.load_model / ae.load_history)")
    return found


def test_the_internals_check_catches_what_it_should():
    planted = ast.parse("p = ae.plotting.PALETTE\nr = ae.results.REPO_ROOT\nh = torch.load(f)\nglobal t\n"
                        "from aehelpers.classifiers import PooledHead")
    assert len(internal_reaches(planted)) == 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_use_the_public_api(path):
    reaches = [f"cell {i}, {r}" for i, tree in code_cells(path, lesson_code_only=True) for r in internal_reaches(tree)]
    assert not reaches, f"{path.name} reaches into package internals: {reaches}"


def body_lines(fn) -> int:
    """Lines of a function without its docstring."""
    return len(inspect.getsource(fn).splitlines()) - len((fn.__doc__ or "").splitlines())


def test_fit_reads_on_one_screen():
    assert len(inspect.signature(training.fit).parameters) <= 12
    assert body_lines(training.fit) <= 50  # signature included
    assert body_lines(training.train_one_epoch) <= 30


def code_objects(obj) -> dict[str, types.CodeType]:
    """Every function's code object in a class (or the function itself), by name."""
    if isinstance(obj, type):
        return {name: v.__code__ for name, v in vars(obj).items() if isinstance(v, types.FunctionType)}
    return {obj.__name__: obj.__code__}


def same_code(a: types.CodeType, b: types.CodeType) -> bool:
    """Same names, variables, constants, arguments and nested functions: the same code.

    (Raw bytecode is not compared: the interpreter may store a specialised form of code that has run.)
    """
    def plain(code: types.CodeType) -> tuple:
        consts = tuple(c for c in code.co_consts if not isinstance(c, types.CodeType))
        return code.co_names, code.co_varnames, consts, code.co_argcount, code.co_kwonlyargcount

    nested_a = [c for c in a.co_consts if isinstance(c, types.CodeType)]
    nested_b = [c for c in b.co_consts if isinstance(c, types.CodeType)]
    return plain(a) == plain(b) and len(nested_a) == len(nested_b) and all(map(same_code, nested_a, nested_b))


def test_the_code_comparison_tells_two_versions_apart():
    one = compile("def f(x):\n    return x * 2\n", "f", "exec").co_consts[0]
    other = compile("def f(x):\n    return x * 3\n", "f", "exec").co_consts[0]
    assert same_code(one, one) and not same_code(one, other)


SHOWN = [ae.ConvAutoencoder, ae.DenoisingAutoencoder, ae.SkipDenoiser, ae.UpsampleAutoencoder,
         ae.BottleneckAutoencoder, ae.PCAShortcutAutoencoder, training.train_one_epoch, training.fit, training.batch_indices,
         ae.upsample_twin, ae.UpsampleTwinAutoencoder,
         classifiers.ResidualBlock, classifiers.ResidualAutoencoder, classifiers.PooledHead, augment.FlowerAugmenter]


@pytest.mark.parametrize("obj", SHOWN, ids=lambda o: o.__qualname__)
def test_what_is_shown_is_what_runs(obj):
    shown = str(show_source(obj))
    module = inspect.getmodule(obj)
    namespace = dict(vars(module))
    # the shown text, compiled afresh with the module's own compiler flags (from __future__ import annotations)
    flags = __future__.annotations.compiler_flag if namespace.get("annotations") is __future__.annotations else 0
    exec(compile(shown, inspect.getsourcefile(obj), "exec", flags=flags, dont_inherit=True), namespace)
    rebuilt = code_objects(namespace[obj.__name__])
    running = code_objects(obj)
    assert rebuilt.keys() == running.keys()
    assert all(same_code(rebuilt[k], running[k]) for k in running), f"the shown source of {obj.__qualname__} differs"
    assert "class " in shown or "def " in shown
    assert "<span" in show_source(obj)._repr_html_()  # highlighted in Jupyter


def test_show_source_refuses_what_has_no_source():
    with pytest.raises(TypeError, match="takes a class, a function or a method"):
        source_of(len)
    with pytest.raises(TypeError, match="not an instance"):
        source_of(ae.ConvAutoencoder())


def test_shown_source_is_dedented_for_methods():
    assert textwrap.dedent(str(show_source(ae.ConvAutoencoder.forward))).startswith("def forward")


# Twin cells: the code a lesson teaches is defined in the lesson's own editable cells, and the package keeps an
# identical copy for later lessons and the tests (aehelpers/twins.py says which way the sync runs).

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_twin_cells_equal_the_package(path):
    problems = twins.differences(nbformat.read(path, as_version=4))
    assert not problems, problems


def twin_notebook(cell_source: str) -> dict:
    return {"cells": [{"cell_type": "code", "source": cell_source}]}


def test_the_twin_check_catches_an_edited_cell():
    original = twins.package_definitions("models")["ConvAutoencoder"]
    header = "# Twin of aehelpers/models.py: edit and re-run this cell.\nfrom torch import nn\n\n\n"
    assert twins.differences(twin_notebook(header + original)) == []
    edited = original.replace("nn.Conv2d(16, 4,", "nn.Conv2d(16, 8,")
    assert "differs" in twins.differences(twin_notebook(header + edited))[0]
    assert "not defined" in twins.differences(twin_notebook(header + "def no_such_helper():\n    pass"))[0]
    assert "defines nothing" in twins.differences(twin_notebook(header))[0]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        twins.differences(twin_notebook("# Twin of aehelpers/nowhere.py\ndef f():\n    pass"))
    # --write puts the package's text back, and keeps the cell's own lines
    synced = twins.synced_source(header + edited + "\n\n\nmodel = ConvAutoencoder()", "models")
    assert synced == header + original + "\n\n\nmodel = ConvAutoencoder()"


def test_lessons_use_what_their_twin_cells_define():
    # A twin cell is there to be edited: the lesson must build its models from the cell's class, not ae.<Class>.
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        defined = {name for index, _ in twins.twin_cells(notebook)
                   for name in twins.definitions(notebook.cells[index].source)}
        for index, tree in code_cells(path):
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and ast.unparse(node.value) == "ae" and node.attr in defined:
                    pytest.fail(f"{path.name}, cell {index}: ae.{node.attr} is defined in a twin cell; use {node.attr}")


# Stored outputs are what a learner's own run prints. A recording run (make execute) used to print lines a
# learner never sees ("Shipped weights/...", "Saved notebooks/results/..."); it is silent now, and each lesson
# loses those lines when it is next re-run in full. The lessons not yet re-run are listed here, so the list
# can only shrink: a lesson that is re-run and still prints them, or that is listed but clean, fails.
RECORDING_LINES = ("Shipped weights/", "Saved notebooks/results/")
NOT_YET_RERUN: set[str] = set()


def recording_lines(path: Path) -> list[str]:
    found = []
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        for output in cell.get("outputs", []):
            text = output.get("text", "") if output.get("output_type") == "stream" else ""
            found += [f"cell {index}: {line}" for line in text.splitlines() if line.startswith(RECORDING_LINES)]
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_outputs_hold_no_recording_lines(path):
    lines = recording_lines(path)
    if path.stem in NOT_YET_RERUN:
        assert lines, f"{path.name} no longer holds recording lines: remove it from NOT_YET_RERUN"
    else:
        assert not lines, f"{path.name} stores lines a learner's run never prints: {lines}"
