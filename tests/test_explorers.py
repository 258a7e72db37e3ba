"""The explorers answer a change of their controls with the right picture and numbers, fast, without leaking.

Each test moves a control the way a learner would and checks the numbers shown against the same numbers
computed here independently, and that the picture changed; tiny models and synthetic data keep it quick.
"""

from __future__ import annotations

import gc
import re

import pytest
import torch

import aehelpers as ae
from aehelpers import explorers

REDRAW_LIMIT_SECONDS = 0.3  # the lessons promise a redraw in under 0.3 s on 2 CPU cores


def digits(count: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.rand((count, 1, 28, 28), generator=generator), torch.arange(count) % 10


def numbers_in(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+\.\d+", text)]


def fastest_redraw(explorer: explorers.Explorer, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        explorer.redraw()
        times.append(explorer.last_redraw_seconds)
    return min(times)


def test_code_explorer_shows_the_chosen_digit_and_its_error():
    images, labels = digits()
    ae.set_seed(0)
    model = ae.ConvAutoencoder().eval()
    explorer = explorers.code_explorer(model, images, labels)
    first_picture = explorer.picture.value
    explorer.controls[0].value = 13
    with torch.inference_mode():
        expected = ae.mse_per_image(model(images[13:14]), images[13:14]).item()
    assert f"test image 13 (a {int(labels[13])})" in explorer.text
    assert numbers_in(explorer.text)[-1] == pytest.approx(expected, abs=5e-6)
    assert explorer.picture.value != first_picture
    assert fastest_redraw(explorer) <= REDRAW_LIMIT_SECONDS


def test_denoising_explorer_scores_each_output_at_the_chosen_noise():
    images, _ = digits()
    explorer = explorers.denoising_explorer({"identity": lambda x: x}, images, ae.add_noise, training_noise=0.5)
    assert "trained at 0.50" in explorer.text
    first_picture = explorer.picture.value
    noise, index = explorer.controls
    noise.value, index.value = 0.2, 7
    noisy = ae.add_noise(images[7:8], 0.2, torch.Generator().manual_seed(0))
    expected = ae.psnr_per_image(noisy, images[7:8]).item()
    psnrs = numbers_in(explorer.text.split("PSNR")[1])
    assert psnrs[0] == pytest.approx(expected, abs=0.005)
    assert psnrs[1] == pytest.approx(expected, abs=0.005)  # the identity "denoiser" changes nothing
    assert "noise level 0.20" in explorer.text and explorer.picture.value != first_picture
    assert fastest_redraw(explorer) <= REDRAW_LIMIT_SECONDS


def test_code_plane_explorer_decodes_the_chosen_point_and_walks_between_two_codes():
    generator = torch.Generator().manual_seed(0)
    codes, labels = torch.randn((500, 2), generator=generator), torch.arange(500) % 10
    decoded = []

    def decode(z):
        decoded.append(z.clone())
        return torch.sigmoid(z.sum() * torch.ones((len(z), 1, 28, 28)))

    explorer = explorers.code_plane_explorer(decode, codes, labels, walk_ends=(3, 4))
    z1, z2 = explorer.children[0].children
    start, end, position = explorer.children[1].children
    z1.value = 0.5
    assert decoded[-1].tolist() == [[0.5, 0.0]]
    count = len(decoded)
    position.value = 1.0  # the far end of the walk: the code of image 4 (the first 4), one redraw
    assert len(decoded) == count + 1
    assert decoded[-1][0].tolist() == pytest.approx(codes[4].tolist())
    assert numbers_in(explorer.text)[:2] == pytest.approx([round(v, 2) for v in codes[4].tolist()], abs=0.006)
    end.value = 9  # a new end: the point moves to the first 9's code, where position 1.0 now lies
    assert decoded[-1][0].tolist() == pytest.approx(codes[9].tolist())
    assert "walk from 3 to 9" in explorer.text
    with pytest.raises(ValueError, match="2-value code"):
        explorers.code_plane_explorer(decode, torch.zeros((10, 3)), labels[:10])
    assert fastest_redraw(explorer) <= REDRAW_LIMIT_SECONDS


def threshold_data():
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(2_000) % 10
    scores = {d: torch.rand(2_000, generator=generator) + 0.5 * (labels != d) + 0.01 for d in range(10)}
    return scores, {d: labels != d for d in range(10)}


def test_threshold_explorer_counts_false_alarms_and_misses():
    scores, is_anomaly = threshold_data()
    explorer = explorers.threshold_explorer(scores, is_anomaly)
    digit, quantile = explorer.controls
    digit.value, quantile.value = 3, 0.9
    threshold = torch.quantile(scores[3][~is_anomaly[3]].double(), 0.9).item()
    flagged = scores[3] >= threshold
    false_alarms = int((flagged & ~is_anomaly[3]).sum())
    missed = int((~flagged & is_anomaly[3]).sum())
    assert f"({false_alarms} of {int((~is_anomaly[3]).sum())} normal)" in explorer.text
    assert f"({missed} of {int(is_anomaly[3].sum())} anomalies)" in explorer.text
    assert fastest_redraw(explorer) <= REDRAW_LIMIT_SECONDS


def test_200_changes_leave_no_memory_behind():
    # Counted in live Python objects (a figure left behind per redraw would add thousands each time) and in
    # the figure's own axes; tracemalloc would be exact but slows matplotlib a hundredfold.
    # The cheapest explorer, since what is tested is the redraw every explorer shares.
    images, _ = digits()
    explorer = explorers.denoising_explorer({"identity": lambda x: x}, images, ae.add_noise, training_noise=0.5)
    index = explorer.controls[1]
    for value in range(1, 21):  # warm-up: caches fill on the first redraws
        index.value = value
    gc.collect()
    before = len(gc.get_objects())
    for value in range(200):  # 2, 1, 2, 1, ...: every assignment is a change (index ended at 20)
        index.value = 2 - value % 2
    gc.collect()
    growth = len(gc.get_objects()) - before
    assert growth < 2_000, f"{growth:,} more live objects after 200 redraws"
    assert len(explorer.figure.axes) == 3  # clean, noisy, identity: no axes piled up


def test_a_static_view_gets_the_picture_and_a_line_on_how_to_use_it():
    scores, is_anomaly = threshold_data()
    bundle = explorers.threshold_explorer(scores, is_anomaly)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["image/png"].startswith("iVBOR")  # a PNG, base64-encoded
    assert explorers.HOW_TO_USE in bundle["text/plain"]
