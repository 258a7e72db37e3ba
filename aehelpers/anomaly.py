"""Anomaly detection by score: the one-class split, the area under the ROC curve, and thresholds.

Defined in lesson 7 (``notebooks/07_anomaly_detection.ipynb``). A detector gives every image a score,
higher meaning "more unusual"; how well the scores separate normal images from anomalies is measured
without choosing any threshold (the ROC curve and its area), and a threshold is then chosen on normal
images held out from training, never on the test labels.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class OneClassSplit(NamedTuple):
    """The standard one-class protocol for one digit: train on it alone, score the whole test set."""

    train: torch.Tensor  # the digit's training images, minus the held-out ones
    held_out: torch.Tensor  # more of the digit's training images, never trained on: to choose a threshold
    test: torch.Tensor  # every test image
    test_is_anomaly: torch.Tensor  # bool per test image: True where the digit is another one


def one_class_split(train_images: torch.Tensor, train_labels: torch.Tensor, test_images: torch.Tensor,
                    test_labels: torch.Tensor, normal_digit: int, held_out: int = 500) -> OneClassSplit:
    """Split for ``normal_digit``: its training images (the first ``held_out`` of them kept apart) and all test images.

    Why hold some out: the threshold that flags an image must be set from normal images the model
    never saw (its training images score too well), and the test labels must not be used for it.
    """
    normal = train_images[train_labels == normal_digit]
    if not 0 < held_out < len(normal):
        raise ValueError(f"held_out must be between 1 and {len(normal) - 1} (digit {normal_digit} has "
                         f"{len(normal)} training images), got {held_out!r}.")
    return OneClassSplit(normal[held_out:], normal[:held_out], test_images, test_labels != normal_digit)


def _ranks_with_ties(values: torch.Tensor) -> torch.Tensor:
    """Ranks 1..n of ``values``, tied values sharing the mean of their ranks."""
    order = values.argsort()
    ranks = torch.empty_like(values, dtype=torch.float64)
    ranks[order] = torch.arange(1, len(values) + 1, dtype=torch.float64)
    unique, inverse, counts = torch.unique(values, return_inverse=True, return_counts=True)
    rank_sums = torch.zeros(len(unique), dtype=torch.float64).index_add_(0, inverse, ranks)
    return (rank_sums / counts)[inverse]


def auroc(scores: torch.Tensor, is_anomaly: torch.Tensor) -> float:
    """The area under the ROC curve: the chance that a random anomaly scores above a random normal image.

    Ties count one half (the Mann-Whitney U statistic, from ranks). 1.0 separates perfectly, 0.5 is
    guessing. Why this number: it needs no threshold, so it compares scores on different scales.
    """
    scores, is_anomaly = scores.flatten().double(), is_anomaly.flatten().bool()
    if scores.shape != is_anomaly.shape:
        raise ValueError(f"One label per score is needed: {len(scores)} scores, {len(is_anomaly)} labels.")
    anomalies, normals = int(is_anomaly.sum()), int((~is_anomaly).sum())
    if anomalies == 0 or normals == 0:
        raise ValueError("The AUROC needs both normal images and anomalies among the labels.")
    if not torch.isfinite(scores).all():
        raise ValueError("Some scores are NaN or infinite: check the model's outputs.")
    rank_sum = _ranks_with_ties(scores)[is_anomaly].sum().item()
    return (rank_sum - anomalies * (anomalies + 1) / 2) / (anomalies * normals)


def roc_curve(scores: torch.Tensor, is_anomaly: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(false-alarm rate, detection rate) for every threshold, from flagging nothing to flagging everything.

    A threshold flags the images scoring at or above it: the false-alarm rate is the share of normal
    images flagged, the detection rate the share of anomalies flagged.
    """
    scores, is_anomaly = scores.flatten().double(), is_anomaly.flatten().bool()
    order = scores.argsort(descending=True)  # lower the threshold one image at a time
    scores, is_anomaly = scores[order], is_anomaly[order]
    detected, false_alarms = is_anomaly.cumsum(0), (~is_anomaly).cumsum(0)
    last_of_tie = torch.ones_like(is_anomaly)  # a threshold flags all images of equal score at once
    last_of_tie[:-1] = scores[1:] != scores[:-1]
    zero = torch.zeros(1, dtype=torch.float64)
    return (torch.cat([zero, false_alarms[last_of_tie] / (~is_anomaly).sum()]),
            torch.cat([zero, detected[last_of_tie] / is_anomaly.sum()]))


def average_precision(scores: torch.Tensor, is_anomaly: torch.Tensor) -> float:
    """The area under the precision-recall curve (AUPRC): the mean precision at each anomaly caught.

    Precision is the share of flagged images that are anomalies. Why beside the AUROC: where anomalies
    are rare, a detector with a high AUROC can still flag mostly normal images, and precision shows it.
    Chance level is the anomalies' share of the images. Tied scores are flagged together.
    """
    scores, is_anomaly = scores.flatten().double(), is_anomaly.flatten().bool()
    if scores.shape != is_anomaly.shape or not is_anomaly.any():
        raise ValueError(f"One label per score and at least one anomaly are needed: {len(scores)} scores, "
                         f"{len(is_anomaly)} labels, {int(is_anomaly.sum())} anomalies.")
    order = scores.argsort(descending=True)  # lower the threshold one image at a time
    scores, is_anomaly = scores[order], is_anomaly[order]
    last_of_tie = torch.ones_like(is_anomaly)  # a threshold flags all images of equal score at once
    last_of_tie[:-1] = scores[1:] != scores[:-1]
    detected = is_anomaly.cumsum(0)[last_of_tie].double()
    flagged = torch.arange(1, len(scores) + 1, dtype=torch.float64)[last_of_tie]
    recall_gained = torch.diff(detected, prepend=torch.zeros(1, dtype=torch.float64)) / is_anomaly.sum()
    return (recall_gained * detected / flagged).sum().item()


def threshold_for_false_alarms(held_out_scores: torch.Tensor, false_alarm_rate: float) -> float:
    """The score above which only ``false_alarm_rate`` of held-out normal images fall (a quantile).

    Chosen on normal images only: a detector in use sees no labelled anomalies to tune on.
    """
    if not 0 < false_alarm_rate < 1:
        raise ValueError(f"false_alarm_rate must be between 0 and 1, got {false_alarm_rate!r}.")
    return torch.quantile(held_out_scores.double(), 1 - false_alarm_rate).item()
