"""The self-checks of lesson 1's exercises (``notebooks/exercises/01_conv_autoencoder_exercises.ipynb``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..models import count_parameters
from ..runtime import is_quick
from .common import (
    CheckFailed, passed, require, check_shape, check_in_range, check_last_test_mse,
)


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
    in_range = check_in_range("Exercise 3", "test_mse", test_mse, 0.003, 0.03, quick_range=(0.003, 0.2))
    check_last_test_mse("Exercise 3", "test_mse", test_mse, "ex01_code_8_channels")
    if in_range:
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
    check_last_test_mse("Exercise 4", "mse_16", mse_16, "ex01_batch_16")
    check_last_test_mse("Exercise 4", "mse_256", mse_256, "ex01_batch_256")
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
