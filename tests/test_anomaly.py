"""Lesson 7's anomaly-detection pieces: the one-class split, the AUROC with ties, the ROC curve, thresholds."""

from __future__ import annotations

import pytest
import torch

import aehelpers as ae


def test_auroc_against_a_hand_count_with_a_tie():
    scores = torch.tensor([0.1, 0.4, 0.35, 0.8, 0.4])
    is_anomaly = torch.tensor([False, False, True, True, False])
    # pairs (anomaly, normal): 0.35 beats 0.1, loses to 0.4 twice; 0.8 beats all three -> 4 wins of 6, no tie here
    assert ae.auroc(scores, is_anomaly) == pytest.approx(4 / 6)
    tied = torch.tensor([0.1, 0.4, 0.4, 0.8, 0.5])  # 0.4 anomaly ties 0.4 normal: half a win
    assert ae.auroc(tied, is_anomaly) == pytest.approx((1 + 0.5 + 3) / 6)


def test_auroc_extremes_and_scale_invariance():
    is_anomaly = torch.tensor([False] * 50 + [True] * 50)
    scores = torch.arange(100.0)
    assert ae.auroc(scores, is_anomaly) == 1.0 and ae.auroc(-scores, is_anomaly) == 0.0
    assert ae.auroc((scores / 10).exp(), is_anomaly) == 1.0  # only the order counts
    assert ae.auroc(torch.ones(100), is_anomaly) == 0.5  # all tied: a coin


def test_auroc_matches_the_area_under_roc_curve():
    generator = torch.Generator().manual_seed(0)
    is_anomaly = torch.rand(300, generator=generator) < 0.3
    scores = torch.randn(300, generator=generator) + is_anomaly.float()
    scores[::7] = scores[::7].round()  # some ties
    false_alarms, detected = ae.roc_curve(scores, is_anomaly)
    assert false_alarms[0] == detected[0] == 0 and false_alarms[-1] == detected[-1] == 1
    assert ae.auroc(scores, is_anomaly) == pytest.approx(torch.trapezoid(detected, false_alarms).item())


def test_auroc_refuses_bad_input():
    with pytest.raises(ValueError, match="both normal images and anomalies"):
        ae.auroc(torch.rand(4), torch.zeros(4, dtype=torch.bool))
    with pytest.raises(ValueError, match="NaN"):
        ae.auroc(torch.tensor([0.0, float("nan")]), torch.tensor([False, True]))
    with pytest.raises(ValueError, match="One label per score"):
        ae.auroc(torch.rand(3), torch.tensor([False, True]))


def test_one_class_split_trains_on_one_digit_and_holds_some_out():
    images = torch.arange(20.0).view(20, 1, 1, 1)
    labels = torch.tensor([0, 1] * 10)
    split = ae.one_class_split(images, labels, images[:6], labels[:6], normal_digit=1, held_out=3)
    assert split.held_out.flatten().tolist() == [1.0, 3.0, 5.0]
    assert split.train.flatten().tolist() == [7.0, 9.0, 11.0, 13.0, 15.0, 17.0, 19.0]
    assert split.test_is_anomaly.tolist() == [True, False] * 3
    with pytest.raises(ValueError, match="held_out must be between 1 and 9"):
        ae.one_class_split(images, labels, images, labels, normal_digit=1, held_out=10)


def test_threshold_flags_the_chosen_share_of_held_out_normals():
    held_out = torch.arange(1000.0)
    threshold = ae.threshold_for_false_alarms(held_out, 0.05)
    assert (held_out >= threshold).float().mean().item() == pytest.approx(0.05, abs=0.002)
    with pytest.raises(ValueError, match="between 0 and 1"):
        ae.threshold_for_false_alarms(held_out, 5)
