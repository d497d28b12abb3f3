import gzip

import pytest
import torch

from dropout_kit import data
from dropout_kit.errors import CorruptDataError, DataNotFoundError
from tests.conftest import make_fashion_folder


def test_explicit_root_comes_first(isolated, monkeypatch):
    """Does an explicit root win over the environment variable and data/?"""
    explicit = make_fashion_folder(isolated / "explicit", seed=1)
    env = make_fashion_folder(isolated / "env", seed=2)
    make_fashion_folder(isolated / "work" / "data", seed=3)
    monkeypatch.setenv(data.ENV_VAR, str(env))
    assert data.locate(explicit).folder == explicit
    assert data.locate(explicit).where == "explicit root"


def test_env_var_before_project_data(isolated, monkeypatch):
    """Without a root, does DROPOUT_KIT_DATA win over the project's data/ folder?"""
    env = make_fashion_folder(isolated / "env")
    make_fashion_folder(isolated / "work" / "data")
    monkeypatch.setenv(data.ENV_VAR, str(env))
    assert data.locate().folder == env


def test_project_data_before_debian(isolated, monkeypatch):
    """Is ./data used before Debian's folder?"""
    debian = make_fashion_folder(isolated / "debian")
    monkeypatch.setattr(data, "DEBIAN_DIR", debian)
    local = make_fashion_folder(isolated / "work" / "data")
    assert data.locate().folder.resolve() == local.resolve()


def test_debian_folder_used_last(isolated, monkeypatch):
    """With nothing else, is Debian's dataset-fashion-mnist folder found?"""
    debian = make_fashion_folder(isolated / "debian")
    monkeypatch.setattr(data, "DEBIAN_DIR", debian)
    found = data.locate()
    assert found.folder == debian and found.where == "Debian dataset-fashion-mnist"


def test_incomplete_folder_is_skipped(isolated, monkeypatch):
    """Is a folder missing one of the four files passed over for the next place?"""
    partial = make_fashion_folder(isolated / "partial")
    (partial / "t10k-labels-idx1-ubyte.gz").unlink()
    debian = make_fashion_folder(isolated / "debian")
    monkeypatch.setattr(data, "DEBIAN_DIR", debian)
    assert data.locate(partial).folder == debian


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("layout", [False, True])
def test_loads_gz_and_raw_in_both_layouts(isolated, gz, layout):
    """Are .gz and raw IDX files loaded alike, flat or in torchvision's FashionMNIST/raw?"""
    folder = make_fashion_folder(isolated / "d", gz=gz, torchvision_layout=layout)
    splits = data.load_fashion_mnist(folder, val_size=100, download=False)
    assert splits.train.X.shape == (200, 1, 28, 28) and splits.val.X.shape == (100, 1, 28, 28)
    assert splits.test.X.shape == (60, 1, 28, 28)
    for split in (splits.train, splits.val, splits.test):
        assert split.X.dtype == torch.float32 and split.y.dtype == torch.int64
        assert 0.0 <= float(split.X.min()) and float(split.X.max()) <= 1.0


def test_pixels_match_the_file(isolated):
    """Is pixel value v stored as v/255, with the right image for each label?"""
    folder = make_fashion_folder(isolated / "d")
    splits = data.load_fashion_mnist(folder, val_size=0, download=False)
    first_pixels = torch.round(splits.test.X[:, 0, 0, 0] * 255).long()
    assert torch.equal(first_pixels, torch.arange(60))
    assert torch.equal(splits.test.y, torch.arange(60) % 10)


def test_nothing_found_lists_every_place_and_remedy(isolated, monkeypatch):
    """Offline with nothing found, does the error list every place looked and the three remedies?"""
    monkeypatch.setenv(data.ENV_VAR, str(isolated / "env-missing"))
    with pytest.raises(DataNotFoundError) as info:
        data.load_fashion_mnist(isolated / "nowhere", download=False)
    message = str(info.value)
    for place in ("nowhere", "env-missing", "data", "no-debian"):
        assert place in message
    for remedy in ("apt-get install dataset-fashion-mnist", data.ENV_VAR, "download=True"):
        assert remedy in message


def test_failed_download_is_the_same_clear_error(isolated, monkeypatch):
    """When a download is allowed but fails, is the error still the not-found one with remedies?"""
    import torchvision.datasets

    def offline(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", offline)
    with pytest.raises(DataNotFoundError, match="the download failed too.*Error downloading"):
        data.load_fashion_mnist(download=True)


def test_truncated_gzip_names_the_file(isolated):
    """Does a truncated .gz give an error naming that file?"""
    folder = make_fashion_folder(isolated / "d")
    victim = folder / "train-images-idx3-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:100])
    with pytest.raises(CorruptDataError, match="train-images-idx3-ubyte.gz"):
        data.load_fashion_mnist(folder, val_size=10, download=False)


def test_truncated_raw_file_names_the_file(isolated):
    """Does a raw IDX file cut short give an error naming it and saying it is truncated?"""
    folder = make_fashion_folder(isolated / "d", gz=False)
    victim = folder / "t10k-labels-idx1-ubyte"
    victim.write_bytes(victim.read_bytes()[:-5])
    with pytest.raises(CorruptDataError, match=r"t10k-labels-idx1-ubyte.*truncated"):
        data.load_fashion_mnist(folder, val_size=10, download=False)


def test_wrong_magic_names_the_file(isolated):
    """Is a labels file with an images header refused, naming the file?"""
    folder = make_fashion_folder(isolated / "d")
    images = gzip.decompress((folder / "t10k-images-idx3-ubyte.gz").read_bytes())
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(images))
    with pytest.raises(CorruptDataError, match=r"t10k-labels-idx1-ubyte.gz.*magic number"):
        data.load_fashion_mnist(folder, val_size=10, download=False)


def test_corrupt_cache_is_rebuilt(isolated):
    """If the unpacked cache is truncated (a crash), is it rebuilt from the source?"""
    folder = make_fashion_folder(isolated / "d")
    first = data.load_fashion_mnist(folder, val_size=10, download=False)
    cached = next((isolated / "cache").rglob("train-images-idx3-ubyte"))
    cached.write_bytes(cached.read_bytes()[:50])
    again = data.load_fashion_mnist(folder, val_size=10, download=False)
    assert torch.equal(first.train.X, again.train.X)


def test_split_is_deterministic_disjoint_and_stratified():
    """Does the same seed give the same val split, disjoint from train and stratified by class?"""
    y = torch.arange(1000) % 10
    train_a, val_a = data.stratified_split(y, 200, seed=5)
    train_b, val_b = data.stratified_split(y, 200, seed=5)
    _, val_c = data.stratified_split(y, 200, seed=6)
    assert torch.equal(val_a, val_b) and torch.equal(train_a, train_b)
    assert not torch.equal(val_a, val_c)
    assert len(set(train_a.tolist()) & set(val_a.tolist())) == 0
    assert len(train_a) + len(val_a) == 1000
    assert torch.bincount(y[val_a]).tolist() == [20] * 10


def test_stratified_split_of_unequal_classes_keeps_proportions():
    """With unequal classes, does each class get its share (largest remainder) and the exact size?"""
    y = torch.tensor([0] * 70 + [1] * 20 + [2] * 10)
    _, val = data.stratified_split(y, 15, seed=0)
    counts = torch.bincount(y[val], minlength=3).tolist()
    assert sum(counts) == 15 and counts[0] in (10, 11) and counts[1] == 3 and counts[2] in (1, 2)


def test_subset_is_class_balanced_seeded_and_inside_train(isolated):
    """Is the train subset class-balanced, seeded, and drawn from train (never val)?"""
    folder = make_fashion_folder(isolated / "d", n_train=250)  # < 256: first pixels are unique ids
    full = data.load_fashion_mnist(folder, val_size=100, download=False)
    a = data.load_fashion_mnist(folder, val_size=100, subset=50, download=False)
    b = data.load_fashion_mnist(folder, val_size=100, subset=50, download=False)
    assert torch.bincount(a.train.y).tolist() == [5] * 10
    assert torch.equal(a.train.X, b.train.X)
    train_ids = {int(v) for v in full.train.X[:, 0, 0, 0] * 255 + 0.5}
    val_ids = {int(v) for v in full.val.X[:, 0, 0, 0] * 255 + 0.5}
    subset_ids = {int(v) for v in a.train.X[:, 0, 0, 0] * 255 + 0.5}
    assert subset_ids <= train_ids and not subset_ids & val_ids
    assert torch.equal(a.val.X, full.val.X)


@pytest.mark.parametrize("kwargs, message", [
    ({"subset": 0}, "subset must be between 1"),
    ({"subset": 10**6}, "subset must be between 1"),
    ({"val_size": 10**6}, "val_size must be in"),
])
def test_bad_sizes_are_clear_errors(isolated, kwargs, message):
    """Are impossible subset and val sizes refused with a message saying the range?"""
    folder = make_fashion_folder(isolated / "d")
    with pytest.raises(ValueError, match=message):
        data.load_fashion_mnist(folder, download=False, **{"val_size": 100, **kwargs})


@pytest.mark.realdata
def test_real_fashion_mnist_shapes_and_balance(real_data):
    """Is the real data 50,000 / 10,000 / 10,000 with a balanced val split and the known test labels?"""
    assert real_data.train.X.shape == (50000, 1, 28, 28)
    assert real_data.val.X.shape == (10000, 1, 28, 28)
    assert real_data.test.X.shape == (10000, 1, 28, 28)
    assert torch.bincount(real_data.val.y).tolist() == [1000] * 10
    assert torch.bincount(real_data.test.y).tolist() == [1000] * 10
    # The first test image is an ankle boot (class 9) in the official files.
    assert int(real_data.test.y[0]) == 9
