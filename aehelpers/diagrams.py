"""Architecture diagrams drawn from a model's own layers, saved into ``notebook_ims/``.

Drawing from the layer list (rather than by hand) keeps each picture true to the code.

Defined in lesson 1 (``notebooks/01_conv_autoencoder.ipynb``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, Rectangle
from torch import nn

from .models import describe_layer, layer_shapes
from .plotting import PALETTE

IMAGES_DIR = Path(__file__).resolve().parent.parent / "notebook_ims"
_SKIP = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.BatchNorm2d, nn.Dropout, nn.Dropout2d)


def draw_architecture(model: nn.Module, input_shape: tuple[int, int, int], title: str = "", save_as: str | None = None):
    """Draw every tensor the data passes through as a block (height: image size, width: channels).

    Args:
        input_shape: (channels, height, width) of one input image.
        save_as: file name inside ``notebook_ims/`` to save a PNG under (deterministic bytes).
    """
    # Activations and normalisation keep the shape: leave them out so the picture stays readable.
    rows = [(layer, shape) for _, layer, shape in layer_shapes(model, input_shape) if not isinstance(layer, _SKIP)]
    shapes = [tuple(input_shape)] + [shape for _, shape in rows]
    # 'Conv2d 1->16 3x3 pad 1' -> name on one line, settings on the next
    labels = [describe_layer(layer).replace(" ", "\n", 1) for layer, _ in rows]
    # The code is the tensor after the encoder's last drawn layer (when the model has an encoder).
    code_index = None
    if hasattr(model, "encoder"):
        code_index = sum(1 for _, layer, _ in layer_shapes(model.encoder, input_shape) if not isinstance(layer, _SKIP))

    max_hw = max(s[1] for s in shapes)
    fig, ax = plt.subplots(figsize=(1.7 * len(shapes), 3.4))
    x = 0.0
    centres = []
    for i, (c, h, w) in enumerate(shapes):
        height = 2.2 * h / max_hw
        width = 0.25 + 0.12 * c**0.5
        colour = PALETTE[2] if i == code_index else (PALETTE[0] if code_index is None or i < code_index else PALETTE[1])
        ax.add_patch(Rectangle((x, -height / 2), width, height, facecolor=colour, alpha=0.8, edgecolor="black", lw=0.8))
        ax.text(x + width / 2, -1.35, f"{c}x{h}x{w}\n= {c * h * w}", ha="center", va="top", fontsize=8)
        if i == code_index:
            ax.text(x + width / 2, 1.3, "code", ha="center", va="bottom", fontsize=9, fontweight="bold")
        centres.append((x, x + width))
        x += width + 1.25
    for (_, right), (left, _), label in zip(centres[:-1], centres[1:], labels):
        ax.add_patch(FancyArrowPatch((right + 0.05, 0), (left - 0.05, 0), arrowstyle="-|>", mutation_scale=10, color="0.3"))
        ax.text((right + left) / 2, 0.12, label, ha="center", va="bottom", fontsize=7.5)
    ax.set_xlim(-0.3, x - 0.9)
    ax.set_ylim(-2.2, 1.7)
    ax.axis("off")
    ax.set_title(title)
    fig.tight_layout()
    if save_as is not None:
        IMAGES_DIR.mkdir(exist_ok=True)
        fig.savefig(IMAGES_DIR / save_as, dpi=100, metadata={"Software": None})
    return fig
