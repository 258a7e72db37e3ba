"""The self-checks of lesson 3's exercises (``notebooks/exercises/03_upsampling_autoencoder_exercises.ipynb``)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from ..models import count_parameters
from .common import (
    CheckFailed, ExerciseNotDone, passed, require, check_shape, check_in_range, output_spread_on_constant_input,
    check_last_test_mse,
)


L03_LAYERS = ((2, 2), (3, 2), (4, 2), (5, 2), (3, 1), (3, 3))  # (kernel, stride) pairs of exercise 1


def transpose_spread(kernel: int, stride: int, size: int = 8) -> float:
    """Spread of a transpose convolution (weights 1, bias 0) on an all-ones input, away from the border."""
    layer = nn.ConvTranspose2d(1, 1, kernel_size=kernel, stride=stride)
    nn.init.ones_(layer.weight)
    nn.init.zeros_(layer.bias)
    return output_spread_on_constant_input(layer, (1, 1, size, size), margin=kernel)


def _check_layer_dict(exercise: str, name: str, values: object) -> Mapping:
    require(exercise, **{name: values})
    if not isinstance(values, Mapping):
        raise CheckFailed(f"{exercise}: `{name}` should be a dict {{(kernel, stride): ...}}, got {type(values).__name__}.")
    missing = [pair for pair in L03_LAYERS if pair not in values]
    if missing:
        raise CheckFailed(f"{exercise}: `{name}` has no entry for (kernel, stride) {missing[0]}; it needs all of "
                          f"{list(L03_LAYERS)}.")
    for pair in L03_LAYERS:
        require(exercise, **{f"{name}[{pair}]": values[pair]})
    return values


def l03_guesses(my_guess: object) -> None:
    """Exercise 1 of lesson 3: a True/False guess (checkerboard or not) for every (kernel, stride) pair."""
    guesses = _check_layer_dict("Exercise 1", "my_guess", my_guess)
    for pair in L03_LAYERS:
        if not isinstance(guesses[pair], bool):
            raise CheckFailed(f"Exercise 1: my_guess[{pair}] is {guesses[pair]!r}; write True (a checkerboard) "
                              "or False (flat).")
    passed(f"your guesses are written down: {sum(guesses.values())} of {len(L03_LAYERS)} make a checkerboard.")


def l03_spreads(spreads: object, my_guess: Mapping) -> None:
    """Exercise 1 of lesson 3: the measured spreads match the check's own; report the guesses that were off."""
    if isinstance(spreads, Mapping) and any(value is Ellipsis or value is None for value in spreads.values()):
        raise ExerciseNotDone("Exercise 1 is not done yet: `spreads` holds `...`: replace the `return ...` of "
                              "`spread_of` in the cell above, then run that cell and this one again.")
    measured = _check_layer_dict("Exercise 1", "spreads", spreads)
    for kernel, stride in L03_LAYERS:
        expected = transpose_spread(kernel, stride)
        value = measured[(kernel, stride)]
        if not isinstance(value, (int, float)) or abs(value - expected) > 1e-4:
            raise CheckFailed(f"Exercise 1: spreads[{(kernel, stride)}] is {value!r}; a kernel-{kernel}, "
                              f"stride-{stride} transpose convolution (weights 1, bias 0) on an 8x8 input of ones "
                              f"gives {expected:g} (largest minus smallest, {kernel} pixels away from each border).")
    wrong = [pair for pair in L03_LAYERS if my_guess.get(pair) != (measured[pair] > 1e-6)]
    verdict = "all your guesses were right" if not wrong else f"your guess was off for {wrong}"
    passed(f"every spread is right; {verdict}.")


def l03_upsample_block(block: object) -> None:
    """Exercise 2 of lesson 3: ``block`` = ``upsample_block(16, 8)`` doubles a 7x7 map and makes no pattern."""
    require("Exercise 2", block=block)
    if not isinstance(block, nn.Module):
        raise CheckFailed(f"Exercise 2: `upsample_block` should return an nn.Module (an nn.Sequential), "
                          f"got a {type(block).__name__}.")
    if any(isinstance(layer, nn.ConvTranspose2d) for layer in block.modules()):
        raise CheckFailed("Exercise 2: the block uses nn.ConvTranspose2d; the exercise asks for nn.Upsample "
                          "followed by an nn.Conv2d.")
    try:
        with torch.no_grad():
            output = block(torch.zeros(1, 16, 7, 7))
    except RuntimeError as err:
        raise CheckFailed(f"Exercise 2: a (1, 16, 7, 7) map did not go through `upsample_block(16, 8)`: "
                          f"{str(err).splitlines()[0]}") from None
    check_shape("Exercise 2", "upsample_block(16, 8) applied to a (1, 16, 7, 7) map", output, (1, 8, 14, 14))
    spread = output_spread_on_constant_input(block, (1, 16, 7, 7), margin=2)
    if spread > 1e-5:
        raise CheckFailed(f"Exercise 2: on a constant input the block's output varies by {spread:.3g} away from "
                          "the border (expected 0, a flat output): is the upsampling nearest-neighbour, and the "
                          "convolution's stride 1 with padding kernel // 2?")
    passed(f"(1, 16, 7, 7) -> (1, 8, 14, 14), flat on a constant input, {count_parameters(block):,} parameters.")


def l03_upsample_decoder(decoder: object) -> None:
    """Exercise 2 of lesson 3: a decoder for lesson 1's 4x7x7 code, built from upsample blocks: shapes, a flat code."""
    require("Exercise 2", decoder=decoder)
    if not isinstance(decoder, nn.Module):
        raise CheckFailed(f"Exercise 2: `decoder` should be an nn.Sequential, got a {type(decoder).__name__}.")
    try:
        with torch.no_grad():
            output = decoder(torch.randn(2, 4, 7, 7))
    except RuntimeError as err:
        raise CheckFailed(f"Exercise 2: two codes of shape (2, 4, 7, 7) did not go through `decoder`: "
                          f"{str(err).splitlines()[0]} Compare each layer's channels with the one before it.") from None
    check_shape("Exercise 2", "the decoder's output for 2 codes of shape (4, 7, 7)", output, (2, 1, 28, 28))
    if output.min() < 0 or output.max() > 1:
        raise CheckFailed("Exercise 2: the output leaves the pixel range 0..1: end the decoder with nn.Sigmoid().")
    spread = output_spread_on_constant_input(decoder, (1, 4, 7, 7), margin=4)
    if spread > 1e-5:
        raise CheckFailed(f"Exercise 2: the decoder paints a flat code with a pattern (spread {spread:.3g} in the "
                          "middle, expected 0): build it from `upsample_block`s, without transpose convolutions.")
    passed(f"code (4, 7, 7) -> image (1, 28, 28), a flat code decodes flat; {count_parameters(decoder):,} parameters.")


def l03_upsample_trained(test_mse: object, score: object) -> None:
    """Exercise 2 of lesson 3: the brief training of the upsampling model: test MSE and checkerboard score in range."""
    require("Exercise 2", test_mse=test_mse, score=score)
    checked = check_in_range("Exercise 2", "test_mse", test_mse, 0.002, 0.04, quick_range=(0.003, 0.2))
    score_checked = check_in_range("Exercise 2", "score (checkerboard)", score, 0.0, 0.3, quick_range=None)
    check_last_test_mse("Exercise 2", "test_mse", test_mse, "ex03_upsample_decoder")
    if checked:
        scored = "also in its expected range" if score_checked else "not checked in quick mode"
        passed(f"test MSE {test_mse:.5f}, in the expected range; checkerboard score {score:.3f}, {scored}.")


def l03_bilinear(model: object) -> None:
    """Exercise 3 of lesson 3: every ``nn.Upsample`` in ``model``'s decoder uses bilinear interpolation."""
    require("Exercise 3", model=model)
    layers = [layer for layer in model.decoder.modules() if isinstance(layer, nn.Upsample)]
    if not layers:
        raise CheckFailed("Exercise 3: the decoder has no nn.Upsample layer; build ae.UpsampleAutoencoder(code_channels=4).")
    modes = [layer.mode for layer in layers]
    if all(mode == "nearest" for mode in modes):
        raise ExerciseNotDone("Exercise 3 is not done yet: every nn.Upsample in the decoder is still 'nearest': "
                              "fill in the loop in the cell above (replace the `...`) and run it again.")
    if any(mode != "bilinear" for mode in modes):
        raise CheckFailed(f"Exercise 3: the decoder's nn.Upsample modes are {modes}; set every one to 'bilinear' "
                          "(loop over `model.decoder` and set `layer.mode`).")
    passed(f"all {len(layers)} upsampling layers are bilinear.")


def l03_bilinear_scores(mse_nearest: object, mse_bilinear: object) -> None:
    """Exercise 3 of lesson 3: both brief trainings measured, test MSEs in range."""
    require("Exercise 3", mse_nearest=mse_nearest, mse_bilinear=mse_bilinear)
    checked = check_in_range("Exercise 3", "mse_nearest", mse_nearest, 0.002, 0.03, quick_range=(0.003, 0.2))
    check_in_range("Exercise 3", "mse_bilinear", mse_bilinear, 0.002, 0.03, quick_range=(0.003, 0.2))
    check_last_test_mse("Exercise 3", "mse_nearest", mse_nearest, "ex03_nearest")
    bilinear_run = check_last_test_mse("Exercise 3", "mse_bilinear", mse_bilinear, "ex03_bilinear")
    if bilinear_run is not None and "bilinear" not in str(bilinear_run[1].get("architecture", "")):
        raise CheckFailed("Exercise 3: the run saved as ex03_bilinear has no bilinear upsampling: switch the "
                          "model's nn.Upsample layers to 'bilinear' before training it (delete "
                          "checkpoints/ex03_bilinear.pt first: a finished run is not trained again).")
    if checked:
        lower = "bilinear" if mse_bilinear < mse_nearest else "nearest"
        passed(f"both runs measured: nearest {mse_nearest:.5f}, bilinear {mse_bilinear:.5f} ({lower} lower).")
