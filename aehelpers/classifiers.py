"""Autoencoder-based classifiers for Oxford Flowers-102: the course's four variants and a stronger one.

The idea taught in lesson 4: an autoencoder trained to rebuild images (no labels needed) learns an
encoder whose code keeps what describes an image; a small classifier on top of that code is then
fine-tuned with the labels. The course's models are rebuilt here layer by layer, with one bug
fixed (its upsampling layer cut the gradient, see :class:`CourseFlowerAutoencoder`).

Defined in lessons 4a and 4b (``notebooks/04a_flowers_course_classifiers.ipynb``, ``04b_flowers_residual_classifier.ipynb``).
"""

from __future__ import annotations

import torch
from torch import nn

from .models import Autoencoder, check_images, conv_bn_relu
from .evaluation import predict

COURSE_IMAGE_SIZE = 100
NUM_FLOWER_CLASSES = 102


def _conv(in_channels: int, out_channels: int, kernel: int, padding: int, batch_norm: bool, activation: nn.Module) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, kernel, padding=padding)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    return layers + [activation]


class DetachedUpsample(nn.Module):
    """The course's upsampling, kept to show its bug: nearest x2 on a copy cut off from autograd.

    The course computed ``np.kron(x, ones((2, 2)))`` on ``x.detach().cpu().numpy()``. The values are
    right (every pixel repeated 2x2), but the result is a new leaf tensor: the backward pass stops
    here, so nothing before this layer (the whole encoder) gets a gradient.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.detach().repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)


class CourseFlowerAutoencoder(Autoencoder):
    """The course's autoencoder for 3x100x100 images in [-1, 1] (a Tanh output).

    Encoder (LeNet-5 sizes): two 5x5 convolutions, each followed by ReLU and 2x2 max pooling, give a
    16x22x22 code. Three decoders:

    - ``decoder="conv"``: five 13x13 convolutions with 12 pixels of padding and a 19x19 one with 18,
      each growing the map by 12 or 18 pixels (22 -> 34 -> ... -> 82 -> 100). Huge kernels: most of
      the training time goes here.
    - ``decoder="upsample"``: twice nearest-neighbour upsampling x2, each followed by a 5x5 convolution
      with 4 pixels of padding (22 -> 44 -> 48 -> 96 -> 100).
    - ``decoder="upsample-detached"``: the same with the course's gradient-cutting upsampling
      (:class:`DetachedUpsample`), to show what the bug did.

    ``batch_norm=True`` adds batch normalisation after every convolution except the ``"conv"``
    decoder's last one (the course's second variant).
    The course built its upsampling with ``np.kron`` on a detached NumPy copy, so no gradient reached
    the encoder while the autoencoder trained; ``nn.Upsample`` here lets it learn.
    """

    image_channels = 3
    image_size = (COURSE_IMAGE_SIZE, COURSE_IMAGE_SIZE)

    def __init__(self, batch_norm: bool = False, decoder: str = "conv") -> None:
        super().__init__()
        if decoder not in ("conv", "upsample", "upsample-detached"):
            raise ValueError(f"decoder must be 'conv', 'upsample' or 'upsample-detached', got {decoder!r}.")
        self.batch_norm, self.decoder_kind = batch_norm, decoder
        relu = nn.ReLU
        self.encoder = nn.Sequential(
            *_conv(3, 6, 5, 0, batch_norm, relu()), nn.MaxPool2d(2),
            *_conv(6, 16, 5, 0, batch_norm, relu()), nn.MaxPool2d(2),
        )
        if decoder == "conv":
            channels = [16, 16, 16, 6, 6, 6]
            layers: list[nn.Module] = []
            for c_in, c_out in zip(channels, channels[1:]):
                layers += _conv(c_in, c_out, 13, 12, batch_norm, relu())
            layers += [nn.Conv2d(6, 3, 19, padding=18), nn.Tanh()]
        else:
            def upsample() -> nn.Module:
                return DetachedUpsample() if decoder == "upsample-detached" else nn.Upsample(scale_factor=2, mode="nearest")

            layers = [
                upsample(), *_conv(16, 6, 5, 4, batch_norm, relu()),
                upsample(), *_conv(6, 3, 5, 4, batch_norm, nn.Tanh()),
            ]
        self.decoder = nn.Sequential(*layers)


class CourseFlowerHead(nn.Module):
    """The course's classifier on the 16x22x22 code: two small convolutions, then two linear layers.

    ``batch_norm`` adds batch normalisation (the second variant); ``dropout`` adds Dropout2d(0.2)
    after the first convolution block and Dropout(0.5) / Dropout(0.25) around the first linear layer
    (the third variant), the course's answer to a classifier that learned the 1,020 training
    images by heart.
    """

    def __init__(self, batch_norm: bool = False, dropout: bool = False, num_classes: int = NUM_FLOWER_CLASSES) -> None:
        super().__init__()
        layers: list[nn.Module] = [*_conv(16, 32, 3, 0, batch_norm, nn.ReLU()), nn.MaxPool2d(2)]
        if dropout:
            layers.append(nn.Dropout2d(0.2))
        layers += [*_conv(32, 64, 3, 0, batch_norm, nn.ReLU()), nn.MaxPool2d(2), nn.Flatten()]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers.append(nn.Linear(64 * 4 * 4, 512))
        if batch_norm:
            layers.append(nn.BatchNorm1d(512))
        layers.append(nn.ReLU())
        if dropout:
            layers.append(nn.Dropout(0.25))
        layers.append(nn.Linear(512, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        return self.layers(code)


class EncoderClassifier(nn.Module):
    """An autoencoder's encoder followed by a classification head: the model that is fine-tuned.

    Only the encoder runs; the decoder is left out because no loss uses its output during
    fine-tuning (the course ran it anyway, paying for its huge kernels on every batch).
    """

    def __init__(self, autoencoder: Autoencoder, head: nn.Module) -> None:
        super().__init__()
        self.encoder = autoencoder.encoder  # shared: fine-tuning changes the autoencoder's encoder too
        self.head = head
        self.image_channels, self.image_size = autoencoder.image_channels, autoencoder.image_size

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        check_images(images, self.image_channels, self.image_size, type(self).__name__)
        return self.head(self.encoder(images))


# --- Beyond the course: a residual encoder --------------------------------------------------------


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with batch norm, added to a shortcut (He et al., 2016).

    The shortcut lets gradients reach early layers unchanged, so a deeper encoder still trains
    quickly; ``stride=2`` halves the map and the shortcut follows with a 1x1 convolution.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *conv_bn_relu(in_channels, out_channels, stride),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels),
        )
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels),
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class ResidualAutoencoder(Autoencoder):
    """A residual encoder (widths ``widths``, each stage halving the map) and an upsampling decoder.

    For 64x64 inputs and four stages the code is ``widths[-1]`` x 4 x 4. The decoder mirrors the
    encoder with nearest-neighbour upsampling + convolution (lesson 3), so its reconstructions
    have no checkerboard pattern. Pretraining it on unlabeled images teaches the encoder features
    that the classifier then starts from.
    """

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128, 256), image_size: int = 64) -> None:
        super().__init__()
        self.image_channels, self.image_size = 3, (image_size, image_size)
        stem = conv_bn_relu(3, widths[0])
        stages = [ResidualBlock(widths[0], widths[0], stride=1)]
        stages += [ResidualBlock(c_in, c_out, stride=2) for c_in, c_out in zip(widths, widths[1:])]
        stages.append(ResidualBlock(widths[-1], widths[-1], stride=2))
        self.encoder = nn.Sequential(*stem, *stages)
        up: list[nn.Module] = []
        for c_in, c_out in zip(widths[::-1], list(widths[::-1][1:]) + [widths[0]]):
            up += [nn.Upsample(scale_factor=2, mode="nearest"), *conv_bn_relu(c_in, c_out)]
        self.decoder = nn.Sequential(*up, nn.Conv2d(widths[0], 3, 3, padding=1), nn.Tanh())
        self.code_channels = widths[-1]


class PooledHead(nn.Module):
    """Global average pooling, dropout and one linear layer: a head with few weights to overfit."""

    def __init__(self, in_channels: int, num_classes: int = NUM_FLOWER_CLASSES, dropout: float = 0.3) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(in_channels, num_classes),
        )

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        return self.layers(code)


def predict_logits(model: nn.Module, images: torch.Tensor, flip_average: bool = False, batch_size: int = 500) -> torch.Tensor:
    """Class scores for ``images`` (eval mode, in batches); optionally averaged with the mirror images'.

    Test-time flipping: a flower and its mirror image are the same species, so averaging the two
    predictions removes some of the model's noise at the cost of a second forward pass.
    """
    logits = predict(model, images, batch_size)
    if flip_average:
        logits = (logits + predict(model, images.flip(-1), batch_size)) / 2
    return logits


# --- Lesson 8: a digit classifier to look inside -------------------------------------------------


class DigitClassifier(nn.Module):
    """A small MLP for MNIST: 784 pixels -> 256 -> ``hidden`` -> 10 class scores, ReLU after each hidden layer.

    Split in two so that lesson 8 can read and replace the second hidden layer: ``features`` maps images to
    that layer's activations (after its ReLU), ``readout`` maps them to class scores. Why an MLP: it trains
    in seconds, and a linear readout makes "what a feature adds to a class score" one dot product.
    """

    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 256), nn.ReLU(), nn.Linear(256, hidden), nn.ReLU())
        self.readout = nn.Linear(hidden, 10)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        check_images(images, 1, (28, 28), type(self).__name__)
        return self.readout(self.features(images))
