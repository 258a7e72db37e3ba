"""A progress bar that is a widget in Jupyter and plain text elsewhere, and stores well.

Defined in lesson 1 (``notebooks/01_conv_autoencoder.ipynb``).
"""

from __future__ import annotations

from collections.abc import Iterable

from tqdm.auto import tqdm as auto_tqdm
from tqdm.std import tqdm as text_tqdm

try:
    from tqdm.notebook import tqdm as notebook_tqdm
except ImportError:  # pragma: no cover - tqdm always ships tqdm.notebook
    notebook_tqdm = None


class ProgressBar:
    """``tqdm`` over an iterable, whose saved notebook output shows the *final* state.

    A Jupyter progress bar is a widget; the plain-text copy that a saved notebook keeps for
    viewers without widgets (GitHub, nbviewer, a kernel-less JupyterLab) is normally taken when
    the bar appears, so it reads "0%" forever. Re-displaying the bar when it closes replaces that
    copy with the finished bar.
    """

    def __init__(self, iterable: Iterable, **kwargs) -> None:
        self._handle = None
        in_notebook = notebook_tqdm is not None and issubclass(auto_tqdm, notebook_tqdm)
        if in_notebook and not kwargs.get("disable", False):
            from IPython.display import display

            self.bar = notebook_tqdm(iterable, display=False, **kwargs)
            self._handle = display(self.bar.container, display_id=True)
        else:
            self.bar = text_tqdm(iterable, **kwargs)

    def __iter__(self):
        return iter(self.bar)

    def set_postfix(self, **values) -> None:
        self.bar.set_postfix(**values)

    def close(self) -> None:
        self.bar.close()
        if self._handle is not None:
            self._handle.update(self.bar.container)
