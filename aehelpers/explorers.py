"""Interactive explorers: turn a knob in JupyterLab and see a lesson's trained model answer.

An :class:`Explorer` is a row of ipywidgets controls above one picture and one line of numbers. A change
of any control calls the explorer's ``draw`` function, which draws on a matplotlib ``Figure`` that the
explorer keeps (never pyplot: no figure piles up per change) and returns the line of numbers; the picture
is swapped in as one PNG, so the page does not flicker.

Static views (GitHub, the book, nbval) cannot run a kernel: an explorer also offers its first picture as
an ordinary ``image/png`` output with a line saying how to use it, and JupyterLab, which knows the widget,
shows the live version instead. Why PNGs and not a live matplotlib canvas: they need no JavaScript of our
own and no extra package (ipympl), and redrawing a small figure takes well under 0.3 s on a CPU.

Defined for lessons 1, 2, 6 and 7; each lesson builds its explorer from its own trained model.
"""

from __future__ import annotations

import base64
import html
import io
import time
from collections.abc import Callable, Sequence

import ipywidgets as widgets
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from .anomaly import roc_curve
from .evaluation import eval_mode
from .metrics import mse_per_image, psnr_per_image

DrawFn = Callable[[Figure], str]  # draws the current state on the figure, returns the line of numbers

HOW_TO_USE = "In JupyterLab, move the controls above the picture: it redraws from the trained model."


class Explorer(widgets.VBox):
    """Controls on top, then a picture and a line of numbers that ``draw`` renews after every change.

    Args:
        controls: the ipywidgets whose ``value`` the learner changes.
        draw: ``draw(figure) -> str``; reads the controls, draws on the cleared ``figure`` and returns
            the numbers to show under it (HTML-escaped before display).
        figsize: the picture's size in inches; dpi: its resolution (modest: it is redrawn often).
    """

    def __init__(self, controls: Sequence[widgets.Widget], draw: DrawFn, figsize: tuple[float, float],
                 dpi: int = 80) -> None:
        self.controls = list(controls)
        self.figure = Figure(figsize=figsize, dpi=dpi)  # fixed margins (each draw sets them): a layout engine doubles the time
        FigureCanvasAgg(self.figure)  # a canvas of its own, outside pyplot's list of open figures
        self.picture = widgets.Image(format="png")
        self.numbers = widgets.HTML()
        self._draw = draw
        self._quiet = False  # True while set_values moves several controls: one redraw at the end
        self.last_redraw_seconds = 0.0
        super().__init__([widgets.HBox(self.controls), self.picture, self.numbers])
        for control in self.controls:
            control.observe(self._changed, names="value")
        self.redraw()

    def _changed(self, change: dict) -> None:
        if not self._quiet:
            self.redraw()

    def set_values(self, values: dict[widgets.Widget, object]) -> None:
        """Move several controls at once and redraw once (a walk moves both code sliders)."""
        self._quiet = True
        try:
            for control, value in values.items():
                control.value = value
        finally:
            self._quiet = False
        self.redraw()

    def redraw(self) -> None:
        """Draw the current state: a fresh figure, one PNG, one line of numbers."""
        started = time.perf_counter()
        self.figure.clear()
        with torch.inference_mode():  # a redraw only evaluates: no autograd graph, less memory
            text = self._draw(self.figure)
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png")
        self.picture.value = buffer.getvalue()
        self.numbers.value = f"<code>{html.escape(text)}</code>"
        self.last_redraw_seconds = time.perf_counter() - started

    @property
    def text(self) -> str:
        """The line of numbers now shown, as plain text."""
        return html.unescape(self.numbers.value.removeprefix("<code>").removesuffix("</code>"))

    def _repr_mimebundle_(self, **kwargs) -> dict:
        # The live widget for JupyterLab, and the current picture for every viewer without a kernel.
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["image/png"] = base64.b64encode(self.picture.value).decode("ascii")
        bundle["text/plain"] = f"{self.text}\n{HOW_TO_USE}"
        return bundle


IMAGE_ROW = {"left": 0.01, "right": 0.99, "bottom": 0.02, "top": 0.8, "wspace": 0.08}  # margins of a row of images
PLOT_ROW = {"left": 0.09, "right": 0.97, "bottom": 0.2, "top": 0.9, "wspace": 0.35}  # of two plots with axes


def _show_image(ax, image: torch.Tensor, title: str, vmax: float = 1.0) -> None:
    ax.imshow(image.squeeze(0).cpu().numpy(), cmap="gray", vmin=0.0, vmax=vmax)
    ax.set_title(title, fontsize="small")
    ax.set_axis_off()


def _slider(description: str, maximum: int, value: int = 0) -> widgets.IntSlider:
    return widgets.IntSlider(value=value, min=0, max=maximum, description=description, continuous_update=False,
                             style={"description_width": "initial"})


def code_explorer(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> Explorer:
    """Lesson 1: pick a test digit; see it, its code as one map per code channel, and its reconstruction.

    ``model`` has ``encode`` and ``decode`` and a code of shape (channels, height, width).
    """
    index = _slider("test image", len(images) - 1)
    device = next(model.parameters()).device

    def draw(figure: Figure) -> str:
        image = images[index.value:index.value + 1]
        with eval_mode(model):
            code = model.encode(image.to(device))
            output = model.decode(code).cpu()
        code = code[0].cpu()
        axes = figure.subplots(1, code.shape[0] + 2, gridspec_kw=IMAGE_ROW)
        _show_image(axes[0], image[0], f"digit {int(labels[index.value])}")
        for channel, ax in enumerate(axes[1:-1]):  # one shared scale for the channels: compare them
            ax.imshow(code[channel].numpy(), cmap="magma", vmin=0.0, vmax=max(code.max().item(), 1e-6))
            ax.set_title(f"code {channel + 1}", fontsize="small")
            ax.set_axis_off()
        _show_image(axes[-1], output[0], "reconstruction")
        error = mse_per_image(output, image).item()
        return (f"test image {index.value} (a {int(labels[index.value])}): code {tuple(code.shape)} = "
                f"{code.numel()} values, of which {int((code > 0).sum())} above 0; reconstruction MSE {error:.5f}")

    return Explorer([index], draw, figsize=(1.3 * 6, 1.6))


def denoising_explorer(denoisers: dict[str, Callable[[torch.Tensor], torch.Tensor]], images: torch.Tensor,
                       add_noise: Callable[[torch.Tensor, float, torch.Generator], torch.Tensor],
                       training_noise: float, seed: int = 0) -> Explorer:
    """Lesson 2: a noise-level slider; the noisy digit and each denoiser's output, each with its PSNR.

    ``denoisers`` maps a name to a function from a noisy batch to a cleaned one (a filter or a model).
    The noise for a level is drawn from ``seed``, so the same setting always shows the same picture.
    """
    noise = widgets.FloatSlider(value=training_noise, min=0.05, max=1.0, step=0.05, readout_format=".2f",
                                description="noise level", continuous_update=False)
    index = _slider("test image", len(images) - 1)

    def draw(figure: Figure) -> str:
        clean = images[index.value:index.value + 1]
        noisy = add_noise(clean, noise.value, torch.Generator().manual_seed(seed))
        outputs = {"noisy": noisy} | {name: denoise(noisy).cpu() for name, denoise in denoisers.items()}
        axes = figure.subplots(1, len(outputs) + 1, gridspec_kw=IMAGE_ROW | {"top": 0.72})
        _show_image(axes[0], clean[0], "clean")
        psnrs = {}
        for ax, (name, output) in zip(axes[1:], outputs.items()):
            psnrs[name] = psnr_per_image(output, clean).item()
            _show_image(ax, output[0], f"{name}\n{psnrs[name]:.1f} dB")
        return (f"noise level {noise.value:.2f} (the networks were trained at {training_noise:.2f}), "
                f"test image {index.value}; PSNR: ") + ", ".join(f"{n} {p:.2f} dB" for n, p in psnrs.items())

    return Explorer([noise, index], draw, figsize=(1.5 * (len(denoisers) + 2), 1.9))


def code_plane_explorer(decode: Callable[[torch.Tensor], torch.Tensor], codes: torch.Tensor, labels: torch.Tensor,
                        walk_ends: tuple[int, int] = (0, 1), shown_points: int = 2_000) -> Explorer:
    """Lesson 6: the plane of a 2-value code; choose a point (two sliders) and see the digit it decodes to.

    A walk runs on the straight line between the codes of two images: two dropdowns choose their digits
    (the first image of each digit in ``labels``; ``walk_ends``, indices into ``codes``, set the first
    choice) and a position slider moves the point along it. ``decode`` maps codes (N, 2) to images.
    """
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(f"codes must have shape (N, 2), got {tuple(codes.shape)}: this explorer shows a 2-value code.")
    low, high = codes.min(0).values.tolist(), codes.max(0).values.tolist()
    sliders = [widgets.FloatSlider(value=0.0, min=round(lo, 1), max=round(hi, 1), step=0.05, description=f"z{i + 1}",
                                   continuous_update=False) for i, (lo, hi) in enumerate(zip(low, high))]
    first_of = {int(d): int((labels == d).nonzero()[0, 0]) for d in labels.unique()}  # digit -> its first image
    ends = [widgets.Dropdown(options=sorted(first_of), value=int(labels[index]), description=description,
                             layout=widgets.Layout(width="150px")) for index, description in zip(walk_ends, ("walk from", "to"))]
    walk = widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, continuous_update=False, description="position")
    shown = torch.randperm(len(codes), generator=torch.Generator().manual_seed(0))[:shown_points]

    def line() -> tuple[torch.Tensor, torch.Tensor]:
        return codes[first_of[ends[0].value]], codes[first_of[ends[1].value]]

    def walk_to(change: dict) -> None:
        start, end = line()
        point = (1 - walk.value) * start + walk.value * end
        explorer.set_values({slider: min(max(value, slider.min), slider.max)
                             for slider, value in zip(sliders, point.tolist())})

    def draw(figure: Figure) -> str:
        point = torch.tensor([[sliders[0].value, sliders[1].value]], dtype=codes.dtype)
        image = decode(point).cpu()
        start, end = line()
        plane, digit = figure.subplots(1, 2, width_ratios=(1.6, 1), gridspec_kw=PLOT_ROW)
        scatter = plane.scatter(codes[shown, 0].numpy(), codes[shown, 1].numpy(), c=labels[shown].numpy(),
                                cmap="tab10", vmin=-0.5, vmax=9.5, s=3, alpha=0.6)
        figure.colorbar(scatter, ax=plane, ticks=range(10), label="digit")
        plane.plot([start[0], end[0]], [start[1], end[1]], "k--", lw=0.8)
        plane.plot(*point[0].tolist(), marker="X", color="black", markersize=11)
        plane.set(xlabel="z1", ylabel="z2", title="codes of test digits")
        _show_image(digit, image[0], "decoded")
        return (f"z1 {point[0, 0]:.2f}, z2 {point[0, 1]:.2f}; walk from {ends[0].value} to {ends[1].value}, "
                f"position {walk.value:.2f}")

    explorer = Explorer(sliders, draw, figsize=(7.0, 3.4))
    explorer.children = (widgets.HBox(sliders), widgets.HBox([*ends, walk]), *explorer.children[1:])
    for control in (*ends, walk):  # the walk moves the point (one redraw through set_values)
        control.observe(walk_to, names="value")
    return explorer


def threshold_explorer(scores: dict[int, torch.Tensor], is_anomaly: dict[int, torch.Tensor]) -> Explorer:
    """Lesson 7: choose a normal digit and a threshold; see the false-alarm and miss rates it gives.

    ``scores[d]`` are the test images' scores of the detector trained on digit ``d``, higher meaning
    more unusual; ``is_anomaly[d]`` marks the test images that are not ``d``. The threshold slider runs
    over the quantiles of the normal images' scores, so every digit's scale fits one slider.
    """
    digit = widgets.Dropdown(options=sorted(scores), value=sorted(scores)[0], description="normal digit")
    quantile = widgets.FloatSlider(value=0.95, min=0.5, max=0.999, step=0.001, readout_format=".3f",
                                   description="threshold: quantile of normal scores", continuous_update=False,
                                   style={"description_width": "initial"})

    def draw(figure: Figure) -> str:
        d_scores, d_anomaly = scores[digit.value].double(), is_anomaly[digit.value].bool()
        threshold = torch.quantile(d_scores[~d_anomaly], quantile.value).item()
        flagged = d_scores >= threshold
        true_alarms, false_alarms = int((flagged & d_anomaly).sum()), int((flagged & ~d_anomaly).sum())
        missed, passed = int((~flagged & d_anomaly).sum()), int((~flagged & ~d_anomaly).sum())
        false_alarm_rate = false_alarms / (false_alarms + passed)
        miss_rate = missed / (missed + true_alarms)
        roc, hist = figure.subplots(1, 2, gridspec_kw=PLOT_ROW)
        rates, detected = roc_curve(d_scores, d_anomaly)
        roc.plot(rates.numpy(), detected.numpy(), color="C0")
        roc.plot(false_alarm_rate, 1 - miss_rate, "o", color="C3", markersize=9)
        roc.set(xscale="log", xlim=(1e-3, 1), ylim=(0, 1.02), xlabel="false-alarm rate (log scale)",
                ylabel="anomalies caught", title=f"ROC curve, normal digit {digit.value}")
        bins = torch.logspace(d_scores.log10().min().item(), d_scores.log10().max().item(), 50).numpy()
        hist.hist(d_scores[~d_anomaly].numpy(), bins=bins, alpha=0.6, density=True, label="normal")
        hist.hist(d_scores[d_anomaly].numpy(), bins=bins, alpha=0.6, density=True, label="anomalies")
        hist.axvline(threshold, color="C3", label="threshold")
        hist.set(xscale="log", xlabel="score (log scale)", ylabel="density", title="scores")
        hist.xaxis.set_minor_formatter(NullFormatter())  # a narrow range would label every minor tick, overlapping
        hist.legend(fontsize="small")
        return (f"normal digit {digit.value}, quantile {quantile.value:.3f} of the normal scores: "
                f"threshold {threshold:.4g}; false alarms {100 * false_alarm_rate:.1f} % ({false_alarms} of "
                f"{false_alarms + passed} normal), missed {100 * miss_rate:.1f} % ({missed} of {missed + true_alarms} "
                f"anomalies); flagged: {true_alarms} anomalies + {false_alarms} normal")

    return Explorer([digit, quantile], draw, figsize=(8.0, 3.4))
