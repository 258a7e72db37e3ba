"""The self-checks of lesson 9's exercises (``notebooks/exercises/09_vq_autoencoder_exercises.ipynb``)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from ..history import History
from ..runtime import is_quick
from ..vq import TokenPrior, VectorQuantizer, VQAutoencoder, codebook_perplexity
from .common import CheckFailed, ExerciseNotDone, check_shape, passed, require
from .common import one_number

L09_CODEBOOK = 256  # exercise 2: four times the lesson's 64 entries, without the re-seeding remedy ...


L09_EPOCHS = 1  # ... trained for 1 epoch on the 60,000 training digits (the lesson trains 5: see the notebook)


L09_THRESHOLD = 0.9  # exercise 3: the lesson's confidence threshold


L09_TEMPERATURES = (0.7, 1.3)  # exercise 3: a cold and a hot temperature



def _l09_call(exercise: str, where: str, fn: Callable[..., object], *args: object, **kwargs: object) -> object:
    """Call ``fn`` (with gradients: exercise 1 needs them); a ``...`` left in it becomes :class:`ExerciseNotDone`."""
    not_done = ExerciseNotDone(f"{exercise} is not done yet: fill in {where} in the cell above (replace the `...`), "
                               "then run that cell and this one again.")
    try:
        result = fn(*args, **kwargs)
    except (TypeError, AttributeError) as err:
        if "ellipsis" in str(err):
            raise not_done from None
        raise CheckFailed(f"{exercise}: running {where} failed: {str(err).splitlines()[0]}") from None
    except (RuntimeError, IndexError, ValueError) as err:
        raise CheckFailed(f"{exercise}: running {where} failed: {str(err).splitlines()[0]} Compare the shapes of "
                          "what you combine (print them).") from None
    if result is Ellipsis or result is None or (isinstance(result, tuple) and Ellipsis in result):
        raise not_done
    return result


# Exercise 1


def _l09_quantize_cases() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """Inputs the check tries: small odd shapes (H differs from W, D from both, so a wrong reshape shows) and the
    lesson's own shapes (16 values per vector, a 7 x 7 grid, 64 entries)."""
    generator = torch.Generator().manual_seed(0)
    return [("vectors (3, 4, 5, 6) and a codebook of 7 entries",
             torch.randn(3, 4, 5, 6, generator=generator), torch.randn(7, 4, generator=generator)),
            ("vectors (2, 16, 7, 7) and a codebook of 64 entries",
             torch.randn(2, 16, 7, 7, generator=generator), torch.randn(64, 16, generator=generator) * 0.5)]


def _l09_nearest(flat: torch.Tensor, codebook: torch.Tensor, largest: bool = False) -> torch.Tensor:
    distances = torch.cdist(flat, codebook)
    return distances.argmax(1) if largest else distances.argmin(1)


def l09_quantize(my_quantize: object) -> None:
    """Exercise 1 of lesson 9: ``my_quantize(vectors, codebook)`` gives the tokens and values of ``ae.VectorQuantizer``,
    and its gradient goes straight through to ``vectors`` (unchanged) and not to the codebook.

    Rejected with their own messages: the farthest entry (argmax), vectors read as rows without moving the
    D values last (a wrong reshape), tokens of the wrong shape, the entries returned without the straight-through
    step (no gradient to the vectors), the step written the wrong way round (the vectors returned, the gradient to
    the codebook), a gradient to the codebook besides the vectors'.
    """
    require("Exercise 1", my_quantize=my_quantize)
    where = "`my_quantize`"
    for description, inputs, entries in _l09_quantize_cases():
        n, d, h, w = inputs.shape
        vectors = inputs.clone().requires_grad_(True)
        codebook = entries.clone().requires_grad_(True)
        result = _l09_call("Exercise 1", where, my_quantize, vectors, codebook)
        if not isinstance(result, tuple) or len(result) != 2:
            raise CheckFailed(f"Exercise 1: `my_quantize` returned a {type(result).__name__}; it should return two "
                              "things: `return quantized, tokens`.")
        quantized, tokens = result
        reference = VectorQuantizer(len(entries), d).eval()
        with torch.no_grad():
            reference.codebook.weight.copy_(entries)
            expected = reference(inputs)
        if not isinstance(tokens, torch.Tensor):
            raise CheckFailed(f"Exercise 1: the tokens `my_quantize` returned are a {type(tokens).__name__}; they "
                              f"should be a tensor of shape {(n, h, w)}.")
        if tokens.numel() == n * h * w and tuple(tokens.shape) != (n, h, w):
            raise CheckFailed(f"Exercise 1: on {description}, the tokens have shape {tuple(tokens.shape)}; expected "
                              f"{(n, h, w)}: one token per place of each image's grid. Reshape the flat list "
                              "(`.view(n, h, w)`) in the order you flattened it.")
        check_shape("Exercise 1", f"the tokens of `my_quantize` on {description}", tokens, (n, h, w))
        if tokens.is_floating_point():
            raise CheckFailed("Exercise 1: the tokens are floats; they should be whole numbers, the index of each "
                              "chosen entry (what `argmin` returns).")
        flat = inputs.permute(0, 2, 3, 1).reshape(-1, d)
        slips = [
            (_l09_nearest(flat, entries, largest=True).view(n, h, w),
             "picks the farthest entry (argmax); the nearest one has the smallest distance: argmin"),
            (_l09_nearest(inputs.reshape(-1, d), entries).view(n, h, w),
             "reads the vectors as rows of D values without moving D last: `vectors.reshape(-1, D)` (or `.view(N, H, "
             "W, D)`) on (N, D, H, W) mixes values of different places. Move D last first: "
             "`vectors.permute(0, 2, 3, 1).reshape(-1, D)`"),
            (_l09_nearest(inputs.permute(0, 3, 2, 1).reshape(-1, d), entries).view(n, h, w),
             "goes through the places column by column (permute(0, 3, 2, 1)): use permute(0, 2, 3, 1), so that the "
             "tokens come back in the grid's order, row by row"),
        ]
        if not torch.equal(tokens.long(), expected.tokens):
            for wrong, why in slips:
                if torch.equal(tokens.long(), wrong) and not torch.equal(wrong, expected.tokens):
                    raise CheckFailed(f"Exercise 1: on {description}, yours {why}.")
            raise CheckFailed(f"Exercise 1: on {description}, {int((tokens.long() != expected.tokens).sum())} of the "
                              f"{n * h * w} tokens differ from ae.VectorQuantizer's: each should be the index of the "
                              "entry nearest to that place's vector (smallest squared distance over the D values).")
        check_shape("Exercise 1", f"the quantized vectors of `my_quantize` on {description}", quantized, (n, d, h, w))
        if torch.allclose(quantized, inputs, atol=1e-6) and not torch.allclose(expected.vectors, inputs):
            raise CheckFailed(f"Exercise 1: on {description}, the quantized vectors equal the input vectors: the "
                              "straight-through step is written the wrong way round (`entries + (vectors - entries)"
                              ".detach()` is the vectors going forward). Write `vectors + (entries - vectors).detach()`: "
                              "forward, the entries; backward, the identity to the vectors.")
        if not torch.allclose(quantized, expected.vectors, rtol=1e-5, atol=1e-6):
            raise CheckFailed(f"Exercise 1: on {description}, the tokens are right but the quantized vectors are not "
                              "their entries: each place should carry `codebook[token]`, with D back in second place "
                              "(`.permute(0, 3, 1, 2)`).")
        upstream = torch.randn(n, d, h, w, generator=torch.Generator().manual_seed(1))
        if not quantized.requires_grad:
            raise CheckFailed("Exercise 1: the quantized vectors carry no gradient at all (computed under no_grad, or "
                              "detached as a whole): the encoder would learn nothing. Only the difference "
                              "`(entries - vectors)` is detached: `vectors + (entries - vectors).detach()`.")
        (quantized * upstream).sum().backward()
        to_vectors, to_codebook = vectors.grad, codebook.grad
        codebook_gets = to_codebook is not None and to_codebook.abs().sum() > 0
        if to_vectors is None or to_vectors.abs().sum() == 0:
            if codebook_gets:
                raise CheckFailed("Exercise 1: the gradient of the quantized vectors goes to the codebook and none "
                                  "reaches `vectors`: you return the entries themselves (or detach the wrong part). "
                                  "The encoder would learn nothing from the decoder. Write "
                                  "`vectors + (entries - vectors).detach()`.")
            raise CheckFailed("Exercise 1: no gradient from the quantized vectors reaches `vectors`. Write "
                              "`vectors + (entries - vectors).detach()`.")
        if not torch.allclose(to_vectors, upstream, rtol=1e-5, atol=1e-6):
            raise CheckFailed("Exercise 1: a gradient reaches `vectors`, but not unchanged: the straight-through step "
                              "passes the decoder's gradient to each vector as it is (the identity). Write "
                              "`vectors + (entries - vectors).detach()`, nothing else on the path.")
        if codebook_gets:
            raise CheckFailed("Exercise 1: the codebook gets a gradient from the quantized vectors too: detach the "
                              "whole difference, `(entries - vectors).detach()`. The decoder's gradient is meant for "
                              "the encoder; the codebook learns from its own term of the loss.")
    passed("my_quantize gives the tokens and values of ae.VectorQuantizer on two sets of shapes, and the gradient goes "
           "straight through to the vectors, unchanged, and not to the codebook.")


# Exercise 2


def l09_prediction(my_prediction: object) -> None:
    """Exercise 2 of lesson 9: the predicted number of entries in use is written down, a number from 1 to 256."""
    value = one_number("Exercise 2", "my_prediction", my_prediction)
    if not 1 <= value <= L09_CODEBOOK:
        raise CheckFailed(f"Exercise 2: `my_prediction` is {value:g}; write a number of entries from 1 to "
                          f"{L09_CODEBOOK}.")
    passed(f"your prediction is written down: {value:g} of the {L09_CODEBOOK} entries in use. Now measure.")


def _l09_tokens(model: VQAutoencoder, images: torch.Tensor) -> torch.Tensor:
    """The token grids of ``images``, in batches, in eval mode (the model's mode is restored)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        tokens = torch.cat([model.encode(batch) for batch in images.split(2_000)])
    model.train(was_training)
    return tokens


def l09_codebook_usage(entries_used: object, perplexity: object, my_prediction: object, model: object,
                       history: object, test_images: torch.Tensor, train_images: torch.Tensor) -> None:
    """Exercise 2 of lesson 9: ``entries_used`` (entries chosen at least once) and ``perplexity`` of ``model``'s
    tokens of ``test_images``, recomputed here, then set beside the prediction.

    Rejected: the two swapped, the count or the perplexity measured on ``train_images``, every entry counted
    (used or not), the entropy instead of its exponential, a model with another codebook size or with the
    re-seeding remedy, and in full mode a ``history`` of another number of epochs than ``L09_EPOCHS``.
    Any prediction passes: it is set beside the measurement, not judged.
    """
    require("Exercise 2", my_prediction=my_prediction, vq256=model, history256=history, entries_used=entries_used,
            perplexity=perplexity)
    if not isinstance(model, VQAutoencoder):
        raise CheckFailed(f"Exercise 2: `vq256` is a {type(model).__name__}; build it with "
                          f"ae.VQAutoencoder({L09_CODEBOOK}, 16).")
    size, reseed = model.quantizer.codebook.num_embeddings, model.quantizer.reseed_every
    if size != L09_CODEBOOK:
        raise CheckFailed(f"Exercise 2: `vq256` has a codebook of {size} entries; the exercise asks for "
                          f"{L09_CODEBOOK}: ae.VQAutoencoder({L09_CODEBOOK}, 16).")
    if reseed is not None:
        raise CheckFailed(f"Exercise 2: `vq256` re-seeds unused entries every {reseed} steps; the exercise measures "
                          f"the codebook without the remedy: ae.VQAutoencoder({L09_CODEBOOK}, 16) (reseed_every=None).")
    if not isinstance(history, History):
        raise CheckFailed(f"Exercise 2: `history256` is a {type(history).__name__}; keep what ae.fit returns.")
    if not is_quick() and history.epochs != L09_EPOCHS:
        raise CheckFailed(f"Exercise 2: `history256` has {history.epochs} epochs; the exercise trains {L09_EPOCHS} "
                          f"(num_epochs={L09_EPOCHS}). Run the training cell again: it sets the seed, builds a fresh "
                          "model and trains it from the start.")
    used = one_number("Exercise 2", "entries_used", entries_used)
    spread = one_number("Exercise 2", "perplexity", perplexity)
    tokens = _l09_tokens(model, test_images)
    expected_used = int(tokens.unique().numel())
    expected_perplexity = codebook_perplexity(tokens, L09_CODEBOOK)
    train_tokens = _l09_tokens(model, train_images)
    on_train_used = int(train_tokens.unique().numel())
    on_train_perplexity = codebook_perplexity(train_tokens, L09_CODEBOOK)
    tolerance = 1e-3 * expected_perplexity
    if abs(used - expected_perplexity) < tolerance and abs(spread - expected_used) < 1e-6:
        raise CheckFailed(f"Exercise 2: `entries_used` ({used:.4g}) and `perplexity` ({spread:.4g}) are swapped: the "
                          "entries used is a whole number (entries chosen at least once), the perplexity exp(entropy) "
                          "of how often each is chosen.")
    if used != expected_used:
        if used == L09_CODEBOOK:
            raise CheckFailed(f"Exercise 2: `entries_used` is {L09_CODEBOOK}, every entry of the codebook: count only "
                              f"those chosen at least once ({expected_used} here). `torch.bincount(tokens.flatten(), "
                              f"minlength={L09_CODEBOOK})` has a place for every entry, 0 for the unused: count the "
                              "places above 0.")
        if abs(used - expected_perplexity) < tolerance:
            raise CheckFailed(f"Exercise 2: `entries_used` is {used:.4g}, the perplexity; count the entries chosen at "
                              f"least once instead (`tokens.unique().numel()`): {expected_used}.")
        if used == on_train_used:
            raise CheckFailed(f"Exercise 2: `entries_used` is {used:g}, counted on the training digits; the exercise "
                              "counts on the 10,000 test digits, which the model never trained on.")
        raise CheckFailed(f"Exercise 2: `entries_used` is {used:g}; `vq256` chooses {expected_used} different entries "
                          "for the test digits. Encode all 10,000 of them (`vq256.encode`) and count the different "
                          "tokens.")
    if abs(spread - expected_perplexity) > tolerance:
        if abs(spread - expected_used) < 1e-6:
            raise CheckFailed(f"Exercise 2: `perplexity` is {spread:g}, the number of entries used; the perplexity is "
                              "exp(entropy) of how often each is used: ae.codebook_perplexity(tokens, 256).")
        if abs(spread - math.log(expected_perplexity)) < 1e-3:
            raise CheckFailed(f"Exercise 2: `perplexity` is {spread:.4g}, the entropy (in nats); the perplexity is its "
                              f"exponential, {expected_perplexity:.4g}.")
        if abs(spread - on_train_perplexity) < 1e-3 * on_train_perplexity:
            raise CheckFailed(f"Exercise 2: `perplexity` is {spread:.4g}, measured on the training digits; the "
                              "exercise measures it on the 10,000 test digits.")
        raise CheckFailed(f"Exercise 2: `perplexity` is {spread:.4g}; the perplexity of `vq256`'s tokens of the test "
                          f"digits is {expected_perplexity:.4g}: ae.codebook_perplexity(tokens, {L09_CODEBOOK}).")
    prediction = one_number("Exercise 2", "my_prediction", my_prediction)
    passed(f"{expected_used} of the {L09_CODEBOOK} entries are chosen for the 10,000 test digits (perplexity "
           f"{expected_perplexity:.1f}); you predicted {prediction:g}.")


# Exercise 3


class _FixedLogits(nn.Module):
    """A stand-in classifier whose class scores are the first ten pixels of each image: exact probabilities on tap."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images.flatten(1)[:, :10]


def _l09_share(images: torch.Tensor, classifier: nn.Module, threshold: float) -> float:
    """The reference: the share (%) of ``images`` whose largest class probability is at least ``threshold``."""
    was_training = classifier.training
    classifier.eval()
    with torch.no_grad():
        probabilities = classifier(images).softmax(1)
    classifier.train(was_training)
    return 100 * (probabilities.max(1).values >= threshold).float().mean().item()


def _l09_exact_images() -> torch.Tensor:
    """Images whose class probabilities are exact in floats: a top probability of exactly 1 (one score 2, the rest
    -10,000, whose share of the exponentials is 0) and exactly 0.5 (two scores 2). Class 9 wins one image only,
    so that a softmax over the images (a slip) gives it 1 there and differs from the strict ``>``'s share, 0."""
    images = torch.zeros(8, 1, 28, 28)
    scores = images.view(8, -1)
    scores[:, :10] = -1e4
    scores[:4, 0] = 2.0  # probability exactly 1 for class 0
    scores[4:7, 1] = scores[4:7, 2] = 2.0  # exactly 0.5 for classes 1 and 2
    scores[7, 9] = 2.0  # exactly 1 for class 9
    return images


def l09_confident_share(confident_share: object, classifier: nn.Module, images: torch.Tensor) -> None:
    """Exercise 3 of lesson 9: ``confident_share(images, classifier, threshold)`` agrees with the lesson's measure:
    the share, in percent, of images whose largest class probability (softmax) is at least ``threshold``.

    Tried on ``images`` and on blends of two of them (which the classifier is less sure of), at thresholds 0.9
    and 0.5, on the least sure blend alone (where a softmax over the images gives 1), and on a stand-in classifier with exact probabilities of 1 at threshold 1 (where ``>`` and ``>=``
    differ). Rejected with their own messages: a fraction instead of percent, raw scores instead of
    probabilities, the probability of class 0, a softmax over the images instead of the classes, a fixed
    threshold of 0.9, a strict ``>``.
    """
    require("Exercise 3", confident_share=confident_share)
    where = "`confident_share`"
    blends = 0.5 * (images + images.roll(1, 0))
    was_training = classifier.training
    classifier.eval()
    with torch.no_grad():
        unsure = int(classifier(blends).softmax(1).max(1).values.argmin())
    classifier.train(was_training)
    cases = [("the given digits", images, classifier, L09_THRESHOLD),
             ("blends of two digits", blends, classifier, L09_THRESHOLD),
             ("blends of two digits", blends, classifier, 0.5),
             ("the blend the classifier is least sure of, alone", blends[unsure:unsure + 1], classifier, L09_THRESHOLD),
             ("a stand-in classifier with probabilities of exactly 1", _l09_exact_images(), _FixedLogits(), 1.0)]
    first_failure = None  # when several slips explain a case's value, another case may tell them apart
    for description, inputs, judge, threshold in cases:
        with torch.no_grad():
            result = _l09_call("Exercise 3", where, confident_share, inputs, judge, threshold)
        value = one_number("Exercise 3", "confident_share(...)", result)
        expected = _l09_share(inputs, judge, threshold)
        if abs(value - expected) < 1e-3:
            continue
        judge.eval()
        with torch.no_grad():
            scores = judge(inputs)
        probabilities = scores.softmax(1)
        slips = [
            (expected / 100, "a fraction: the exercise asks for percent (100 times the share)"),
            (100 * (scores.max(1).values >= threshold).float().mean().item(),
             "the share of raw class scores (logits) above the threshold; turn them into probabilities first, "
             "`.softmax(1)`"),
            (100 * (probabilities[:, 0] >= threshold).float().mean().item(),
             "the share of images whose probability of class 0 reaches the threshold; take each image's largest "
             "probability, whatever its class: `.max(1).values`"),
            (100 * (scores.softmax(0).max(1).values >= threshold).float().mean().item(),
             "the softmax over the images (dim=0); each image's probabilities are spread over its ten classes: "
             "`.softmax(1)`"),
            (_l09_share(inputs, judge, L09_THRESHOLD),
             f"the share at {L09_THRESHOLD}, whatever `threshold` says: use the argument"),
            (100 * (probabilities.max(1).values > threshold).float().mean().item(),
             "the share strictly above the threshold (`>`); the exercise counts a probability equal to it too "
             "(`>=`, 'at least')"),
        ]
        matches = [why for wrong, why in slips if abs(value - wrong) < 1e-3 and abs(wrong - expected) >= 1e-3]
        failure = CheckFailed(
            f"Exercise 3: on {description} at threshold {threshold:g}, yours returns {value:.4g}, {matches[0]}. "
            f"Expected {expected:.4g} %." if matches else
            f"Exercise 3: on {description} at threshold {threshold:g}, `confident_share` returns {value:.4g}; "
            f"expected {expected:.4g} %: the share, in percent, of images whose largest class probability (softmax "
            "over the ten classes) is at least the threshold.")
        if len(matches) <= 1:
            raise failure
        first_failure = first_failure or failure
    if first_failure is not None:
        raise first_failure
    passed("confident_share agrees with the lesson's measure on real digits, on blends of two, at thresholds 0.9 and "
           "0.5, and counts a probability equal to the threshold.")


def _l09_replays(tokens: torch.Tensor, prior: TokenPrior, temperature: float, seed: int = 0) -> float:
    """The share of ``tokens`` that ``ae.sample_tokens(prior, len(tokens), seed, temperature=temperature)`` draws.

    Why it is cheap: the prior's logits for every position, given the tokens before it, come from one pass of the
    tokens themselves (the mask makes it causal), and the draws are replayed from the same seeded generator, one
    position at a time, as ``sample_tokens`` makes them.
    """
    generator = torch.Generator().manual_seed(seed)
    was_training = prior.training
    prior.eval()
    with torch.no_grad():
        logits = prior(tokens) / temperature
    prior.train(was_training)
    same = 0
    for position in range(tokens.shape[1]):
        drawn = torch.multinomial(logits[:, position].softmax(1), 1, generator=generator).flatten()
        same += int((drawn == tokens[:, position]).sum())
    return same / tokens.numel()


def l09_temperature_shares(share_cold: object, share_hot: object, tokens_cold: object, tokens_hot: object,
                           prior: TokenPrior, vq: VQAutoencoder, classifier: nn.Module) -> None:
    """Exercise 3 of lesson 9: ``tokens_cold`` and ``tokens_hot`` are ``ae.sample_tokens(prior, count, seed=0,
    temperature=t)`` at 0.7 and 1.3, and ``share_cold`` and ``share_hot`` the confident shares (threshold 0.9, in
    percent) of their decoded digits, recomputed here.

    The samples are checked by replaying the draws (one pass of the prior, not a new sampling). Rejected: the
    two temperatures swapped, samples drawn at temperature 1 (the argument left out) or with another seed, the
    shares swapped, a fraction, raw scores, the probability of class 0.
    """
    require("Exercise 3", tokens_cold=tokens_cold, tokens_hot=tokens_hot, share_cold=share_cold, share_hot=share_hot)
    grids = {}
    for name, tokens, temperature in (("tokens_cold", tokens_cold, L09_TEMPERATURES[0]),
                                      ("tokens_hot", tokens_hot, L09_TEMPERATURES[1])):
        if not isinstance(tokens, torch.Tensor) or tokens.is_floating_point() or tokens.numel() % prior.length:
            raise CheckFailed(f"Exercise 3: `{name}` should be the tensor of whole numbers that ae.sample_tokens "
                              f"returns, (count, {prior.length}).")
        flat = tokens.reshape(-1, prior.length).long()
        if _l09_replays(flat, prior, temperature) < 0.99:
            other = L09_TEMPERATURES[1] if temperature == L09_TEMPERATURES[0] else L09_TEMPERATURES[0]
            for wrong, why in ((other, f"at temperature {other:g}: the two temperatures are swapped"),
                               (1.0, "at temperature 1: pass `temperature=` to ae.sample_tokens")):
                if _l09_replays(flat, prior, wrong) >= 0.99:
                    raise CheckFailed(f"Exercise 3: `{name}` was sampled {why}; it should be {temperature:g}.")
            raise CheckFailed(f"Exercise 3: `{name}` is not what ae.sample_tokens(prior, {len(flat)}, seed=0, "
                              f"temperature={temperature:g}) draws. Use exactly that call (seed 0), once per "
                              "temperature.")
        grids[name] = flat.view(-1, 7, 7)
    vq_was_training = vq.training
    vq.eval()
    with torch.no_grad():
        images = {name: torch.sigmoid(vq.decode(grid)) for name, grid in grids.items()}
    vq.train(vq_was_training)
    expected = {"share_cold": _l09_share(images["tokens_cold"], classifier, L09_THRESHOLD),
                "share_hot": _l09_share(images["tokens_hot"], classifier, L09_THRESHOLD)}
    values = {"share_cold": one_number("Exercise 3", "share_cold", share_cold),
              "share_hot": one_number("Exercise 3", "share_hot", share_hot)}
    count = len(grids["tokens_cold"])
    tolerance = 100 / count + 1e-6  # one image either way: the decoder run in other batches may round differently
    if (abs(expected["share_cold"] - expected["share_hot"]) > 2 * tolerance
            and abs(values["share_cold"] - expected["share_hot"]) <= tolerance
            and abs(values["share_hot"] - expected["share_cold"]) <= tolerance):
        raise CheckFailed("Exercise 3: `share_cold` and `share_hot` are swapped: the cold share belongs to the "
                          f"samples at temperature {L09_TEMPERATURES[0]:g}.")
    for (name, value), tokens_name in zip(values.items(), grids):
        target = expected[name]
        if abs(value - target) <= tolerance:
            continue
        if abs(value - target / 100) <= tolerance / 100:
            raise CheckFailed(f"Exercise 3: `{name}` is {value:.4g}, a fraction: the exercise asks for percent, "
                              f"{target:.4g}.")
        raise CheckFailed(f"Exercise 3: `{name}` is {value:.4g}; the confident share of the digits decoded from "
                          f"`{tokens_name}` is {target:.4g} %. Decode them with "
                          "torch.sigmoid(vq.decode(tokens.view(-1, 7, 7))) and give them to your confident_share "
                          "with the lesson's classifier.")
    passed(f"at temperature {L09_TEMPERATURES[0]:g}, {expected['share_cold']:.1f} % of the {count:,} samples are named "
           f"with at least 90 % confidence; at {L09_TEMPERATURES[1]:g}, {expected['share_hot']:.1f} %.")
