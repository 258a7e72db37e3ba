"""Lesson 4's helpers: Flowers-102 loading and caching, augmentation, the course's models, classifier training."""

from __future__ import annotations

import builtins
import functools

import pytest
import torch
import torch.nn.functional as F

from aehelpers import data
from aehelpers.augment import FlowerAugmenter, colour_jitter, random_resized_crop, resize_for_eval
from aehelpers.classifiers import (
    CourseFlowerAutoencoder, CourseFlowerHead, EncoderClassifier, PooledHead, ResidualAutoencoder,
)
from aehelpers.data import DataError, flower_names, flowers_to_float, load_flowers
from aehelpers.models import count_parameters
from aehelpers.training import Recipe, fit


@pytest.fixture()
def fresh_cache(tmp_path):
    data._load_flowers_cached.cache_clear()  # forget what other tests loaded
    yield tmp_path / "cache"
    data._load_flowers_cached.cache_clear()


def test_official_split_sizes_labels_and_cache(mnist_root, fresh_cache):
    train = load_flowers("train", size=32, root=mnist_root, cache_dir=fresh_cache)
    assert train.images.shape == (1020, 3, 32, 32) and train.images.dtype == torch.uint8
    # The official train split holds 10 images of each of the 102 classes.
    assert torch.equal(torch.bincount(train.labels), torch.full((102,), 10))
    assert (fresh_cache / "flowers102_train_32px.pt").is_file()
    data._load_flowers_cached.cache_clear()
    again = load_flowers("train", size=32, root=mnist_root, cache_dir=fresh_cache)  # read back from the cache
    assert torch.equal(again.images, train.images) and torch.equal(again.labels, train.labels)


def test_class_names_are_in_label_order():
    names = flower_names()
    assert len(names) == 102 and names[0] == "pink primrose"


def test_damaged_cache_says_delete_it(mnist_root, fresh_cache):
    fresh_cache.mkdir()
    (fresh_cache / "flowers102_val_32px.pt").write_bytes(b"not a torch file")
    with pytest.raises(DataError, match="damaged.*\n.*delete it"):
        load_flowers("val", size=32, root=mnist_root, cache_dir=fresh_cache)


def test_missing_flowers_error_says_where_and_how(tmp_path, fresh_cache):
    with pytest.raises(DataError) as error:
        load_flowers("train", root=tmp_path / "nowhere", download=False, cache_dir=fresh_cache)
    message = str(error.value)
    assert str(tmp_path / "nowhere" / "flowers-102") in message
    assert "setid.mat" in message and "export AEHELPERS_DATA=" in message and "download=True" in message


def test_missing_scipy_is_explained(mnist_root, fresh_cache, monkeypatch):
    real_import = builtins.__import__

    def no_scipy(name, *args, **kwargs):
        if name.startswith("scipy"):
            raise ImportError("No module named 'scipy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_scipy)
    with pytest.raises(DataError, match="needs scipy.*\n.*pip install"):
        load_flowers("val", size=16, root=mnist_root, cache_dir=fresh_cache)


def test_bad_split_or_size_is_refused():
    with pytest.raises(ValueError, match="split must be one of"):
        load_flowers("training")
    with pytest.raises(ValueError, match="size must be"):
        load_flowers("train", size=0)


def test_augmentation_is_seeded_in_range_and_the_right_size():
    images = torch.randint(0, 256, (8, 3, 40, 40), dtype=torch.uint8)
    augment = FlowerAugmenter(size=24)
    a = augment(images, torch.Generator().manual_seed(1))
    b = augment(images, torch.Generator().manual_seed(1))
    assert a.shape == (8, 3, 24, 24) and torch.equal(a, b)
    assert a.min() >= -1 and a.max() <= 1
    assert not torch.equal(a, augment(images, torch.Generator().manual_seed(2)))


def test_full_crop_without_flip_is_the_resized_image():
    images = flowers_to_float(torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8))
    crop = random_resized_crop(images, 16, torch.Generator().manual_seed(0), scale=(1.0, 1.0), ratio=(1.0, 1.0), flip=False)
    assert torch.allclose(crop, images, atol=1e-5)
    assert torch.equal(resize_for_eval(torch.zeros(1, 3, 16, 16, dtype=torch.uint8), 16), torch.full((1, 3, 16, 16), -1.0))


def test_colour_jitter_keeps_grey_images_grey():
    grey = torch.rand(4, 1, 8, 8).expand(4, 3, 8, 8) * 2 - 1
    jittered = colour_jitter(grey, torch.Generator().manual_seed(0))
    assert torch.allclose(jittered[:, 0], jittered[:, 1], atol=1e-6) and torch.allclose(jittered[:, 1], jittered[:, 2], atol=1e-6)


@pytest.mark.parametrize("decoder", ["conv", "upsample", "upsample-detached"])
def test_course_autoencoder_shapes(decoder):
    model = CourseFlowerAutoencoder(batch_norm=True, decoder=decoder)
    images = torch.rand(2, 3, 100, 100) * 2 - 1
    assert model.encode(images).shape == (2, 16, 22, 22)
    assert model(images).shape == (2, 3, 100, 100)
    head = CourseFlowerHead(batch_norm=True, dropout=True)
    assert EncoderClassifier(model, head)(images).shape == (2, 102)


def test_course_models_refuse_wrong_images_with_the_fix():
    model = CourseFlowerAutoencoder()
    with pytest.raises(ValueError, match=r"\(batch, 3, 100, 100\)"):
        model(torch.rand(2, 3, 64, 64))
    with pytest.raises(ValueError, match="without a batch axis"):
        EncoderClassifier(model, CourseFlowerHead())(torch.rand(3, 100, 100))


def test_course_parameter_counts():
    # Counted by hand from the layer sizes: encoder 456 + 2,416; head 4,640 + 18,496 + 524,800 + 52,326.
    model = CourseFlowerAutoencoder()
    assert count_parameters(model.encoder) == 2_872
    assert count_parameters(CourseFlowerHead()) == 600_262


def test_detached_upsampling_starves_the_encoder_of_gradient():
    images = torch.rand(2, 3, 100, 100) * 2 - 1
    for decoder, encoder_learns in [("upsample-detached", False), ("upsample", True)]:
        model = CourseFlowerAutoencoder(decoder=decoder)
        F.mse_loss(model(images), images).backward()
        gradient = model.encoder[0].weight.grad
        assert (gradient is not None and gradient.abs().sum() > 0) == encoder_learns, decoder


def test_residual_autoencoder_shapes_and_pooled_head():
    model = ResidualAutoencoder(widths=(8, 16), image_size=32)
    images = torch.rand(3, 3, 32, 32) * 2 - 1
    assert model.encode(images).shape == (3, 16, 8, 8)
    assert model(images).shape == images.shape
    assert EncoderClassifier(model, PooledHead(16, num_classes=5))(images).shape == (3, 5)


def test_classifier_training_learns_and_keeps_the_best_epoch():
    # Four classes told apart by colour: a tiny residual classifier must learn them within a few epochs.
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(64) % 4
    colours = torch.tensor([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]], dtype=torch.float)
    images = (colours[labels].view(64, 3, 1, 1) * 0.8 + torch.rand(64, 3, 20, 20, generator=generator) * 50).to(torch.uint8)
    torch.manual_seed(0)
    model = EncoderClassifier(ResidualAutoencoder(widths=(8, 16), image_size=16), PooledHead(16, num_classes=4))
    history = fit(
        model, images, resize_for_eval(images, 16), labels=(labels, labels), num_epochs=6, batch_size=16, lr=3e-3,
        recipe=Recipe(augment=FlowerAugmenter(16), loss_fn=functools.partial(F.cross_entropy, label_smoothing=0.1),
                      weight_decay=1e-4, keep_best=True),
        progress=False,
    )
    assert history.train_loss[-1] < history.train_loss[0]
    assert len(history.test_accuracy) == len(history.train_accuracy) == 6
    assert max(history.test_accuracy) == 100.0
    # Ties go to the later epoch, which has trained longer.
    best = max(history.test_accuracy)
    assert history.best_epoch == len(history.test_accuracy) - history.test_accuracy[::-1].index(best)
    from aehelpers.evaluation import evaluate_scores, top1_accuracy

    restored = evaluate_scores(model, resize_for_eval(images, 16), labels, {"accuracy": top1_accuracy})
    assert restored["accuracy"] == best
