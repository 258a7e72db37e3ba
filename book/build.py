"""Build the course as a static, offline HTML site with Jupyter Book 1.x: ``make book``.

    python book/build.py [--stage build/book-src] [--out build/book]

The site is built from a staging copy, never from ``notebooks/`` itself, which is left untouched:

1. the lessons (``notebooks/0*.ipynb``) and, when those folders exist, ``notebooks/exercises/*.ipynb``
   and ``notebooks/solutions/*.ipynb`` are copied with their stored outputs, each tqdm progress-bar
   widget replaced by its final state (a bar and its text) rebuilt from the widget state stored in
   the notebook: a static page has no widget manager, and myst-nb would fetch one from a CDN;
2. the table of contents (``_toc.yml``) is generated from the notebooks found, so new lessons,
   exercises and solutions appear without editing it; the intro's lesson map and the API page
   (autodoc of ``aehelpers.__all__``) are generated too;
3. ``jupyter-book build`` renders it without executing anything (``execute_notebooks: off``), and
   the original notebooks are put where the pages' download buttons point.

The site lands in ``<out>/_build/html`` (open ``index.html``, or ``make book-serve``).
"""

from __future__ import annotations

import argparse
import html
import importlib
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
BOOK_SOURCES = REPO_ROOT / "book"
DEFAULT_STAGE = REPO_ROOT / "build" / "book-src"
DEFAULT_OUT = REPO_ROOT / "build" / "book"
# Folders copied into the staging area as they are (the rest of book/ is this script and generated pages).
BOOK_FILES = ["_config.yml", "_ext"]

# Toc sections: caption -> notebooks, relative to the repository. Missing folders give empty sections.
NOTEBOOK_SECTIONS = {
    "Lessons": "notebooks/0*.ipynb",
    "Exercises": "notebooks/exercises/*.ipynb",
    "Solutions": "notebooks/solutions/*.ipynb",
}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
LESSON_MAP_MARK = "<!-- lesson-map: book/build.py writes one line per lesson here -->"
API_MARK = "<!-- api: book/build.py writes the generated reference here -->"


# ---------------------------------------------------------------------------------------------
# Progress-bar widgets -> their final state
# ---------------------------------------------------------------------------------------------


class WidgetError(ValueError):
    """A stored widget output that cannot be shown without a widget manager."""


def _plain(value: str) -> str:
    """Widget HTML text as plain text: entities decoded, tqdm's figure spaces (U+2007) as spaces."""
    return html.unescape(value or "").replace("\u2007", " ").strip()


def progress_output(model_id: str, state: dict[str, dict]) -> dict | None:
    """The final look of one stored tqdm bar: an HTML ``<progress>`` bar with tqdm's text, plus a
    text copy (``epochs: 100%|##########| 30/30 [...]``); None when ``model_id`` is not a tqdm bar.

    tqdm's notebook bar is an HBox of three children: an HTML description (``epochs: 100%``), a
    FloatProgress (value, max) and an HTML postfix (``30/30 [05:07<00:00, ...]``).
    """
    box = state.get(model_id)
    if not box or box.get("model_name") != "HBoxModel":
        return None
    children = [state.get(str(ref).removeprefix("IPY_MODEL_")) for ref in box["state"].get("children", [])]
    names = [child.get("model_name") if child else None for child in children]
    if names != ["HTMLModel", "FloatProgressModel", "HTMLModel"]:
        return None
    description, bar, postfix = (child["state"] for child in children)
    value, maximum = float(bar.get("value") or 0), float(bar.get("max") or 0)
    left, right = _plain(description.get("value", "")), _plain(postfix.get("value", ""))
    filled = round(10 * value / maximum) if maximum > 0 else 0
    text = f"{left}|{'#' * filled}{' ' * (10 - filled)}| {right}".strip()
    bar_html = (
        '<div class="aeh-progress" style="display:flex;align-items:center;gap:0.6em;'
        'font-family:var(--pst-font-family-monospace,monospace);font-size:0.85em">'
        f'<span style="white-space:nowrap">{html.escape(left)}</span>'
        f'<progress value="{value:g}" max="{maximum:g}" style="width:12em;flex:none">{filled * 10}%</progress>'
        f"<span>{html.escape(right)}</span></div>"
    )
    return nbformat.v4.new_output("display_data", data={"text/html": bar_html, "text/plain": text})


def replace_widget_outputs(notebook: nbformat.NotebookNode, name: str) -> int:
    """Replace every widget output in ``notebook`` by its final state and drop the stored widget
    state; return how many were replaced.

    Raises:
        WidgetError: a widget is neither a tqdm bar with stored state nor has a clean text copy;
            the message names the notebook and the cell, and the fix.
    """
    state = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    replaced = 0
    for number, cell in enumerate(notebook.cells, start=1):
        for index, output in enumerate(cell.get("outputs", [])):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                continue
            final = progress_output(view.get("model_id", ""), state)
            if final is None and "image/png" in output["data"]:  # an explorer: its stored picture and how-to line
                final = nbformat.v4.new_output("display_data", data={
                    key: output["data"][key] for key in ("image/png", "text/plain") if key in output["data"]})
            if final is None:
                text = "".join(output["data"].get("text/plain", ""))
                if not text.strip() or re.match(r"\s*\w+\(children=", text):
                    raise WidgetError(
                        f"{name}, cell {number}: a widget output with neither stored widget state nor a clean text "
                        f"copy (text: {text[:60]!r}); re-run the notebook with `make execute NB=...`, which stores "
                        "the widget state, or replace the widget by printed text"
                    )
                final = nbformat.v4.new_output("display_data", data={"text/plain": text})
            cell.outputs[index] = final
            replaced += 1
    notebook.metadata.pop("widgets", None)
    return replaced


# ---------------------------------------------------------------------------------------------
# Staging: notebooks, toc, intro, API page
# ---------------------------------------------------------------------------------------------


def find_notebooks(repo: Path) -> dict[str, list[Path]]:
    """Each toc section's notebooks (relative to ``repo``, sorted); sections without notebooks are left out."""
    sections = {caption: sorted(path.relative_to(repo) for path in repo.glob(pattern))
                for caption, pattern in NOTEBOOK_SECTIONS.items()}
    return {caption: paths for caption, paths in sections.items() if paths}


def notebook_title(notebook: nbformat.NotebookNode, fallback: str) -> str:
    """The notebook's first level-1 heading, the title its page gets; ``fallback`` when it has none."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+?)\s*$", cell.source, re.M)
            if match:
                return match.group(1)
    return fallback


def table_of_contents(sections: dict[str, list[Path]]) -> dict:
    """Jupyter Book's ``_toc.yml`` (format jb-book): the intro, one part per section, then the API page."""
    parts = [{"caption": caption, "chapters": [{"file": path.with_suffix("").as_posix()} for path in paths]}
             for caption, paths in sections.items()]
    parts.append({"caption": "Reference", "chapters": [{"file": "api"}]})
    return {"format": "jb-book", "root": "intro", "parts": parts}


def lesson_map(lessons: list[Path], titles: dict[Path, str]) -> str:
    """One markdown line per lesson, linking its page (MyST resolves links to ``.ipynb`` sources)."""
    return "\n".join(f"- [{titles[path]}]({path.as_posix()})" for path in lessons)


def api_reference(package: str = "aehelpers") -> str:
    """MyST markdown for ``package.__all__``: per defining module, its docstring's first line, a
    summary table and each name's autodoc entry.

    The generated entries are ``{eval-rst}`` blocks because autodoc emits reStructuredText (and the
    docstrings are reStructuredText); everything hand-written stays MyST.
    """
    module = importlib.import_module(package)
    by_module: dict[str, list[str]] = {}
    for name in module.__all__:
        by_module.setdefault(_defining_module(module, name), []).append(name)
    blocks = []
    for module_name in sorted(by_module):
        names = sorted(by_module[module_name], key=str.lower)
        summary = (importlib.import_module(module_name).__doc__ or "").strip().split("\n")[0]
        blocks.append(f"## `{module_name}`\n\n{summary}\n")
        entries = [".. autosummary::\n   :nosignatures:\n\n" + "".join(f"   {package}.{n}\n" for n in names)]
        entries += [_autodoc_entry(module, package, name) for name in names]
        blocks.append("```{eval-rst}\n" + "\n".join(entries) + "```\n")
    return "\n".join(blocks)


def _defining_module(module, name: str) -> str:
    """The submodule that defines ``name`` (constants have no ``__module__``: found by lookup)."""
    value = getattr(module, name)
    owner = getattr(value, "__module__", None)
    if isinstance(owner, str) and owner.startswith(module.__name__ + "."):
        return owner
    for submodule in sorted(sys.modules):
        if submodule.startswith(module.__name__ + ".") and getattr(sys.modules[submodule], name, None) is value:
            return submodule
    return module.__name__


def _class_members(cls: type, package: str) -> list[str]:
    """The public methods and properties that ``cls`` itself defines in ``package`` and documents.

    Listed by name because a bare ``:members:`` would also document attributes whose default is a
    foreign function (``loss_fn = F.mse_loss``) with that function's docstring, here torch's.
    """
    members = []
    for name, value in vars(cls).items():
        function = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
        ours = str(getattr(function, "__module__", "")).startswith(package)
        if not name.startswith("_") and callable(function) and ours and getattr(function, "__doc__", None):
            members.append(name)
    return members


def _autodoc_entry(module, package: str, name: str) -> str:
    value = getattr(module, name)
    if isinstance(value, type):
        members = _class_members(value, package)
        return f".. autoclass:: {package}.{name}\n" + (f"   :members: {', '.join(members)}\n" if members else "")
    if callable(value):
        return f".. autofunction:: {package}.{name}\n"
    return f".. autodata:: {package}.{name}\n"


def stage(repo: Path, stage_dir: Path) -> dict[str, list[Path]]:
    """Write the book's sources to ``stage_dir`` (emptied first); return the toc sections."""
    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    stage_dir.mkdir(parents=True)
    for name in BOOK_FILES:
        source = BOOK_SOURCES / name
        if source.is_dir():
            shutil.copytree(source, stage_dir / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, stage_dir / name)

    sections = find_notebooks(repo)
    titles = {}
    for path in (path for paths in sections.values() for path in paths):
        notebook = nbformat.read(repo / path, as_version=4)
        replace_widget_outputs(notebook, path.as_posix())
        titles[path] = notebook_title(notebook, path.stem)
        (stage_dir / path).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, stage_dir / path)

    intro = (BOOK_SOURCES / "intro.md").read_text()
    (stage_dir / "intro.md").write_text(_fill(intro, LESSON_MAP_MARK, lesson_map(sections.get("Lessons", []), titles)))
    api = (BOOK_SOURCES / "api.md").read_text()
    (stage_dir / "api.md").write_text(_fill(api, API_MARK, api_reference()))
    (stage_dir / "_toc.yml").write_text(yaml.safe_dump(table_of_contents(sections), sort_keys=False))
    return sections


def _fill(text: str, mark: str, content: str) -> str:
    if mark not in text:
        raise ValueError(f"the book page lost its marker {mark!r}: put it back where the generated part goes")
    return text.replace(mark, content)


# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------


def html_dir(out: Path) -> Path:
    """Where ``jupyter-book build --path-output out`` puts the site."""
    return out / "_build" / "html"


def build(stage_dir: Path, out: Path) -> None:
    """Run Jupyter Book 1 on the staged sources, from scratch (``--all``), into ``html_dir(out)``."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")  # the venv's, next to this python
    command = [str(jupyter_book), "build", str(stage_dir), "--path-output", str(out), "--all", "--keep-going", "--quiet"]
    result = subprocess.run(command, cwd=REPO_ROOT)
    if result.returncode != 0:
        raise SystemExit(f"jupyter-book build failed (exit {result.returncode}); its messages are above")


def put_original_notebooks(repo: Path, site: Path, sections: dict[str, list[Path]]) -> None:
    """Replace the staged copies behind the download buttons (``_sources/``) by the notebooks as
    committed, widget state included: a learner downloads what JupyterLab would open."""
    for path in (path for paths in sections.values() for path in paths):
        target = site / "_sources" / path
        if not target.is_file():
            raise SystemExit(f"the built site has no {target}: the download button of {path} would be broken")
        shutil.copy2(repo / path, target)


def site_summary(site: Path) -> tuple[int, int]:
    """(number of HTML pages, total bytes) of the built site; pages outside ``_static``/``_sources``."""
    pages = [p for p in site.rglob("*.html") if not {"_static", "_sources"} & set(p.relative_to(site).parts)]
    size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    return len(pages), size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", type=Path, default=DEFAULT_STAGE, help="staging folder (emptied first)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder; the site is in OUT/_build/html")
    args = parser.parse_args(argv)

    started = time.monotonic()
    try:
        sections = stage(REPO_ROOT, args.stage.resolve())
    except WidgetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    build(args.stage.resolve(), args.out.resolve())
    site = html_dir(args.out.resolve())
    put_original_notebooks(REPO_ROOT, site, sections)
    pages, size = site_summary(site)
    print(f"book: {pages} pages, {size / 1e6:.1f} MB, built in {time.monotonic() - started:.0f} s: "
          f"{site / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
