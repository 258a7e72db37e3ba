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

One module per lesson (``lesson01`` ... ``lesson09``); the checks of lesson 1's exercises start with ``l01_``, those of lesson 2's with ``l02_``, and so on
(``l03_``, ``l04a_``, ``l04b_``, ``l05_``, ``l06_``, ``l07_``, ``l08_``, ``l09_``).
"""

from .common import (
    check_shape,
    CheckFailed, ExerciseNotDone, check_in_range, passed, require,
)
from .lesson01 import (
    L01_CODE8_LAYERS,
    L01_CODE8_PARAMETERS,
    l01_batch_sizes, l01_code8_model, l01_code8_trained, l01_guess, l01_mean_codes, l01_padding, l01_typical_digits,
)
from .lesson02 import (
    L02_GAIN_RANGES, L02_LEVELS, L02_ONE_SKIP_LAYERS,
    L02_ONE_SKIP_PARAMETERS,
    l02_gains, l02_guess, l02_noise_range, l02_one_skip, l02_random_noise,
)
from .lesson03 import (
    L03_LAYERS, l03_bilinear, l03_bilinear_scores, l03_guesses, l03_spreads, l03_upsample_block,
    l03_upsample_decoder, l03_upsample_trained, transpose_spread,
)
from .lesson04a import (
    L04A_GAP_CHOICES, L04A_SIDES,
    L04A_HEAD_PARAMETERS,
    l04a_augmented, l04a_guess, l04a_head, l04a_overfit, l04a_recipe, l04a_sides,
)
from .lesson04b import (
    l04b_ablation, l04b_best_probability, l04b_residual_block, l04b_smoothing,
)
from .lesson05 import (
    L05_K,
    l05_components, l05_dense_model, l05_dense_trained, l05_guess, l05_mean, l05_ratio,
)
from .lesson06 import (
    L06_ACTIVE_THRESHOLD, L06_DROP_CHOICES, L06_SAMPLES,
    l06_active_units, l06_codes, l06_guess, l06_importance, l06_kl,
)
from .lesson07 import (
    L07_ANOMALY_DIGIT, L07_GUESS_CHOICES, L07_NORMAL_DIGIT, L07_SAME_RATIO,
    _l07_outcome, l07_auroc_by_pairs, l07_centre, l07_code_scores, l07_code_vs_reconstruction, l07_guess,
    l07_scores, l07_sevens,
)
from .lesson08 import (
    L08_DEAD_RANGE, L08_EPOCHS, L08_K, L08_LATENTS, L08_TOP,
    l08_dead_share, l08_effect, l08_feature, l08_keep_largest, l08_prediction, l08_switch_off,
)
from .lesson09 import (
    L09_CODEBOOK, L09_EPOCHS, L09_TEMPERATURES, L09_THRESHOLD,
    l09_codebook_usage, l09_confident_share, l09_prediction, l09_quantize, l09_temperature_shares,
)

__all__ = [
    "L09_CODEBOOK", "L09_EPOCHS", "L09_TEMPERATURES", "L09_THRESHOLD",
    "L08_DEAD_RANGE", "L08_EPOCHS", "L08_K", "L08_LATENTS", "L08_TOP",
    "L07_ANOMALY_DIGIT", "L07_GUESS_CHOICES", "L07_NORMAL_DIGIT", "L07_SAME_RATIO",
    "L06_ACTIVE_THRESHOLD", "L06_DROP_CHOICES", "L06_SAMPLES",
    "L05_K",
    "L04A_GAP_CHOICES", "L04A_SIDES",
    "L02_GAIN_RANGES", "L02_LEVELS", "L02_ONE_SKIP_LAYERS",
    "L01_CODE8_LAYERS",
    "L04A_HEAD_PARAMETERS",
    "L02_ONE_SKIP_PARAMETERS",
    "L01_CODE8_PARAMETERS",
    "check_shape",
    "CheckFailed", "ExerciseNotDone", "check_in_range", "passed", "require", "l01_batch_sizes", "l01_code8_model",
    "l01_code8_trained", "l01_guess", "l01_mean_codes", "l01_padding", "l01_typical_digits", "l02_gains",
    "l02_guess", "l02_noise_range", "l02_one_skip", "l02_random_noise", "L03_LAYERS", "l03_bilinear",
    "l03_bilinear_scores", "l03_guesses", "l03_spreads", "l03_upsample_block", "l03_upsample_decoder",
    "l03_upsample_trained", "transpose_spread", "l04a_augmented", "l04a_guess", "l04a_head", "l04a_overfit",
    "l04a_recipe", "l04a_sides", "l04b_ablation", "l04b_best_probability", "l04b_residual_block", "l04b_smoothing",
    "l05_components", "l05_dense_model", "l05_dense_trained", "l05_guess", "l05_mean", "l05_ratio",
    "l06_active_units", "l06_codes", "l06_guess", "l06_importance", "l06_kl", "_l07_outcome", "l07_auroc_by_pairs",
    "l07_centre", "l07_code_scores", "l07_code_vs_reconstruction", "l07_guess", "l07_scores", "l07_sevens",
    "l08_dead_share", "l08_effect", "l08_feature", "l08_keep_largest", "l08_prediction", "l08_switch_off",
    "l09_codebook_usage", "l09_confident_share", "l09_prediction", "l09_quantize", "l09_temperature_shares",
]
