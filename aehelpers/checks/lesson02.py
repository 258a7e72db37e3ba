"""The self-checks of lesson 2's exercises (``notebooks/exercises/02_denoising_autoencoder_exercises.ipynb``)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

from ..data import add_noise
from ..models import count_parameters
from ..runtime import is_quick
from .common import (
    CheckFailed, ExerciseNotDone, passed, require, check_shape, check_in_range, run_or_not_done, check_guess,
    recorded_run,
)


# Exercise 1 of lesson 2: a U-Net with one skip, width 8. Weights + biases of each convolution (3x3 each);
# the decoder's convolution reads the middle's 16 channels plus the skip's 8.
L02_ONE_SKIP_LAYERS = {"down: Conv2d 1->8": 1 * 8 * 9 + 8, "middle: Conv2d 8->16": 8 * 16 * 9 + 16,
                       "up: Conv2d 24->8": 24 * 8 * 9 + 8, "out: Conv2d 8->1": 8 * 1 * 9 + 1}


L02_ONE_SKIP_PARAMETERS = sum(L02_ONE_SKIP_LAYERS.values())


L02_GAIN_RANGES = {0.3: (8.0, 12.5), 0.5: (9.5, 13.5), 0.8: (7.0, 11.5)}  # lesson 2's shipped U-Net, in dB


L02_LEVELS = (0.1, 0.3, 0.5, 0.8, 1.0)  # the noise levels of exercise 3's comparison


def l02_one_skip(model: object, predicted_parameters: object) -> None:
    """Exercise 1 of lesson 2: a one-skip U-Net: output shape, the skip really used, the parameter count."""
    require("Exercise 1", model=model)
    if not isinstance(model, nn.Module) or not hasattr(model, "middle"):
        raise CheckFailed("Exercise 1: `model` should be an instance of the exercise's class, `OneSkipUNet()`.")
    images = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    output = run_or_not_done("Exercise 1", "`x` in `forward`", model, images)
    check_shape("Exercise 1", "the output for 2 digits", output, (2, 1, 28, 28))
    # With the middle path switched off (all its weights 0), only the skip can carry the input to the output.
    cut = copy.deepcopy(model).eval()
    with torch.no_grad():
        for weight in cut.middle.parameters():
            weight.zero_()
        other = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(1))
        if torch.allclose(cut(images), cut(other)):
            raise CheckFailed("Exercise 1: the decoder does not see the skip: with the middle path cut, the output no "
                              "longer depends on the input. Concatenate `x` (the middle's output) with `full` (the "
                              "encoder's 28x28 features): torch.cat([x, full], dim=1).")
    actual = count_parameters(model)
    if actual != L02_ONE_SKIP_PARAMETERS:
        layers = ", ".join(f"{name}: {count}" for name, count in L02_ONE_SKIP_LAYERS.items())
        raise CheckFailed(f"Exercise 1: the model has {actual:,} parameters; the exercise's layers have "
                          f"{L02_ONE_SKIP_PARAMETERS:,} ({layers}). Did you change a layer?")
    require("Exercise 1", predicted_parameters=predicted_parameters)
    if predicted_parameters != actual:
        raise CheckFailed(f"Exercise 1: you predicted {predicted_parameters!r} parameters; the model has {actual:,}. "
                          "Each 3x3 convolution has in x out x 9 weights plus one bias per output channel, and "
                          "`self.up` reads 16 + 8 = 24 channels.")
    passed(f"output (2, 1, 28, 28), the skip is used, {actual:,} parameters, as you predicted.")


def l02_guess(my_guess: object, choices: Sequence[str]) -> None:
    """Exercise 2 of lesson 2: the written-down guess is one of ``choices``."""
    check_guess("Exercise 2", my_guess, choices)


def l02_gains(gains: object, my_guess: object) -> None:
    """Exercise 2 of lesson 2: the U-Net's PSNR gain over its noisy input at noise 0.3, 0.5 and 0.8, in range."""
    if isinstance(gains, Mapping) and any(value is Ellipsis or value is None for value in gains.values()):
        raise ExerciseNotDone("Exercise 2 is not done yet: `gains` holds `...`: replace the `return ...` of "
                              "`psnr_gain` in the cell above, then run that cell and this one again.")
    require("Exercise 2", gains=gains)
    if not isinstance(gains, Mapping) or sorted(gains) != sorted(L02_GAIN_RANGES):
        raise CheckFailed(f"Exercise 2: `gains` should be a dict with the noise levels {list(L02_GAIN_RANGES)} as "
                          f"keys, got {gains!r}.")
    for level, (low, high) in L02_GAIN_RANGES.items():
        gain = gains[level]
        if not isinstance(gain, (int, float)) or isinstance(gain, bool):
            raise CheckFailed(f"Exercise 2: gains[{level}] should be a number (use `.item()`), got {gain!r}.")
        if gain > 15:
            raise CheckFailed(f"Exercise 2: gains[{level}] is {gain:.2f} dB, as high as a denoised PSNR itself: "
                              "subtract the noisy input's PSNR from the denoised one's.")
        if not low <= gain <= high:
            raise CheckFailed(f"Exercise 2: gains[{level}] is {gain:.2f} dB, outside the expected range {low:g} to "
                              f"{high:g} dB for lesson 2's trained U-Net. Is `unet` the loaded model, and the gain the "
                              "mean PSNR of the denoised digits minus that of the noisy ones, both against the clean?")
    difference = gains[0.3] - gains[0.8]
    outcome = "same" if abs(difference) < 0.5 else ("0.3" if difference > 0 else "0.8")
    verdict = "as you guessed" if my_guess == outcome else f"you guessed {my_guess!r}"
    passed(f"gains {gains[0.3]:.2f} dB at 0.3, {gains[0.5]:.2f} dB at 0.5, {gains[0.8]:.2f} dB at 0.8: "
           f"the answer is {outcome!r}, {verdict}.")


def _noise_spread(make_inputs: Callable, seed: int) -> float:
    """Standard deviation of the noise ``make_inputs`` adds to mid-grey images, with a generator seeded ``seed``."""
    grey = torch.full((4, 1, 28, 28), 0.5)
    return (make_inputs(grey, torch.Generator().manual_seed(seed)) - 0.5).std().item()


def l02_random_noise(random_noisy: object) -> None:
    """Exercise 3 of lesson 2: ``random_noisy`` adds noise of a level drawn from [0.1, 1.0] with its generator."""
    require("Exercise 3", random_noisy=random_noisy)
    grey = torch.full((4, 1, 28, 28), 0.5)
    where = "`level` in `random_noisy`"
    first = run_or_not_done("Exercise 3", where, random_noisy, grey, torch.Generator().manual_seed(0))
    check_shape("Exercise 3", "random_noisy(images, generator)", first, tuple(grey.shape))
    if first.min() < 0 or first.max() > 1:
        raise CheckFailed("Exercise 3: the noisy images leave the pixel range 0..1: add the noise with `ae.add_noise`, "
                          "which clips.")
    again = run_or_not_done("Exercise 3", where, random_noisy, grey, torch.Generator().manual_seed(0))
    if not torch.equal(first, again):
        raise CheckFailed("Exercise 3: two calls with generators of the same seed gave different images: draw the "
                          "level from `generator` (torch.rand(1, generator=generator)), not from the global random "
                          "state, so a seeded training run repeats.")
    spreads = [_noise_spread(random_noisy, seed) for seed in range(30)]
    weakest, strongest = (_noise_spread(lambda x, g, level=level: add_noise(x, level, g), 12345) for level in (0.1, 1.0))
    low, high = (_noise_spread(lambda x, g, level=level: add_noise(x, level, g), 12345) for level in (0.4, 0.7))
    if min(spreads) < 0.9 * weakest:
        raise CheckFailed(f"Exercise 3: some calls added noise weaker than level 0.1 (standard deviation "
                          f"{min(spreads):.3f}, level 0.1 gives {weakest:.3f}): draw the level from [0.1, 1.0], "
                          "e.g. 0.1 + 0.9 * a uniform number from [0, 1).")
    if max(spreads) > 1.05 * strongest:
        raise CheckFailed(f"Exercise 3: some calls added noise stronger than level 1.0 (standard deviation "
                          f"{max(spreads):.3f}, level 1.0 gives {strongest:.3f}): draw the level from [0.1, 1.0].")
    if min(spreads) > low or max(spreads) < high:
        raise CheckFailed(f"Exercise 3: in 30 calls the noise's standard deviation only ranged from "
                          f"{min(spreads):.3f} to {max(spreads):.3f}; levels drawn from [0.1, 1.0] would reach below "
                          f"{low:.3f} (level 0.4) and above {high:.3f} (level 0.7). Draw a new level on every call.")
    passed(f"a new level on every call, from the generator; 30 calls added noise of standard deviation "
           f"{min(spreads):.3f} to {max(spreads):.3f} (after clipping).")


def l02_noise_range(psnr_fixed: object, psnr_range: object) -> None:
    """Exercise 3 of lesson 2: both denoisers measured at every level of ``L02_LEVELS``, PSNRs in range."""
    require("Exercise 3", psnr_fixed=psnr_fixed, psnr_range=psnr_range)
    for name, values in (("psnr_fixed", psnr_fixed), ("psnr_range", psnr_range)):
        if not isinstance(values, Mapping) or sorted(values) != sorted(L02_LEVELS):
            raise CheckFailed(f"Exercise 3: `{name}` should be a dict with the noise levels {list(L02_LEVELS)} as keys.")
    for name, values in (("psnr_fixed", psnr_fixed), ("psnr_range", psnr_range)):
        for level in L02_LEVELS:
            check_in_range("Exercise 3", f"{name}[{level}]", values[level], 8.0, 32.0, quick_range=(3.0, 32.0))
    if all(abs(psnr_range[level] - psnr_fixed[level]) < 1e-6 for level in L02_LEVELS):
        raise CheckFailed("Exercise 3: `psnr_range` equals `psnr_fixed` at every level: both measure the same model. "
                          "Train the second U-Net with your random_noisy as its input maker (checkpoint \"range\").")
    runs = {name: recorded_run("Exercise 3", f"ex02_{name}") for name in ("fixed", "range")}
    if runs["fixed"] is not None:  # full mode: the two runs really trained on different inputs
        if runs["range"][1].get("input maker") == runs["fixed"][1].get("input maker"):
            raise CheckFailed("Exercise 3: the run saved as ex02_range made its noisy inputs as ex02_fixed did. Pass "
                              "random_noisy as its make_inputs (delete checkpoints/ex02_range.pt first: a finished "
                              "run is not trained again).")
        for name, values in (("psnr_fixed", psnr_fixed), ("psnr_range", psnr_range)):
            if values[min(L02_LEVELS)] <= values[max(L02_LEVELS)]:
                raise CheckFailed(f"Exercise 3: `{name}` is no higher at noise {min(L02_LEVELS)} than at "
                                  f"{max(L02_LEVELS)}; ten times more noise must cost PSNR. Measure each level "
                                  "with noise of that level (psnr_at_levels does).")
    better = [level for level in L02_LEVELS if psnr_range[level] > psnr_fixed[level]]
    mode = " (quick mode: barely trained models)" if is_quick() else ""
    passed(f"both denoisers measured at {len(L02_LEVELS)} levels{mode}; the one trained on a range of levels is "
           f"ahead at {better or 'none'}.")
