"""What every exercise check shares: the two exceptions a learner sees, and checks of shapes, ranges and guesses."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..checkpoints import checkpoint_path, read_file
from ..history import History
from ..runtime import is_quick


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


def check_guess(exercise: str, my_guess: object, choices: Sequence[str]) -> None:
    """A predict-then-measure guess is written down and is one of ``choices``."""
    require(exercise, my_guess=my_guess)
    if my_guess not in choices:
        raise CheckFailed(f"{exercise}: `my_guess` is {my_guess!r}; write one of {', '.join(map(repr, choices))}.")
    passed(f"your guess is written down: {my_guess!r}. Now measure.")


def run_or_not_done(exercise: str, where: str, fn: Callable[..., torch.Tensor], *args: object) -> torch.Tensor:
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


def call_or_not_done(exercise: str, where: str, fn: Callable[..., object], *args: object, hint: str,
                     shape_errors: tuple[type[Exception], ...] = (RuntimeError,)) -> object:
    """Call ``fn(*args)`` without gradients; a ``...`` left in it, or returned by it, becomes :class:`ExerciseNotDone`.

    Like :func:`run_or_not_done`, for code that computes a value from tensors rather than runs layers: a
    placeholder shows up as a TypeError or an AttributeError naming "ellipsis", or as ``...`` (or nothing)
    returned. Any of ``shape_errors`` becomes a :class:`CheckFailed` that ends with ``hint``, the lesson's
    most likely cause. Why one helper: every lesson's learner should meet the same words for the same slip.
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
    except shape_errors as err:
        raise CheckFailed(f"{exercise}: running {where} failed: {str(err).splitlines()[0]} {hint}") from None
    if result is Ellipsis or result is None:
        raise not_done
    return result


def recorded_run(exercise: str, checkpoint_name: str) -> tuple[History, dict] | None:
    """The history and identity of the training run an exercise saved as checkpoint ``checkpoint_name``.

    ``None`` in quick mode, which keeps no checkpoints. Why: a number typed by hand, swapped with
    another or read off the wrong epoch passes any range check; compared with the run's own record
    (what ``fit`` measured, and the loss and inputs it trained with) it cannot.
    """
    path = checkpoint_path(checkpoint_name)
    if path is None:
        return None
    if not path.is_file():
        raise CheckFailed(f"{exercise}: no training run is saved as checkpoint {checkpoint_name!r} ({path}). Train "
                          "with the exercise's code, which saves it under that name, then run this check again.")
    state = read_file(path)
    return History(**state["history"]), state.get("identity", {})


def check_recorded(exercise: str, name: str, value: object, recorded: float, what: str,
                   tolerance: float = 1e-3) -> None:
    """Raise :class:`CheckFailed` unless ``value`` is the number the run recorded (``what`` says which one).

    ``tolerance``: the largest difference accepted; an accuracy in percent needs 1e-3, an MSE near 0.005 a
    relative one (a test MSE measured again on the same images differs only in the float rounding).
    """
    if not isinstance(value, (int, float)) or isinstance(value, bool) or abs(value - recorded) > tolerance:
        raise CheckFailed(f"{exercise}: `{name}` is {value!r}, but {what} is {recorded:.4g}. Read it from the "
                          "history that training returned (not typed, rounded, or taken from another run or epoch).")


def check_last_test_mse(exercise: str, name: str, value: object,
                        checkpoint_name: str) -> tuple[History, dict] | None:
    """In full mode, raise :class:`CheckFailed` unless ``value`` is the last test MSE of the run ``checkpoint_name``.

    ``fit`` scores the test images after every epoch, so measuring the trained model again on the same
    images gives the same number up to float rounding (a relative tolerance of 1e-4). Returns the run
    (as :func:`recorded_run`), so a caller that checks more of it reads the file once.
    """
    run = recorded_run(exercise, checkpoint_name)
    if run is not None:
        recorded = run[0].test_loss[-1]
        check_recorded(exercise, name, value, recorded,
                       f"the last epoch's test MSE of the run saved as {checkpoint_name}", tolerance=1e-4 * recorded)
    return run


def check_last_accuracies(exercise: str, checkpoint_name: str, train: tuple[str, object],
                          held_out: tuple[str, object]) -> tuple[History, dict] | None:
    """In full mode, raise :class:`CheckFailed` unless ``train`` and ``held_out`` (name, value) are the last
    epoch's training and held-out accuracies of the run ``checkpoint_name``; returns the run, or ``None``."""
    run = recorded_run(exercise, checkpoint_name)
    if run is not None:
        history = run[0]
        for (name, value), recorded, kind in ((train, history.train_accuracy[-1], "training"),
                                              (held_out, history.test_accuracy[-1], "validation")):
            check_recorded(exercise, name, value, recorded,
                           f"the last epoch's {kind} accuracy of the run saved as {checkpoint_name}")
    return run


def one_number(exercise: str, name: str, value: object) -> float:
    """``value`` as a float: a Python number or a one-element tensor; anything else is a CheckFailed."""
    require(exercise, **{name: value})
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise CheckFailed(f"{exercise}: `{name}` should be one number, got a {type(value).__name__} ({value!r}).")
    return float(value)
