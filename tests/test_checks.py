"""The exercises' self-checks (aehelpers/checks/, one module per lesson): each accepts the solution and rejects a typical mistake
with a message that names it. Tiny models and tensors only, no data and no training: the file runs in seconds."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import aehelpers as ae
from aehelpers import checks
from aehelpers.checks import CheckFailed, ExerciseNotDone


@pytest.fixture(autouse=True)
def full_mode(monkeypatch):
    """Every test starts in full mode; the quick-mode tests switch it on themselves."""
    monkeypatch.delenv("AEHELPERS_QUICK", raising=False)


@pytest.fixture
def saved_runs(tmp_path, monkeypatch):
    """Plant exercise training runs as checkpoints (history and identity only) in an empty folder."""
    monkeypatch.setattr("aehelpers.checkpoints.CHECKPOINT_DIR", tmp_path)

    def save(name: str, train_accuracy: list[float] = (), test_accuracy: list[float] = (),
             test_loss: list[float] = (), **identity: str) -> None:
        history = ae.History(train_loss=[1.0] * len(test_accuracy or test_loss or [0]), test_loss=list(test_loss),
                             train_accuracy=list(train_accuracy), test_accuracy=list(test_accuracy))
        torch.save({"history": history.as_dict(), "identity": identity}, tmp_path / f"{name}.pt")

    return save


class Code8(ae.Autoencoder):
    """The solution of lesson 1's exercise 2: lesson 1's model with an 8x7x7 code."""

    def __init__(self, code_channels: int = 8, sigmoid: bool = True) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                     nn.Conv2d(16, code_channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.decoder = nn.Sequential(nn.ConvTranspose2d(code_channels, 16, 2, stride=2), nn.ReLU(),
                                     nn.ConvTranspose2d(16, 1, 2, stride=2), *([nn.Sigmoid()] if sigmoid else []))


class NotDone(ae.Autoencoder):
    """An untouched exercise class: its layers are still `...`."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = ...
        self.decoder = ...


def upsample_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """The solution of lesson 3's exercise 2."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                         nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU())


# The exceptions


def test_exceptions_show_only_their_message():
    err = ExerciseNotDone("Exercise 1 is not done yet: fill in `padding`.")
    assert str(err) == "Exercise 1 is not done yet: fill in `padding`."
    assert err._render_traceback_() == ["ExerciseNotDone: Exercise 1 is not done yet: fill in `padding`."]
    assert CheckFailed("line one\nline two")._render_traceback_() == ["CheckFailed: line one", "line two"]


@pytest.mark.parametrize("placeholder", [..., None])
def test_require_names_the_placeholder_to_fill_in(placeholder):
    with pytest.raises(ExerciseNotDone, match=r"Exercise 3 is not done yet: fill in `lr` in the cell above"):
        checks.require("Exercise 3", batch_size=16, lr=placeholder)
    checks.require("Exercise 3", batch_size=16, lr=0.002)


def test_check_shape_says_both_shapes():
    with pytest.raises(CheckFailed, match=r"the code has shape \(2, 4, 7, 7\); expected \(2, 8, 7, 7\)"):
        checks.check_shape("Exercise 2", "the code", torch.zeros(2, 4, 7, 7), (2, 8, 7, 7))
    with pytest.raises(CheckFailed, match="got a list"):
        checks.check_shape("Exercise 2", "the code", [1, 2], (2,))


def test_check_in_range_gives_the_range_and_uses_quick_range(monkeypatch, capsys):
    with pytest.raises(CheckFailed, match="test_mse is 0.5, outside the expected range 0.003 to 0.03"):
        checks.check_in_range("Exercise 3", "test_mse", 0.5, 0.003, 0.03, quick_range=(0.003, 0.2))
    assert checks.check_in_range("Exercise 3", "test_mse", 0.01, 0.003, 0.03)
    with pytest.raises(CheckFailed, match="should be a number"):
        checks.check_in_range("Exercise 3", "test_mse", "0.01", 0.003, 0.03)
    monkeypatch.setenv("AEHELPERS_QUICK", "1")
    assert checks.check_in_range("Exercise 3", "test_mse", 0.1, 0.003, 0.03, quick_range=(0.003, 0.2))
    with pytest.raises(CheckFailed, match="range in quick mode 0.003 to 0.2"):
        checks.check_in_range("Exercise 3", "test_mse", 0.5, 0.003, 0.03, quick_range=(0.003, 0.2))
    assert not checks.check_in_range("Exercise 3", "test_mse", 0.5, 0.003, 0.03)
    assert "skipped the range check of test_mse" in capsys.readouterr().out


# Lesson 1


def test_l01_padding(capsys):
    with pytest.raises(ExerciseNotDone, match="fill in `padding`"):
        checks.l01_padding(...)
    with pytest.raises(CheckFailed, match=r"with padding 1 a 5x5 convolution turns 28x28 into 26x26"):
        checks.l01_padding(1)
    with pytest.raises(CheckFailed, match="whole number"):
        checks.l01_padding(2.0)
    checks.l01_padding(2)
    assert capsys.readouterr().out.startswith("✓ padding 2")


def test_l01_code8_model():
    assert checks.L01_CODE8_PARAMETERS == 1913
    with pytest.raises(ExerciseNotDone, match="fill in `encoder`"):
        checks.l01_code8_model(NotDone(), ...)
    with pytest.raises(CheckFailed, match=r"the code of 2 digits has shape \(2, 4, 7, 7\); expected \(2, 8, 7, 7\)"):
        checks.l01_code8_model(ae.ConvAutoencoder(), 1077)
    with pytest.raises(CheckFailed, match="end the decoder with nn.Sigmoid"):
        model = Code8(sigmoid=False)
        nn.init.constant_(model.decoder[2].bias, 5.0)  # outputs far above 1
        checks.l01_code8_model(model, 1913)
    with pytest.raises(ExerciseNotDone, match="fill in `predicted_parameters`"):
        checks.l01_code8_model(Code8(), ...)
    with pytest.raises(CheckFailed, match="you predicted 1077 parameters; the model has 1,913"):
        checks.l01_code8_model(Code8(), 1077)
    checks.l01_code8_model(Code8(), 1913)


def test_l01_code8_model_names_a_layer_that_does_not_fit():
    model = Code8()
    model.decoder[0] = nn.ConvTranspose2d(4, 16, 2, stride=2)  # forgot to change the decoder's channels
    with pytest.raises(CheckFailed, match="did not go through the model"):
        checks.l01_code8_model(model, 1913)


def test_l01_code8_trained(saved_runs):
    saved_runs("ex01_code_8_channels", test_loss=[0.02, 0.009])
    with pytest.raises(ExerciseNotDone, match="fill in `test_mse`"):
        checks.l01_code8_trained(..., 0.3)
    with pytest.raises(CheckFailed, match="not below the untrained"):
        checks.l01_code8_trained(0.31, 0.3)
    with pytest.raises(CheckFailed, match="outside the expected range 0.003 to 0.03"):
        checks.l01_code8_trained(0.1, 0.3)  # a quick-mode-sized result in a full run
    with pytest.raises(CheckFailed, match="`test_mse` is 0.02, but the last epoch's test MSE of the run saved as "
                                          "ex01_code_8_channels is 0.009"):
        checks.l01_code8_trained(0.02, 0.3)  # the first epoch's, or another run's
    checks.l01_code8_trained(0.009, 0.3)


def test_l01_guess_and_batch_sizes(monkeypatch, capsys, saved_runs):
    saved_runs("ex01_batch_16", test_loss=[0.02, 0.012])
    saved_runs("ex01_batch_256", test_loss=[0.05, 0.03])
    choices = ("16", "256", "same")
    with pytest.raises(ExerciseNotDone, match="fill in `my_guess`"):
        checks.l01_guess(..., choices)
    with pytest.raises(CheckFailed, match="write one of '16', '256', 'same'"):
        checks.l01_guess(16, choices)
    checks.l01_guess("256", choices)
    with pytest.raises(ExerciseNotDone, match="fill in `mse_256`"):
        checks.l01_batch_sizes(0.01, ..., "256")
    with pytest.raises(CheckFailed, match="`mse_16` is 0.03, but the last epoch's test MSE of the run saved as ex01_batch_16"):
        checks.l01_batch_sizes(0.03, 0.012, "256")  # the two results swapped
    with pytest.raises(CheckFailed, match="`mse_16` is 0.0121, but the last epoch's test MSE"):
        checks.l01_batch_sizes(0.0121, 0.03, "256")  # typed, rounded by hand
    capsys.readouterr()
    checks.l01_batch_sizes(0.012, 0.03, "256")
    assert "you guessed '256'" in capsys.readouterr().out
    monkeypatch.setenv("AEHELPERS_QUICK", "1")
    checks.l01_batch_sizes(0.05, 0.15, "16")
    assert "as you guessed" in capsys.readouterr().out


def test_l01_mean_codes_and_typical_digits():
    torch.manual_seed(0)
    model = ae.ConvAutoencoder().eval()
    images, labels = torch.rand(40, 1, 28, 28), torch.arange(40) % 10
    with torch.no_grad():
        codes = model.encode(images)
    solution = torch.stack([codes[labels == digit].mean(dim=0) for digit in range(10)])
    with pytest.raises(ExerciseNotDone, match="fill in `mean_codes`"):
        checks.l01_mean_codes(..., model, images, labels)
    with pytest.raises(CheckFailed, match=r"`mean_codes` has shape \(4, 7, 7\); expected \(10, 4, 7, 7\)"):
        checks.l01_mean_codes(codes.mean(dim=0), model, images, labels)  # averaged over every digit at once
    with pytest.raises(CheckFailed, match="row 0 of `mean_codes` is not the average code of the test 0s"):
        checks.l01_mean_codes(solution.flip(0), model, images, labels)  # digits in the wrong order
    checks.l01_mean_codes(solution, model, images, labels)
    with torch.no_grad():
        typical = model.decode(solution)
        wrong = torch.stack([images[labels == digit].mean(dim=0) for digit in range(10)])  # averaged images
    with pytest.raises(CheckFailed, match="do not average the images"):
        checks.l01_typical_digits(wrong, solution, model)
    checks.l01_typical_digits(typical, solution, model)


# Lesson 3


def test_transpose_spread_finds_the_uneven_overlaps():
    assert checks.transpose_spread(3, 2) == 3.0  # 4, 2 and 1 copies alternate (lesson 3)
    assert checks.transpose_spread(2, 2) == 0.0
    assert checks.transpose_spread(4, 2) == 0.0  # kernel a multiple of the stride: even overlap


def test_l03_guesses_and_spreads(capsys):
    guesses = {pair: pair == (3, 2) for pair in checks.L03_LAYERS}
    with pytest.raises(ExerciseNotDone, match="fill in `my_guess`"):
        checks.l03_guesses(...)
    with pytest.raises(ExerciseNotDone, match=r"fill in `my_guess\[\(5, 2\)\]`"):
        checks.l03_guesses({**guesses, (5, 2): ...})
    with pytest.raises(CheckFailed, match=r"no entry for \(kernel, stride\) \(2, 2\)"):
        checks.l03_guesses({(3, 2): True})
    with pytest.raises(CheckFailed, match="write True"):
        checks.l03_guesses({**guesses, (5, 2): "yes"})
    checks.l03_guesses(guesses)
    solution = {pair: checks.transpose_spread(*pair) for pair in checks.L03_LAYERS}
    with pytest.raises(CheckFailed, match=r"spreads\[\(3, 2\)\] is 0.0; a kernel-3, stride-2 .* gives 3"):
        checks.l03_spreads({**solution, (3, 2): 0.0}, guesses)
    with pytest.raises(ExerciseNotDone, match="replace the `return ...` of `spread_of`"):
        checks.l03_spreads(dict.fromkeys(checks.L03_LAYERS, ...), guesses)
    capsys.readouterr()
    checks.l03_spreads(solution, guesses)
    assert "your guess was off for [(5, 2)]" in capsys.readouterr().out


def test_l03_upsample_block():
    with pytest.raises(ExerciseNotDone, match="fill in `block`"):
        checks.l03_upsample_block(...)
    with pytest.raises(CheckFailed, match="uses nn.ConvTranspose2d"):
        checks.l03_upsample_block(nn.Sequential(nn.ConvTranspose2d(16, 8, 2, stride=2), nn.ReLU()))
    with pytest.raises(CheckFailed, match=r"has shape \(1, 8, 12, 12\); expected \(1, 8, 14, 14\)"):
        checks.l03_upsample_block(nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(16, 8, 3)))  # no padding
    torch.manual_seed(0)
    with pytest.raises(CheckFailed, match="varies by .* away from the border"):  # sub-pixel convolution
        checks.l03_upsample_block(nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.PixelShuffle(2)))
    checks.l03_upsample_block(upsample_block(16, 8))


def test_l03_upsample_decoder():
    with pytest.raises(ExerciseNotDone, match="fill in `decoder`"):
        checks.l03_upsample_decoder(...)
    with pytest.raises(CheckFailed, match="paints a flat code with a pattern"):
        checks.l03_upsample_decoder(ae.ConvAutoencoder().decoder)  # lesson 1's transpose decoder
    with pytest.raises(CheckFailed, match="did not go through `decoder`"):
        checks.l03_upsample_decoder(nn.Sequential(upsample_block(16, 16), upsample_block(16, 8)))  # 16 code channels
    decoder = nn.Sequential(upsample_block(4, 16), upsample_block(16, 8), nn.Conv2d(8, 1, 3, padding=1))
    nn.init.constant_(decoder[2].bias, 5.0)
    with pytest.raises(CheckFailed, match="nn.Sigmoid"):
        checks.l03_upsample_decoder(decoder)
    checks.l03_upsample_decoder(nn.Sequential(*decoder, nn.Sigmoid()))


def test_l03_upsample_trained(monkeypatch, capsys, saved_runs):
    saved_runs("ex03_upsample_decoder", test_loss=[0.02, 0.01])
    with pytest.raises(CheckFailed, match="score .* is 0.5, outside"):
        checks.l03_upsample_trained(0.01, 0.5)
    with pytest.raises(CheckFailed, match="test_mse is 0.1, outside the expected range 0.002 to 0.04"):
        checks.l03_upsample_trained(0.1, 0.05)
    with pytest.raises(CheckFailed, match="`test_mse` is 0.02, but the last epoch's test MSE"):
        checks.l03_upsample_trained(0.02, 0.05)
    checks.l03_upsample_trained(0.01, 0.05)
    monkeypatch.setenv("AEHELPERS_QUICK", "1")
    capsys.readouterr()
    checks.l03_upsample_trained(0.1, 0.5)  # quick mode: the score is not checked
    assert "not checked in quick mode" in capsys.readouterr().out


def test_l03_bilinear(saved_runs):
    saved_runs("ex03_nearest", test_loss=[0.02, 0.01], architecture="Upsample(scale_factor=2.0, mode='nearest')")
    saved_runs("ex03_bilinear", test_loss=[0.02, 0.009], architecture="Upsample(scale_factor=2.0, mode='bilinear')")
    model = ae.UpsampleAutoencoder(code_channels=4)
    with pytest.raises(ExerciseNotDone, match="still 'nearest'"):
        checks.l03_bilinear(model)
    with pytest.raises(CheckFailed, match=r"modes are \['bilinear', 'nearest'\]"):
        model.decoder[2].mode = "bilinear"  # only the first one changed
        checks.l03_bilinear(model)
    model.decoder[5].mode = "bilinear"
    checks.l03_bilinear(model)
    with pytest.raises(CheckFailed, match="no nn.Upsample"):
        checks.l03_bilinear(ae.ConvAutoencoder())
    with pytest.raises(ExerciseNotDone, match="fill in `mse_bilinear`"):
        checks.l03_bilinear_scores(0.01, ...)
    with pytest.raises(CheckFailed, match="mse_bilinear is 0.1, outside the expected range"):
        checks.l03_bilinear_scores(0.01, 0.1)
    with pytest.raises(CheckFailed, match="`mse_nearest` is 0.009, but the last epoch's test MSE"):
        checks.l03_bilinear_scores(0.009, 0.01)  # the two swapped
    checks.l03_bilinear_scores(0.01, 0.009)
    saved_runs("ex03_bilinear", test_loss=[0.02, 0.009], architecture="Upsample(scale_factor=2.0, mode='nearest')")
    with pytest.raises(CheckFailed, match="has no bilinear upsampling"):
        checks.l03_bilinear_scores(0.01, 0.009)  # the mode switched after training, or never


# Lesson 2


class OneSkipUNet(nn.Module):
    """The solution of lesson 2's exercise 1 (``skip=False`` plants the mistake of leaving the skip out)."""

    def __init__(self, width: int = 8, skip: str = "full") -> None:
        super().__init__()
        self.skip = skip
        self.down = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.ReLU())
        self.middle = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(),
                                    nn.Upsample(scale_factor=2, mode="nearest"))
        self.up = nn.Sequential(nn.Conv2d(3 * width, width, 3, padding=1), nn.ReLU())
        self.out = nn.Sequential(nn.Conv2d(width, 1, 3, padding=1), nn.Sigmoid())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        full = self.down(images)
        x = self.middle(full)
        if self.skip == "full":
            x = torch.cat([x, full], dim=1)
        elif self.skip == "self":  # the mistake: concatenates the middle's output with a part of itself
            x = torch.cat([x, x[:, :8]], dim=1)
        elif self.skip == "todo":
            x = ...
        return self.out(self.up(x))


def random_noisy(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The solution of lesson 2's exercise 3."""
    level = 0.1 + 0.9 * torch.rand(1, generator=generator).item()
    return ae.add_noise(images, level, generator)


def test_l02_one_skip():
    assert checks.L02_ONE_SKIP_PARAMETERS == 3057
    torch.manual_seed(0)
    with pytest.raises(ExerciseNotDone, match=r"fill in `x` in `forward` in the cell above"):
        checks.l02_one_skip(OneSkipUNet(skip="todo"), 3057)
    with pytest.raises(CheckFailed, match="does not see the skip"):
        checks.l02_one_skip(OneSkipUNet(skip="self"), 3057)
    with pytest.raises(CheckFailed, match="running `x` in `forward` failed"):
        checks.l02_one_skip(OneSkipUNet(skip="none"), 3057)  # no skip: 16 channels reach a 24-channel convolution
    with pytest.raises(ExerciseNotDone, match="fill in `predicted_parameters`"):
        checks.l02_one_skip(OneSkipUNet(), ...)
    with pytest.raises(CheckFailed, match="you predicted 1905 parameters; the model has 3,057"):
        checks.l02_one_skip(OneSkipUNet(), 1905)  # forgot the skip's 8 channels in `up`
    checks.l02_one_skip(OneSkipUNet(), 3057)


def test_l02_guess_and_gains(capsys):
    choices = ("0.3", "0.8", "same")
    with pytest.raises(CheckFailed, match="write one of '0.3', '0.8', 'same'"):
        checks.l02_guess(0.3, choices)
    checks.l02_guess("0.8", choices)
    solution = {0.3: 10.3, 0.5: 11.5, 0.8: 9.3}
    with pytest.raises(ExerciseNotDone, match="replace the `return ...` of `psnr_gain`"):
        checks.l02_gains(dict.fromkeys(solution, ...), "0.8")
    with pytest.raises(CheckFailed, match=r"gains\[0.3\] is 23.59 dB, as high as a denoised PSNR"):
        checks.l02_gains({0.3: 23.59, 0.5: 20.9, 0.8: 16.1}, "0.8")
    with pytest.raises(CheckFailed, match=r"gains\[0.8\] is 2.00 dB, outside the expected range 7 to 11.5"):
        checks.l02_gains({**solution, 0.8: 2.0}, "0.8")
    with pytest.raises(CheckFailed, match="should be a dict with the noise levels"):
        checks.l02_gains({0.3: 10.3}, "0.8")
    capsys.readouterr()
    checks.l02_gains(solution, "0.8")
    assert "the answer is '0.3', you guessed '0.8'" in capsys.readouterr().out


def test_l02_random_noise():
    def todo(images, generator):
        level = ...
        return ae.add_noise(images, level, generator)

    with pytest.raises(ExerciseNotDone, match="fill in `level` in `random_noisy`"):
        checks.l02_random_noise(todo)
    with pytest.raises(CheckFailed, match="only ranged from"):
        checks.l02_random_noise(lambda images, generator: ae.add_noise(images, 0.5, generator))  # a fixed level
    with pytest.raises(CheckFailed, match="draw the level from `generator`"):
        checks.l02_random_noise(lambda images, generator: ae.add_noise(images, 0.1 + 0.9 * torch.rand(1).item(),
                                                                       generator))
    with pytest.raises(CheckFailed, match="weaker than level 0.1"):
        checks.l02_random_noise(lambda images, generator: ae.add_noise(
            images, torch.rand(1, generator=generator).item(), generator))  # levels from [0, 1)
    with pytest.raises(CheckFailed, match="leave the pixel range"):
        checks.l02_random_noise(lambda images, generator: images + torch.randn(images.shape, generator=generator))
    checks.l02_random_noise(random_noisy)


def test_l02_noise_range(monkeypatch, capsys, saved_runs):
    fixed = {0.1: 24.0, 0.3: 22.0, 0.5: 20.0, 0.8: 15.5, 1.0: 13.0}
    ranged = {0.1: 23.0, 0.3: 21.8, 0.5: 20.1, 0.8: 17.0, 1.0: 15.0}
    with pytest.raises(CheckFailed, match="no training run is saved as checkpoint 'ex02_fixed'"):
        checks.l02_noise_range(fixed, ranged)
    saved_runs("ex02_fixed", **{"input maker": "noisy_05"})
    saved_runs("ex02_range", **{"input maker": "noisy_05"})  # trained with lesson 2's fixed level again
    with pytest.raises(CheckFailed, match="made its noisy inputs as ex02_fixed did"):
        checks.l02_noise_range(fixed, ranged)
    saved_runs("ex02_range", **{"input maker": "random_noisy"})
    with pytest.raises(CheckFailed, match="`psnr_range` equals `psnr_fixed` at every level"):
        checks.l02_noise_range(fixed, dict(fixed))  # the same model measured twice
    with pytest.raises(CheckFailed, match="`psnr_range` is no higher at noise 0.1 than at 1.0"):
        checks.l02_noise_range(fixed, {level: 20.0 for level in ranged})  # every level measured at one noise
    with pytest.raises(ExerciseNotDone, match="fill in `psnr_range`"):
        checks.l02_noise_range(fixed, ...)
    with pytest.raises(CheckFailed, match=r"psnr_range\[1.0\] is 4, outside the expected range 8 to 32"):
        checks.l02_noise_range(fixed, {**ranged, 1.0: 4.0})
    with pytest.raises(CheckFailed, match="`psnr_fixed` should be a dict"):
        checks.l02_noise_range({0.5: 20.0}, ranged)
    capsys.readouterr()
    checks.l02_noise_range(fixed, ranged)
    assert "ahead at [0.5, 0.8, 1.0]" in capsys.readouterr().out
    monkeypatch.setenv("AEHELPERS_QUICK", "1")
    checks.l02_noise_range(fixed, {**ranged, 1.0: 4.0})  # a barely trained model, accepted in quick mode


# Lesson 5


def test_l05_pca_by_hand():
    torch.manual_seed(0)
    subset = torch.rand(100, 1, 8, 8)  # 64 pixels: the check works for any size, and 784 would be slow
    flat = subset.flatten(1).double()
    mean = flat.mean(dim=0)
    with pytest.raises(ExerciseNotDone, match="fill in `mean`"):
        checks.l05_mean(..., subset)
    with pytest.raises(CheckFailed, match=r"`mean` has shape \(100,\); expected \(64,\)"):
        checks.l05_mean(flat.mean(dim=1), subset)  # averaged over the pixels instead of the images
    checks.l05_mean(mean, subset)
    _, _, vh = torch.linalg.svd(flat - mean, full_matrices=False)
    with pytest.raises(ExerciseNotDone, match="fill in `components`"):
        checks.l05_components(..., subset)
    with pytest.raises(CheckFailed, match=r"`components` has shape \(64, 32\); expected \(32, 64\)"):
        checks.l05_components(vh[:32].T, subset)
    with pytest.raises(CheckFailed, match="not orthonormal"):
        checks.l05_components(flat[:32], subset)  # images instead of components
    with pytest.raises(CheckFailed, match="take the first 32 rows of `vh`"):
        checks.l05_components(vh[-32:], subset)  # the weakest directions
    checks.l05_components(vh[:32], subset)
    checks.l05_components(-vh[:32], subset)  # the sign of a component is arbitrary


def test_l05_guess_and_ratio(monkeypatch, capsys):
    choices = ("under 1.5", "1.5 to 3", "over 3")
    with pytest.raises(ExerciseNotDone, match="fill in `my_guess`"):
        checks.l05_guess(..., choices)
    checks.l05_guess("over 3", choices)
    with pytest.raises(CheckFailed, match=r"mse_8 \(PCA, k = 8\) is 0.01521, outside the expected range 0.0355 to 0.037"):
        checks.l05_ratio(0.01521, 0.03641, "over 3")  # the two swapped
    with pytest.raises(CheckFailed, match=r"`mse_8` is 0.03744, PCA's error \*without\* clipping"):
        checks.l05_ratio(0.03744, 0.01683, "over 3")  # reconstruct(..., clip=False)
    capsys.readouterr()
    checks.l05_ratio(0.03641, 0.01521, "over 3")
    assert "2.39 times the error" in capsys.readouterr().out
    monkeypatch.setenv("AEHELPERS_QUICK", "1")
    checks.l05_ratio(0.05, 0.03, "1.5 to 3")


class Dense2(ae.Autoencoder):
    """The solution of lesson 5's exercise 3."""

    def __init__(self, sigmoid: bool = True, code_size: int = 2, hidden: int = 256, relu: bool = True) -> None:
        super().__init__()
        between = [nn.ReLU()] if relu else []
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), *between, nn.Linear(hidden, code_size))
        self.decoder = nn.Sequential(nn.Linear(code_size, hidden), *between, nn.Linear(hidden, 784),
                                     *([nn.Sigmoid()] if sigmoid else []), nn.Unflatten(1, (1, 28, 28)))


def test_l05_dense_model_and_training(monkeypatch):
    class Todo(ae.Autoencoder):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = ...
            self.decoder = ...

    with pytest.raises(ExerciseNotDone, match="fill in `encoder`"):
        checks.l05_dense_model(Todo())
    with pytest.raises(CheckFailed, match=r"the code of 2 digits has shape \(2, 16\); expected \(2, 2\)"):
        checks.l05_dense_model(Dense2(code_size=16))
    model = Dense2(sigmoid=False)
    nn.init.constant_(model.decoder[2].bias, 5.0)
    with pytest.raises(CheckFailed, match="end the decoder with nn.Sigmoid"):
        checks.l05_dense_model(model)
    with pytest.raises(CheckFailed, match="the encoder is linear"):
        checks.l05_dense_model(Dense2(relu=False))  # no non-linearity: PCA at best
    with pytest.raises(CheckFailed, match="the exercise's 784 -> 256 -> 2 -> 256 -> 784 layers have 403,730"):
        checks.l05_dense_model(Dense2(hidden=32))
    checks.l05_dense_model(Dense2())
    with pytest.raises(CheckFailed, match="mse_dense is 0.2, outside the expected range 0.025 to 0.065"):
        checks.l05_dense_trained(0.2, 0.0555)
    for wrong in (0.0, 123.0, 0.01521):  # nothing measured, anything typed, PCA with 32 components
        with pytest.raises(CheckFailed, match="mse_pca"):
            checks.l05_dense_trained(0.045, wrong)
    checks.l05_dense_trained(0.045, 0.0555)
    monkeypatch.setenv("AEHELPERS_QUICK", "1")
    checks.l05_dense_trained(0.2, 0.0555)


# Lesson 4a


def course_head(side: int) -> nn.Sequential:
    """The solution of lesson 4a's exercise 1."""
    final = ((side - 2) // 2 - 2) // 2
    return nn.Sequential(nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * final * final, 512), nn.ReLU(),
                         nn.Linear(512, 102))


def test_l04a_sides_and_head():
    from aehelpers.classifiers import CourseFlowerHead

    assert checks.L04A_HEAD_PARAMETERS[22] == ae.count_parameters(CourseFlowerHead())
    with pytest.raises(ExerciseNotDone, match="fill in `side_22`"):
        checks.l04a_sides(..., 1)
    with pytest.raises(CheckFailed, match=r"`side_13` is 2\. .* 13 -> 11 -> 5 -> \.\.\."):
        checks.l04a_sides(4, 2)  # forgot that pooling rounds down
    checks.l04a_sides(4, 1)
    with pytest.raises(ExerciseNotDone, match="replace its `return ...`"):
        checks.l04a_head(lambda side: ...)
    with pytest.raises(CheckFailed, match=r"running `course_head\(13\)` failed"):
        checks.l04a_head(lambda side: course_head(22))  # the flatten size of the 22x22 code, for every code
    with pytest.raises(CheckFailed, match="course_head.22. has 311,750 parameters; the course.s head has 600,262"):
        checks.l04a_head(lambda side: nn.Sequential(*course_head(side)[:7], nn.Linear(64 * 16, 256), nn.ReLU(),
                                                    nn.Linear(256, 102)))  # a head of 256 instead of 512
    checks.l04a_head(course_head)


def test_l04a_guess_overfit_and_augmented(monkeypatch, capsys, saved_runs):
    saved_runs("ex04a_plain", train_accuracy=[50.0, 99.0], test_accuracy=[8.0, 6.0])
    saved_runs("ex04a_augmented", train_accuracy=[20.0, 40.0], test_accuracy=[9.0, 8.0], augmentation="FlowerAugmenter")
    with pytest.raises(CheckFailed, match="write one of 'under 20 points'"):
        checks.l04a_guess("big")
    checks.l04a_guess("over 60 points")
    with pytest.raises(ExerciseNotDone, match="fill in `val_accuracy`"):
        checks.l04a_overfit(99.0, ..., "over 60 points")
    with pytest.raises(CheckFailed, match=r"val_accuracy \(%, last epoch\) is 99, outside the expected range 0 to 25"):
        checks.l04a_overfit(60.0, 99.0, "over 60 points")  # the two swapped
    with pytest.raises(CheckFailed, match=r"`val_accuracy` is 8.0, but the last epoch's validation accuracy .* is 6"):
        checks.l04a_overfit(99.0, 8.0, "over 60 points")  # the first (or best) epoch, not the last
    with pytest.raises(CheckFailed, match=r"`train_accuracy` is 98.0, but the last epoch's training accuracy"):
        checks.l04a_overfit(98.0, 6.0, "over 60 points")  # typed by hand
    capsys.readouterr()
    checks.l04a_overfit(99.0, 6.0, "20 to 60 points")
    assert "a gap of 93.0 points, over 60 points: you guessed '20 to 60 points'" in capsys.readouterr().out
    with pytest.raises(ExerciseNotDone, match="fill in `val_aug`"):
        checks.l04a_augmented(40.0, ..., 99.0, 6.0)
    with pytest.raises(CheckFailed, match="`train_aug` is 99.0, but the last epoch's training accuracy"):
        checks.l04a_augmented(99.0, 6.0, 99.0, 6.0)  # exercise 2's numbers again
    checks.l04a_augmented(40.0, 8.0, 99.0, 6.0)
    saved_runs("ex04a_augmented", train_accuracy=[20.0, 40.0], test_accuracy=[9.0, 8.0], augmentation="none")
    with pytest.raises(CheckFailed, match="trained without augmentation"):
        checks.l04a_augmented(40.0, 8.0, 99.0, 6.0)
    monkeypatch.setenv("AEHELPERS_QUICK", "1")
    checks.l04a_overfit(20.0, 1.0, "over 60 points")  # quick mode: no ranges


def test_l04a_recipe():
    import torch.nn.functional as F

    from aehelpers.augment import FlowerAugmenter

    batch = torch.randint(0, 256, (2, 3, 80, 80), dtype=torch.uint8)
    with pytest.raises(ExerciseNotDone, match="fill in `augmented_recipe`"):
        checks.l04a_recipe(..., batch)
    with pytest.raises(CheckFailed, match="loss should be F.cross_entropy"):
        checks.l04a_recipe(ae.Recipe(augment=FlowerAugmenter(64)), batch)  # the default loss, MSE
    with pytest.raises(CheckFailed, match="has no augmentation"):
        checks.l04a_recipe(ae.Recipe(loss_fn=F.cross_entropy), batch)
    with pytest.raises(CheckFailed, match=r"expected \(2, 3, 64, 64\)"):
        checks.l04a_recipe(ae.Recipe(loss_fn=F.cross_entropy, augment=FlowerAugmenter(80)), batch)
    checks.l04a_recipe(ae.Recipe(loss_fn=F.cross_entropy, augment=FlowerAugmenter(64)), batch)


# Lesson 4b


class MyResidualBlock(nn.Module):
    """The solution of lesson 4b's exercise 1; `mistake` plants a typical error."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, mistake: str = "") -> None:
        super().__init__()
        self.mistake = mistake
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(out_channels),
            nn.ReLU(), nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels))
        if stride == 1 and in_channels == out_channels:
            self.shortcut = nn.Identity()
        elif mistake == "todo shortcut":
            self.shortcut = ...
        else:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=mistake == "bias"),
                                          nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mistake == "todo forward":
            return ...
        if self.mistake == "no shortcut":
            return torch.relu(self.body(x))
        if self.mistake == "no final relu":
            return self.body(x) + self.shortcut(x)
        if self.mistake == "relu before the sum":
            return torch.relu(self.body(x)) + self.shortcut(x)
        return torch.relu(self.body(x) + self.shortcut(x))


def test_l04b_residual_block():
    from functools import partial

    with pytest.raises(ExerciseNotDone, match="fill in `forward`"):
        checks.l04b_residual_block(partial(MyResidualBlock, mistake="todo forward"))
    with pytest.raises(ExerciseNotDone, match="fill in `self.shortcut`"):
        checks.l04b_residual_block(partial(MyResidualBlock, mistake="todo shortcut"))
    for mistake in ("no shortcut", "no final relu", "relu before the sum"):
        with pytest.raises(CheckFailed, match="should give back ReLU"):
            checks.l04b_residual_block(partial(MyResidualBlock, mistake=mistake))
    with pytest.raises(CheckFailed, match="has 14,560 parameters; lesson 4b's block has 14,528"):
        checks.l04b_residual_block(partial(MyResidualBlock, mistake="bias"))  # a bias that batch norm makes useless
    checks.l04b_residual_block(MyResidualBlock)


def smoothed_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, smoothing: float = 0.1) -> torch.Tensor:
    """The solution of lesson 4b's exercise 2."""
    classes = logits.shape[1]
    target = (1 - smoothing) * nn.functional.one_hot(targets, classes) + smoothing / classes
    return -(target * logits.log_softmax(dim=1)).sum(dim=1).mean()


def test_l04b_smoothing():
    with pytest.raises(ExerciseNotDone, match="fill in `best_probability`"):
        checks.l04b_best_probability(...)
    with pytest.raises(CheckFailed, match="`best_probability` is 1.0"):
        checks.l04b_best_probability(1.0)
    with pytest.raises(CheckFailed, match="`best_probability` is 0.9"):
        checks.l04b_best_probability(0.9)  # 1 - smoothing, without the right class's share of the spread
    checks.l04b_best_probability(0.9 + 0.1 / 102)

    def todo(logits, targets, smoothing=0.1):
        log_probs = ...
        return -(targets * log_probs).sum(dim=1).mean()

    def other_convention(logits, targets, smoothing=0.1):  # smoothing / (K - 1) on the wrong classes only
        classes = logits.shape[1]
        target = torch.full_like(logits, smoothing / (classes - 1)).scatter(1, targets[:, None], 1 - smoothing)
        return -(target * logits.log_softmax(dim=1)).sum(dim=1).mean()

    with pytest.raises(ExerciseNotDone, match="fill in `smoothed_cross_entropy`"):
        checks.l04b_smoothing(todo)
    with pytest.raises(CheckFailed, match=r"with smoothing 0.1 your loss is .*; F.cross_entropy\(..., label_smoothing"):
        checks.l04b_smoothing(other_convention)
    with pytest.raises(CheckFailed, match="should return one number"):
        checks.l04b_smoothing(lambda logits, targets, smoothing=0.1: nn.functional.cross_entropy(
            logits, targets, label_smoothing=smoothing, reduction="none"))  # per example, not averaged
    checks.l04b_smoothing(smoothed_cross_entropy)


def test_l04b_ablation(monkeypatch, capsys, saved_runs):
    saved_runs("ex04b_plain", test_accuracy=[5.0, 8.0, 7.4], loss="torch.nn.functional.cross_entropy")
    saved_runs("ex04b_smoothed", test_accuracy=[6.0, 9.2, 9.0], loss="def smoothed_cross_entropy(...)")
    with pytest.raises(ExerciseNotDone, match="fill in `val_smoothed`"):
        checks.l04b_ablation(8.0, ..., 500)
    with pytest.raises(CheckFailed, match=r"val_smoothed \(%, best epoch\) is 0.09, outside the expected range 0.5 to 40"):
        checks.l04b_ablation(8.0, 0.09, 500)  # a fraction, not a percentage
    capsys.readouterr()
    with pytest.raises(CheckFailed, match="not a whole number of the 500 validation photos"):
        checks.l04b_ablation(8.0, 9.25, 500)  # typed by hand: 46.25 photos
    with pytest.raises(CheckFailed, match="`val_smoothed` is 8.0, but the best validation accuracy of the run saved as ex04b_smoothed"):
        checks.l04b_ablation(8.0, 8.0, 500)  # val_plain reused
    with pytest.raises(CheckFailed, match="`val_smoothed` is 9.0, but the best validation accuracy"):
        checks.l04b_ablation(8.0, 9.0, 500)  # the last epoch, not the best
    checks.l04b_ablation(8.0, 9.2, 500)
    assert "(+1.2 points; one validation photo is 0.20 points)" in capsys.readouterr().out
    saved_runs("ex04b_smoothed", test_accuracy=[6.0, 9.2, 9.0], loss="torch.nn.functional.cross_entropy")
    with pytest.raises(CheckFailed, match="trained with the same loss as ex04b_plain"):
        checks.l04b_ablation(8.0, 9.2, 500)
    monkeypatch.setenv("AEHELPERS_QUICK", "1")
    checks.l04b_ablation(100 / 128, 0.0, 128)  # quick mode: one photo right, or none


# Lesson 6


def tiny_vae() -> ae.VariationalAutoencoder:
    """An untrained VAE small enough for the checks to run it in milliseconds."""
    torch.manual_seed(0)
    return ae.VariationalAutoencoder(4, width=2).eval()


def binary_digits(count: int) -> torch.Tensor:
    return ae.binarize(torch.rand(count, 1, 28, 28, generator=torch.Generator().manual_seed(0)),
                       torch.Generator().manual_seed(1))


def test_l06_codes_names_each_slip(capsys):
    generator = torch.Generator().manual_seed(0)
    mean, log_var, noise = (torch.randn(8, 4, generator=generator) for _ in range(3))
    with pytest.raises(ExerciseNotDone, match="fill in `codes`"):
        checks.l06_codes(..., mean, log_var, noise)
    with pytest.raises(CheckFailed, match=r"`codes` has shape \(4, 8\); expected \(8, 4\)"):
        checks.l06_codes((mean + torch.exp(0.5 * log_var) * noise).T, mean, log_var, noise)
    with pytest.raises(CheckFailed, match=r"scaled by the variance exp\(log_var\)"):
        checks.l06_codes(mean + torch.exp(log_var) * noise, mean, log_var, noise)
    with pytest.raises(CheckFailed, match="scaled by log_var itself"):
        checks.l06_codes(mean + log_var * noise, mean, log_var, noise)
    with pytest.raises(CheckFailed, match="there is no noise"):
        checks.l06_codes(mean.clone(), mean, log_var, noise)
    with pytest.raises(CheckFailed, match="Use the `noise` given in the cell"):
        checks.l06_codes(mean + torch.exp(0.5 * log_var) * torch.randn(8, 4), mean, log_var, noise)  # fresh noise
    checks.l06_codes(mean + torch.exp(0.5 * log_var) * noise, mean, log_var, noise)
    assert capsys.readouterr().out.startswith("✓ codes = mean + exp(0.5 * log_var) * noise, (8, 4)")


def test_l06_kl_against_the_closed_form_and_elbo_terms(capsys):
    generator = torch.Generator().manual_seed(0)
    mean, log_var = torch.randn(8, 4, generator=generator), torch.randn(8, 4, generator=generator)
    per_value = 0.5 * (mean.pow(2) + log_var.exp() - 1 - log_var)
    with pytest.raises(ExerciseNotDone, match="fill in `kl`"):
        checks.l06_kl(..., mean, log_var)
    with pytest.raises(CheckFailed, match=r"one value per image and code value: sum over the code values"):
        checks.l06_kl(per_value, mean, log_var)
    with pytest.raises(CheckFailed, match="is one number"):
        checks.l06_kl(per_value.sum(), mean, log_var)  # summed over the images too
    with pytest.raises(CheckFailed, match="twice the KL divergence"):
        checks.l06_kl(2 * per_value.sum(dim=1), mean, log_var)
    with pytest.raises(CheckFailed, match=r"the closed form .* gives"):
        checks.l06_kl(0.5 * (mean.pow(2) + log_var - 1 - log_var.exp()).sum(dim=1), mean, log_var)  # var and log swapped
    checks.l06_kl(per_value.sum(dim=1), mean, log_var)
    assert "the same as ae.elbo_terms" in capsys.readouterr().out


def test_l06_guess_and_importance(capsys):
    model, images = tiny_vae(), binary_digits(6)
    with pytest.raises(ExerciseNotDone, match="fill in `my_guess`"):
        checks.l06_guess(...)
    with pytest.raises(CheckFailed, match="write one of 'under 1 nat'"):
        checks.l06_guess("2 nats")
    checks.l06_guess("1 to 10 nats")
    right = {k: ae.importance_weighted_nll(model, images, samples=k, seed=0).mean().item() for k in (1, 10, 100)}
    with pytest.raises(ExerciseNotDone, match="fill in `nll`"):
        checks.l06_importance(..., model, images, "1 to 10 nats")
    with pytest.raises(CheckFailed, match=r"keys 1, 10 and 100 .*got \[1, 10\]"):
        checks.l06_importance({1: right[1], 10: right[10]}, model, images, "1 to 10 nats")
    with pytest.raises(CheckFailed, match=r"one value per image; take the mean"):
        checks.l06_importance({k: ae.importance_weighted_nll(model, images, samples=k) for k in (1, 10, 100)},
                              model, images, "1 to 10 nats")
    with pytest.raises(CheckFailed, match="is positive"):
        checks.l06_importance({k: -v for k, v in right.items()}, model, images, "1 to 10 nats")
    with pytest.raises(CheckFailed, match="about 6 times the mean"):
        checks.l06_importance({k: 6 * v for k, v in right.items()}, model, images, "1 to 10 nats")
    # the tolerance is set between the three K's own gaps, so that a value reused for another K stands out
    gap = min(abs(right[1] - right[10]), abs(right[10] - right[100]))
    tolerance = gap / 3
    with pytest.raises(CheckFailed, match=r"nll\[1\] is .* the check measures"):
        checks.l06_importance({**right, 1: right[1] + 10}, model, images, "1 to 10 nats", tolerance=tolerance)
    with pytest.raises(CheckFailed, match=r"nll\[100\] is .*the estimate with K = 10 .*samples=100"):
        checks.l06_importance({**right, 100: right[10]}, model, images, "1 to 10 nats", tolerance=tolerance)
    capsys.readouterr()
    checks.l06_importance(right, model, images, "under 1 nat", tolerance=tolerance)  # untrained: K hardly matters
    assert "nats below K = 1, under 1 nat: as you guessed" in capsys.readouterr().out
    assert gap > 0.01, "the planted K = 10 value must differ from K = 100 for the test above to mean anything"


def test_l06_drop_outcomes():
    from aehelpers.checks.lesson06 import _drop_outcome

    assert [_drop_outcome(d) for d in (0.5, 5.0, 12.0)] == ["under 1 nat", "1 to 10 nats", "over 10 nats"]


def test_l06_active_units(capsys):
    model, images = tiny_vae(), binary_digits(30)
    with torch.no_grad():  # switch one code value off: the encoder gives it the same mean for every image
        model.encoder[-1].weight[0] = 0.0
    with torch.inference_mode():
        means, log_var = model.encode(images)
    variance = means.var(dim=0)
    expected = int((variance > 0.01).sum())
    assert expected < 4
    with pytest.raises(ExerciseNotDone, match="fill in `means`"):
        checks.l06_active_units(..., None, None, model, images)
    with pytest.raises(CheckFailed, match=r"`means` has shape \(30, 8\); expected \(30, 4\)"):
        checks.l06_active_units(torch.cat([means, log_var], dim=1), None, None, model, images)
    with pytest.raises(CheckFailed, match="holds the log-variances"):
        checks.l06_active_units(log_var, None, None, model, images)
    with pytest.raises(CheckFailed, match="not the encoder's means for `test_binary`"):
        checks.l06_active_units(model.encode(images.flip(0))[0].detach(), None, None, model, images)
    with pytest.raises(ExerciseNotDone, match="fill in `unit_variance`"):
        checks.l06_active_units(means, ..., None, model, images)
    with pytest.raises(CheckFailed, match=r"one value per image: take the variance over the images"):
        checks.l06_active_units(means, means.var(dim=1), None, model, images)
    with pytest.raises(CheckFailed, match="is the standard deviation"):
        checks.l06_active_units(means, means.std(dim=0), None, model, images)
    with pytest.raises(ExerciseNotDone, match="fill in `active`"):
        checks.l06_active_units(means, variance, ..., model, images)
    with pytest.raises(CheckFailed, match=rf"`active` is {expected + 1}; it should be the number"):
        checks.l06_active_units(means, variance, expected + 1, model, images)
    checks.l06_active_units(means, means.var(dim=0, correction=0), torch.tensor(expected), model, images)
    assert f"✓ {expected} of 4 code values are active" in capsys.readouterr().out


# Lesson 7


def auroc_by_pairs(scores: torch.Tensor, is_anomaly: torch.Tensor, ties: float = 0.5,
                   reverse: bool = False) -> float:
    """The solution of lesson 7's exercise 1 (``ties``, ``reverse``: typical mistakes, planted)."""
    anomaly_scores, normal_scores = scores[is_anomaly], scores[~is_anomaly]
    if reverse:
        anomaly_scores, normal_scores = normal_scores, anomaly_scores
    higher = anomaly_scores[:, None] > normal_scores[None, :]
    tied = anomaly_scores[:, None] == normal_scores[None, :]
    return (higher.float() + ties * tied.float()).mean().item()


def l07_model() -> ae.BottleneckAutoencoder:
    """Lesson 7's autoencoder (code 16, width 8), untrained but with batch-norm statistics unlike a fresh one's."""
    torch.manual_seed(0)
    model = ae.BottleneckAutoencoder(16, width=8)
    model.train()
    with torch.no_grad():  # a batch in training mode moves the running statistics away from 0 and 1
        model(torch.rand(16, 1, 28, 28))
    return model.eval()


def test_call_or_not_done_names_the_placeholder_and_adds_the_hint_to_a_shape_slip():
    from aehelpers.checks.common import call_or_not_done

    def placeholder(x: torch.Tensor) -> torch.Tensor:
        picked = ...
        return picked.sum()

    x = torch.ones(3)
    for fn in (placeholder, lambda x: ..., lambda x: None):
        with pytest.raises(ExerciseNotDone, match="fill in `f` in the cell above"):
            call_or_not_done("Exercise 9", "`f`", fn, x, hint="Look at the shapes.")
    with pytest.raises(CheckFailed, match=r"^Exercise 9: running `f` failed: .* Look at the shapes\.$"):
        call_or_not_done("Exercise 9", "`f`", lambda x: x + torch.ones(2), x, hint="Look at the shapes.")
    with pytest.raises(IndexError):  # not one of the shape errors named: the learner sees it as it is
        call_or_not_done("Exercise 9", "`f`", lambda x: x[5], x, hint="Look at the shapes.")
    with pytest.raises(CheckFailed, match="Look at the shapes"):
        call_or_not_done("Exercise 9", "`f`", lambda x: x[5], x, hint="Look at the shapes.",
                         shape_errors=(RuntimeError, IndexError))
    assert call_or_not_done("Exercise 9", "`f`", lambda x: x.sum(), x, hint="") == 3.0


def test_l07_scores():
    model, images = l07_model(), torch.rand(12, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    scores = ae.mse_per_image(ae.predict(model, images), images)
    with pytest.raises(ExerciseNotDone, match="fill in `scores`"):
        checks.l07_scores(..., model, images)
    with pytest.raises(CheckFailed, match=r"one number .* one score per image, shape \(12,\)"):
        checks.l07_scores(scores.mean(), model, images)
    with pytest.raises(CheckFailed, match="sum of the squared errors"):
        checks.l07_scores(scores * 784, model, images)
    with torch.no_grad():  # scored in training mode: batch norm uses the batch's statistics (on a twin of the
        in_training_mode = ae.mse_per_image(l07_model().train()(images), images)  # model: that updates them)
    with pytest.raises(CheckFailed, match="in eval mode"):
        checks.l07_scores(in_training_mode, model, images)
    checks.l07_scores(scores, model, images)


def test_l07_auroc_by_pairs(capsys):
    torch.manual_seed(0)
    scores, is_anomaly = torch.rand(50), torch.arange(50) % 4 != 0

    def todo(scores: torch.Tensor, is_anomaly: torch.Tensor) -> float:
        higher = ...
        tied = ...
        return (higher.float() + 0.5 * tied.float()).mean().item()

    with pytest.raises(ExerciseNotDone, match="fill in `auroc_by_pairs`"):
        checks.l07_auroc_by_pairs(..., scores, is_anomaly)
    with pytest.raises(ExerciseNotDone, match="fill in `auroc_by_pairs` in the cell above"):
        checks.l07_auroc_by_pairs(todo, scores, is_anomaly)
    with pytest.raises(ExerciseNotDone, match="fill in `auroc_by_pairs`"):
        checks.l07_auroc_by_pairs(lambda s, a: ..., scores, is_anomaly)  # `return ...` left
    with pytest.raises(CheckFailed, match="ties count 0 in yours"):
        checks.l07_auroc_by_pairs(lambda s, a: auroc_by_pairs(s, a, ties=0.0), scores, is_anomaly)
    with pytest.raises(CheckFailed, match="ties count 1 in yours"):
        checks.l07_auroc_by_pairs(lambda s, a: auroc_by_pairs(s, a, ties=1.0), scores, is_anomaly)
    with pytest.raises(CheckFailed, match="the normal image scores higher"):
        checks.l07_auroc_by_pairs(lambda s, a: auroc_by_pairs(s, a, reverse=True), scores, is_anomaly)
    with pytest.raises(CheckFailed, match=r"shape \(2, 3\), one value per pair"):
        checks.l07_auroc_by_pairs(lambda s, a: (s[a][:, None] > s[~a][None, :]).float(), scores, is_anomaly)
    with pytest.raises(CheckFailed, match="A tensor of bools has no mean"):
        checks.l07_auroc_by_pairs(lambda s, a: (s[a][:, None] > s[~a][None, :]).mean(), scores, is_anomaly)
    checks.l07_auroc_by_pairs(auroc_by_pairs, scores, is_anomaly)
    assert f"{ae.auroc(scores, is_anomaly):.4f} on your test images' scores" in capsys.readouterr().out


def test_l07_guess_and_sevens(capsys):
    with pytest.raises(ExerciseNotDone, match="fill in `my_guess`"):
        checks.l07_guess(...)
    with pytest.raises(CheckFailed, match="write one of 'higher', 'lower', 'about the same'"):
        checks.l07_guess("worse")
    checks.l07_guess("lower")
    labels = torch.arange(60) % 10
    scores = labels.float() + torch.rand(60, generator=torch.Generator().manual_seed(0))  # 7s score high, 1s low
    scores[labels == 7] -= 5.0  # still above every 1, while the 0s score below the 1s: the 7s alone are easier
    auroc_all = ae.auroc(scores, labels != 1)
    pair = (labels == 1) | (labels == 7)
    auroc_sevens = ae.auroc(scores[pair], labels[pair] == 7)
    with pytest.raises(ExerciseNotDone, match="fill in `auroc_sevens`"):
        checks.l07_sevens(auroc_all, ..., scores, labels, "lower")
    with pytest.raises(CheckFailed, match="a percentage: keep the fraction"):
        checks.l07_sevens(100 * auroc_all, auroc_sevens, scores, labels, "lower")
    with pytest.raises(CheckFailed, match="labels are the wrong way round"):
        checks.l07_sevens(ae.auroc(scores, labels == 1), auroc_sevens, scores, labels, "lower")
    with pytest.raises(CheckFailed, match="counts the other eight digits as normal"):
        checks.l07_sevens(auroc_all, ae.auroc(scores, labels == 7), scores, labels, "lower")
    capsys.readouterr()
    checks.l07_sevens(auroc_all, auroc_sevens, scores, labels, "lower")
    out = capsys.readouterr().out
    assert "higher" in out and "you guessed 'lower'" in out, out
    checks.l07_sevens(torch.tensor(auroc_all), auroc_sevens, scores, labels, "higher")  # a 0-dim tensor is fine
    assert "as you guessed" in capsys.readouterr().out


def test_l07_outcome_compares_the_shares_of_wrong_pairs():
    assert checks._l07_outcome(0.995, 0.999) == "lower"  # half a point, but five times the wrong pairs
    assert checks._l07_outcome(0.9985, 0.998) == "higher"
    assert checks._l07_outcome(0.9979, 0.998) == "about the same"
    assert checks._l07_outcome(1.0, 1.0) == "about the same"


def test_l07_centre_code_scores_and_aurocs(capsys):
    model = l07_model()
    generator = torch.Generator().manual_seed(2)
    train_normal = torch.rand(20, 1, 28, 28, generator=generator)
    images = torch.rand(10, 1, 28, 28, generator=generator)
    is_anomaly = torch.arange(10) % 2 == 0
    codes = ae.predict(model.encoder, train_normal)
    centre = codes.mean(dim=0)
    with pytest.raises(ExerciseNotDone, match="fill in `centre`"):
        checks.l07_centre(..., model, train_normal)
    with pytest.raises(CheckFailed, match=r"`centre` has shape \(20,\); expected \(16,\)"):
        checks.l07_centre(codes.mean(dim=1), model, train_normal)
    with torch.no_grad():  # encoded in training mode: each batch's own batch-norm statistics
        in_training_mode = l07_model().train().encoder(train_normal).mean(dim=0)  # a twin: it updates them
    with pytest.raises(CheckFailed, match="encode them in eval mode"):
        checks.l07_centre(in_training_mode, model, train_normal)
    checks.l07_centre(centre, model, train_normal)

    code_scores = (ae.predict(model.encoder, images) - centre).square().sum(dim=1)
    with pytest.raises(ExerciseNotDone, match="fill in `code_scores`"):
        checks.l07_code_scores(..., centre, model, images)
    with pytest.raises(CheckFailed, match=r"`code_scores` has shape \(10, 16\); expected \(10,\)"):
        checks.l07_code_scores((ae.predict(model.encoder, images) - centre).square(), centre, model, images)
    with pytest.raises(CheckFailed, match="not each test image's squared distance"):
        checks.l07_code_scores((ae.predict(model.encoder, images) - 0).square().sum(dim=1), centre, model, images)
    capsys.readouterr()
    checks.l07_code_scores(code_scores.sqrt(), centre, model, images)  # the same order: accepted with a note
    assert "the distance itself" in capsys.readouterr().out
    checks.l07_code_scores(code_scores, centre, model, images)

    scores = ae.mse_per_image(ae.predict(model, images), images)
    auroc_code, auroc_reconstruction = ae.auroc(code_scores, is_anomaly), ae.auroc(scores, is_anomaly)
    with pytest.raises(ExerciseNotDone, match="fill in `auroc_code`"):
        checks.l07_code_vs_reconstruction(..., auroc_reconstruction, code_scores, scores, is_anomaly)
    if abs(auroc_code - auroc_reconstruction) > 1e-6:  # the two swapped
        with pytest.raises(CheckFailed, match="expected .*, ae.auroc\\(code_scores, is_anomaly\\)"):
            checks.l07_code_vs_reconstruction(auroc_reconstruction, auroc_code, code_scores, scores, is_anomaly)
    checks.l07_code_vs_reconstruction(auroc_code, auroc_reconstruction, code_scores, scores, is_anomaly)


# Lesson 8


def keep_largest_by_hand(latents: torch.Tensor, k: int) -> torch.Tensor:
    """The solution of lesson 8's exercise 1."""
    top = latents.topk(k, dim=1)
    return torch.zeros_like(latents).scatter(1, top.indices, top.values)


def keep_largest_by_threshold(latents: torch.Tensor, k: int) -> torch.Tensor:
    """Another right answer: every value at least the row's k-th largest (no ties in random values)."""
    kth = latents.topk(k, dim=1).values[:, -1:]
    return torch.where(latents >= kth, latents, torch.zeros_like(latents))


def test_l08_keep_largest(capsys):
    def todo(latents: torch.Tensor, k: int) -> torch.Tensor:
        top = ...
        return torch.zeros_like(latents).scatter(1, top.indices, top.values)

    def in_place(latents: torch.Tensor, k: int) -> torch.Tensor:
        latents[latents < latents.topk(k, dim=1).values[:, -1:]] = 0.0
        return latents

    def by_column(latents: torch.Tensor, k: int) -> torch.Tensor:
        top = latents.topk(k, dim=0)
        return torch.zeros_like(latents).scatter(0, top.indices, top.values)

    def smallest(latents: torch.Tensor, k: int) -> torch.Tensor:
        top = latents.topk(k, dim=1, largest=False)
        return torch.zeros_like(latents).scatter(1, top.indices, top.values)

    def by_size(latents: torch.Tensor, k: int) -> torch.Tensor:
        indices = latents.abs().topk(k, dim=1).indices
        return torch.zeros_like(latents).scatter(1, indices, latents.gather(1, indices))

    def mask(latents: torch.Tensor, k: int) -> torch.Tensor:
        return torch.zeros_like(latents).scatter(1, latents.topk(k, dim=1).indices, 1.0)

    with pytest.raises(ExerciseNotDone, match="fill in `my_keep_largest`"):
        checks.l08_keep_largest(...)
    with pytest.raises(ExerciseNotDone, match="fill in `my_keep_largest` in the cell above"):
        checks.l08_keep_largest(todo)
    with pytest.raises(ExerciseNotDone, match="fill in `my_keep_largest`"):
        checks.l08_keep_largest(lambda latents, k: ...)  # `return ...` left
    with pytest.raises(CheckFailed, match=r"returned shape \(6, 4\): the k largest values alone, without their places"):
        checks.l08_keep_largest(lambda latents, k: latents.topk(k, dim=1).values)
    with pytest.raises(CheckFailed, match=r"returned shape \(4, 20\): the k largest of each column"):
        checks.l08_keep_largest(lambda latents, k: latents.topk(k, dim=0).values)
    with pytest.raises(CheckFailed, match=r"keeps the k largest of each column \(over the inputs, dim=0\)"):
        checks.l08_keep_largest(by_column)
    with pytest.raises(CheckFailed, match="keeps the k smallest values of each row"):
        checks.l08_keep_largest(smallest)
    with pytest.raises(CheckFailed, match=r"keeps the k largest by size \(absolute value\)"):
        checks.l08_keep_largest(by_size)
    with pytest.raises(CheckFailed, match="returns a 0/1 mask"):
        checks.l08_keep_largest(mask)
    with pytest.raises(CheckFailed, match="returns a 0/1 mask"):
        checks.l08_keep_largest(lambda latents, k: mask(latents, k).bool())
    with pytest.raises(CheckFailed, match="changed its input in place"):
        checks.l08_keep_largest(in_place)
    with pytest.raises(CheckFailed, match="differs from ae.keep_largest"):
        checks.l08_keep_largest(lambda latents, k: keep_largest_by_hand(latents, k) * 1.01)
    with pytest.raises(CheckFailed, match="returned a list"):
        checks.l08_keep_largest(lambda latents, k: keep_largest_by_hand(latents, k).tolist())
    capsys.readouterr()
    checks.l08_keep_largest(keep_largest_by_hand)
    assert capsys.readouterr().out.startswith("✓ my_keep_largest agrees with ae.keep_largest")
    checks.l08_keep_largest(keep_largest_by_threshold)
    checks.l08_keep_largest(ae.keep_largest)


def l08_activations(count: int, seed: int, size: int = 8) -> torch.Tensor:
    """Random stand-ins for the classifier's layer: ReLU outputs, many of them 0."""
    return torch.relu(torch.randn(count, size, generator=torch.Generator().manual_seed(seed)))


def test_l08_prediction_and_dead_share(monkeypatch, capsys):
    with pytest.raises(ExerciseNotDone, match="fill in `my_prediction`"):
        checks.l08_prediction(...)
    with pytest.raises(CheckFailed, match="write a percentage from 0 to 100"):
        checks.l08_prediction(150)
    with pytest.raises(CheckFailed, match="should be one number, got a str"):
        checks.l08_prediction("10 %")
    checks.l08_prediction(10)
    assert "your prediction is written down: 10 %" in capsys.readouterr().out

    torch.manual_seed(0)
    sae = ae.SparseAutoencoder(8, 512, k=8)  # untrained: with few inputs, many latents never win a place
    train, test = l08_activations(300, 1), l08_activations(60, 2)
    history = ae.History(train_loss=[1.0] * 20)
    with torch.no_grad():
        dead = 100 * ae.dead_fraction(sae.encode(train))
        dead_on_test = 100 * ae.dead_fraction(sae.encode(test))
    assert 0 < dead < dead_on_test < 100, "the planted mistakes below need the shares apart"
    low, high = checks.L08_DEAD_RANGE
    assert low < dead < high, "the right answer must lie in the full run's range"
    with pytest.raises(ExerciseNotDone, match="fill in `sae_k8`"):
        checks.l08_dead_share(..., 10, ..., ..., train, test)
    with pytest.raises(ExerciseNotDone, match="fill in `dead_percent`"):
        checks.l08_dead_share(..., 10, sae, history, train, test)
    with pytest.raises(ExerciseNotDone, match="fill in `my_prediction`"):
        checks.l08_dead_share(dead, ..., sae, history, train, test)  # the prediction left as `...`
    with pytest.raises(CheckFailed, match="a fraction: the exercise asks for percent"):
        checks.l08_dead_share(dead / 100, 10, sae, history, train, test)
    with pytest.raises(CheckFailed, match="fire at least once"):
        checks.l08_dead_share(100 - dead, 10, sae, history, train, test)
    with pytest.raises(CheckFailed, match="measured on the test activations"):
        checks.l08_dead_share(dead_on_test, 10, sae, history, train, test)
    with pytest.raises(CheckFailed, match="the share of `sae_k8`'s latents that fire on none"):
        checks.l08_dead_share(round(dead), 10, sae, history, train, test)  # typed by hand, rounded
    with pytest.raises(CheckFailed, match="has 512 latents and k = 16"):
        checks.l08_dead_share(dead, 10, ae.SparseAutoencoder(8, 512, k=16), history, train, test)
    with pytest.raises(CheckFailed, match="has 256 latents and k = 8"):
        checks.l08_dead_share(dead, 10, ae.SparseAutoencoder(8, 256, k=8), history, train, test)
    with pytest.raises(CheckFailed, match="keep what ae.train_sae returns"):
        checks.l08_dead_share(dead, 10, sae, [1.0] * 20, train, test)
    short = ae.History(train_loss=[1.0] * 2)
    with pytest.raises(CheckFailed, match="`history_k8` has 2 epochs; the lesson's settings train 20"):
        checks.l08_dead_share(dead, 10, sae, short, train, test)
    with monkeypatch.context() as patch:  # a range this SAE misses, as one trained with AuxK would miss the real one
        patch.setattr("aehelpers.checks.lesson08.L08_DEAD_RANGE", (0.0, dead / 2))
        with pytest.raises(CheckFailed, match=r"is right for `sae_k8` .* auxk_coefficient=0 \(the remedy switched off\)"):
            checks.l08_dead_share(dead, 10, sae, history, train, test)
    capsys.readouterr()
    checks.l08_dead_share(dead, 10, sae, history, train, test)
    out = capsys.readouterr().out
    assert f"✓ {dead:.1f} % of the 512 latents" in out and "you predicted 10 %" in out, out
    checks.l08_dead_share(torch.tensor(dead), 0.5, sae, history, train, test)  # any prediction passes
    monkeypatch.setenv("AEHELPERS_QUICK", "1")
    checks.l08_dead_share(dead, 10, sae, short, train, test)  # quick mode trains fewer epochs


def l08_sae() -> ae.SparseAutoencoder:
    """A small TopK SAE whose encoder rows differ from its decoder columns and whose decoder bias is not 0 (a fresh
    one starts with the two equal and the bias at 0, which would hide two of the planted mistakes)."""
    torch.manual_seed(0)
    sae = ae.SparseAutoencoder(8, 32, k=8)
    with torch.no_grad():
        sae.encoder.weight.add_(0.5 * torch.randn_like(sae.encoder.weight))
        sae.decoder.bias.copy_(0.3 * torch.randn(8))
        sae.encoder.bias[0] = -100.0  # latent 0 never fires
    return sae


def switch_off_by_hand(sae: ae.SparseAutoencoder, activations: torch.Tensor, feature: int) -> torch.Tensor:
    """The solution of lesson 8's exercise 3."""
    values = sae.encode(activations)[:, feature]
    return activations - values[:, None] * sae.decoder.weight[:, feature]


def test_l08_switch_off(capsys):
    sae, activations = l08_sae(), l08_activations(200, 3)

    def todo(sae, activations, feature):
        values = sae.encode(activations)[:, feature]
        column = ...
        return activations - values[:, None] * column

    def slip(kind: str):
        def switch_off(sae, activations, feature):
            codes = sae.encode(activations)
            values, column = codes[:, feature, None], sae.decoder.weight[:, feature]
            return {"reconstruction": lambda: sae.decode(codes) - values * column,
                    "unscaled": lambda: activations - column,
                    "unscaled where it fires": lambda: activations - (values > 0) * column,
                    "encoder row": lambda: activations - values * sae.encoder.weight[feature],
                    "pre-activation": lambda: activations - sae.pre_activations(activations)[:, feature, None] * column,
                    "decoder row": lambda: activations - values * sae.decoder.weight[feature]}[kind]()
        return switch_off

    with pytest.raises(ExerciseNotDone, match="fill in `switch_off`"):
        checks.l08_switch_off(..., sae, activations)
    with pytest.raises(ExerciseNotDone, match="fill in `switch_off` in the cell above"):
        checks.l08_switch_off(todo, sae, activations)
    with pytest.raises(CheckFailed, match="out of the SAE's reconstruction"):
        checks.l08_switch_off(slip("reconstruction"), sae, activations)
    with pytest.raises(CheckFailed, match="from every row without scaling it"):
        checks.l08_switch_off(slip("unscaled"), sae, activations)
    with pytest.raises(CheckFailed, match="unscaled, from the rows where the latent fires"):
        checks.l08_switch_off(slip("unscaled where it fires"), sae, activations)
    with pytest.raises(CheckFailed, match="uses the encoder's row"):
        checks.l08_switch_off(slip("encoder row"), sae, activations)
    with pytest.raises(CheckFailed, match="by the latent's pre-activation"):
        checks.l08_switch_off(slip("pre-activation"), sae, activations)
    with pytest.raises(CheckFailed, match=r"running `switch_off` failed: .* `sae.decoder.weight\[feature\]` is a row"):
        checks.l08_switch_off(slip("decoder row"), sae, activations)
    with pytest.raises(CheckFailed, match="differs from the lesson's remove_latents"):
        checks.l08_switch_off(lambda sae, activations, feature: activations * 0.9, sae, activations)
    capsys.readouterr()
    checks.l08_switch_off(switch_off_by_hand, sae, activations)
    assert capsys.readouterr().out.startswith("✓ switch_off agrees with ae.remove_latents on latents")


def test_l08_feature_and_effect(capsys):
    sae, activations = l08_sae(), l08_activations(400, 4)
    labels = torch.randint(0, 10, (400,), generator=torch.Generator().manual_seed(5))
    classifier = ae.DigitClassifier(hidden=8).eval()
    with torch.no_grad():  # larger class scores than a fresh readout's, so that a latent's part moves them
        classifier.readout.weight.mul_(20)
        codes = sae.encode(activations)
    purity, commonest = ae.label_purity(codes, labels, 50)
    feature = int(purity.nan_to_num(-1).argmax())  # a judged one
    fires = codes[:, feature] > 0
    target = int(commonest[feature])
    probability = classifier.readout(activations).softmax(1)[:, target].detach()
    after = classifier.readout(switch_off_by_hand(sae, activations, feature)).softmax(1)[:, target].detach()
    drops = 100 * (probability - after)
    effect = drops[fires].mean().item()
    assert abs(effect) > 0.05 and fires.sum() < 400, "the planted mistakes below need a clear effect"

    with pytest.raises(ExerciseNotDone, match="fill in `feature`"):
        checks.l08_feature(..., sae, activations, labels)
    with pytest.raises(CheckFailed, match="latent 0 fires on only 0 of the 400 test images, fewer than 50"):
        checks.l08_feature(0, sae, activations, labels)  # too rare to judge: pick another
    with pytest.raises(CheckFailed, match="a whole number from 0 to 31"):
        checks.l08_feature(32, sae, activations, labels)
    with pytest.raises(CheckFailed, match="a whole number from 0 to 31"):
        checks.l08_feature(2.0, sae, activations, labels)
    capsys.readouterr()
    checks.l08_feature(torch.tensor(feature), sae, activations, labels)
    assert f"✓ feature {feature} fires on {int(fires.sum())} test images" in capsys.readouterr().out

    with pytest.raises(CheckFailed, match="latent 0 fires on only 0"):
        checks.l08_effect(effect, 0, sae, classifier, activations, labels)
    with pytest.raises(ExerciseNotDone, match="fill in `effect`"):
        checks.l08_effect(..., feature, sae, classifier, activations, labels)
    with pytest.raises(CheckFailed, match="as a fraction; the exercise asks for percentage points"):
        checks.l08_effect(effect / 100, feature, sae, classifier, activations, labels)
    with pytest.raises(CheckFailed, match="the rise in probability"):
        checks.l08_effect(-effect, feature, sae, classifier, activations, labels)
    with pytest.raises(CheckFailed, match="averaged over all 400 test images; average over the"):
        checks.l08_effect(drops.mean().item(), feature, sae, classifier, activations, labels)
    other_digit = (target + 1) % 10
    wrong_target = 100 * (classifier.readout(activations[fires]).softmax(1)[:, other_digit]
                          - classifier.readout(switch_off_by_hand(sae, activations[fires], feature)).softmax(1)[:, other_digit])
    with pytest.raises(CheckFailed, match=f"its commonest digit, {target}, by"):
        checks.l08_effect(wrong_target.mean().item(), feature, sae, classifier, activations, labels)
    capsys.readouterr()
    checks.l08_effect(effect, feature, sae, classifier, activations, labels)
    assert f"✓ switching feature {feature} off lowers the probability of a {target} by" in capsys.readouterr().out
    checks.l08_effect(torch.tensor(effect), torch.tensor(feature), sae, classifier, activations, labels)


def quantize_by_hand(vectors: torch.Tensor, codebook: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The solution of lesson 9's exercise 1."""
    n, d, h, w = vectors.shape
    flat = vectors.permute(0, 2, 3, 1).reshape(-1, d)
    distances = (flat[:, None, :] - codebook[None, :, :]).pow(2).sum(2)
    tokens = distances.argmin(1)
    entries = codebook[tokens]
    quantized = flat + (entries - flat).detach()
    return quantized.view(n, h, w, d).permute(0, 3, 1, 2), tokens.view(n, h, w)


def test_l09_quantize(capsys):
    def slip(kind: str):
        def my_quantize(vectors, codebook):
            n, d, h, w = vectors.shape
            flat = vectors.permute(0, 2, 3, 1).reshape(-1, d)
            if kind == "reshape":
                flat = vectors.reshape(-1, d)
            if kind == "columns":
                flat = vectors.permute(0, 3, 2, 1).reshape(-1, d)
            distances = torch.cdist(flat, codebook)
            tokens = distances.argmax(1) if kind == "argmax" else distances.argmin(1)
            entries = codebook[tokens]
            quantized = {"no straight-through": lambda: entries,
                         "wrong way round": lambda: entries + (flat - entries).detach(),
                         "codebook too": lambda: flat + (entries - flat.detach()),
                         "all detached": lambda: entries.detach(),
                         "scaled": lambda: 2 * flat + (entries - 2 * flat).detach()}.get(
                kind, lambda: flat + (entries - flat).detach())()
            tokens = {"flat tokens": tokens, "float tokens": tokens.view(n, h, w).float()}.get(kind, tokens.view(n, h, w))
            return quantized.view(n, h, w, d).permute(0, 3, 1, 2), tokens
        return my_quantize

    def todo(vectors, codebook):
        tokens = ...
        return vectors, tokens.view(2, 2)

    with pytest.raises(ExerciseNotDone, match="fill in `my_quantize`"):
        checks.l09_quantize(...)
    with pytest.raises(ExerciseNotDone, match="fill in `my_quantize` in the cell above"):
        checks.l09_quantize(todo)
    with pytest.raises(ExerciseNotDone, match="fill in `my_quantize`"):
        checks.l09_quantize(lambda vectors, codebook: (..., ...))  # `return ..., ...` left
    with pytest.raises(CheckFailed, match=r"picks the farthest entry \(argmax\)"):
        checks.l09_quantize(slip("argmax"))
    with pytest.raises(CheckFailed, match="without moving D last"):
        checks.l09_quantize(slip("reshape"))
    with pytest.raises(CheckFailed, match="column by column"):
        checks.l09_quantize(slip("columns"))
    with pytest.raises(CheckFailed, match=r"the tokens have shape \(90,\); expected \(3, 5, 6\)"):
        checks.l09_quantize(slip("flat tokens"))
    with pytest.raises(CheckFailed, match="the tokens are floats"):
        checks.l09_quantize(slip("float tokens"))
    with pytest.raises(CheckFailed, match="goes to the codebook and none reaches `vectors`"):
        checks.l09_quantize(slip("no straight-through"))
    with pytest.raises(CheckFailed, match="equal the input vectors: the straight-through step is written the wrong way"):
        checks.l09_quantize(slip("wrong way round"))
    with pytest.raises(CheckFailed, match="the codebook gets a gradient from the quantized vectors too"):
        checks.l09_quantize(slip("codebook too"))
    with pytest.raises(CheckFailed, match="carry no gradient at all"):
        checks.l09_quantize(slip("all detached"))
    with pytest.raises(CheckFailed, match="a gradient reaches `vectors`, but not unchanged"):
        checks.l09_quantize(slip("scaled"))
    with pytest.raises(CheckFailed, match="should return two things"):
        checks.l09_quantize(lambda vectors, codebook: quantize_by_hand(vectors, codebook)[0])
    with pytest.raises(CheckFailed, match="the tokens are right but the quantized vectors are not their entries"):
        checks.l09_quantize(lambda vectors, codebook: (quantize_by_hand(vectors, codebook)[0] * 1.1,
                                                       quantize_by_hand(vectors, codebook)[1]))
    capsys.readouterr()
    checks.l09_quantize(quantize_by_hand)
    assert capsys.readouterr().out.startswith("✓ my_quantize gives the tokens and values of ae.VectorQuantizer")
    checks.l09_quantize(slip("right"))  # another right answer: cdist instead of the squared differences


def l09_digits(count: int, seed: int) -> torch.Tensor:
    """Random stand-ins for digits: blobs of ink on a blank page, so that the tokens use a few entries often."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.zeros(count, 1, 28, 28)
    images[:, :, 8:20, 8:20] = torch.rand(count, 1, 12, 12, generator=generator)
    return images


def test_l09_prediction_and_codebook_usage(monkeypatch, capsys):
    with pytest.raises(ExerciseNotDone, match="fill in `my_prediction`"):
        checks.l09_prediction(...)
    with pytest.raises(CheckFailed, match="write a number of entries from 1 to 256"):
        checks.l09_prediction(300)
    with pytest.raises(CheckFailed, match="should be one number, got a str"):
        checks.l09_prediction("100 entries")
    checks.l09_prediction(100)
    assert "your prediction is written down: 100 of the 256 entries" in capsys.readouterr().out

    torch.manual_seed(0)
    model = ae.VQAutoencoder(256, 16).eval()  # untrained, its codebook drawn from its own vectors: uses some entries
    test, train = l09_digits(40, 1), l09_digits(200, 2)
    with torch.no_grad():
        vectors = model.encoder(l09_digits(256, 0)).permute(0, 2, 3, 1).reshape(-1, 16)
        model.quantizer.codebook.weight.copy_(vectors[torch.randperm(len(vectors))[:256]])
    history = ae.History(train_loss=[1.0] * checks.L09_EPOCHS)
    with torch.no_grad():
        tokens, train_tokens = model.encode(test), model.encode(train)
    used, perplexity = int(tokens.unique().numel()), ae.codebook_perplexity(tokens, 256)
    used_on_train, perplexity_on_train = int(train_tokens.unique().numel()), ae.codebook_perplexity(train_tokens, 256)
    assert 1 < used < used_on_train < 256 and abs(perplexity - perplexity_on_train) > 0.1, \
        "the planted mistakes below need the numbers apart"
    with pytest.raises(ExerciseNotDone, match="fill in `vq256`"):
        checks.l09_codebook_usage(..., ..., 100, ..., ..., test, train)
    with pytest.raises(ExerciseNotDone, match="fill in `entries_used`"):
        checks.l09_codebook_usage(..., perplexity, 100, model, history, test, train)
    with pytest.raises(ExerciseNotDone, match="fill in `my_prediction`"):
        checks.l09_codebook_usage(used, perplexity, ..., model, history, test, train)  # the prediction left as `...`
    with pytest.raises(CheckFailed, match="are swapped"):
        checks.l09_codebook_usage(perplexity, used, 100, model, history, test, train)
    with pytest.raises(CheckFailed, match="`entries_used` is 256, every entry of the codebook"):
        checks.l09_codebook_usage(256, perplexity, 100, model, history, test, train)
    with pytest.raises(CheckFailed, match="`entries_used` is .*, the perplexity"):
        checks.l09_codebook_usage(perplexity, perplexity, 100, model, history, test, train)
    with pytest.raises(CheckFailed, match="counted on the training digits"):
        checks.l09_codebook_usage(used_on_train, perplexity, 100, model, history, test, train)
    with pytest.raises(CheckFailed, match="`perplexity` is .*, the number of entries used"):
        checks.l09_codebook_usage(used, used, 100, model, history, test, train)
    with pytest.raises(CheckFailed, match=r"the entropy \(in nats\)"):
        checks.l09_codebook_usage(used, math.log(perplexity), 100, model, history, test, train)
    with pytest.raises(CheckFailed, match="`perplexity` is .*, measured on the training digits"):
        checks.l09_codebook_usage(used, perplexity_on_train, 100, model, history, test, train)
    with pytest.raises(CheckFailed, match="the perplexity of `vq256`'s tokens of the test digits is"):
        checks.l09_codebook_usage(used, round(perplexity), 100, model, history, test, train)  # typed by hand
    with pytest.raises(CheckFailed, match="has a codebook of 64 entries"):
        checks.l09_codebook_usage(used, perplexity, 100, ae.VQAutoencoder(64, 16), history, test, train)
    with pytest.raises(CheckFailed, match="re-seeds unused entries every 100 steps"):
        checks.l09_codebook_usage(used, perplexity, 100, ae.VQAutoencoder(256, 16, reseed_every=100), history, test,
                                  train)
    with pytest.raises(CheckFailed, match="build it with ae.VQAutoencoder"):
        checks.l09_codebook_usage(used, perplexity, 100, ae.ConvAutoencoder(), history, test, train)
    with pytest.raises(CheckFailed, match="keep what ae.fit returns"):
        checks.l09_codebook_usage(used, perplexity, 100, model, [1.0], test, train)
    long = ae.History(train_loss=[1.0] * (checks.L09_EPOCHS + 2))
    with pytest.raises(CheckFailed, match=f"the exercise trains {checks.L09_EPOCHS}"):
        checks.l09_codebook_usage(used, perplexity, 100, model, long, test, train)
    capsys.readouterr()
    checks.l09_codebook_usage(used, perplexity, 100, model, history, test, train)
    out = capsys.readouterr().out
    assert f"✓ {used} of the 256 entries are chosen" in out and "you predicted 100" in out, out
    checks.l09_codebook_usage(torch.tensor(used), torch.tensor(perplexity), 3, model, history, test, train)
    model.train()
    checks.l09_codebook_usage(used, perplexity, 3, model, history, test, train)  # a model left in training mode
    assert model.training
    monkeypatch.setenv("AEHELPERS_QUICK", "1")
    checks.l09_codebook_usage(used, perplexity, 100, model, long, test, train)  # quick mode trains other epochs


def confident_share_by_hand(images: torch.Tensor, classifier: nn.Module, threshold: float = 0.9) -> float:
    """The solution of lesson 9's exercise 3."""
    probabilities = ae.predict(classifier, images).softmax(1)
    return 100 * (probabilities.max(1).values >= threshold).float().mean().item()


def l09_judge() -> nn.Module:
    """A digit classifier whose class scores are large enough for confident answers (a fresh one is unsure)."""
    torch.manual_seed(0)
    classifier = ae.DigitClassifier(hidden=8).eval()
    with torch.no_grad():
        classifier.readout.weight.mul_(300)
    return classifier


def test_l09_confident_share(capsys):
    classifier, images = l09_judge(), l09_digits(300, 3)

    def slip(kind: str):
        def confident_share(images, classifier, threshold=0.9):
            scores = ae.predict(classifier, images)
            probabilities = scores.softmax(1)
            top = {"logits": scores.max(1).values, "class 0": probabilities[:, 0],
                   "over images": scores.softmax(0).max(1).values}.get(kind, probabilities.max(1).values)
            sure = {"strict": top > threshold, "fixed": top >= 0.9}.get(kind, top >= threshold)
            share = sure.float().mean().item()
            return share if kind == "fraction" else 100 * share
        return confident_share

    def todo(images, classifier, threshold=0.9):
        probabilities = ...
        return 100 * (probabilities.max(1).values >= threshold).float().mean().item()

    shares = [confident_share_by_hand(x, classifier, t) for x, t in ((images, 0.9), (0.5 * (images + images.roll(1, 0)), 0.5))]
    assert all(5 < share < 95 for share in shares), shares  # the planted mistakes need a share between the ends
    with pytest.raises(ExerciseNotDone, match="fill in `confident_share`"):
        checks.l09_confident_share(..., classifier, images)
    with pytest.raises(ExerciseNotDone, match="fill in `confident_share` in the cell above"):
        checks.l09_confident_share(todo, classifier, images)
    with pytest.raises(CheckFailed, match="a fraction: the exercise asks for percent"):
        checks.l09_confident_share(slip("fraction"), classifier, images)
    with pytest.raises(CheckFailed, match=r"raw class scores \(logits\)"):
        checks.l09_confident_share(slip("logits"), classifier, images)
    with pytest.raises(CheckFailed, match="probability of class 0"):
        checks.l09_confident_share(slip("class 0"), classifier, images)
    with pytest.raises(CheckFailed, match=r"the softmax over the images \(dim=0\)"):
        checks.l09_confident_share(slip("over images"), classifier, images)
    with pytest.raises(CheckFailed, match="whatever `threshold` says"):
        checks.l09_confident_share(slip("fixed"), classifier, images)
    with pytest.raises(CheckFailed, match=r"probabilities of exactly 1 at threshold 1, .* strictly above the threshold"):
        checks.l09_confident_share(slip("strict"), classifier, images)
    with pytest.raises(CheckFailed, match="should be one number, got a list"):
        checks.l09_confident_share(lambda images, classifier, threshold=0.9: [50.0], classifier, images)
    with pytest.raises(CheckFailed, match="expected .* the share, in percent, of images whose largest"):
        checks.l09_confident_share(lambda images, classifier, threshold=0.9: 50.0, classifier, images)
    capsys.readouterr()
    checks.l09_confident_share(confident_share_by_hand, classifier, images)
    assert capsys.readouterr().out.startswith("✓ confident_share agrees with the lesson's measure")
    checks.l09_confident_share(slip("right"), classifier, images)


def test_l09_temperature_shares(capsys):
    classifier = l09_judge()
    torch.manual_seed(0)
    vq, prior = ae.VQAutoencoder(16, 4).eval(), ae.TokenPrior(16, dim=16, heads=2, layers=1).eval()
    with torch.no_grad():  # sharper logits than a fresh head's, so that the temperature matters, and entries that
        prior.head.weight.mul_(20)  # differ enough to decode into images the classifier tells apart
        vq.quantizer.codebook.weight.normal_(0, 3)
    count = 40
    tokens = {t: ae.sample_tokens(prior, count, seed=0, temperature=t) for t in (0.7, 1.0, 1.3)}
    with torch.no_grad():
        images = {t: torch.sigmoid(vq.decode(tokens[t].view(-1, 7, 7))) for t in tokens}
    share = {t: confident_share_by_hand(images[t], classifier) for t in tokens}
    assert abs(share[0.7] - share[1.3]) > 2 * 100 / count and share[0.7] > 2, share  # needed apart below
    cold, hot = share[0.7], share[1.3]
    with pytest.raises(ExerciseNotDone, match="fill in `tokens_cold`"):
        checks.l09_temperature_shares(..., ..., ..., ..., prior, vq, classifier)
    with pytest.raises(ExerciseNotDone, match="fill in `share_hot`"):
        checks.l09_temperature_shares(cold, ..., tokens[0.7], tokens[1.3], prior, vq, classifier)
    with pytest.raises(CheckFailed, match="the two temperatures are swapped"):
        checks.l09_temperature_shares(hot, cold, tokens[1.3], tokens[0.7], prior, vq, classifier)
    with pytest.raises(CheckFailed, match="at temperature 1: pass `temperature=`"):
        checks.l09_temperature_shares(share[1.0], hot, tokens[1.0], tokens[1.3], prior, vq, classifier)
    with pytest.raises(CheckFailed, match=r"`tokens_hot` is not what ae.sample_tokens\(prior, 40, seed=0"):
        checks.l09_temperature_shares(cold, hot, tokens[0.7], ae.sample_tokens(prior, count, seed=1, temperature=1.3),
                                      prior, vq, classifier)
    with pytest.raises(CheckFailed, match="tensor of whole numbers"):
        checks.l09_temperature_shares(cold, hot, images[0.7], tokens[1.3], prior, vq, classifier)
    with pytest.raises(CheckFailed, match="`share_cold` and `share_hot` are swapped"):
        checks.l09_temperature_shares(hot, cold, tokens[0.7], tokens[1.3], prior, vq, classifier)
    with pytest.raises(CheckFailed, match="`share_cold` is .*, a fraction"):
        checks.l09_temperature_shares(cold / 100, hot, tokens[0.7], tokens[1.3], prior, vq, classifier)
    logits_share = 100 * (ae.predict(classifier, images[1.3]).max(1).values >= 0.9).float().mean().item()
    assert abs(logits_share - hot) > 2 * 100 / count
    with pytest.raises(CheckFailed, match="the confident share of the digits decoded from `tokens_hot` is"):
        checks.l09_temperature_shares(cold, logits_share, tokens[0.7], tokens[1.3], prior, vq, classifier)
    capsys.readouterr()
    checks.l09_temperature_shares(cold, hot, tokens[0.7], tokens[1.3], prior, vq, classifier)
    assert capsys.readouterr().out.startswith(f"✓ at temperature 0.7, {cold:.1f} % of the 40 samples")
    checks.l09_temperature_shares(torch.tensor(cold), hot, tokens[0.7].view(-1, 7, 7), tokens[1.3], prior, vq,
                                  classifier)
