import gzip
import os

import numpy as np
import pytest
import torch

import aehelpers.data as data
from aehelpers.data import DataError, add_noise, load_mnist

from .conftest import write_idx


@pytest.fixture(autouse=True)
def fresh_cache():
    # load_mnist keeps data sets in memory; each test here must really read its files.
    data._load_mnist_cached.cache_clear()
    yield
    data._load_mnist_cached.cache_clear()


def test_real_mnist_loads_into_float_tensors(mnist_root):
    train, test = load_mnist(True, mnist_root, download=False), load_mnist(False, mnist_root, download=False)
    assert train.images.shape == (60_000, 1, 28, 28) and test.images.shape == (10_000, 1, 28, 28)
    assert train.images.dtype == torch.float32 and train.labels.dtype == torch.int64
    assert train.images.min() == 0.0 and train.images.max() == 1.0
    assert sorted(train.labels.unique().tolist()) == list(range(10))
    assert test.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the well-known first test digits


def test_loading_twice_costs_nothing(mnist_root):
    assert load_mnist(False, mnist_root) is load_mnist(False, mnist_root)


def test_read_only_folder_works_and_nothing_is_written(mnist_copy):
    raw = mnist_copy / "MNIST" / "raw"
    before = sorted(p.name for p in mnist_copy.rglob("*"))
    for folder in (raw, raw.parent, mnist_copy):
        os.chmod(folder, 0o555)
    try:
        assert len(load_mnist(False, mnist_copy, download=True)) == 10_000
    finally:
        for folder in (mnist_copy, raw.parent, raw):
            os.chmod(folder, 0o755)
    assert sorted(p.name for p in mnist_copy.rglob("*")) == before


def test_missing_data_error_says_where_what_and_how(tmp_path):
    with pytest.raises(DataError) as error:
        load_mnist(True, tmp_path / "nowhere", download=False)
    message = str(error.value)
    assert str(tmp_path / "nowhere" / "MNIST" / "raw") in message  # where it looked
    for name in data.MNIST_FILES:  # what it expected
        assert name in message
    assert "export AEHELPERS_DATA=" in message and "download=True" in message  # the fix


def test_failed_download_is_reported_with_the_fix(tmp_path, monkeypatch):
    import torchvision

    def no_internet(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(torchvision.datasets, "MNIST", no_internet)
    with pytest.raises(DataError, match="download failed too: OSError: Network is unreachable") as error:
        load_mnist(False, tmp_path, download=True)
    assert "export AEHELPERS_DATA=" in str(error.value)


def test_damaged_file_fails_its_checksum(mnist_copy):
    path = mnist_copy / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz"
    content = bytearray(path.read_bytes())
    content[-1] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(DataError, match="damaged or not the official file"):
        load_mnist(False, mnist_copy)


def test_truncated_idx_file_is_detected(tmp_path):
    path = tmp_path / "images.gz"
    write_idx(path, np.zeros((3, 28, 28)), magic=2051)
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-10]))  # cut the last 10 pixels
    with pytest.raises(DataError, match="truncated"):
        data._read_idx(path, expected_magic=2051)


def test_add_noise_is_seeded_and_stays_in_range():
    images = torch.rand(8, 1, 28, 28)
    noisy = add_noise(images, 0.5, torch.Generator().manual_seed(0))
    again = add_noise(images, 0.5, torch.Generator().manual_seed(0))
    assert torch.equal(noisy, again)
    assert noisy.min() >= 0 and noisy.max() <= 1
    assert not torch.equal(noisy, images)
