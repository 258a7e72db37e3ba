"""Figures shared by the lessons, in one consistent style.

Defined in lesson 1 (``notebooks/01_conv_autoencoder.ipynb``).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, MaxNLocator
import numpy as np
import seaborn as sns
import torch

from .history import History

PALETTE = sns.color_palette("colorblind")


def set_style(dpi: int = 80) -> None:
    """One look for every figure: seaborn's clean grid, a colour-blind-safe palette, modest dpi.

    A modest dpi keeps the PNGs stored in the notebooks small.
    """
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE)
    plt.rcParams.update({"figure.dpi": dpi, "savefig.dpi": dpi, "image.cmap": "gray", "axes.titlesize": "medium"})


def integer_epochs(*axes) -> None:
    """Whole-number ticks on the x-axis of each given axes: an epoch has no halves.

    Matplotlib picks ticks such as 2.5 and 7.5 for a 20-epoch curve, which reads as if training
    stopped half-way through an epoch.
    """
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _plain_log_label(value: float, _position: int) -> str:
    """'0.02' rather than matplotlib's '2x10^-2', at mantissas 1, 2, 3 and 5 only (no crowding)."""
    if value <= 0:
        return ""
    mantissa = value / 10 ** np.floor(np.log10(value))
    return f"{value:g}" if round(mantissa, 6) in (1, 2, 3, 5) else ""


def log_y_axis(ax) -> None:
    """A log-scale y-axis whose labels read as plain decimals (0.01, 0.02, 0.03, 0.05).

    Why: a loss that creeps down late in training shows on a log axis, but labels such as
    '3x10^-2' make a learner convert before comparing with the numbers printed in the text.
    """
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(_plain_log_label))
    ax.yaxis.set_minor_formatter(FuncFormatter(_plain_log_label))


def _as_image_array(image: torch.Tensor | np.ndarray) -> np.ndarray:
    """(C, H, W) or (H, W) tensor/array -> something ``imshow`` draws (H, W) or (H, W, C)."""
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(
            f"Expected float pixels in [0, 1], got dtype {array.dtype}. Fix: convert with `images.float() / 255`."
        )
    if array.ndim == 3 and array.shape[0] in (1, 3):
        array = array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)
    if array.ndim not in (2, 3):
        raise ValueError(f"Cannot draw an image of shape {array.shape}: expected (H, W), (1, H, W) or (3, H, W).")
    return array


def image_mosaic(rows: Sequence[torch.Tensor], num_images: int, gap: int = 2, fill: float = 1.0) -> np.ndarray:
    """Tile rows of images into one array, with ``gap`` pixels of ``fill`` between them."""
    arrays = [[_as_image_array(image) for image in images[:num_images]] for images in rows]
    height, width = arrays[0][0].shape[:2]
    channels = arrays[0][0].shape[2:]  # () for grey, (3,) for colour
    mosaic = np.full(
        (len(rows) * (height + gap) - gap, num_images * (width + gap) - gap, *channels), fill, dtype=np.float32
    )
    for r, row in enumerate(arrays):
        for c, array in enumerate(row):
            if array.shape[:2] != (height, width):
                raise ValueError(f"All images must have one size: {array.shape[:2]} differs from {(height, width)}.")
            mosaic[r * (height + gap) : r * (height + gap) + height, c * (width + gap) : c * (width + gap) + width] = array
    return mosaic


def show_image_rows(
    rows: Sequence[torch.Tensor],
    row_titles: Sequence[str],
    num_images: int = 10,
    cell_size: float = 0.9,
    value_range: tuple[float, float] = (0.0, 1.0),
    column_titles: Sequence[str] | None = None,
):
    """Draw several batches of images as rows of a grid, e.g. originals over reconstructions.

    ``column_titles`` (optional) labels the columns above the top row. The grid is drawn as one
    picture (a mosaic) rather than one plot per image: it renders faster and stores as a much
    smaller PNG.
    """
    if len(rows) != len(row_titles):
        raise ValueError(f"{len(rows)} rows of images but {len(row_titles)} titles.")
    num_images = min(num_images, *(len(r) for r in rows))
    gap = 2  # pixels between images, in the mosaic and in the tick positions below
    mosaic = image_mosaic(rows, num_images, gap=gap, fill=value_range[1])
    low, high = float(mosaic.min()), float(mosaic.max())
    if low < value_range[0] - 1e-3 or high > value_range[1] + 1e-3:
        raise ValueError(
            f"Pixel values run from {low:.3g} to {high:.3g}, outside the value_range {value_range}. "
            "Fix: scale the images into that range (e.g. `images / 255`), or pass value_range=(low, high)."
        )
    height, width = _as_image_array(rows[0][0]).shape[:2]
    fig, ax = plt.subplots(figsize=(cell_size * num_images + 0.9, cell_size * len(rows)))
    ax.imshow(mosaic, vmin=value_range[0], vmax=value_range[1], interpolation="nearest")
    ax.set_yticks([r * (height + gap) + height / 2 for r in range(len(rows))], list(row_titles))
    if column_titles is not None:
        if len(column_titles) < num_images:
            raise ValueError(f"{num_images} columns of images but {len(column_titles)} column titles.")
        ax.set_xticks([c * (width + gap) + width / 2 for c in range(num_images)], list(column_titles)[:num_images],
                      fontsize="x-small")
        ax.xaxis.tick_top()
    else:
        ax.set_xticks([])
    ax.tick_params(length=0)
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    fig.tight_layout(pad=0.2)
    return fig


def show_reconstructions(originals: torch.Tensor, reconstructions: torch.Tensor, num_images: int = 10):
    """Originals on top, the model's reconstructions below."""
    return show_image_rows([originals, reconstructions], ["input", "output"], num_images)


def plot_history(history: History | dict, title: str = "", log_scale: bool = True, ax=None,
                 ylabel: str = "mean squared error per pixel"):
    """Training and test loss per epoch; a log axis shows the slow late progress clearly.

    ``ylabel`` names the loss (the default is the autoencoders' MSE; a classifier passes its own).
    """
    data = history.as_dict() if isinstance(history, History) else history
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    epochs = np.arange(1, len(data["train_loss"]) + 1)
    ax.plot(epochs, data["train_loss"], label="train", color=PALETTE[0])
    if data.get("test_loss"):
        ax.plot(epochs, data["test_loss"], label="test", color=PALETTE[1])
    ax.set_xlabel("epoch")
    integer_epochs(ax)
    ax.set_ylabel(ylabel + (" (log scale)" if log_scale else ""))
    if log_scale:
        log_y_axis(ax)
    ax.set_title(title)
    ax.legend()
    return ax


def show_zoomed(images: Sequence[torch.Tensor], titles: Sequence[str], crop: tuple[slice, slice] | None = None, size: float = 2.6):
    """Large single-image views, optionally of a crop, with every pixel visible as a block."""
    fig, axes = plt.subplots(1, len(images), figsize=(size * len(images), size), squeeze=False)
    for ax, image, title in zip(axes[0], images, titles):
        array = _as_image_array(image)
        if crop is not None:
            array = array[crop]
        ax.imshow(array, interpolation="nearest", vmin=0, vmax=1)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    fig.tight_layout()
    return fig


def plot_classifier_history(history: History | dict, title: str = "", axes=None):
    """Two panels for a classifier: loss and top-1 accuracy per epoch, train against held-out.

    A train curve that keeps improving while the held-out curve turns is overfitting; the dotted
    line marks the epoch ``fit(..., keep_best=True)`` kept.
    """
    data = history.as_dict() if isinstance(history, History) else history
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    epochs = np.arange(1, len(data["train_loss"]) + 1)
    for ax, key, label in [(axes[0], "loss", "cross-entropy"), (axes[1], "accuracy", "top-1 accuracy (%)")]:
        ax.plot(epochs, data[f"train_{key}"], label="train", color=PALETTE[0])
        if data.get(f"test_{key}"):
            ax.plot(epochs, data[f"test_{key}"], label="validation", color=PALETTE[1])
        if data.get("best_epoch"):
            ax.axvline(data["best_epoch"], color="grey", ls=":", lw=1, label="kept epoch")
        ax.set(xlabel="epoch", ylabel=label, xlim=(0.5, len(epochs) + 0.5))  # a last-epoch line stays visible
        integer_epochs(ax)
        ax.legend()
    axes[0].figure.suptitle(title)
    axes[0].figure.tight_layout()
    return axes
