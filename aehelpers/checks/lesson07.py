"""The self-checks of lesson 7's exercises (``notebooks/exercises/07_anomaly_detection_exercises.ipynb``)."""

from __future__ import annotations

import torch
from torch import nn

from ..anomaly import auroc
from ..evaluation import predict
from ..metrics import mse_per_image
from .common import (
    one_number,
    CheckFailed, call_or_not_done, passed, require, check_shape, check_guess,
)


L07_NORMAL_DIGIT = 1  # exercise 2: the shipped autoencoder of the 1s ...


L07_ANOMALY_DIGIT = 7  # ... with only the 7s as anomalies


L07_GUESS_CHOICES = ("higher", "lower", "about the same")


# Exercise 2: near 100 % the AUROCs differ by little, so compare what each gets wrong, the share of
# (anomaly, normal) pairs in the wrong order (1 - AUROC): within a factor 1.25 of each other is "about the same".
L07_SAME_RATIO = 1.25



def _l07_check_auroc(exercise: str, name: str, value: object, expected: float, how: str) -> float:
    """``value`` is the AUROC ``expected`` (a fraction in [0, 1]); ``how`` says how to compute it."""
    value = one_number(exercise, name, value)
    if 1 < value <= 100 and abs(value / 100 - expected) < 1e-6:
        raise CheckFailed(f"{exercise}: `{name}` is {value:.4g}, a percentage: keep the fraction that ae.auroc "
                          f"returns ({expected:.4f}); the printout turns it into percent.")
    if abs(value - (1 - expected)) < 1e-6 and abs(expected - 0.5) > 1e-6:
        raise CheckFailed(f"{exercise}: `{name}` is {value:.4f}, one minus the right AUROC ({expected:.4f}): the "
                          "labels are the wrong way round. `is_anomaly` must be True for the anomalies.")
    if abs(value - expected) > 1e-6:
        raise CheckFailed(f"{exercise}: `{name}` is {value:.4f}; expected {expected:.4f}, {how}.")
    return value


_L07_BOOL_MEAN = "(A tensor of bools has no mean: turn it into numbers first, with `.float()`.)"


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
    result = call_or_not_done("Exercise 1", where, auroc_by_pairs, toy_scores, toy_is_anomaly, hint=_L07_BOOL_MEAN)
    if isinstance(result, torch.Tensor) and result.numel() > 1:
        raise CheckFailed(f"Exercise 1: `auroc_by_pairs` returned a tensor of shape {tuple(result.shape)}, one value "
                          "per pair: average them into one number (`.mean().item()`).")
    toy = one_number("Exercise 1", "auroc_by_pairs(...)", result)
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
        mine = one_number("Exercise 1", "auroc_by_pairs(...)",
                           call_or_not_done("Exercise 1", where, auroc_by_pairs, case_scores, case_labels,
                                            hint=_L07_BOOL_MEAN))
        expected = auroc(case_scores, case_labels)
        if abs(mine - expected) > 1e-6:
            raise CheckFailed(f"Exercise 1: on {name} your function gives {mine:.6f}, ae.auroc {expected:.6f}. "
                              "Compare every anomaly with every normal image: a (A, N) table of 1 (higher), 1/2 "
                              "(tied) and 0 (lower), averaged.")
    passed(f"auroc_by_pairs agrees with ae.auroc: 0.75 on the toy example, {mine:.4f} on your test images' scores.")


def l07_guess(my_guess: object) -> None:
    """Exercise 2 of lesson 7: the written-down guess is one of ``L07_GUESS_CHOICES``."""
    check_guess("Exercise 2", my_guess, L07_GUESS_CHOICES)


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
    value_sevens = one_number("Exercise 2", "auroc_sevens", auroc_sevens)
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
