"""The book's staging step (book/build.py), without building or a browser: fast, part of ``make test``.

Progress-bar widgets must become their final text and bar (never ``HBox(children=...)``), a widget
that cannot be shown must stop the build with the notebook and cell named, and the table of
contents must pick up exercise and solution notebooks as soon as their folders exist.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import nbformat
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("book_build", REPO_ROOT / "book" / "build.py")
book_build = importlib.util.module_from_spec(_spec)  # loaded by path: "build" is also a PyPI package's name
_spec.loader.exec_module(book_build)

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
RAW_REPR = "HBox(children=(HTML(value=''), FloatProgress(value=0.0, max=30.0), HTML(value='')))"


def _model(name: str, **state) -> dict:
    return {"model_name": name, "model_module": "@jupyter-widgets/controls", "state": state}


def tqdm_notebook(text_plain: str = RAW_REPR, with_state: bool = True) -> nbformat.NotebookNode:
    """One cell whose output is a tqdm bar as JupyterLab stores it: a widget view, its text copy and
    (``with_state``) the widget state in the notebook's metadata, figure spaces and entities included."""
    output = nbformat.v4.new_output("display_data", data={
        WIDGET_VIEW: {"model_id": "box", "version_major": 2, "version_minor": 0}, "text/plain": text_plain})
    cell = nbformat.v4.new_code_cell("for epoch in tqdm(range(30)): ...", outputs=[output], execution_count=1)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Lesson 9 · Planted"), cell])
    if with_state:
        state = {
            "box": _model("HBoxModel", children=["IPY_MODEL_left", "IPY_MODEL_bar", "IPY_MODEL_right"]),
            "left": _model("HTMLModel", value="epochs:\u2007100%"),
            "bar": _model("FloatProgressModel", value=30.0, max=30.0, bar_style="success"),
            "right": _model("HTMLModel", value="\u200730/30\u2007[05:07&lt;00:00,\u200710.47s/it]"),
        }
        notebook.metadata["widgets"] = {book_build.WIDGET_STATE: {"state": state, "version_major": 2}}
    return notebook


def test_progress_bar_becomes_its_final_bar_and_text() -> None:
    notebook = tqdm_notebook()
    assert book_build.replace_widget_outputs(notebook, "planted.ipynb") == 1
    output = notebook.cells[1].outputs[0]
    assert WIDGET_VIEW not in output.data
    assert output.data["text/plain"] == "epochs: 100%|##########| 30/30 [05:07<00:00, 10.47s/it]"
    assert '<progress value="30" max="30"' in output.data["text/html"]
    assert "30/30 [05:07&lt;00:00, 10.47s/it]" in output.data["text/html"]  # escaped once, not twice
    assert "widgets" not in notebook.metadata  # else myst-nb would load the widget manager from a CDN
    nbformat.validate(notebook)


def test_widget_without_state_keeps_its_clean_text() -> None:
    notebook = tqdm_notebook("epochs: 100%|##########| 30/30 [05:07<00:00]", with_state=False)
    book_build.replace_widget_outputs(notebook, "planted.ipynb")
    assert notebook.cells[1].outputs[0].data == {"text/plain": "epochs: 100%|##########| 30/30 [05:07<00:00]"}


def test_an_explorer_keeps_its_stored_picture_and_how_to_line() -> None:
    # An explorer (aehelpers.explorers) stores its first picture beside the widget: the book shows that.
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("view")])
    notebook.cells[0].outputs = [nbformat.v4.new_output("execute_result", execution_count=1, data={
        WIDGET_VIEW: {"model_id": "abc", "version_major": 2, "version_minor": 0},
        "image/png": "iVBORw0KGgo=", "text/plain": "normal digit 8 ...\nIn JupyterLab, move the controls"})]
    assert book_build.replace_widget_outputs(notebook, "planted.ipynb") == 1
    assert notebook.cells[0].outputs[0].data == {"image/png": "iVBORw0KGgo=",
                                                 "text/plain": "normal digit 8 ...\nIn JupyterLab, move the controls"}


def test_widget_with_only_its_raw_repr_stops_the_build_naming_notebook_and_cell() -> None:
    with pytest.raises(book_build.WidgetError, match=r"planted\.ipynb, cell 2: .*HBox\(children=.*make execute"):
        book_build.replace_widget_outputs(tqdm_notebook(RAW_REPR, with_state=False), "planted.ipynb")


@pytest.mark.parametrize("notebook_path", sorted(REPO_ROOT.glob("notebooks/0*.ipynb")), ids=lambda path: path.name)
def test_every_stored_widget_of_the_lessons_is_replaced(notebook_path: Path) -> None:
    before = notebook_path.read_bytes()
    notebook = nbformat.read(notebook_path, as_version=4)
    widgets = sum(WIDGET_VIEW in output.get("data", {}) for cell in notebook.cells for output in cell.get("outputs", []))
    assert book_build.replace_widget_outputs(notebook, notebook_path.name) == widgets
    staged = json.dumps(notebook)
    assert WIDGET_VIEW not in staged and "HBox(children" not in staged
    assert notebook_path.read_bytes() == before, "staging must never modify the notebook in notebooks/"


def _touch_notebook(path: Path, title: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {title}")]), path)


def test_toc_picks_up_exercises_and_solutions_when_present(tmp_path: Path) -> None:
    _touch_notebook(tmp_path / "notebooks/02_b.ipynb", "Lesson 2")
    _touch_notebook(tmp_path / "notebooks/01_a.ipynb", "Lesson 1")
    toc = book_build.table_of_contents(book_build.find_notebooks(tmp_path))
    assert [part["caption"] for part in toc["parts"]] == ["Lessons", "Reference"]
    assert toc["parts"][0]["chapters"] == [{"file": "notebooks/01_a"}, {"file": "notebooks/02_b"}]

    _touch_notebook(tmp_path / "notebooks/exercises/01_a_exercises.ipynb", "Exercises 1")
    _touch_notebook(tmp_path / "notebooks/solutions/01_a_solutions.ipynb", "Solutions 1")
    toc = book_build.table_of_contents(book_build.find_notebooks(tmp_path))
    assert [part["caption"] for part in toc["parts"]] == ["Lessons", "Exercises", "Solutions", "Reference"]
    assert toc["parts"][1]["chapters"] == [{"file": "notebooks/exercises/01_a_exercises"}]
    assert toc["parts"][2]["chapters"] == [{"file": "notebooks/solutions/01_a_solutions"}]
    assert toc["root"] == "intro"


def test_lesson_map_has_one_line_per_lesson_linking_its_notebook() -> None:
    lessons = [Path("notebooks/01_a.ipynb"), Path("notebooks/02_b.ipynb")]
    titles = {lessons[0]: "Lesson 1 · A", lessons[1]: "Lesson 2 · B"}
    assert book_build.lesson_map(lessons, titles).splitlines() == [
        "- [Lesson 1 · A](notebooks/01_a.ipynb)", "- [Lesson 2 · B](notebooks/02_b.ipynb)"]
    assert book_build.notebook_title(tqdm_notebook(), "fallback") == "Lesson 9 · Planted"
