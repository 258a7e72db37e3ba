"""Keep the built site offline: MathJax 3 served from the site itself, and no Thebe.

Sphinx's mathjax extension loads MathJax from a CDN unless ``mathjax_path`` is a local path; the
book's ``_config.yml`` sets it to ``mathjax/tex-chtml.js`` and this extension puts MathJax there,
copied from the ``sphinx-mathjax-offline`` package (PyPI; pinned in requirements-book.txt).
Only what ``tex-chtml.js`` can load at run time is copied (TeX input and its extensions, the CHTML
output and its web fonts, the menu and the accessibility parts), not the package's other
combined builds and SVG output: about a third of its 24 MB.

Jupyter Book 1 always loads ``sphinx-thebe``, which puts its configuration script on every page
twice (a console error: ``THEBE_JS_URL`` declared twice) and would fetch Thebe from a CDN on
click. The book launches no kernels, so its scripts and style are taken off every page.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

from sphinx.application import Sphinx

PACKAGE = "sphinx-mathjax-offline"  # a folder with a hyphen: found by importlib, never imported
ENTRY = "tex-chtml.js"  # must match mathjax_path in _config.yml
# What tex-chtml.js loads lazily, relative to its own folder (MathJax's "[mathjax]" path).
THEBE_CONFIG = re.compile(r'<script type="text/x-thebe-config">.*?</script>\s*', re.S)
RUNTIME_PARTS = ["input", "output/chtml", "output/chtml.js", "ui", "a11y", "adaptors", "sre"]


def mathjax_source() -> Path:
    """The folder of MathJax files in the installed ``sphinx-mathjax-offline`` package.

    Raises:
        RuntimeError: the package is missing or has no ``tex-chtml.js``; the message says how to install it.
    """
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        folder = Path(location) / "static" / "mathjax"
        if (folder / ENTRY).is_file():
            return folder
    raise RuntimeError(
        f"MathJax for the offline book not found: the package {PACKAGE!r} is missing or has no {ENTRY}. "
        "Install the book's requirements: .venv/bin/python -m pip install -r requirements-book.txt"
    )


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    """After a successful HTML build, copy MathJax's run-time files to ``_static/mathjax/``."""
    if exception is not None or app.builder.format != "html":
        return
    source, target = mathjax_source(), Path(app.outdir) / "_static" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / ENTRY, target / ENTRY)
    for part in RUNTIME_PARTS:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, dirs_exist_ok=True)
        else:
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / part, target / part)


def drop_thebe(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Take sphinx-thebe's scripts (its inline configuration and ``sphinx-thebe.js``) and its style off a page."""
    def is_thebe(asset) -> bool:
        return "thebe" in str(asset) or "THEBE_JS_URL" in str(getattr(asset, "attributes", {}).get("body", ""))

    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [asset for asset in context[key] if not is_thebe(asset)]
    if "body" in context:  # its per-page configuration (a Binder repository to launch), inert without Thebe
        context["body"] = THEBE_CONFIG.sub("", context["body"])


def setup(app: Sphinx) -> dict:
    """Sphinx entry point: check for MathJax now (a clear error before a long build), copy it at the
    end; drop Thebe from every page."""
    mathjax_source()
    app.connect("build-finished", copy_mathjax)
    app.connect("html-page-context", drop_thebe)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
