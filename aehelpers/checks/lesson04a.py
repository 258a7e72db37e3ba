"""The self-checks of lesson 4a's exercises (``notebooks/exercises/04a_flowers_course_classifiers_exercises.ipynb``)."""

from __future__ import annotations


import torch
from torch import nn

from ..models import count_parameters
from .common import (
    CheckFailed, ExerciseNotDone, passed, require, check_shape, check_in_range, run_or_not_done, check_guess,
    check_last_accuracies,
)


def _course_head_parameters(side: int, hidden: int = 512, classes: int = 102) -> int:
    """Parameters of the course's head on a 16 x side x side code: two 3x3 convolutions, two linear layers."""
    return (16 * 32 * 9 + 32) + (32 * 64 * 9 + 64) + (64 * side * side * hidden + hidden) + (hidden * classes + classes)


L04A_SIDES = {22: 4, 13: 1}  # code side -> side of the head's last map (3x3 conv, 2x2 pool, 3x3 conv, 2x2 pool)


L04A_HEAD_PARAMETERS = {code: _course_head_parameters(side) for code, side in L04A_SIDES.items()}


def l04a_sides(side_22: object, side_13: object) -> None:
    """Exercise 1 of lesson 4a: the side of the head's last map for codes of side 22 (100 px) and 13 (64 px)."""
    require("Exercise 1", side_22=side_22, side_13=side_13)
    for name, code, value in (("side_22", 22, side_22), ("side_13", 13, side_13)):
        expected = L04A_SIDES[code]
        if value != expected:
            after_conv = code - 2
            raise CheckFailed(f"Exercise 1: `{name}` is {value!r}. Follow the map: a 3x3 convolution without padding "
                              f"takes 2 pixels off, a 2x2 max-pool halves and rounds down: {code} -> {after_conv} -> "
                              f"{after_conv // 2} -> ... ; finish the chain.")
    passed(f"a 22x22 code ends as a 64x{side_22}x{side_22} map ({64 * side_22 ** 2:,} values into the first linear "
           f"layer), a 13x13 code as 64x{side_13}x{side_13} ({64 * side_13 ** 2} values).")


def l04a_head(course_head: object) -> None:
    """Exercise 1 of lesson 4a: ``course_head(side)`` builds the course's head for a 16 x side x side code."""
    require("Exercise 1", course_head=course_head)
    for side in L04A_SIDES:
        try:
            head = course_head(side)
        except TypeError as err:
            if "ellipsis" in str(err):
                raise ExerciseNotDone("Exercise 1 is not done yet: fill in the `...` in `course_head` in the cell "
                                      "above, then run that cell and this one again.") from None
            raise
        if head is Ellipsis or head is None:
            raise ExerciseNotDone("Exercise 1 is not done yet: fill in `course_head` in the cell above (replace its "
                                  "`return ...`), then run that cell and this one again.")
        if not isinstance(head, nn.Module):
            raise CheckFailed(f"Exercise 1: `course_head({side})` should return an nn.Sequential, "
                              f"got a {type(head).__name__}.")
        output = run_or_not_done("Exercise 1", f"`course_head({side})`", head.eval(), torch.zeros(2, 16, side, side))
        check_shape("Exercise 1", f"course_head({side}) applied to a (2, 16, {side}, {side}) code", output, (2, 102))
        actual, expected = count_parameters(head), L04A_HEAD_PARAMETERS[side]
        if actual != expected:
            raise CheckFailed(f"Exercise 1: course_head({side}) has {actual:,} parameters; the course's head has "
                              f"{expected:,} for a {side}x{side} code (convolutions 16->32 and 32->64, 3x3; linear "
                              f"64x{L04A_SIDES[side]}x{L04A_SIDES[side]} -> 512 and 512 -> 102).")
    sizes = ", ".join(f"{side}x{side} code: {count:,}" for side, count in L04A_HEAD_PARAMETERS.items())
    passed(f"both heads give 102 class scores; parameters {sizes}.")


L04A_GAP_CHOICES = ("under 20 points", "20 to 60 points", "over 60 points")


def l04a_guess(my_guess: object) -> None:
    """Exercise 2 of lesson 4a: the written-down guess is one of ``L04A_GAP_CHOICES``."""
    check_guess("Exercise 2", my_guess, L04A_GAP_CHOICES)


def _gap_outcome(gap: float) -> str:
    return L04A_GAP_CHOICES[0] if gap < 20 else (L04A_GAP_CHOICES[1] if gap <= 60 else L04A_GAP_CHOICES[2])


def l04a_overfit(train_accuracy: object, val_accuracy: object, my_guess: object) -> None:
    """Exercise 2 of lesson 4a: final training and validation accuracy (percent) in range; the gap against the guess."""
    require("Exercise 2", train_accuracy=train_accuracy, val_accuracy=val_accuracy)
    check_in_range("Exercise 2", "train_accuracy (%, last epoch)", train_accuracy, 20.0, 100.0)
    check_in_range("Exercise 2", "val_accuracy (%, last epoch)", val_accuracy, 0.0, 25.0)
    check_last_accuracies("Exercise 2", "ex04a_plain", ("train_accuracy", train_accuracy), ("val_accuracy", val_accuracy))
    gap = train_accuracy - val_accuracy
    verdict = "as you guessed" if my_guess == _gap_outcome(gap) else f"you guessed {my_guess!r}"
    passed(f"training {train_accuracy:.1f} %, validation {val_accuracy:.1f} %: a gap of {gap:.1f} points, "
           f"{_gap_outcome(gap)}: {verdict}.")


def l04a_recipe(recipe: object, batch: torch.Tensor) -> None:
    """Exercise 3 of lesson 4a: a classification recipe whose augmentation turns uint8 photos into 64-px floats."""
    require("Exercise 3", augmented_recipe=recipe)
    loss_fn = getattr(recipe, "loss_fn", None)
    augment = getattr(recipe, "augment", None)
    if loss_fn is not torch.nn.functional.cross_entropy:
        raise CheckFailed("Exercise 3: the recipe's loss should be F.cross_entropy (a classifier), as in exercise 2: "
                          "ae.Recipe(loss_fn=F.cross_entropy, augment=...).")
    if augment is None:
        raise CheckFailed("Exercise 3: the recipe has no augmentation: pass augment=FlowerAugmenter(64).")
    output = augment(batch, torch.Generator().manual_seed(0))
    check_shape("Exercise 3", f"the augmentation of a batch of shape {tuple(batch.shape)}", output,
                (len(batch), 3, 64, 64))
    if not output.is_floating_point() or output.min() < -1 or output.max() > 1:
        raise CheckFailed("Exercise 3: the augmented images should be floats in [-1, 1], as the model was trained "
                          "on: FlowerAugmenter(64) makes them from the uint8 photos.")
    passed("cross-entropy, and every batch becomes a fresh random crop, mirror and colour shift at 64 px.")


def l04a_augmented(train_aug: object, val_aug: object, train_accuracy: float, val_accuracy: float) -> None:
    """Exercise 3 of lesson 4a: the augmented run's accuracies in range; its gap against exercise 2's."""
    require("Exercise 3", train_aug=train_aug, val_aug=val_aug)
    check_in_range("Exercise 3", "train_aug (%, last epoch)", train_aug, 2.0, 100.0)
    check_in_range("Exercise 3", "val_aug (%, last epoch)", val_aug, 0.0, 25.0)
    run = check_last_accuracies("Exercise 3", "ex04a_augmented", ("train_aug", train_aug), ("val_aug", val_aug))
    if run is not None and run[1].get("augmentation", "none") == "none":  # full mode: augmentation really on
        raise CheckFailed("Exercise 3: the run saved as ex04a_augmented trained without augmentation. Train it "
                          "with augmented_recipe (delete checkpoints/ex04a_augmented.pt first).")
    gap, plain_gap = train_aug - val_aug, train_accuracy - val_accuracy
    passed(f"with augmentation: training {train_aug:.1f} %, validation {val_aug:.1f} % (gap {gap:.1f} points); "
           f"without: gap {plain_gap:.1f} points.")
