"""Showing the package's code in a lesson, where it is taught.

Defined in lesson 1 (``notebooks/01_conv_autoencoder.ipynb``). For plumbing a learner reads but need
not edit (``fit``'s conveniences, data loading): the lesson shows it with ``show_source`` instead of a
pasted copy that could drift from the code that runs. Code a lesson teaches is defined in the lesson's
own cells instead, kept identical to the package by ``twins``.
"""

from __future__ import annotations

import inspect
import textwrap


class SourceCode:
    """Python source that Jupyter shows syntax-highlighted, and plain text shows as it is."""

    def __init__(self, source: str, name: str) -> None:
        self.source, self.name = source, name

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return self.source

    def _repr_html_(self) -> str:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer

        formatter = HtmlFormatter(noclasses=True, style="friendly", nobackground=True)
        return highlight(self.source, PythonLexer(), formatter)


def source_of(obj: object) -> str:
    """The source of a class, function or method, dedented; a clear error for objects without one."""
    try:
        return textwrap.dedent(inspect.getsource(obj)).rstrip() + "\n"
    except (OSError, TypeError) as err:
        raise TypeError(
            f"No source code to show for {obj!r}: show_source takes a class, a function or a method "
            "defined in Python (not a built-in, not an instance)."
        ) from err


def show_source(obj: object) -> SourceCode:
    """The code of ``obj`` exactly as the package runs it, for a notebook to display.

    Why not a copy in the notebook: the lesson then shows the very code that runs, and a change to the
    package can never leave a stale copy behind.
    """
    return SourceCode(source_of(obj), getattr(obj, "__qualname__", repr(obj)))
