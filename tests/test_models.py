import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import aehelpers as ae
from aehelpers.models import (
    ConvAutoencoder, DenoisingAutoencoder, UpsampleAutoencoder, check_images, count_parameters, layer_shapes,
)


def test_shapes_through_the_autoencoder():
    model = ConvAutoencoder()
    images = torch.rand(5, 1, 28, 28)
    codes = model.encode(images)
    assert codes.shape == (5, 4, 7, 7)
    assert codes[0].numel() == 196  # a quarter of the 784 pixels
    outputs = model.decode(codes)
    assert outputs.shape == images.shape
    assert torch.equal(model(images), outputs)
    assert outputs.min() >= 0 and outputs.max() <= 1  # the sigmoid keeps pixels in [0, 1]


def test_parameter_count_matches_hand_count():
    # conv1 1*16*9+16, conv2 16*4*9+4, tconv1 4*16*2*2+16, tconv2 16*1*2*2+1
    assert count_parameters(ConvAutoencoder()) == 160 + 580 + 272 + 65


def test_layer_shapes_follow_the_course_architecture():
    shapes = [shape for _, _, shape in layer_shapes(ConvAutoencoder(), (1, 28, 28))]
    assert shapes == [
        (16, 28, 28), (16, 28, 28), (16, 14, 14),
        (4, 14, 14), (4, 14, 14), (4, 7, 7),
        (16, 14, 14), (16, 14, 14), (1, 28, 28), (1, 28, 28),
    ]


@pytest.mark.parametrize(
    "images, words",
    [
        (torch.rand(2, 3, 100, 100), "got shape (2, 3, 100, 100)"),
        (torch.rand(2, 1, 32, 32), "got shape (2, 1, 32, 32)"),
        (torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8), "images.float() / 255"),
        (torch.rand(1, 28, 28), "unsqueeze(0)"),
    ],
)
def test_wrong_images_get_a_clear_error(images, words):
    with pytest.raises(ValueError) as error:
        ConvAutoencoder()(images)
    assert "ConvAutoencoder expects a float tensor of shape (batch, 1, 28, 28)" in str(error.value)
    assert words in str(error.value)



@pytest.mark.parametrize("model, code_shape", [
    (DenoisingAutoencoder(), (8, 3, 3)), (UpsampleAutoencoder(), (16, 7, 7)), (UpsampleAutoencoder(4), (4, 7, 7)),
])
def test_every_model_keeps_the_image_shape(model, code_shape):
    images = torch.rand(3, 1, 28, 28)
    assert model.encode(images).shape == (3, *code_shape)
    assert model(images).shape == images.shape


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(1, 40), min_size=1, max_size=5))
def test_any_wrong_shape_is_refused_with_its_shape_named(shape):
    images = torch.zeros(shape)
    fits = len(shape) == 4 and shape[1:] == [1, 28, 28]
    if fits:
        check_images(images, 1, (28, 28), "M")
    else:
        with pytest.raises(ValueError, match=r"M expects a float tensor of shape \(batch, 1, 28, 28\)") as error:
            check_images(images, 1, (28, 28), "M")
        assert str(tuple(shape)) in str(error.value) or "without a batch axis" in str(error.value)


@settings(max_examples=30, deadline=None)
@given(dtype=st.sampled_from([torch.uint8, torch.int16, torch.int32, torch.int64, torch.bool]))
def test_integer_pixels_are_refused_with_the_conversion(dtype):
    with pytest.raises(ValueError, match=r"images.float\(\) / 255"):
        check_images(torch.zeros(2, 1, 28, 28, dtype=dtype), 1, (28, 28), "M")


def test_layer_table_columns_stay_apart_for_long_operation_names(capsys):
    ae.print_layer_shapes(ae.VariationalAutoencoder(latent_size=2, width=4), (1, 28, 28))
    lines = capsys.readouterr().out.splitlines()
    long_line = next(line for line in lines if "ConvTranspose2d" in line and "stride" in line)
    assert "pad 1 " in long_line and "pad 1(" not in long_line  # the operation and its shape stay apart
    assert len({line.index("output shape") for line in lines[:1]} | {long_line.index("(8, 14, 14)")}) == 1
