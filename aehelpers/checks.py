"""Self-checks for the exercise notebooks (``notebooks/exercises/``): each says what is right or what is wrong.

Why a module of its own: an exercise without feedback leaves a learner guessing whether a shape, a
parameter count or a score is right. Each check here looks at what the learner built or measured and
either prints a short "✓ ..." line or raises an exception whose message names the problem, the value
expected (a shape, a count, a range) and where to look. The checks live in the package, not in the
notebooks, so that ``tests/test_checks.py`` can prove that each one rejects a typical wrong answer.

Two exceptions, both shown in Jupyter as their message alone (no traceback from inside this package):

- :class:`ExerciseNotDone`: a ``...`` placeholder (or ``None``) is still there. An untouched exercise
  notebook run from the top stops at the first exercise with this message.
- :class:`CheckFailed`: the answer is there but wrong; the message says how.

The checks of lesson 1's exercises start with ``l01_``, those of lesson 2's with ``l02_``, and so on
(``l03_``, ``l04a_``, ``l04b_``, ``l05_``, ``l06_``, ``l07_``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

from .anomaly import auroc
from .data import add_noise
from .evaluation import model_device, predict
from .metrics import mse_per_image
from .models import count_parameters
from .pca import fit_pca
from .runtime import is_quick


class _MessageOnly(Exception):
    """An exception that Jupyter shows as its message only, without a traceback."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    def _render_traceback_(self) -> list[str]:
        # IPython calls this hook, when it exists, instead of formatting the traceback: the learner
        # sees the message, not the lines of this package that raised it.
        return [f"{type(self).__name__}: {line}" if i == 0 else line for i, line in enumerate(str(self).splitlines())]


class ExerciseNotDone(_MessageOnly):
    """An exercise still holds a ``...`` placeholder: the message says which name to fill in."""


class CheckFailed(_MessageOnly):
    """An exercise's answer is there but wrong: the message says what is wrong and what was expected."""


def passed(message: str) -> None:
    """Print the short line that tells the learner a check passed."""
    print(f"✓ {message}")


def require(exercise: str, **values: object) -> None:
    """Raise :class:`ExerciseNotDone` if any of ``values`` is still ``...`` (Ellipsis) or ``None``.

    ``exercise`` names the exercise ("Exercise 2"); the keyword names are the notebook's variable names.
    """
    for name, value in values.items():
        if value is Ellipsis or value is None:
            raise ExerciseNotDone(
                f"{exercise} is not done yet: fill in `{name}` in the cell above (replace the `...`), "
                "then run that cell and this one again."
            )


def check_shape(exercise: str, what: str, tensor: object, expected: Sequence[int]) -> None:
    """Raise :class:`CheckFailed` unless ``tensor`` is a tensor of shape ``expected``."""
    if not isinstance(tensor, torch.Tensor):
        raise CheckFailed(f"{exercise}: {what} should be a tensor of shape {tuple(expected)}, "
                          f"got a {type(tensor).__name__}.")
    if tuple(tensor.shape) != tuple(expected):
        raise CheckFailed(f"{exercise}: {what} has shape {tuple(tensor.shape)}; expected {tuple(expected)}.")


def check_in_range(exercise: str, what: str, value: object, low: float, high: float,
                   quick_range: tuple[float, float] | None = None) -> bool:
    """Check that ``low <= value <= high``; in quick mode use ``quick_range`` instead, or skip when it is ``None``.

    Quick mode trains on a small slice for one epoch, so a range meant for the full exercise would
    fail there for no fault of the learner's. ``what`` starts with the notebook's variable name (the
    rest describes it). Returns whether the range was checked (``False``: skipped).
    """
    require(exercise, **{what.split()[0]: value})
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise CheckFailed(f"{exercise}: {what} should be a number, got a {type(value).__name__} ({value!r}).")
    if is_quick():
        if quick_range is None:
            print(f"(skipped the range check of {what}: quick mode trains too little for the full run's range)")
            return False
        low, high = quick_range
    if not low <= value <= high:
        mode = " in quick mode" if is_quick() else ""
        raise CheckFailed(f"{exercise}: {what} is {value:.5g}, outside the expected range{mode} {low:g} to {high:g}. "
                          "Check the settings against the exercise's text (images, epochs, batch size), and that "
                          "the model is the one you trained.")
    return True


def output_spread_on_constant_input(module: nn.Module, shape: Sequence[int], margin: int) -> float:
    """Largest minus smallest output value of any one channel on an all-ones input of ``shape``, ``margin``
    pixels from each border.

    The border is left out because zero padding makes it differ even for a perfectly even layer; each
    channel is measured on its own because channels may differ by a constant without any pattern.
    0 means a flat output: the module made no pattern of its own (lesson 3's test for checkerboards).
    """
    with torch.no_grad():
        output = module(torch.ones(*shape))
    middle = (output[..., margin:-margin, margin:-margin] if margin else output).flatten(-2)
    return (middle.amax(dim=-1) - middle.amin(dim=-1)).max().item()


# Lesson 1 (notebooks/01_conv_autoencoder.ipynb)


def l01_padding(padding: object) -> None:
    """Exercise 1 of lesson 1: the padding that keeps a 5x5 convolution at 28x28 (out = in + 2p - k + 1)."""
    require("Exercise 1", padding=padding)
    if not isinstance(padding, int) or isinstance(padding, bool):
        raise CheckFailed(f"Exercise 1: `padding` should be a whole number of pixels, got {padding!r}.")
    out = 28 + 2 * padding - 5 + 1
    if out != 28:
        raise CheckFailed(f"Exercise 1: with padding {padding} a 5x5 convolution turns 28x28 into {out}x{out} "
                          f"((28 + 2*{padding} - 5) / 1 + 1 = {out}). Solve 28 + 2*p - 5 + 1 = 28 for p.")
    passed(f"padding {padding}: a 5x5 convolution keeps 28x28 ((28 + 2*{padding} - 5) / 1 + 1 = 28).")


# Exercise 2 of lesson 1: lesson 1's model with 8 code channels. Each layer's weights + biases:
# conv 1->16 3x3, conv 16->8 3x3, transpose conv 8->16 2x2, transpose conv 16->1 2x2.
L01_CODE8_LAYERS = {"Conv2d 1->16 3x3": 1 * 16 * 9 + 16, "Conv2d 16->8 3x3": 16 * 8 * 9 + 8,
                    "ConvTranspose2d 8->16 2x2": 8 * 16 * 4 + 16, "ConvTranspose2d 16->1 2x2": 16 * 1 * 4 + 1}
L01_CODE8_PARAMETERS = sum(L01_CODE8_LAYERS.values())


def _run_shapes(exercise: str, model: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode and decode two blank digits; a layer that does not fit its input becomes a CheckFailed."""
    images = torch.zeros(2, 1, 28, 28)
    try:
        with torch.no_grad():
            code = model.encode(images)
            output = model.decode(code)
    except RuntimeError as err:
        raise CheckFailed(f"{exercise}: two digits of shape (2, 1, 28, 28) did not go through the model: "
                          f"{str(err).splitlines()[0]} Compare each layer's channels with the one before it "
                          "(`ae.print_layer_shapes` shows where it breaks).") from None
    return code, output


def l01_code8_model(model: object, predicted_parameters: object) -> None:
    """Exercise 2 of lesson 1: an autoencoder with an 8x7x7 code, and the learner's parameter count."""
    require("Exercise 2", model=model)
    require("Exercise 2", encoder=getattr(model, "encoder", None), decoder=getattr(model, "decoder", None))
    if not isinstance(model, nn.Module) or not hasattr(model, "encode"):
        raise CheckFailed("Exercise 2: `model` should be an instance of your class, a subclass of ae.Autoencoder.")
    code, output = _run_shapes("Exercise 2", model)
    check_shape("Exercise 2", "the code of 2 digits", code, (2, 8, 7, 7))
    check_shape("Exercise 2", "the output for 2 digits", output, (2, 1, 28, 28))
    if output.min() < 0 or output.max() > 1:
        raise CheckFailed("Exercise 2: the output leaves the pixel range 0..1: end the decoder with nn.Sigmoid().")
    actual = count_parameters(model)
    if actual != L01_CODE8_PARAMETERS:
        layers = ", ".join(f"{name}: {count}" for name, count in L01_CODE8_LAYERS.items())
        raise CheckFailed(f"Exercise 2: the model has {actual:,} parameters; lesson 1's layers with 8 code channels "
                          f"have {L01_CODE8_PARAMETERS:,} ({layers}). Compare with `model.named_parameters()`.")
    require("Exercise 2", predicted_parameters=predicted_parameters)
    if predicted_parameters != actual:
        raise CheckFailed(f"Exercise 2: you predicted {predicted_parameters!r} parameters; the model has {actual:,}. "
                          "Each layer has in x out x kernel x kernel weights plus one bias per output channel.")
    passed(f"code (8, 7, 7) = 392 values, output (1, 28, 28), {actual:,} parameters, as you predicted.")


def l01_code8_trained(test_mse: object, untrained_mse: object) -> None:
    """Exercise 3 of lesson 1: the brief training of the 8-channel model lowered the test MSE into range."""
    require("Exercise 3", test_mse=test_mse, untrained_mse=untrained_mse)
    if isinstance(test_mse, (int, float)) and isinstance(untrained_mse, (int, float)) and test_mse >= untrained_mse:
        raise CheckFailed(f"Exercise 3: the test MSE after training ({test_mse:.5f}) is not below the untrained "
                          f"model's ({untrained_mse:.5f}): did `ae.fit` train this model?")
    if check_in_range("Exercise 3", "test_mse", test_mse, 0.003, 0.03, quick_range=(0.003, 0.2)):
        passed(f"test MSE {test_mse:.5f}, in the expected range, down from {untrained_mse:.5f} untrained.")


def l01_guess(my_guess: object, choices: Sequence[str]) -> None:
    """Exercise 4 of lesson 1: the written-down guess is one of ``choices``."""
    require("Exercise 4", my_guess=my_guess)
    if my_guess not in choices:
        raise CheckFailed(f"Exercise 4: `my_guess` is {my_guess!r}; write one of {', '.join(map(repr, choices))}.")
    passed(f"your guess is written down: {my_guess!r}. Now measure.")


def l01_batch_sizes(mse_16: object, mse_256: object, my_guess: object) -> None:
    """Exercise 4 of lesson 1: both runs measured; compare with the guess (a wrong guess is no failure)."""
    require("Exercise 4", mse_16=mse_16, mse_256=mse_256)
    checked = check_in_range("Exercise 4", "mse_16 (batch 16)", mse_16, 0.003, 0.04, quick_range=(0.003, 0.2))
    check_in_range("Exercise 4", "mse_256 (batch 256)", mse_256, 0.005, 0.2, quick_range=(0.005, 0.3))
    outcome = "16" if mse_16 < mse_256 else "256"
    if checked and not is_quick() and outcome != "16":
        raise CheckFailed(f"Exercise 4: batch 256 ended lower ({mse_256:.5f}) than batch 16 ({mse_16:.5f}), "
                          "which the full run should not do: check that both runs used the same images and epochs.")
    verdict = "as you guessed" if my_guess == outcome else f"you guessed {my_guess!r}"
    passed(f"batch {outcome} ended with the lower test MSE ({mse_16:.5f} with 16, {mse_256:.5f} with 256): {verdict}.")


def l01_mean_codes(mean_codes: object, model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> None:
    """Exercise 5 of lesson 1: row d of ``mean_codes`` is the average code of the images labelled d."""
    require("Exercise 5", mean_codes=mean_codes)
    with torch.no_grad():
        codes = model.encode(images)
    check_shape("Exercise 5", "`mean_codes`", mean_codes, (10, *codes.shape[1:]))
    for digit in range(10):
        expected = codes[labels == digit].mean(dim=0)
        if not torch.allclose(mean_codes[digit].float(), expected, rtol=1e-4, atol=1e-5):
            raise CheckFailed(f"Exercise 5: row {digit} of `mean_codes` is not the average code of the test {digit}s. "
                              f"Select them with `codes[labels == {digit}]` and average over the images (dim=0).")
    passed("mean_codes (10, 4, 7, 7): row d is the average code of the test images of digit d.")


def l01_typical_digits(typical: object, mean_codes: torch.Tensor, model: nn.Module) -> None:
    """Exercise 5 of lesson 1: ``typical`` is ``model.decode(mean_codes)``."""
    require("Exercise 5", typical=typical)
    check_shape("Exercise 5", "`typical`", typical, (10, 1, 28, 28))
    with torch.no_grad():
        expected = model.decode(mean_codes)
    if not torch.allclose(typical.float(), expected, atol=1e-5):
        raise CheckFailed("Exercise 5: `typical` is not `model.decode(mean_codes)`: decode the average codes, "
                          "do not average the images.")
    passed("typical (10, 1, 28, 28): the decoded average code of each digit.")


# Lesson 3 (notebooks/03_upsampling_autoencoder.ipynb)

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
    if checked:
        lower = "bilinear" if mse_bilinear < mse_nearest else "nearest"
        passed(f"both runs measured: nearest {mse_nearest:.5f}, bilinear {mse_bilinear:.5f} ({lower} lower).")


def _check_guess(exercise: str, my_guess: object, choices: Sequence[str]) -> None:
    """A predict-then-measure guess is written down and is one of ``choices``."""
    require(exercise, my_guess=my_guess)
    if my_guess not in choices:
        raise CheckFailed(f"{exercise}: `my_guess` is {my_guess!r}; write one of {', '.join(map(repr, choices))}.")
    passed(f"your guess is written down: {my_guess!r}. Now measure.")


def _run_or_not_done(exercise: str, where: str, fn: Callable[..., torch.Tensor], *args: object) -> torch.Tensor:
    """Call ``fn(*args)`` without gradients; a ``...`` left in the learner's code becomes :class:`ExerciseNotDone`.

    Why: a placeholder inside a function body (``x = ...`` in ``forward``) only shows up when the function
    runs, as a TypeError from deep inside PyTorch that names an "ellipsis"; the learner should see instead
    which placeholder to fill in. Any other error of the shapes becomes a :class:`CheckFailed`.
    """
    try:
        with torch.no_grad():
            return fn(*args)
    except TypeError as err:
        if "ellipsis" in str(err):
            raise ExerciseNotDone(f"{exercise} is not done yet: fill in {where} in the cell above (replace the "
                                  "`...`), then run that cell and this one again.") from None
        raise CheckFailed(f"{exercise}: running {where} failed: {str(err).splitlines()[0]}") from None
    except RuntimeError as err:
        raise CheckFailed(f"{exercise}: running {where} failed: {str(err).splitlines()[0]} Compare each layer's "
                          "channels with what reaches it.") from None


# Lesson 2 (notebooks/02_denoising_autoencoder.ipynb)

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
    output = _run_or_not_done("Exercise 1", "`x` in `forward`", model, images)
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
    _check_guess("Exercise 2", my_guess, choices)


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
    first = _run_or_not_done("Exercise 3", where, random_noisy, grey, torch.Generator().manual_seed(0))
    check_shape("Exercise 3", "random_noisy(images, generator)", first, tuple(grey.shape))
    if first.min() < 0 or first.max() > 1:
        raise CheckFailed("Exercise 3: the noisy images leave the pixel range 0..1: add the noise with `ae.add_noise`, "
                          "which clips.")
    again = _run_or_not_done("Exercise 3", where, random_noisy, grey, torch.Generator().manual_seed(0))
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
    better = [level for level in L02_LEVELS if psnr_range[level] > psnr_fixed[level]]
    mode = " (quick mode: barely trained models)" if is_quick() else ""
    passed(f"both denoisers measured at {len(L02_LEVELS)} levels{mode}; the one trained on a range of levels is "
           f"ahead at {better or 'none'}.")


# Lesson 5 (notebooks/05_autoencoder_vs_pca.ipynb)

L05_K = 32  # the number of components of exercise 1


def l05_mean(mean: object, subset: torch.Tensor) -> None:
    """Exercise 1 of lesson 5: ``mean`` is the mean image of ``subset``, flattened to (784,)."""
    require("Exercise 1", mean=mean)
    check_shape("Exercise 1", "`mean`", mean, (subset[0].numel(),))
    expected = subset.flatten(1).double().mean(dim=0)
    if not torch.allclose(mean.double(), expected, atol=1e-6):
        raise CheckFailed("Exercise 1: `mean` is not the mean image of `subset`: average the flattened images over "
                          "the image axis, `flat.mean(dim=0)`.")
    passed(f"mean: the mean image, {tuple(mean.shape)}.")


def l05_components(components: object, subset: torch.Tensor) -> None:
    """Exercise 1 of lesson 5: ``components`` are the first 32 principal components of ``subset`` (any sign)."""
    require("Exercise 1", components=components)
    pixels = subset[0].numel()
    check_shape("Exercise 1", "`components`", components, (L05_K, pixels))
    basis = components.double()
    gram = basis @ basis.T
    if not torch.allclose(gram, torch.eye(L05_K, dtype=gram.dtype), atol=1e-4):
        raise CheckFailed("Exercise 1: the rows of `components` are not orthonormal (length 1, at right angles to "
                          "each other): take rows of `vh`, which torch.linalg.svd returns orthonormal.")
    # Rows of vh may differ from fit_pca's components in sign; compare what they capture instead.
    flat = subset.flatten(1).double()
    centred = flat - flat.mean(dim=0)
    reference = fit_pca(subset, L05_K).components
    captured, best = ((centred @ b.T).square().sum().item() for b in (basis, reference))
    if captured < best * (1 - 1e-6):
        raise CheckFailed(f"Exercise 1: the rows of `components` capture {captured / best:.1%} of the variance that "
                          f"PCA's first {L05_K} components capture: take the first {L05_K} rows of `vh` (`vh[:k]`), "
                          "which torch.linalg.svd sorts strongest first, from the SVD of the centred images.")
    passed(f"components: {L05_K} orthonormal rows spanning the same directions as ae.fit_pca's first {L05_K}.")


def l05_guess(my_guess: object, choices: Sequence[str]) -> None:
    """Exercise 2 of lesson 5: the written-down guess is one of ``choices``."""
    _check_guess("Exercise 2", my_guess, choices)


def l05_ratio(mse_8: object, mse_32: object, my_guess: object) -> None:
    """Exercise 2 of lesson 5: PCA's test MSE with 8 and with 32 components, in range; their ratio against the guess."""
    require("Exercise 2", mse_8=mse_8, mse_32=mse_32)
    check_in_range("Exercise 2", "mse_8 (PCA, k = 8)", mse_8, 0.03, 0.045, quick_range=(0.025, 0.06))
    check_in_range("Exercise 2", "mse_32 (PCA, k = 32)", mse_32, 0.012, 0.02, quick_range=(0.01, 0.035))
    ratio = mse_8 / mse_32
    outcome = "under 1.5" if ratio < 1.5 else ("1.5 to 3" if ratio <= 3 else "over 3")
    verdict = "as you guessed" if my_guess == outcome else f"you guessed {my_guess!r}"
    passed(f"k = 8 has {ratio:.2f} times the error of k = 32 ({mse_8:.5f} against {mse_32:.5f}): {verdict}.")


def l05_dense_model(model: object) -> None:
    """Exercise 3 of lesson 5: a dense autoencoder with a 2-value code: code and output shapes, pixels in [0, 1]."""
    require("Exercise 3", model=model)
    require("Exercise 3", encoder=getattr(model, "encoder", None), decoder=getattr(model, "decoder", None))
    if not isinstance(model, nn.Module) or not hasattr(model, "encode"):
        raise CheckFailed("Exercise 3: `model` should be an instance of your class, a subclass of ae.Autoencoder.")
    images = torch.rand(2, 1, 28, 28)
    code = _run_or_not_done("Exercise 3", "the encoder", model.encode, images)
    check_shape("Exercise 3", "the code of 2 digits", code, (2, 2))
    output = _run_or_not_done("Exercise 3", "the decoder", model.decode, code)
    check_shape("Exercise 3", "the output for 2 digits", output, (2, 1, 28, 28))
    if output.min() < 0 or output.max() > 1:
        raise CheckFailed("Exercise 3: the output leaves the pixel range 0..1: end the decoder with nn.Sigmoid() "
                          "(before the nn.Unflatten).")
    passed(f"code (2,), output (1, 28, 28) in [0, 1]; {count_parameters(model):,} parameters.")


def l05_dense_trained(mse_dense: object, mse_pca: object) -> None:
    """Exercise 3 of lesson 5: the brief training of the dense 2-value autoencoder: test MSE in range, against PCA."""
    require("Exercise 3", mse_dense=mse_dense, mse_pca=mse_pca)
    checked = check_in_range("Exercise 3", "mse_dense", mse_dense, 0.025, 0.065, quick_range=(0.02, 0.25))
    if checked:
        lower = "the dense autoencoder" if mse_dense < mse_pca else "PCA"
        passed(f"test MSE with a 2-value code: dense autoencoder {mse_dense:.4f}, PCA {mse_pca:.4f} ({lower} lower).")


# Lesson 4a (notebooks/04a_flowers_course_classifiers.ipynb)


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
        output = _run_or_not_done("Exercise 1", f"`course_head({side})`", head.eval(), torch.zeros(2, 16, side, side))
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
    _check_guess("Exercise 2", my_guess, L04A_GAP_CHOICES)


def _gap_outcome(gap: float) -> str:
    return L04A_GAP_CHOICES[0] if gap < 20 else (L04A_GAP_CHOICES[1] if gap <= 60 else L04A_GAP_CHOICES[2])


def l04a_overfit(train_accuracy: object, val_accuracy: object, my_guess: object) -> None:
    """Exercise 2 of lesson 4a: final training and validation accuracy (percent) in range; the gap against the guess."""
    require("Exercise 2", train_accuracy=train_accuracy, val_accuracy=val_accuracy)
    check_in_range("Exercise 2", "train_accuracy (%, last epoch)", train_accuracy, 20.0, 100.0)
    check_in_range("Exercise 2", "val_accuracy (%, last epoch)", val_accuracy, 0.0, 25.0)
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
    gap, plain_gap = train_aug - val_aug, train_accuracy - val_accuracy
    passed(f"with augmentation: training {train_aug:.1f} %, validation {val_aug:.1f} % (gap {gap:.1f} points); "
           f"without: gap {plain_gap:.1f} points.")


# Lesson 4b (notebooks/04b_flowers_residual_classifier.ipynb)


def _zero_body(block: nn.Module) -> nn.Module:
    """A copy of ``block`` in eval mode whose body outputs 0 (every weight of ``block.body`` set to 0)."""
    cut = copy.deepcopy(block).eval()
    with torch.no_grad():
        for weight in cut.body.parameters():
            weight.zero_()
    return cut


def l04b_residual_block(block_class: object) -> None:
    """Exercise 1 of lesson 4b: shapes, the shortcut really added (identity or 1x1 stride-2), the parameter count."""
    from .classifiers import ResidualBlock  # the package's block, to compare parameter counts with

    require("Exercise 1", MyResidualBlock=block_class)
    images = torch.rand(2, 16, 8, 8, generator=torch.Generator().manual_seed(0))
    for in_channels, out_channels, stride in ((16, 16, 1), (16, 32, 2)):
        call = f"MyResidualBlock({in_channels}, {out_channels}, stride={stride})"
        block = block_class(in_channels, out_channels, stride=stride)
        if getattr(block, "shortcut", None) is Ellipsis:
            raise ExerciseNotDone("Exercise 1 is not done yet: fill in `self.shortcut` in the cell above (replace "
                                  "the `...`), then run that cell and this one again.")
        output = _run_or_not_done("Exercise 1", "`forward`", block.eval(), images)
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
    if not isinstance(best_probability, (int, float)) or abs(best_probability - expected) > 1e-3:
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
        mine = _run_or_not_done("Exercise 2", "`smoothed_cross_entropy`", smoothed_cross_entropy, logits, targets,
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
    check_in_range("Exercise 3", "val_plain (%, best epoch)", val_plain, 0.5, 40.0)
    check_in_range("Exercise 3", "val_smoothed (%, best epoch)", val_smoothed, 0.5, 40.0)
    difference = val_smoothed - val_plain
    photo = 100 / val_count
    passed(f"validation top-1: {val_plain:.1f} % plain, {val_smoothed:.1f} % smoothed ({difference:+.1f} points; "
           f"one validation photo is {photo:.2f} points).")


# Lesson 6 (notebooks/06_variational_autoencoder.ipynb)


def _as_number(exercise: str, name: str, value: object) -> float:
    """``value`` as a Python float: a number or a one-element tensor; a tensor of many values is a CheckFailed."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise CheckFailed(f"{exercise}: {name} is a tensor of shape {tuple(value.shape)}, one value per image; "
                              "take the mean over the images as one number: `.mean().item()`.")
        return value.item()
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise CheckFailed(f"{exercise}: {name} should be a number, got a {type(value).__name__} ({value!r}).")
    return float(value)


def l06_codes(codes: object, mean: torch.Tensor, log_var: torch.Tensor, noise: torch.Tensor) -> None:
    """Exercise 1 of lesson 6: the reparameterisation trick, ``codes = mean + exp(0.5 * log_var) * noise``."""
    require("Exercise 1", codes=codes)
    check_shape("Exercise 1", "`codes`", codes, tuple(mean.shape))
    std = torch.exp(0.5 * log_var)
    expected = mean + std * noise
    if torch.allclose(codes, expected, atol=1e-5):
        passed(f"codes = mean + exp(0.5 * log_var) * noise, {tuple(codes.shape)}: one code drawn per image.")
        return
    # The usual slips, each named: why the learner's codes differ, not only that they do.
    mistakes = [
        (mean + torch.exp(log_var) * noise, "the noise is scaled by the variance exp(log_var); scale it by the "
                                            "standard deviation, its square root: exp(0.5 * log_var)"),
        (mean + log_var * noise, "the noise is scaled by log_var itself, which can be negative; the standard "
                                 "deviation is exp(0.5 * log_var)"),
        (mean + noise, "the noise is not scaled: multiply it by the standard deviation exp(0.5 * log_var)"),
        (mean, "there is no noise: the codes are the means; add exp(0.5 * log_var) * noise"),
        (std * noise, "the mean is missing: add `mean` to the scaled noise"),
    ]
    for wrong, why in mistakes:
        if torch.allclose(codes, wrong, atol=1e-5):
            raise CheckFailed(f"Exercise 1: {why}.")
    worst = (codes - expected).abs().max().item()
    raise CheckFailed(f"Exercise 1: `codes` differs from mean + exp(0.5 * log_var) * noise by up to {worst:.3g}. "
                      "Use the `noise` given in the cell (not fresh random numbers), and the formula exactly.")


def l06_kl(kl: object, mean: torch.Tensor, log_var: torch.Tensor) -> None:
    """Exercise 1 of lesson 6: the KL term per image, 0.5 * sum_j(mean_j^2 + var_j - 1 - log var_j), shape (N,).

    Compared with this check's own closed form and with ``ae.elbo_terms`` (which the lesson trains with),
    so a learner's formula is tested against the code the lesson actually uses.
    """
    from .vae import VAEOutput, elbo_terms  # lesson 6's loss; imported here as no other check needs it

    require("Exercise 1", kl=kl)
    expected = 0.5 * (mean.pow(2) + log_var.exp() - 1 - log_var).sum(dim=1)
    dummy = torch.zeros(len(mean), 1, 28, 28)  # elbo_terms needs pixels too; only its KL term is used here
    library = elbo_terms(VAEOutput(dummy, mean, log_var), dummy)[1]
    if not isinstance(kl, torch.Tensor):
        raise CheckFailed(f"Exercise 1: `kl` should be a tensor of shape ({len(mean)},), one value per image, "
                          f"got a {type(kl).__name__}.")
    if tuple(kl.shape) == tuple(mean.shape):
        raise CheckFailed(f"Exercise 1: `kl` has shape {tuple(kl.shape)}, one value per image and code value: sum "
                          "over the code values (`.sum(dim=1)`) to get one number per image.")
    if kl.numel() == 1:
        raise CheckFailed(f"Exercise 1: `kl` is one number; it should have one value per image, shape ({len(mean)},): "
                          "sum over the code values only (`.sum(dim=1)`), not over the images too.")
    check_shape("Exercise 1", "`kl`", kl, (len(mean),))
    if torch.allclose(kl, 2 * expected, rtol=1e-4, atol=1e-4):
        raise CheckFailed("Exercise 1: `kl` is twice the KL divergence: the formula starts with a factor 0.5.")
    if not torch.allclose(kl, expected, rtol=1e-4, atol=1e-4):
        raise CheckFailed(f"Exercise 1: the first image's `kl` is {kl[0].item():.4f} nats; the closed form "
                          f"0.5 * sum(mean^2 + exp(log_var) - 1 - log_var) gives {expected[0].item():.4f}. The "
                          "variance is exp(log_var), and log var is log_var itself.")
    assert torch.allclose(expected, library, rtol=1e-4, atol=1e-4), "ae.elbo_terms and the closed form disagree"
    passed(f"KL per image, {tuple(kl.shape)}, the same as ae.elbo_terms: mean {kl.mean().item():.2f} nats over "
           f"these {len(kl)} images.")


L06_DROP_CHOICES = ("under 1 nat", "1 to 10 nats", "over 10 nats")
L06_SAMPLES = (1, 10, 100)  # exercise 2's numbers of importance samples K


def l06_guess(my_guess: object) -> None:
    """Exercise 2 of lesson 6: the written-down guess is one of ``L06_DROP_CHOICES``."""
    _check_guess("Exercise 2", my_guess, L06_DROP_CHOICES)


def _drop_outcome(drop: float) -> str:
    return L06_DROP_CHOICES[0] if drop < 1 else (L06_DROP_CHOICES[1] if drop <= 10 else L06_DROP_CHOICES[2])


def l06_importance(nll: object, model: nn.Module, images: torch.Tensor, my_guess: object,
                   tolerance: float = 3.0) -> None:
    """Exercise 2 of lesson 6: ``nll`` maps K = 1, 10, 100 to the mean importance-weighted -log p(x) on ``images``.

    The check recomputes K = 1 and K = 10 itself (seed 0; K = 100 would double the exercise's time) and
    accepts the learner's values within ``tolerance`` nats, as another seed moves a mean over a few hundred
    images by well under a nat. K = 100 must not lie above K = 10: on average the estimate only falls as K grows.
    """
    from .vae import importance_weighted_nll

    require("Exercise 2", nll=nll)
    if not isinstance(nll, Mapping) or set(nll) != set(L06_SAMPLES):
        keys = sorted(nll) if isinstance(nll, Mapping) else type(nll).__name__
        raise CheckFailed(f"Exercise 2: `nll` should be a dict with the keys 1, 10 and 100 (the numbers of samples K), "
                          f"got {keys}.")
    values = {samples: _as_number("Exercise 2", f"nll[{samples}]", nll[samples]) for samples in L06_SAMPLES}
    for samples, value in values.items():
        if value <= 0:
            raise CheckFailed(f"Exercise 2: nll[{samples}] is {value:.2f}: an estimate of -log p(x) is positive (a "
                              "probability below 1 has a negative log). Keep the minus sign that "
                              "ae.importance_weighted_nll already applies.")
    for samples in L06_SAMPLES[:2]:
        reference = importance_weighted_nll(model, images, samples=samples, seed=0).mean().item()
        value = values[samples]
        if abs(value - reference) <= tolerance:
            continue
        if len(images) > 1 and abs(value - len(images) * reference) < tolerance * len(images):
            raise CheckFailed(f"Exercise 2: nll[{samples}] is {value:.1f}, about {len(images)} times the mean: take "
                              "the mean over the images (`.mean()`), not the sum.")
        raise CheckFailed(f"Exercise 2: nll[{samples}] is {value:.2f} nats; the check measures {reference:.2f} "
                          f"(K = {samples}, seed 0, the same {len(images)} images). Use "
                          f"ae.importance_weighted_nll(vae, scored, samples={samples}) on the binarised images "
                          "`scored`, averaged over them.")
    if values[100] > values[10] + 1.0:
        raise CheckFailed(f"Exercise 2: nll[100] is {values[100]:.2f}, above nll[10] = {values[10]:.2f}; more samples "
                          "can only tighten the estimate, on average. Did you pass samples=100?")
    drop = values[1] - values[100]
    outcome = _drop_outcome(drop)
    verdict = "as you guessed" if my_guess == outcome else f"you guessed {my_guess!r}"
    estimates = ", ".join(f"K = {samples}: {value:.2f}" for samples, value in values.items())
    passed(f"-log p(x) estimates (nats) {estimates}. K = 100 lies {drop:.2f} nats below K = 1, {outcome}: {verdict}.")


L06_ACTIVE_THRESHOLD = 0.01  # Burda et al. (2016): a unit is active when Var_x(mu_j(x)) exceeds this


def l06_active_units(means: object, unit_variance: object, active: object, model: nn.Module,
                     images: torch.Tensor, rows: int = 200) -> None:
    """Exercise 3 of lesson 6: the encoder's means, each code value's variance over the images, the active count.

    ``means`` is checked against the model on its first ``rows`` rows only (encoding them all again would
    double the exercise's time); the variance and the count against this check's own computation from ``means``.
    """
    exercise = "Exercise 3"
    require(exercise, means=means)
    latent_size = model.latent_size
    check_shape(exercise, "`means`", means, (len(images), latent_size))
    with torch.inference_mode():
        mean, log_var = (t.cpu() for t in model.encode(images[:rows].to(model_device(model))))
    if torch.allclose(means[:rows], log_var, atol=1e-3):
        raise CheckFailed(f"{exercise}: `means` holds the log-variances, the encoder's second output: take the first, "
                          "`mean, log_var = vae.encode(batch)`.")
    if not torch.allclose(means[:rows], mean, atol=1e-3):
        raise CheckFailed(f"{exercise}: the rows of `means` are not the encoder's means for `test_binary`: encode the "
                          "binarised test images in order (`vae.encode(batch)[0]` for each batch), and join the "
                          "batches with torch.cat.")
    require(exercise, unit_variance=unit_variance)
    if isinstance(unit_variance, torch.Tensor) and tuple(unit_variance.shape) == (len(images),):
        raise CheckFailed(f"{exercise}: `unit_variance` has one value per image: take the variance over the images, "
                          f"`means.var(dim=0)`, one value per code value ({latent_size}).")
    check_shape(exercise, "`unit_variance`", unit_variance, (latent_size,))
    candidates = [means.var(dim=0), means.var(dim=0, correction=0)]  # either convention is fine
    if not any(torch.allclose(unit_variance, c, rtol=1e-3, atol=1e-7) for c in candidates):
        if torch.allclose(unit_variance, means.std(dim=0), rtol=1e-3, atol=1e-7):
            raise CheckFailed(f"{exercise}: `unit_variance` is the standard deviation; the test is on the variance, "
                              "its square: `means.var(dim=0)`.")
        raise CheckFailed(f"{exercise}: `unit_variance` is not the variance of each column of `means` over the images: "
                          "`means.var(dim=0)`.")
    require(exercise, active=active)
    if isinstance(active, torch.Tensor) and active.numel() == 1:
        active = active.item()
    counts = {int((c > L06_ACTIVE_THRESHOLD).sum()) for c in candidates}
    if not isinstance(active, int) or isinstance(active, bool) or active not in counts:
        raise CheckFailed(f"{exercise}: `active` is {active!r}; it should be the number of code values whose variance "
                          f"exceeds {L06_ACTIVE_THRESHOLD}: `int((unit_variance > {L06_ACTIVE_THRESHOLD}).sum())`.")
    passed(f"{active} of {latent_size} code values are active (variance of their mean over the images above "
           f"{L06_ACTIVE_THRESHOLD}); {latent_size - active} are not.")


# Lesson 7 (notebooks/07_anomaly_detection.ipynb)

L07_NORMAL_DIGIT = 1  # exercise 2: the shipped autoencoder of the 1s ...
L07_ANOMALY_DIGIT = 7  # ... with only the 7s as anomalies
L07_GUESS_CHOICES = ("higher", "lower", "about the same")
# Exercise 2: near 100 % the AUROCs differ by little, so compare what each gets wrong, the share of
# (anomaly, normal) pairs in the wrong order (1 - AUROC): within a factor 1.25 of each other is "about the same".
L07_SAME_RATIO = 1.25


def _l07_number(exercise: str, name: str, value: object) -> float:
    """``value`` as a float: a Python number or a one-element tensor; anything else is a CheckFailed."""
    require(exercise, **{name: value})
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise CheckFailed(f"{exercise}: `{name}` should be one number, got a {type(value).__name__} ({value!r}).")
    return float(value)


def _l07_check_auroc(exercise: str, name: str, value: object, expected: float, how: str) -> float:
    """``value`` is the AUROC ``expected`` (a fraction in [0, 1]); ``how`` says how to compute it."""
    value = _l07_number(exercise, name, value)
    if 1 < value <= 100 and abs(value / 100 - expected) < 1e-6:
        raise CheckFailed(f"{exercise}: `{name}` is {value:.4g}, a percentage: keep the fraction that ae.auroc "
                          f"returns ({expected:.4f}); the printout turns it into percent.")
    if abs(value - (1 - expected)) < 1e-6 and abs(expected - 0.5) > 1e-6:
        raise CheckFailed(f"{exercise}: `{name}` is {value:.4f}, one minus the right AUROC ({expected:.4f}): the "
                          "labels are the wrong way round. `is_anomaly` must be True for the anomalies.")
    if abs(value - expected) > 1e-6:
        raise CheckFailed(f"{exercise}: `{name}` is {value:.4f}; expected {expected:.4f}, {how}.")
    return value


def _l07_run(exercise: str, where: str, fn: Callable[..., object], *args: object) -> object:
    """Call ``fn(*args)`` without gradients; a ``...`` left in it becomes :class:`ExerciseNotDone`.

    Like :func:`_run_or_not_done`, but for code that compares scores rather than runs layers: a
    placeholder shows up as a TypeError or an AttributeError naming "ellipsis", and the usual other
    error is averaging a bool tensor.
    """
    not_done = ExerciseNotDone(f"{exercise} is not done yet: fill in {where} in the cell above (replace the `...`), "
                               "then run that cell and this one again.")
    try:
        with torch.no_grad():
            result = fn(*args)
    except (TypeError, AttributeError) as err:
        if "ellipsis" in str(err):
            raise not_done from None
        raise CheckFailed(f"{exercise}: running {where} failed: {str(err).splitlines()[0]}") from None
    except RuntimeError as err:
        raise CheckFailed(f"{exercise}: running {where} failed: {str(err).splitlines()[0]} (A tensor of bools has "
                          "no mean: turn it into numbers first, with `.float()`.)") from None
    if result is Ellipsis or result is None:
        raise not_done
    return result


def l07_scores(scores: object, model: nn.Module, images: torch.Tensor) -> None:
    """Exercise 1 of lesson 7: ``scores`` is the autoencoder's reconstruction error of each image, shape (N,)."""
    require("Exercise 1", scores=scores)
    expected = mse_per_image(predict(model, images), images)
    if isinstance(scores, torch.Tensor) and scores.numel() == 1 and len(images) > 1:
        raise CheckFailed(f"Exercise 1: `scores` is one number ({scores.item():.5f}), the average over all the images: "
                          f"the AUROC needs one score per image, shape ({len(images)},). `ae.mse_per_image` "
                          "averages over each image's pixels only.")
    check_shape("Exercise 1", "`scores`", scores, expected.shape)
    if torch.allclose(scores.float(), expected * images[0].numel(), rtol=1e-4):
        raise CheckFailed("Exercise 1: `scores` is the sum of the squared errors over each image's pixels; the lesson "
                          "scores with their mean, `ae.mse_per_image` (the same order, but the numbers of the lesson).")
    if not torch.allclose(scores.float(), expected, rtol=1e-4, atol=1e-7):
        raise CheckFailed("Exercise 1: `scores` is not the autoencoder's reconstruction error of each test image: "
                          "`ae.mse_per_image(ae.predict(model, test_images), test_images)` (ae.predict runs the model "
                          "in eval mode, as the lesson scored).")
    passed(f"scores {tuple(scores.shape)}: the mean squared error of each image's reconstruction.")


def l07_auroc_by_pairs(auroc_by_pairs: object, scores: torch.Tensor, is_anomaly: torch.Tensor) -> None:
    """Exercise 1 of lesson 7: ``auroc_by_pairs`` counts (anomaly, normal) pairs and agrees with ``ae.auroc``.

    Tried on a toy example with a tie, on random whole-number scores (many ties), and
    on the notebook's real ``scores``; each must equal :func:`auroc` on the same scores.
    """
    require("Exercise 1", auroc_by_pairs=auroc_by_pairs)
    where = "`auroc_by_pairs`"
    # Normal images score 0.1, 0.4 and 0.35, anomalies 0.35 and 0.8: of the 6 (anomaly, normal) pairs the
    # anomaly scores higher in 4, ties in 1 and is lower in 1, so the AUROC is (4 + 1/2) / 6 = 0.75.
    toy_scores = torch.tensor([0.1, 0.4, 0.35, 0.8, 0.35])
    toy_is_anomaly = torch.tensor([False, False, True, True, False])
    toy_text = ("(normal images scoring 0.1, 0.4 and 0.35, anomalies 0.35 and 0.8: of the 6 pairs the anomaly "
                "scores higher in 4, ties in 1, is lower in 1)")
    result = _l07_run("Exercise 1", where, auroc_by_pairs, toy_scores, toy_is_anomaly)
    if isinstance(result, torch.Tensor) and result.numel() > 1:
        raise CheckFailed(f"Exercise 1: `auroc_by_pairs` returned a tensor of shape {tuple(result.shape)}, one value "
                          "per pair: average them into one number (`.mean().item()`).")
    toy = _l07_number("Exercise 1", "auroc_by_pairs(...)", result)
    wrong = {4 / 6: "ties count 0 in yours: a tied pair counts 1/2",
             5 / 6: "ties count 1 in yours: a tied pair counts 1/2",
             1.5 / 6: "yours counts the pairs where the normal image scores higher: compare the anomaly's score "
                      "with the normal one's, `anomaly_scores[:, None] > normal_scores[None, :]`",
             4.5: "yours is the count, 4.5: divide by the number of pairs (or take the mean)"}
    for value, why in wrong.items():
        if abs(toy - value) < 1e-6:
            raise CheckFailed(f"Exercise 1: on a toy example {toy_text} your function gives {toy:.4f}, not 0.75: "
                              f"{why}.")
    if abs(toy - 0.75) > 1e-6:
        raise CheckFailed(f"Exercise 1: on a toy example {toy_text} your function gives {toy:.4f}; expected "
                          "(4 + 1/2) / 6 = 0.75.")
    generator = torch.Generator().manual_seed(0)
    tied_scores = torch.randint(0, 5, (60,), generator=generator).float()
    tied_labels = torch.arange(60) % 3 == 0
    cases = {"random whole-number scores (many ties)": (tied_scores, tied_labels),
             f"your {len(scores)} test images' scores": (scores, is_anomaly)}
    for name, (case_scores, case_labels) in cases.items():
        mine = _l07_number("Exercise 1", "auroc_by_pairs(...)",
                           _l07_run("Exercise 1", where, auroc_by_pairs, case_scores, case_labels))
        expected = auroc(case_scores, case_labels)
        if abs(mine - expected) > 1e-6:
            raise CheckFailed(f"Exercise 1: on {name} your function gives {mine:.6f}, ae.auroc {expected:.6f}. "
                              "Compare every anomaly with every normal image: a (A, N) table of 1 (higher), 1/2 "
                              "(tied) and 0 (lower), averaged.")
    passed(f"auroc_by_pairs agrees with ae.auroc: 0.75 on the toy example, {mine:.4f} on your test images' scores.")


def l07_guess(my_guess: object) -> None:
    """Exercise 2 of lesson 7: the written-down guess is one of ``L07_GUESS_CHOICES``."""
    _check_guess("Exercise 2", my_guess, L07_GUESS_CHOICES)


def _l07_outcome(value: float, reference: float) -> str:
    """Exercise 2's outcome, "higher", "lower" or "about the same": ``value`` against ``reference``, by their
    shares of pairs in the wrong order (1 - AUROC), which near 100 % tell more than the AUROCs' difference."""
    wrong, wrong_reference = 1 - value, 1 - reference
    if max(wrong, wrong_reference) <= L07_SAME_RATIO * min(wrong, wrong_reference):
        return "about the same"  # (also when both are perfect)
    return "higher" if wrong < wrong_reference else "lower"


def l07_sevens(auroc_all: object, auroc_sevens: object, scores: torch.Tensor, labels: torch.Tensor,
               my_guess: object) -> None:
    """Exercise 2 of lesson 7: the 1s' autoencoder's AUROC against all other digits and against the 7s alone.

    ``scores`` are its reconstruction errors of the test images labelled ``labels``. Both AUROCs are
    recomputed here; the outcome (higher, lower, about the same: see ``L07_SAME_RATIO``) is compared with the
    guess.
    """
    require("Exercise 2", auroc_all=auroc_all, auroc_sevens=auroc_sevens)
    normal, other = L07_NORMAL_DIGIT, L07_ANOMALY_DIGIT
    expected_all = auroc(scores, labels != normal)
    value_all = _l07_check_auroc("Exercise 2", "auroc_all", auroc_all, expected_all,
                                 f"ae.auroc(scores, test_labels != {normal}): every digit but {normal} is an anomaly")
    pair = (labels == normal) | (labels == other)
    expected_sevens = auroc(scores[pair], labels[pair] == other)
    value_sevens = _l07_number("Exercise 2", "auroc_sevens", auroc_sevens)
    if abs(value_sevens - auroc(scores, labels == other)) < 1e-6:
        raise CheckFailed(f"Exercise 2: `auroc_sevens` counts the other eight digits as normal: keep only the test "
                          f"images of {normal}s and {other}s (`pair = (test_labels == {normal}) | (test_labels == "
                          f"{other})`), then score those with `test_labels[pair] == {other}` as the anomalies.")
    value_sevens = _l07_check_auroc("Exercise 2", "auroc_sevens", value_sevens, expected_sevens,
                                    f"the AUROC on the {normal}s and {other}s alone, the {other}s as anomalies")
    outcome = _l07_outcome(value_sevens, value_all)
    wrong_all, wrong_sevens = 1 - value_all, 1 - value_sevens
    verdict = "as you guessed" if my_guess == outcome else f"you guessed {my_guess!r}"
    passed(f"AUROC {100 * value_all:.2f} % against all nine other digits ({100 * wrong_all:.2f} % of the pairs in "
           f"the wrong order), {100 * value_sevens:.2f} % against the {other}s alone ({100 * wrong_sevens:.2f} %): "
           f"{outcome}, {verdict}.")


def _l07_codes(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The autoencoder's codes of ``images``, in eval mode (batch norm with its running statistics)."""
    return predict(model.encoder, images).flatten(1).float()


def l07_centre(centre: object, model: nn.Module, train_images: torch.Tensor) -> None:
    """Exercise 3 of lesson 7: ``centre`` is the mean code of the normal training images, shape (code size,)."""
    require("Exercise 3", centre=centre)
    codes = _l07_codes(model, train_images)
    check_shape("Exercise 3", "`centre`", centre, codes.shape[1:])
    if not torch.allclose(centre.float(), codes.mean(dim=0), rtol=1e-4, atol=1e-5):
        raise CheckFailed("Exercise 3: `centre` is not the mean code of the normal training images: encode them in "
                          "eval mode, `ae.predict(model.encoder, train_normal)` (calling the model in training mode "
                          "would use each batch's own batch-norm statistics), and average over the images (dim=0).")
    passed(f"centre {tuple(centre.shape)}: the mean code of {len(train_images):,} normal training images.")


def l07_code_scores(code_scores: object, centre: torch.Tensor, model: nn.Module, images: torch.Tensor) -> None:
    """Exercise 3 of lesson 7: ``code_scores`` is each image's squared distance from ``centre`` in code space.

    The distance itself, or the mean over the code values instead of the sum, is accepted with a note:
    each orders the images the same way, so it gives the same AUROC.
    """
    require("Exercise 3", code_scores=code_scores)
    codes = _l07_codes(model, images)
    check_shape("Exercise 3", "`code_scores`", code_scores, (len(images),))
    expected = (codes - centre.float()).square().sum(dim=1)
    mine = code_scores.double()
    same_order = {"the distance itself, not its square": expected.sqrt(),
                  "the mean over the code values, not their sum": expected / codes.shape[1]}
    for what, variant in same_order.items():
        if not torch.allclose(mine, expected.double(), rtol=1e-4, atol=1e-6) and \
                torch.allclose(mine, variant.double(), rtol=1e-4, atol=1e-6):
            passed(f"code_scores {tuple(code_scores.shape)}: yours is {what}; it orders the images the same way, "
                   "so its AUROC is the same.")
            return
    if not torch.allclose(mine, expected.double(), rtol=1e-4, atol=1e-6):
        raise CheckFailed("Exercise 3: `code_scores` is not each test image's squared distance from `centre`: encode "
                          "the test images as the training ones, subtract `centre` (broadcast over the images), "
                          "square, and sum over the code values (dim=1).")
    passed(f"code_scores {tuple(code_scores.shape)}: the squared distance of each image's code from the centre.")


def l07_code_vs_reconstruction(auroc_code: object, auroc_reconstruction: object, code_scores: torch.Tensor,
                               scores: torch.Tensor, is_anomaly: torch.Tensor) -> None:
    """Exercise 3 of lesson 7: the AUROCs of the code distance and of the reconstruction error, recomputed here."""
    require("Exercise 3", auroc_code=auroc_code, auroc_reconstruction=auroc_reconstruction)
    code = _l07_check_auroc("Exercise 3", "auroc_code", auroc_code, auroc(code_scores, is_anomaly),
                            "ae.auroc(code_scores, is_anomaly)")
    reconstruction = _l07_check_auroc("Exercise 3", "auroc_reconstruction", auroc_reconstruction,
                                      auroc(scores, is_anomaly), "ae.auroc(scores, is_anomaly)")
    better = "the code distance" if code > reconstruction else "the reconstruction error"
    passed(f"AUROC {100 * code:.2f} % from the code distance, {100 * reconstruction:.2f} % from the reconstruction "
           f"error: {better} separates better here.")
