"""One place to seed every random number generator the course uses."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seed ``random``, numpy and torch with ``seed``; return a fresh torch Generator.

    Used before building a model (its initial weights) and by ``fit`` (its
    shuffling and dropout masks), so one seed reproduces a whole run.
    ``torch.manual_seed`` seeds the CPU and every CUDA and MPS device, so masks drawn
    on a GPU follow the seed too.

    Args:
        seed: a non-negative integer.

    Returns:
        A ``torch.Generator`` seeded with ``seed``, for code that wants its own stream.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
