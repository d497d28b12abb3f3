import random

import numpy as np
import pytest
import torch

from dropout_kit.seeding import seed_everything
from dropout_kit.train import seed_everything as reexported


def _draws():
    return random.random(), float(np.random.rand()), float(torch.rand(()))


def test_same_seed_same_draws_in_every_library():
    """Does one seed reproduce random, numpy and torch draws alike?"""
    seed_everything(3)
    first = _draws()
    seed_everything(3)
    assert _draws() == first
    seed_everything(4)
    assert _draws() != first


def test_returned_generator_is_seeded():
    """Is the returned generator seeded with the same seed?"""
    a = torch.rand(3, generator=seed_everything(7))
    b = torch.rand(3, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


@pytest.mark.parametrize("bad", [-1, 1.5, "0", None, True])
def test_bad_seed_is_a_clear_error(bad):
    """Is a seed that is not a non-negative integer refused with a message naming it?"""
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        seed_everything(bad)


def test_train_reexports_seed_everything():
    """Can lessons import seed_everything from dropout_kit.train, as the API promises?"""
    assert reexported is seed_everything


def test_cuda_is_seeded_too(monkeypatch):
    """Does seed_everything seed every CUDA device as well (dropout masks on a GPU come from there)?"""
    seeded = []
    monkeypatch.setattr(torch.cuda, "manual_seed_all", seeded.append)
    seed_everything(11)
    assert seeded == [11]
