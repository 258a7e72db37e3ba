"""The autoencoders of the lessons, each a small ``nn.Module`` with ``encode`` and ``decode``.

Splitting ``forward`` into ``encode`` and ``decode`` lets a lesson look at the code (the
bottleneck) itself, and decode codes it changed by hand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from .pca import PCA


def check_images(images: torch.Tensor, channels: int, size: tuple[int, int], model_name: str) -> None:
    """Raise a ``ValueError`` that names the problem when ``images`` do not fit the model.

    The usual mistakes: a single image without the batch axis, RGB images into a grey-scale
    model, or uint8 pixels 0..255 where floats in [0, 1] are expected.
    """
    expected = f"a float tensor of shape (batch, {channels}, {size[0]}, {size[1]})"
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{model_name} expects {expected}, got {type(images).__name__}.")
    if not images.is_floating_point():
        raise ValueError(
            f"{model_name} expects {expected} with values in [0, 1], got dtype {images.dtype}. "
            "Fix: convert with `images.float() / 255`."
        )
    if images.dim() == 3 and tuple(images.shape) == (channels, *size):
        raise ValueError(
            f"{model_name} expects {expected}, got one image of shape {tuple(images.shape)} without a batch axis. "
            "Fix: `images.unsqueeze(0)`."
        )
    if images.dim() != 4 or images.shape[1] != channels or tuple(images.shape[2:]) != tuple(size):
        raise ValueError(f"{model_name} expects {expected}, got shape {tuple(images.shape)}.")


def he_initialise(model: nn.Module, layer_types: tuple[type[nn.Module], ...]) -> None:
    """He (Kaiming) normal weights and zero biases for every layer of ``layer_types`` in ``model``.

    Scaled for ReLU, so the signal keeps its size through many layers instead of fading out.
    """
    for layer in model.modules():
        if isinstance(layer, layer_types):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


class Autoencoder(nn.Module):
    """The shape every autoencoder here shares: ``encoder`` and ``decoder`` modules, checked input.

    Subclasses build ``self.encoder`` and ``self.decoder``; this class gives them ``encode``,
    ``decode`` and ``forward``, and a clear error for images of the wrong shape or type.
    """

    image_channels = 1
    image_size = (28, 28)
    encoder: nn.Module
    decoder: nn.Module

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images (N, C, H, W) in [0, 1] -> codes."""
        check_images(images, self.image_channels, self.image_size, type(self).__name__)
        return self.encoder(images)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes -> reconstructed images (N, C, H, W) in [0, 1]."""
        return self.decoder(codes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(images))


class ConvAutoencoder(Autoencoder):
    """Lesson 1's autoencoder: two conv + max-pool stages down to a 4x7x7 code, two transpose convs up.

    784 pixels go in, 196 numbers (25 %) come out of the encoder, and the decoder must rebuild
    the image from them. The kernel-2, stride-2 transpose convolutions paint each 2x2 output
    block from one input position, which is where lesson 3's checkerboard comes from.

    Defined in lesson 1 (``notebooks/01_conv_autoencoder.ipynb``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1),  # 1x28x28 -> 16x28x28
            nn.ReLU(),
            nn.MaxPool2d(2),  # -> 16x14x14
            nn.Conv2d(16, 4, kernel_size=3, padding=1),  # -> 4x14x14
            nn.ReLU(),
            nn.MaxPool2d(2),  # -> 4x7x7: the 196-value code
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(4, 16, kernel_size=2, stride=2),  # -> 16x14x14
            nn.ReLU(),
            nn.ConvTranspose2d(16, 1, kernel_size=2, stride=2),  # -> 1x28x28
            nn.Sigmoid(),  # pixels back into [0, 1]
        )


def upsample_twin(transpose_decoder: nn.Sequential) -> nn.Sequential:
    """A copy of a decoder in which each ``ConvTranspose2d(kernel 2, stride 2)`` becomes nearest upsampling
    followed by a 2x2 convolution holding the same weights and bias; every other layer is kept as it is.

    Why: the copy has the same number of weights and the same starting values as the original, so
    training both compares the way they double the image size and nothing else. (Padding one row and
    one column keeps each output exactly twice the input's size.)
    """
    layers = []
    for layer in transpose_decoder:
        if isinstance(layer, nn.ConvTranspose2d):
            conv = nn.Conv2d(layer.in_channels, layer.out_channels, kernel_size=2)
            with torch.no_grad():  # ConvTranspose2d stores (in, out, k, k), Conv2d (out, in, k, k)
                conv.weight.copy_(layer.weight.transpose(0, 1))
                conv.bias.copy_(layer.bias)
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.ZeroPad2d((0, 1, 0, 1)), conv]
        else:
            layers.append(layer)
    return nn.Sequential(*layers)


class UpsampleTwinAutoencoder(ConvAutoencoder):
    """Lesson 1's autoencoder with its decoder swapped for ``upsample_twin(decoder)``.

    Built after the same seed, it starts from exactly lesson 1's weights (1,077 of them); only the
    decoder's upsampling differs, which makes it lesson 3's controlled comparison.

    Defined in lesson 3 (``notebooks/03_upsampling_autoencoder.ipynb``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.decoder = upsample_twin(self.decoder)


class DenoisingAutoencoder(Autoencoder):
    """Lesson 2's course denoiser: three conv + max-pool stages to an 8x3x3 code, three transpose convs up.

    The code is tiny (72 values); that forces the model to keep the digit's shape and drop the
    noise, but also caps how sharp its output can be.

    Defined in lesson 2 (``notebooks/02_denoising_autoencoder.ipynb``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # -> 32x14x14
            nn.Conv2d(32, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # -> 16x7x7
            nn.Conv2d(16, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # -> 8x3x3 (7 // 2 = 3)
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(8, 8, 3, stride=2), nn.ReLU(),  # 3x3 -> 7x7 (kernel 3 to land on 7)
            nn.ConvTranspose2d(8, 16, 2, stride=2), nn.ReLU(),  # -> 14x14
            nn.ConvTranspose2d(16, 32, 2, stride=2), nn.ReLU(),  # -> 28x28
            nn.Conv2d(32, 1, 3, padding=1), nn.Sigmoid(),
        )


class UpsampleAutoencoder(Autoencoder):
    """Lesson 3's autoencoder: the decoder upsamples (nearest neighbour) and then convolves.

    A 3x3 convolution after each upsampling sees across the 2x2 blocks the upsampling made, so
    every output pixel is drawn from several code positions: no tile seams, no checkerboard.
    ``code_channels=16`` is the course's version (a 16x7x7 = 784-value code, as large as the
    image); ``code_channels=4`` has lesson 1's 196-value code, for a fair comparison.

    Defined in lesson 3 (``notebooks/03_upsampling_autoencoder.ipynb``).
    """

    def __init__(self, code_channels: int = 16) -> None:
        super().__init__()
        self.code_channels = code_channels
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # -> 8x14x14
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # -> 16x7x7
            nn.Conv2d(16, code_channels, 3, padding=1), nn.ReLU(),  # -> code_channels x7x7
        )
        self.decoder = nn.Sequential(
            nn.Conv2d(code_channels, 16, 3, padding=1), nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="nearest"),  # -> 16x14x14
            nn.Conv2d(16, 8, 3, padding=1), nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="nearest"),  # -> 8x28x28
            nn.Conv2d(8, 1, 3, padding=1), nn.Sigmoid(),
        )
        # PyTorch's default initialisation shrinks the signal a little at every layer; through six
        # convolutions the untrained output is almost constant, the ReLUs die within an epoch and
        # the model learns to paint everything black. He initialisation keeps the signal's scale.
        he_initialise(self, (nn.Conv2d,))


def conv_bn_relu(in_channels: int, out_channels: int, stride: int = 1) -> list[nn.Module]:
    """3x3 convolution, batch norm, ReLU; ``stride=2`` halves the image instead of a max-pool.

    Batch norm keeps each layer's outputs centred: without it, the many near-black target pixels
    push the biases down until every ReLU outputs zero and the network goes dark. (The convolution
    needs no bias: batch norm's own shift replaces it.)
    """
    return [
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    ]


def _conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(*conv_bn_relu(in_channels, out_channels))


class SkipDenoiser(nn.Module):
    """Lesson 2's better denoiser: a small U-Net, an encoder-decoder with skip connections.

    A denoiser has no reason to squeeze the image through a tiny code: its job is to keep the
    digit and drop the noise, and the fine detail of the strokes is exactly what a narrow code
    loses. Skip connections hand the encoder's full-resolution features straight to the decoder,
    which can then concentrate on the cleaning. ``skips=False`` builds the same layers without
    them (an ablation for the lesson).

    Defined in lesson 2 (``notebooks/02_denoising_autoencoder.ipynb``).
    """

    image_channels = 1
    image_size = (28, 28)

    def __init__(self, width: int = 16, skips: bool = True) -> None:
        super().__init__()
        self.skips = skips
        extra = 1 if skips else 0  # with skips, each decoder stage also reads the encoder's features
        self.down1 = _conv_bn_relu(1, width)  # 28x28
        self.down2 = nn.Sequential(nn.MaxPool2d(2), _conv_bn_relu(width, 2 * width))  # 14x14
        self.bottom = nn.Sequential(nn.MaxPool2d(2), _conv_bn_relu(2 * width, 2 * width))  # 7x7
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.up2 = _conv_bn_relu((2 + 2 * extra) * width, 2 * width)  # 14x14
        self.up1 = _conv_bn_relu((2 + extra) * width, width)  # 28x28
        self.out = nn.Sequential(nn.Conv2d(width, 1, 3, padding=1), nn.Sigmoid())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        check_images(images, self.image_channels, self.image_size, type(self).__name__)
        full = self.down1(images)
        half = self.down2(full)
        x = self.upsample(self.bottom(half))
        x = self.up2(torch.cat([x, half], dim=1) if self.skips else x)
        x = self.upsample(x)
        x = self.up1(torch.cat([x, full], dim=1) if self.skips else x)
        return self.out(x)


def count_parameters(model: nn.Module) -> int:
    """The number of trainable numbers in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def layer_shapes(model: nn.Module, input_shape: tuple[int, ...]) -> list[tuple[str, nn.Module, tuple[int, ...]]]:
    """Run one dummy batch through ``model`` and record each leaf layer's output shape.

    Returns ``(name, layer, shape)`` rows in the order the layers ran, the batch axis dropped.
    """
    rows: list[tuple[str, nn.Module, tuple[int, ...]]] = []
    hooks = []
    for name, module in model.named_modules():
        if len(list(module.children())) == 0:
            hooks.append(
                module.register_forward_hook(
                    lambda mod, inputs, output, name=name: rows.append((name, mod, tuple(output.shape[1:])))
                )
            )
    try:
        with torch.inference_mode():
            model(torch.zeros(1, *input_shape))
    finally:
        for hook in hooks:
            hook.remove()
    return rows


def print_layer_shapes(model: nn.Module, input_shape: tuple[int, ...]) -> None:
    """Print a table of every layer with the shape and size of what it outputs."""
    rows = [(name, describe_layer(layer), str(shape), _numel(shape))
            for name, layer, shape in layer_shapes(model, input_shape)]
    # Columns as wide as their longest entry (at least the usual widths), so that long names never run together.
    name_width = max([12] + [len(row[0]) + 1 for row in rows])
    operation_width = max([36] + [len(row[1]) + 1 for row in rows])
    print(f"{'layer':<{name_width}}{'operation':<{operation_width}}{'output shape':<15}{'values':>7}")
    print(f"{'input':<{name_width}}{'':<{operation_width}}{str(tuple(input_shape)):<15}{_numel(input_shape):>7}")
    for name, operation, shape, values in rows:
        print(f"{name:<{name_width}}{operation:<{operation_width}}{shape:<15}{values:>7}")


def _numel(shape: tuple[int, ...]) -> int:
    count = 1
    for dim in shape:
        count *= dim
    return count


def describe_layer(layer: nn.Module) -> str:
    """A short description such as ``Conv2d 1->16 3x3 pad 1`` or ``MaxPool2d 2x2``."""
    name = type(layer).__name__
    parts = [name]
    if hasattr(layer, "in_channels"):
        parts.append(f"{layer.in_channels}->{layer.out_channels}")
    kernel = getattr(layer, "kernel_size", None)
    if kernel is not None:
        k = kernel if isinstance(kernel, tuple) else (kernel, kernel)
        parts.append(f"{k[0]}x{k[1]}")
        stride = getattr(layer, "stride", 1)
        stride = stride[0] if isinstance(stride, tuple) else stride
        if stride != 1 and not isinstance(layer, nn.MaxPool2d):
            parts.append(f"stride {stride}")
        padding = getattr(layer, "padding", 0)
        padding = padding[0] if isinstance(padding, tuple) else padding
        if padding:
            parts.append(f"pad {padding}")
    if isinstance(layer, nn.Upsample):
        parts.append(f"x{layer.scale_factor:g} {layer.mode}")
    return " ".join(parts)


class LinearAutoencoder(Autoencoder):
    """The simplest autoencoder: one linear map from the pixels to ``code_size`` values, one linear map back.

    No activation anywhere, so it can only do what PCA does. Trained by gradient descent on the squared
    error, it ends in the subspace of PCA's first ``code_size`` components (Baldi and Hornik, 1989), but
    not on PCA's components themselves: any invertible mix of them, undone by the decoder, rebuilds the
    images as well. Lesson 5 trains it to watch that claim come true.
    """

    def __init__(self, code_size: int, image_shape: tuple[int, int, int] = (1, 28, 28)) -> None:
        super().__init__()
        self.image_channels, self.image_size = image_shape[0], image_shape[1:]
        pixels = image_shape[0] * image_shape[1] * image_shape[2]
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(pixels, code_size))
        self.decoder = nn.Sequential(nn.Linear(code_size, pixels), nn.Unflatten(1, image_shape))


class BottleneckAutoencoder(Autoencoder):
    """Lesson 5's autoencoder: convolutions down to 7x7, a dense code of ``code_size`` values, upsampling back up.

    Lesson 1's code is a 4x7x7 grid, and each code position only ever paints its own 4x4 patch. Here a
    ``Linear`` layer squeezes *all* the encoder's 7x7 features into ``code_size`` numbers, and another
    spreads them out again, so every code value can draw on the whole image, as PCA's components do.
    Strided convolutions halve the image (cheaper than convolving at full size and max-pooling), and the
    decoder upsamples then convolves (lesson 3), so the output has no tiles.

    Args:
        code_size: the number of values in the code (the bottleneck).
        width: channels of the first stage; the 14x14 and 7x7 stages have twice as many.

    Defined in lesson 5 (``notebooks/05_autoencoder_vs_pca.ipynb``).
    """

    def __init__(self, code_size: int, width: int = 16) -> None:
        super().__init__()
        if not isinstance(code_size, int) or code_size < 1:
            raise ValueError(f"code_size must be a whole number >= 1, got {code_size!r}.")
        self.code_size = code_size
        features = 2 * width * 7 * 7
        self.encoder = nn.Sequential(
            *conv_bn_relu(1, width, stride=2),  # 1x28x28 -> w x14x14
            *conv_bn_relu(width, 2 * width),  # -> 2w x14x14
            *conv_bn_relu(2 * width, 2 * width, stride=2),  # -> 2w x7x7
            *conv_bn_relu(2 * width, 2 * width),  # -> 2w x7x7
            nn.Flatten(),
            nn.Linear(features, code_size),  # -> the code: code_size values, no activation
        )
        self.decoder = nn.Sequential(
            nn.Linear(code_size, features), nn.ReLU(),
            nn.Unflatten(1, (2 * width, 7, 7)),  # -> 2w x7x7
            *conv_bn_relu(2 * width, 2 * width),
            nn.Upsample(scale_factor=2, mode="nearest"),  # -> 2w x14x14
            *conv_bn_relu(2 * width, width),  # -> w x14x14
            nn.Upsample(scale_factor=2, mode="nearest"),  # -> w x28x28
            nn.Conv2d(width, 1, 3, padding=1),  # -> 1x28x28
            nn.Sigmoid(),
        )
        # He initialisation, as in lesson 3: it keeps the signal's scale through the many layers.
        he_initialise(self, (nn.Conv2d, nn.Linear))

    def _check_codes(self, codes: torch.Tensor) -> None:
        if not isinstance(codes, torch.Tensor) or codes.dim() != 2 or codes.shape[1] != self.code_size:
            got = tuple(codes.shape) if isinstance(codes, torch.Tensor) else type(codes).__name__
            raise ValueError(f"{type(self).__name__} decodes codes of shape (batch, {self.code_size}), got {got}.")

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (N, code_size) -> images (N, 1, 28, 28) in [0, 1]."""
        self._check_codes(codes)
        return self.decoder(codes)


class PCAShortcutAutoencoder(BottleneckAutoencoder):
    """A :class:`BottleneckAutoencoder` plus a linear shortcut that starts out as PCA.

    code = linear(image) + convolutional encoder(image);
    image = clip(linear(code) + convolutional decoder(code), 0, 1).

    With ``pca`` given, the two linear layers start as PCA's projection and reconstruction and the
    last layer of each convolutional path starts at zero: before any training the model *is* PCA
    (with the pixels clipped to [0, 1]). Training then only has to learn what PCA cannot, the
    non-linear rest. A plain autoencoder must instead learn the whole mapping from scratch, and with
    a large code it needs many epochs to even match PCA's fine detail.

    Args:
        code_size: the number of values in the code.
        pca: a fitted :class:`aehelpers.pca.PCA` to start from; ``None`` starts the shortcut at random.
        width: as for :class:`BottleneckAutoencoder`.

    Defined in lesson 5 (``notebooks/05_autoencoder_vs_pca.ipynb``).
    """

    def __init__(self, code_size: int, pca: PCA | None = None, width: int = 16) -> None:
        super().__init__(code_size, width)
        pixels = self.image_channels * self.image_size[0] * self.image_size[1]
        self.decoder = self.decoder[:-1]  # no sigmoid: the sum is clipped into [0, 1] instead
        self.linear_encoder = nn.Linear(pixels, code_size)
        self.linear_decoder = nn.Linear(code_size, pixels)
        for last in (self.encoder[-1], self.decoder[-1]):  # the convolutional paths start silent
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        if pca is not None:
            if pca.image_shape != (self.image_channels, *self.image_size) or pca.n_components < code_size:
                raise ValueError(
                    f"The PCA fits images of shape {pca.image_shape} with {pca.n_components} components; "
                    f"this model needs {(self.image_channels, *self.image_size)} and at least {code_size}."
                )
            components, mean = pca.components[:code_size].float(), pca.mean.float()
            with torch.no_grad():
                self.linear_encoder.weight.copy_(components)  # code = components @ (x - mean)
                self.linear_encoder.bias.copy_(-(components @ mean))
                self.linear_decoder.weight.copy_(components.T)  # x = mean + components.T @ code
                self.linear_decoder.bias.copy_(mean)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        check_images(images, self.image_channels, self.image_size, type(self).__name__)
        return self.linear_encoder(images.flatten(1)) + self.encoder(images)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        self._check_codes(codes)
        linear = self.linear_decoder(codes).view(-1, self.image_channels, *self.image_size)
        return (linear + self.decoder(codes)).clamp(0.0, 1.0)
