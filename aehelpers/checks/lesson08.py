"""The self-checks of lesson 8's exercises (``notebooks/exercises/08_sparse_autoencoders_exercises.ipynb``)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..history import History
from ..runtime import is_quick
from ..sparse import SparseAutoencoder, dead_fraction, keep_largest, label_purity, remove_latents
from .common import CheckFailed, call_or_not_done, check_shape, passed, require
from .common import one_number

L08_LATENTS = 512  # exercise 2: the lesson's width, 8 times the layer's 64 values ...


L08_K = 8  # ... with k = 8 instead of the lesson's 16


L08_EPOCHS = 20  # the lesson's epochs (quick mode trains fewer and is not held to it)


# Exercise 2, full mode: the dead share (%) that the lesson's settings without AuxK leave at k = 8, widely
# bounded (one seed; another machine's float rounding may move it a little). With AuxK it is near 0.
L08_DEAD_RANGE = (25.0, 75.0)


L08_TOP = 50  # exercise 3: a feature is judged (and has a commonest digit) when it fires on at least 50 test images


def _l08_run(exercise: str, where: str, fn: Callable[..., object], *args: object,
             hint: str = "Compare the shapes of what you combine (print them).") -> object:
    """:func:`call_or_not_done` for code that picks values out of tensors (an IndexError is a shape slip too)."""
    return call_or_not_done(exercise, where, fn, *args, hint=hint, shape_errors=(RuntimeError, IndexError))


# Exercise 1


def _l08_keep_largest_cases() -> list[tuple[str, torch.Tensor, int]]:
    """Inputs the check tries: random values of both signs (so the largest by size and by value differ),
    a wide row with k = 1, every value kept, and ReLU outputs with many zeros (as the SAE's latents are)."""
    generator = torch.Generator().manual_seed(0)
    return [("random values of both signs, shape (6, 20), k = 4", torch.randn(6, 20, generator=generator) * 3, 4),
            ("random values of both signs, shape (3, 50), k = 1", torch.randn(3, 50, generator=generator) - 1, 1),
            ("shape (4, 5) with k = 5 (every value kept)", torch.randn(4, 5, generator=generator), 5),
            ("ReLU outputs (many zeros), shape (8, 64), k = 16",
             torch.relu(torch.randn(8, 64, generator=generator) - 1.5), 16)]


def l08_keep_largest(my_keep_largest: object) -> None:
    """Exercise 1 of lesson 8: ``my_keep_largest(latents, k)`` agrees with ``ae.keep_largest`` and leaves its input alone.

    Tried on random inputs with negative values (where the largest values and the largest sizes differ),
    a k of 1, a k that keeps everything, and ReLU outputs. Each typical slip has its own message: the k
    largest of each column, the k smallest, the (N, k) values alone, the largest by size, a 0/1 mask, an
    input changed in place.
    """
    require("Exercise 1", my_keep_largest=my_keep_largest)
    where = "`my_keep_largest`"
    for description, latents, k in _l08_keep_largest_cases():
        given = latents.clone()
        result = _l08_run("Exercise 1", where, my_keep_largest, given, k)
        expected = keep_largest(latents, k)
        changed = not torch.equal(given, latents)
        if not isinstance(result, torch.Tensor):
            raise CheckFailed(f"Exercise 1: `my_keep_largest` returned a {type(result).__name__}; it should return "
                              f"a tensor of the input's shape, {tuple(latents.shape)}.")
        n, width = latents.shape
        if tuple(result.shape) == (n, k) and k < width:
            raise CheckFailed(f"Exercise 1: on {description}, `my_keep_largest` returned shape {tuple(result.shape)}: the "
                              "k largest values alone, without their places. Put them back where they were, in a "
                              "tensor of zeros of the input's shape: `.scatter(1, top.indices, top.values)`.")
        if tuple(result.shape) == (k, width) and k < n:
            raise CheckFailed(f"Exercise 1: on {description}, `my_keep_largest` returned shape {tuple(result.shape)}: "
                              "the k largest of each column (over the inputs, dim=0). Take them within each row, "
                              "`dim=1`, and put them back in place.")
        check_shape("Exercise 1", f"`my_keep_largest` on {description}", result, latents.shape)
        if changed:
            raise CheckFailed(f"Exercise 1: `my_keep_largest` changed its input in place (on {description}). Leave "
                              "`latents` as it is and build the answer in a new tensor (`torch.zeros_like(latents)`): "
                              "the caller still needs the values you would overwrite, and autograd refuses to "
                              "differentiate through a tensor changed in place.")
        top = latents.topk(k, dim=1)
        mask = torch.zeros_like(latents).scatter(1, top.indices, 1.0)
        if result.dtype == torch.bool or (torch.equal(result.float(), mask) and not torch.equal(mask, expected)):
            raise CheckFailed(f"Exercise 1: on {description}, yours returns a 0/1 mask of where the k largest are: "
                              "keep their values there, not 1s.")
        if torch.equal(result, expected):
            continue
        by_size = latents.abs().topk(k, dim=1).indices
        slips = [
            (keep_largest(latents.T, k).T if k <= n else None,
             "the k largest of each column (over the inputs, dim=0): take them within each row, `dim=1`"),
            (-keep_largest(-latents, k),
             "the k smallest values of each row: `topk` returns the largest unless told `largest=False`"),
            (torch.zeros_like(latents).scatter(1, by_size, latents.gather(1, by_size)),
             "the k largest by size (absolute value): a large negative value must not be kept; rank the values "
             "themselves"),
        ]
        for wrong, why in slips:
            if wrong is not None and torch.equal(result, wrong) and not torch.equal(wrong, expected):
                raise CheckFailed(f"Exercise 1: on {description}, yours keeps {why}.")
        raise CheckFailed(f"Exercise 1: on {description}, `my_keep_largest` differs from ae.keep_largest: each row "
                          "should keep its k largest values where they were, every other value 0.")
    passed("my_keep_largest agrees with ae.keep_largest on values of both signs, k = 1, k = every value and ReLU "
           "outputs, and leaves its input unchanged.")


# Exercise 2


def l08_prediction(my_prediction: object) -> None:
    """Exercise 2 of lesson 8: the predicted dead share is written down, a number of percent from 0 to 100."""
    value = one_number("Exercise 2", "my_prediction", my_prediction)
    if not 0 <= value <= 100:
        raise CheckFailed(f"Exercise 2: `my_prediction` is {value:g}; write a percentage from 0 to 100 (5 for 5 %).")
    passed(f"your prediction is written down: {value:g} % of the {L08_LATENTS} latents dead. Now measure.")


def l08_dead_share(dead_percent: object, my_prediction: object, sae: object, history: object,
                   train_activations: torch.Tensor, test_activations: torch.Tensor) -> None:
    """Exercise 2 of lesson 8: ``dead_percent`` is the share of ``sae``'s latents, in percent, that fire on none of
    ``train_activations`` (what it trained on); recomputed here, then set beside the prediction.

    Rejected: a fraction instead of a percent, the share measured on ``test_activations``, the alive share;
    in full mode also a share outside ``L08_DEAD_RANGE`` (trained with AuxK, or with other settings).
    The SAE must be a TopK SAE with ``L08_LATENTS`` latents and k = ``L08_K``, and in full mode ``history`` must
    cover ``L08_EPOCHS`` epochs. Any prediction passes: it is set beside the measurement, not judged.
    """
    require("Exercise 2", my_prediction=my_prediction, sae_k8=sae, history_k8=history, dead_percent=dead_percent)
    if not isinstance(sae, SparseAutoencoder):
        raise CheckFailed(f"Exercise 2: `sae_k8` is a {type(sae).__name__}; build it with "
                          f"ae.SparseAutoencoder(64, {L08_LATENTS}, k={L08_K}).")
    if sae.decoder.in_features != L08_LATENTS or sae.k != L08_K:
        raise CheckFailed(f"Exercise 2: `sae_k8` has {sae.decoder.in_features} latents and k = {sae.k}; the exercise "
                          f"asks for {L08_LATENTS} latents and k = {L08_K}: ae.SparseAutoencoder(64, {L08_LATENTS}, "
                          f"k={L08_K}).")
    if not isinstance(history, History):
        raise CheckFailed(f"Exercise 2: `history_k8` is a {type(history).__name__}; keep what ae.train_sae returns.")
    if not is_quick() and history.epochs != L08_EPOCHS:
        raise CheckFailed(f"Exercise 2: `history_k8` has {history.epochs} epochs; the lesson's settings train "
                          f"{L08_EPOCHS} (num_epochs={L08_EPOCHS}). Run the training cell again: it sets the seed, "
                          "builds a fresh SAE and trains it from the start.")
    value = one_number("Exercise 2", "dead_percent", dead_percent)
    with torch.no_grad():
        expected = 100 * dead_fraction(sae.encode(train_activations))
        on_test = 100 * dead_fraction(sae.encode(test_activations))
    tolerance = 1e-3
    if abs(value - expected) > tolerance:
        if expected > 0 and abs(value - expected / 100) < tolerance / 100:
            raise CheckFailed(f"Exercise 2: `dead_percent` is {value:.4g}, a fraction: the exercise asks for percent, "
                              f"{expected:.4g} (100 times the share).")
        if abs(value - (100 - expected)) < tolerance:
            raise CheckFailed(f"Exercise 2: `dead_percent` is {value:.4g} %, the share of latents that fire at least "
                              "once (alive): dead ones fire on none of the activations.")
        if abs(value - on_test) < tolerance:
            raise CheckFailed(f"Exercise 2: `dead_percent` is {value:.4g} %, measured on the test activations; the "
                              f"exercise measures it on the {len(train_activations):,} training activations the SAE "
                              "learned from (a latent can be alive there and silent on the smaller test set).")
        raise CheckFailed(f"Exercise 2: `dead_percent` is {value:.4g}; the share of `sae_k8`'s latents that fire on "
                          f"none of the training activations is {expected:.4g} %. Encode all of them with "
                          "`sae_k8.encode`, and count the latents that are 0 on every row.")
    low, high = L08_DEAD_RANGE
    if not is_quick() and not low <= expected <= high:
        raise CheckFailed(f"Exercise 2: `dead_percent` is right for `sae_k8` ({expected:.4g} %), but the lesson's "
                          f"settings without AuxK leave {low:g} to {high:g} % of this SAE's latents dead. Train it as "
                          f"the exercise says: after ae.set_seed(0), on all the training activations, {L08_EPOCHS} "
                          "epochs, batch 1,024, lr 0.003, and auxk_coefficient=0 (the remedy switched off).")
    prediction = one_number("Exercise 2", "my_prediction", my_prediction)
    dead_count = round(expected * L08_LATENTS / 100)
    passed(f"{expected:.1f} % of the {L08_LATENTS} latents ({dead_count}) fire on none of the "
           f"{len(train_activations):,} training activations; you predicted {prediction:g} %.")


# Exercise 3


def l08_switch_off(switch_off: object, sae: SparseAutoencoder, activations: torch.Tensor) -> None:
    """Exercise 3 of lesson 8: ``switch_off(sae, activations, feature)`` agrees with ``ae.remove_latents`` with a
    one-column mask, for a few latents that fire on ``activations``.

    Rejected with their own messages: the part taken out of the SAE's reconstruction instead of the
    activations, the decoder column not scaled by the latent's value, the encoder's row instead of the
    decoder column, the pre-activation instead of the code's value.
    """
    require("Exercise 3", switch_off=switch_off)
    where = "`switch_off`"
    with torch.no_grad():
        codes = sae.encode(activations)
        reconstruction = sae.decode(codes)
        pre_activations = sae.pre_activations(activations)
    firing = (codes > 0).sum(0)
    features = firing.argsort(descending=True)[:3].tolist()
    for feature in features:
        result = _l08_run("Exercise 3", where, switch_off, sae, activations.clone(), feature,
                          hint="A decoder column is `sae.decoder.weight[:, feature]`, one value per activation "
                               f"({activations.shape[1]}); `sae.decoder.weight[feature]` is a row, one value per "
                               "latent. The latent's values, one per row, multiply it as a column: `values[:, None]`.")
        mask = torch.zeros_like(codes, dtype=torch.bool)
        mask[:, feature] = True
        with torch.no_grad():
            expected = remove_latents(sae, activations, mask)
        if not isinstance(result, torch.Tensor):
            raise CheckFailed(f"Exercise 3: `switch_off` returned a {type(result).__name__}; it should return the "
                              f"activations with the latent's part taken out, shape {tuple(activations.shape)}.")
        check_shape("Exercise 3", f"`switch_off(sae, activations, {feature})`", result, activations.shape)
        if torch.allclose(result, expected, rtol=1e-4, atol=1e-5):
            continue
        value, column = codes[:, feature, None], sae.decoder.weight[:, feature]
        fires = value > 0
        slips = [
            (reconstruction - value * column,
             "takes the part out of the SAE's reconstruction (`sae(activations)[0]`); take it out of `activations` "
             "themselves, so that everything else the layer had, including what the SAE fails to rebuild, stays"),
            (activations - column, "subtracts the decoder column from every row without scaling it: multiply it by "
                                   "the latent's value on each row, `values[:, None] * column`"),
            (activations - fires * column, "subtracts the decoder column, unscaled, from the rows where the latent "
                                           "fires: multiply it by the latent's value on each row"),
            (activations - value * sae.encoder.weight[feature],
             "uses the encoder's row (`sae.encoder.weight[feature]`, what the latent reads); its part in the "
             "activations is its decoder column, `sae.decoder.weight[:, feature]` (what it writes)"),
            (activations - pre_activations[:, feature, None] * column,
             "scales the column by the latent's pre-activation; use its value in the code, `sae.encode(activations)`"
             "[:, feature] (0 where it does not fire)"),
        ]
        for wrong, why in slips:
            if torch.allclose(result, wrong, rtol=1e-4, atol=1e-5):
                raise CheckFailed(f"Exercise 3: for latent {feature}, yours {why}.")
        raise CheckFailed(f"Exercise 3: for latent {feature}, `switch_off` differs from the lesson's remove_latents: "
                          "subtract, from each row of `activations`, the latent's value on that row (from "
                          "`sae.encode`) times its decoder column `sae.decoder.weight[:, feature]`.")
    passed(f"switch_off agrees with ae.remove_latents on latents {', '.join(map(str, features))} "
           f"(on {len(activations):,} activations).")


def _l08_judged(exercise: str, feature: object, sae: SparseAutoencoder, activations: torch.Tensor,
                labels: torch.Tensor) -> tuple[int, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``feature`` as an int, checked to be a judged latent; with the code of ``activations``, the purity and the
    commonest label of every latent."""
    require(exercise, feature=feature)
    if isinstance(feature, torch.Tensor) and feature.numel() == 1 and not feature.is_floating_point():
        feature = int(feature.item())
    latents = sae.decoder.in_features
    if not isinstance(feature, int) or isinstance(feature, bool) or not 0 <= feature < latents:
        raise CheckFailed(f"{exercise}: `feature` is {feature!r}; pick a latent by its number, a whole number from 0 "
                          f"to {latents - 1}.")
    with torch.no_grad():
        codes = sae.encode(activations)
    purity, commonest = label_purity(codes, labels, L08_TOP)
    if purity[feature].isnan():
        raise CheckFailed(f"{exercise}: latent {feature} fires on only {int((codes[:, feature] > 0).sum())} of the "
                          f"{len(activations):,} test images, fewer than {L08_TOP}: it has no commonest digit and is "
                          "not judged. Pick another feature (the cell above lists some that are judged).")
    return feature, codes, purity, commonest


def l08_feature(feature: object, sae: SparseAutoencoder, activations: torch.Tensor, labels: torch.Tensor) -> None:
    """Exercise 3 of lesson 8: ``feature`` is a latent that fires on at least ``L08_TOP`` of the test ``activations``
    (so it is judged and has a commonest digit)."""
    feature, codes, purity, commonest = _l08_judged("Exercise 3", feature, sae, activations, labels)
    passed(f"feature {feature} fires on {int((codes[:, feature] > 0).sum()):,} test images; its commonest digit among "
           f"the {L08_TOP} strongest is {int(commonest[feature])} (purity {purity[feature]:.2f}).")


def _l08_drops(sae: SparseAutoencoder, classifier: nn.Module, activations: torch.Tensor, feature: int,
               target: int) -> torch.Tensor:
    """The drop in the classifier's probability of ``target``, in points, on each row when ``feature`` is switched off."""
    mask = torch.zeros(len(activations), sae.decoder.in_features, dtype=torch.bool)
    mask[:, feature] = True
    with torch.no_grad():
        before = classifier.readout(activations).softmax(1)[:, target]
        after = classifier.readout(remove_latents(sae, activations, mask)).softmax(1)[:, target]
    return 100 * (before - after)


def l08_effect(effect: object, feature: object, sae: SparseAutoencoder, classifier: nn.Module,
               activations: torch.Tensor, labels: torch.Tensor) -> None:
    """Exercise 3 of lesson 8: ``effect`` is the mean drop, in percentage points, of the classifier's probability of
    ``feature``'s commonest digit (``ae.label_purity(codes, labels, L08_TOP)``) over the test images where it fires.

    Recomputed here with ``ae.remove_latents``. A feature that fires on fewer than ``L08_TOP`` test images has
    no commonest digit and is not judged. Rejected: the drop as a fraction, as a rise (the wrong sign), or
    averaged over every test image.
    """
    feature, codes, purity, commonest = _l08_judged("Exercise 3", feature, sae, activations, labels)
    fires = codes[:, feature] > 0
    require("Exercise 3", effect=effect)
    value = one_number("Exercise 3", "effect", effect)
    target = int(commonest[feature])
    drops = _l08_drops(sae, classifier, activations[fires], feature, target)
    expected = drops.mean().item()
    tolerance = 1e-3 + 1e-3 * abs(expected)
    if abs(value - expected) > tolerance:
        if abs(value - expected / 100) < tolerance / 100:
            raise CheckFailed(f"Exercise 3: `effect` is {value:.4g}, a drop in probability as a fraction; the "
                              f"exercise asks for percentage points: {expected:.4g} (100 times it).")
        if abs(value + expected) < tolerance:
            raise CheckFailed(f"Exercise 3: `effect` is {value:.4g}, the rise in probability: the drop is the "
                              "probability before switching the feature off minus the probability after.")
        on_all = expected * int(fires.sum()) / len(activations)
        if abs(value - on_all) < tolerance:
            raise CheckFailed(f"Exercise 3: `effect` is {value:.4g}, averaged over all {len(activations):,} test "
                              f"images; average over the {int(fires.sum()):,} on which feature {feature} fires "
                              "(its value from `sae.encode` above 0). Elsewhere switching it off changes nothing, and "
                              "the zeros would dilute the effect.")
        raise CheckFailed(f"Exercise 3: `effect` is {value:.4g}; on the {int(fires.sum()):,} test images where feature "
                          f"{feature} fires, switching it off lowers the classifier's probability of its commonest "
                          f"digit, {target}, by {expected:.4g} points on average. Check the target digit, the images "
                          "and the softmax (probabilities, not raw scores).")
    passed(f"switching feature {feature} off lowers the probability of a {target} by {expected:.3f} points on average, "
           f"over the {int(fires.sum()):,} test images where it fires (its purity: {purity[feature]:.2f}).")
