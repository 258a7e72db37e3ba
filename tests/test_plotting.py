import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from aehelpers.diagrams import draw_architecture
from aehelpers.models import ConvAutoencoder
from aehelpers.plotting import (
    image_mosaic, plot_classifier_history, plot_history, show_image_rows, show_reconstructions,
)
from aehelpers.history import History


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_mosaic_places_images_with_gaps():
    rows = [torch.zeros(3, 1, 4, 4), torch.ones(3, 1, 4, 4) * 0.5]
    mosaic = image_mosaic(rows, num_images=3, gap=2, fill=1.0)
    assert mosaic.shape == (4 + 2 + 4, 3 * 4 + 2 * 2)
    assert (mosaic[:4, :4] == 0).all() and (mosaic[6:, :4] == 0.5).all() and (mosaic[4:6] == 1).all()


def test_reconstruction_grid_draws_one_picture():
    fig = show_reconstructions(torch.rand(12, 1, 28, 28), torch.rand(12, 1, 28, 28))
    assert len(fig.axes) == 1 and [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["input", "output"]


@pytest.mark.parametrize(
    "images, words",
    [
        (torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8), "images.float\\(\\) / 255"),
        (torch.rand(4, 1, 28, 28) * 255, "outside the value_range"),
        (torch.rand(4, 2, 2, 28, 28), "Cannot draw an image of shape"),
    ],
)
def test_bad_images_for_a_plot_get_a_clear_error(images, words):
    with pytest.raises(ValueError, match=words):
        show_image_rows([images], ["row"])


def test_titles_must_match_rows():
    with pytest.raises(ValueError, match="2 rows of images but 1 titles"):
        show_image_rows([torch.rand(2, 1, 8, 8)] * 2, ["only one"])


def test_column_titles_label_each_column_above_the_grid():
    fig = show_image_rows([torch.rand(3, 1, 8, 8)] * 2, ["a", "b"], column_titles=["x", "y", "z"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y", "z"]
    assert ax.xaxis.get_ticks_position() == "top"
    with pytest.raises(ValueError, match="3 columns of images but 2 column titles"):
        show_image_rows([torch.rand(3, 1, 8, 8)], ["a"], column_titles=["x", "y"])


def test_classifier_curves_label_both_panels_and_keep_the_last_epoch_inside():
    history = {"train_loss": [2.0, 1.0, 0.5], "test_loss": [2.1, 1.5, 1.4], "train_accuracy": [10, 40, 80],
               "test_accuracy": [9, 20, 25], "best_epoch": 3}
    axes = plot_classifier_history(history)
    for ax in axes:
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "validation", "kept epoch"]
        assert ax.get_xlim()[1] > 3  # the kept-epoch line at the last epoch is not on the frame


def test_loss_curves_have_train_and_test():
    ax = plot_history(History(train_loss=[0.3, 0.2, 0.1], test_loss=[0.35, 0.25, 0.15], seconds=[1, 2, 3]))
    assert [line.get_label() for line in ax.get_lines()] == ["train", "test"]


def test_architecture_diagram_has_a_block_per_tensor():
    fig = draw_architecture(ConvAutoencoder(), (1, 28, 28))
    # input + conv, pool, conv, pool (encoder) + two transpose convs: 7 tensors drawn
    assert len(fig.axes[0].patches) == 7 + 6  # blocks and the arrows between them
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "4x7x7\n= 196" in texts and "code" in texts
