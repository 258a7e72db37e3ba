import math

import pytest
import torch

from aehelpers.metrics import (
    checkerboard_score, mse_per_image, psnr_per_image, reconstruction_scores, ssim_per_image, tile_error_map,
)


def test_mse_and_psnr_against_hand_computed_values():
    targets = torch.zeros(2, 1, 2, 2)
    outputs = torch.stack([torch.full((1, 2, 2), 0.5), torch.tensor([[[0.1, 0.0], [0.0, 0.0]]])])
    # image 1: every pixel off by 0.5 -> MSE 0.25; image 2: one pixel off by 0.1 -> MSE 0.01 / 4
    assert mse_per_image(outputs, targets).tolist() == pytest.approx([0.25, 0.0025])
    assert psnr_per_image(outputs, targets).tolist() == pytest.approx([10 * math.log10(4), 10 * math.log10(400)])


def test_psnr_of_a_perfect_copy_is_capped_not_infinite():
    images = torch.rand(3, 1, 4, 4)
    assert psnr_per_image(images, images).tolist() == pytest.approx([100.0] * 3)


def test_psnr_uses_the_data_range():
    outputs, targets = torch.full((1, 1, 2, 2), 2.0), torch.zeros(1, 1, 2, 2)
    assert psnr_per_image(outputs, targets, data_range=2.0).item() == pytest.approx(0.0)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="Shapes differ"):
        mse_per_image(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 3, 3))


def test_reconstruction_scores_average_over_images():
    identity = torch.nn.Identity()
    identity.register_parameter("unused", torch.nn.Parameter(torch.zeros(1)))  # predict() reads the device from it
    images = torch.rand(10, 1, 4, 4)
    scores = reconstruction_scores(identity, images, images * 0.5)
    expected = mse_per_image(images, images * 0.5)
    assert scores["mse"] == pytest.approx(expected.mean().item())
    assert scores["psnr"] == pytest.approx((10 * torch.log10(1 / expected)).mean().item())



def test_ssim_of_identical_images_is_one():
    images = torch.rand(4, 1, 28, 28)
    assert ssim_per_image(images, images).tolist() == pytest.approx([1.0] * 4, abs=1e-5)


def test_ssim_of_two_flat_images_matches_the_formula_by_hand():
    # Flat images have no contrast or structure: only the brightness term (2ab + C1) / (a^2 + b^2 + C1) remains.
    a, b, c1 = 0.2, 0.6, 0.01**2
    value = ssim_per_image(torch.full((1, 1, 16, 16), a), torch.full((1, 1, 16, 16), b)).item()
    assert value == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-4)


def test_ssim_falls_as_noise_grows():
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(8, 1, 28, 28, generator=generator)
    noise = torch.randn(8, 1, 28, 28, generator=generator)
    values = [ssim_per_image((images + s * noise).clamp(0, 1), images).mean().item() for s in (0.05, 0.2, 0.5)]
    assert values[0] > values[1] > values[2]


def test_checkerboard_score_is_zero_for_even_error_and_large_for_tiles():
    targets = torch.zeros(4, 1, 28, 28)
    assert checkerboard_score(targets + 0.1, targets) == pytest.approx(0.0, abs=1e-6)
    tile = torch.tensor([[1.0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]).repeat(7, 7) * 0.1
    # two of 16 positions carry all the error: mean 0.01 * 2/16, std over the 16 cells by hand
    expected = torch.tensor([0.01, 0.01] + [0.0] * 14).std() / torch.tensor([0.01, 0.01] + [0.0] * 14).mean()
    assert checkerboard_score(targets + tile, targets) == pytest.approx(expected.item(), rel=1e-4)
    assert tile_error_map(targets + tile, targets)[0, 0] == pytest.approx(0.01)


def test_checkerboard_score_needs_a_multiple_of_the_period():
    with pytest.raises(ValueError, match="not a multiple of the period"):
        checkerboard_score(torch.zeros(1, 1, 30, 30), torch.ones(1, 1, 30, 30))
