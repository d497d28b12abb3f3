"""Shared fixtures: tiny IDX files written by the tests, an isolated data lookup, the real data."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from dropout_kit import data as data_module
from dropout_kit.errors import DataNotFoundError


def pytest_addoption(parser):
    parser.addoption("--refresh-golden", action="store_true", default=False,
                     help="re-record the judges' golden files (tests/golden/) instead of only reading them")


def write_idx(path: Path, array: np.ndarray, *, gz: bool) -> Path:
    """Write ``array`` (uint8) as an IDX file (magic 0x801 for 1-D labels, 0x803 for images)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = 0x800 + array.ndim
    payload = struct.pack(f">{1 + array.ndim}I", magic, *array.shape) + array.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)
    return path


def make_fashion_folder(folder: Path, *, n_train: int = 300, n_test: int = 60, gz: bool = True,
                        torchvision_layout: bool = False, seed: int = 0) -> Path:
    """A folder holding four tiny FashionMNIST-format files; labels cycle through the 10 classes.

    Each image's first pixel encodes its index (mod 256) so tests can tell images apart.
    """
    rng = np.random.default_rng(seed)
    target = folder / "FashionMNIST" / "raw" if torchvision_layout else folder
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        images[:, 0, 0] = np.arange(n) % 256
        labels = np.arange(n) % 10
        write_idx(target / f"{prefix}-images-idx3-ubyte", images, gz=gz)
        write_idx(target / f"{prefix}-labels-idx1-ubyte", labels, gz=gz)
    return folder


def blobs(n: int, seed: int):
    """Ten separable classes of 28x28 'images' (class centre plus noise): a Split for quick training runs."""
    y = torch.arange(n) % 10
    centres = torch.rand(10, 1, 28, 28, generator=torch.Generator().manual_seed(99))
    X = (centres[y] + 0.3 * torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))).clamp(0, 1)
    return data_module.Split(X, y)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """A lookup that sees none of this machine's data: empty cwd, no env var, no Debian folder."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv(data_module.ENV_VAR, raising=False)
    monkeypatch.setenv(data_module.CACHE_ENV_VAR, str(tmp_path / "cache"))
    monkeypatch.setattr(data_module, "DEBIAN_DIR", tmp_path / "no-debian")
    # The folder beside the package is this repo's data/, which may exist on a developer's machine.
    real_candidates = data_module.candidate_folders
    monkeypatch.setattr(
        data_module, "candidate_folders",
        lambda root=None: [c for c in real_candidates(root) if "beside the package" not in c[0]],
    )
    return tmp_path


@pytest.fixture(scope="session")
def real_data():
    """The real FashionMNIST splits; a failure (not a skip) when CI is set and the data is missing."""
    try:
        return data_module.load_fashion_mnist(download=False)
    except DataNotFoundError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the real FashionMNIST: {exc}")
        pytest.skip(f"real FashionMNIST not installed: {exc}")


@pytest.fixture(scope="module")
def one_thread():
    """Tiny networks: torch's thread pool costs far more than it saves (25x slower on a busy 2-core box)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def bwrap_sandbox():
    """This machine's sandbox support; a skip only when bwrap is absent and CI is unset.

    With CI set, or with a bwrap that cannot create namespaces, a missing sandbox is a failure.
    """
    import shutil

    from dropout_kit import sandbox

    if shutil.which("bwrap") is None and not os.environ.get("CI"):
        pytest.skip("bubblewrap (bwrap) is not installed: apt-get install bubblewrap")
    try:
        return sandbox.require()
    except sandbox.SandboxUnavailable as exc:
        pytest.fail(f"the sandbox tests need a working bubblewrap: {exc}")


@pytest.fixture
def workdir(tmp_path):
    """A learner's folder as grading makes it: only the notebook, beside a grading workspace."""
    folder = tmp_path / "autograded" / "learner1" / "lesson"
    folder.mkdir(parents=True)
    (folder / "lesson.ipynb").write_text('{"cells": []}\n')
    return folder
