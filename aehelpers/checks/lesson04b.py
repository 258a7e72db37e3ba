"""The self-checks of lesson 4b's exercises (``notebooks/exercises/04b_flowers_residual_classifier_exercises.ipynb``)."""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..models import count_parameters
from .common import (
    CheckFailed, ExerciseNotDone, passed, require, check_shape, check_in_range, run_or_not_done, recorded_run, check_recorded,
)


def _zero_body(block: nn.Module) -> nn.Module:
    """A copy of ``block`` in eval mode whose body outputs 0 (every weight of ``block.body`` set to 0)."""
    cut = copy.deepcopy(block).eval()
    with torch.no_grad():
        for weight in cut.body.parameters():
            weight.zero_()
    return cut


def l04b_residual_block(block_class: object) -> None:
    """Exercise 1 of lesson 4b: shapes, the shortcut really added (identity or 1x1 stride-2), the parameter count."""
    from ..classifiers import ResidualBlock  # the package's block, to compare parameter counts with

    require("Exercise 1", MyResidualBlock=block_class)
    # Signed inputs: with inputs >= 0 only, a block that forgets its last ReLU would look right.
    images = torch.randn(2, 16, 8, 8, generator=torch.Generator().manual_seed(0))
    for in_channels, out_channels, stride in ((16, 16, 1), (16, 32, 2)):
        call = f"MyResidualBlock({in_channels}, {out_channels}, stride={stride})"
        block = block_class(in_channels, out_channels, stride=stride)
        if getattr(block, "shortcut", None) is Ellipsis:
            raise ExerciseNotDone("Exercise 1 is not done yet: fill in `self.shortcut` in the cell above (replace "
                                  "the `...`), then run that cell and this one again.")
        output = run_or_not_done("Exercise 1", "`forward`", block.eval(), images)
        if output is Ellipsis:
            raise ExerciseNotDone("Exercise 1 is not done yet: fill in `forward` in the cell above (replace its "
                                  "`return ...`), then run that cell and this one again.")
        side = 8 // stride
        check_shape("Exercise 1", f"{call} applied to a (2, 16, 8, 8) map", output, (2, out_channels, side, side))
        with torch.no_grad():
            cut_output = _zero_body(block)(images)
        if stride == 1 and not torch.allclose(cut_output, torch.relu(images), atol=1e-5):
            raise CheckFailed(f"Exercise 1: with its body switched off, {call} should give back ReLU(x): the input "
                              "itself flows through the shortcut. Return torch.relu(self.body(x) + self.shortcut(x)).")
        if stride == 2 and cut_output.abs().max() < 1e-6:
            raise CheckFailed(f"Exercise 1: with its body switched off, {call} outputs only zeros: the shortcut does "
                              "not reach the output. Add self.shortcut(x) to the body's output in `forward`.")
        actual, expected = count_parameters(block), count_parameters(ResidualBlock(in_channels, out_channels, stride))
        if actual != expected:
            hint = ("the identity shortcut has none" if stride == 1 else
                    f"the shortcut is a 1x1 convolution without bias ({in_channels * out_channels} weights) and a "
                    f"batch norm ({2 * out_channels})")
            raise CheckFailed(f"Exercise 1: {call} has {actual:,} parameters; lesson 4b's block has {expected:,}: "
                              f"{hint}.")
    passed("(2, 16, 8, 8) -> (2, 16, 8, 8) and (2, 32, 4, 4); the shortcut is added (an identity, and a 1x1 "
           "convolution when stride=2), parameters as in lesson 4b's ResidualBlock.")


def l04b_best_probability(best_probability: object) -> None:
    """Exercise 2 of lesson 4b: the right class's probability that minimises the smoothed loss (0.1, 102 classes)."""
    require("Exercise 2", best_probability=best_probability)
    expected = 0.9 + 0.1 / 102
    # 0.9 (the right class's 1 - smoothing, without its share of the spread) is 0.00098 away: reject it.
    if not isinstance(best_probability, (int, float)) or abs(best_probability - expected) > 1e-4:
        raise CheckFailed(f"Exercise 2: `best_probability` is {best_probability!r}. The loss is lowest when the "
                          "predicted probabilities equal the target's: 1 - smoothing on the right class plus its "
                          "share smoothing / 102 of the spread.")
    passed(f"best probability {best_probability:.4f}: 0.9 + 0.1 / 102, not 1.")


def l04b_smoothing(smoothed_cross_entropy: object) -> None:
    """Exercise 2 of lesson 4b: the hand-written smoothed cross-entropy equals F.cross_entropy(label_smoothing=s)."""
    require("Exercise 2", smoothed_cross_entropy=smoothed_cross_entropy)
    generator = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(8, 102, generator=generator)
    targets = torch.randint(0, 102, (8,), generator=generator)
    for smoothing in (0.0, 0.1, 0.3):
        mine = run_or_not_done("Exercise 2", "`smoothed_cross_entropy`", smoothed_cross_entropy, logits, targets,
                                smoothing)
        if mine is Ellipsis or mine is None:
            raise ExerciseNotDone("Exercise 2 is not done yet: fill in `smoothed_cross_entropy` in the cell above "
                                  "(replace the `...`), then run that cell and this one again.")
        if not isinstance(mine, torch.Tensor) or mine.numel() != 1:
            raise CheckFailed("Exercise 2: `smoothed_cross_entropy` should return one number, a 0-dimensional "
                              "tensor: the mean over the batch of each example's loss.")
        expected = torch.nn.functional.cross_entropy(logits, targets, label_smoothing=smoothing)
        if not torch.allclose(mine.float(), expected, atol=1e-4):
            raise CheckFailed(f"Exercise 2: with smoothing {smoothing} your loss is {mine.item():.5f}; "
                              f"F.cross_entropy(..., label_smoothing={smoothing}) gives {expected.item():.5f}. The "
                              "target is (1 - smoothing) on the right class plus smoothing / 102 on every class "
                              "(the right one included); the loss is minus the sum of target x log_softmax, "
                              "averaged over the batch.")
    passed("equal to F.cross_entropy(..., label_smoothing=s) for s = 0, 0.1 and 0.3.")


def l04b_ablation(val_plain: object, val_smoothed: object, val_count: int) -> None:
    """Exercise 3 of lesson 4b: both runs' best validation accuracies in range; the difference against the noise."""
    require("Exercise 3", val_plain=val_plain, val_smoothed=val_smoothed)
    photo = 100 / val_count
    for name, value in (("val_plain", val_plain), ("val_smoothed", val_smoothed)):
        check_in_range("Exercise 3", f"{name} (%, best epoch)", value, 0.5, 40.0)
        # An accuracy measured on val_count photos is a whole number of photos: k * 100 / val_count percent.
        photos = value / photo
        if abs(photos - round(photos)) > 1e-3:
            raise CheckFailed(f"Exercise 3: {name} is {value!r}, which is not a whole number of the {val_count} "
                              f"validation photos (each is {photo:.3f} points). Take the best epoch's validation "
                              "accuracy from the history that `ae.fit` returned (`max(history.test_accuracy)`), "
                              "not a number typed or rounded by hand.")
    runs = {name: recorded_run("Exercise 3", f"ex04b_{name}") for name in ("plain", "smoothed")}
    if runs["plain"] is not None:  # full mode: each number must be its own run's best epoch
        for name, value in (("plain", val_plain), ("smoothed", val_smoothed)):
            history, _ = runs[name]
            check_recorded("Exercise 3", f"val_{name}", value, max(history.test_accuracy),
                           f"the best validation accuracy of the run saved as ex04b_{name}")
        if runs["smoothed"][1].get("loss") == runs["plain"][1].get("loss"):
            raise CheckFailed("Exercise 3: the run saved as ex04b_smoothed trained with the same loss as ex04b_plain. "
                              "Pass your smoothed_cross_entropy as its loss_fn (delete checkpoints/ex04b_smoothed.pt "
                              "first: a finished run is not trained again).")
    difference = val_smoothed - val_plain
    passed(f"validation top-1: {val_plain:.1f} % plain, {val_smoothed:.1f} % smoothed ({difference:+.1f} points; "
           f"one validation photo is {photo:.2f} points).")
