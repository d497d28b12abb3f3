"""Statistics of activations for lesson 11: how correlated neighbouring pixels of conv feature
maps are, and the mean and variance of activations block by block through a deep stack.

Random masks are drawn from a private stream (``torch.random.fork_rng``) seeded by ``seed``,
so results are reproducible and the caller's random state is left alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from dropout_kit.tables import Table


def _pearson(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double() - a.double().mean(), b.double() - b.double().mean()
    denominator = (a.square().sum() * b.square().sum()).sqrt()
    return float((a * b).sum() / denominator) if denominator > 0 else float("nan")


@torch.no_grad()
def neighbour_correlation(maps: torch.Tensor, offsets: Sequence[int] = (1, 2, 4, 8)) -> Table:
    """Correlation of a feature-map pixel with the pixel ``offset`` places to its right (lesson 11).

    For each channel, the Pearson correlation of ``maps[:, c, i, j]`` with ``maps[:, c, i, j + offset]``
    over all images and positions; channels that are constant (e.g. a dead ReLU) are skipped.

    Args:
        maps: feature maps, N x C x H x W.
        offsets: horizontal distances in pixels, each below W.

    Returns:
        A ``Table`` with one row per offset: ``offset``, ``correlation`` (mean over channels),
        ``min`` and ``max`` over channels, and ``channels`` (how many were not constant).
    """
    if maps.dim() != 4:
        raise ValueError(f"maps must be N x C x H x W, got shape {tuple(maps.shape)}")
    rows = []
    for offset in offsets:
        if isinstance(offset, bool) or not isinstance(offset, int) or not 0 < offset < maps.shape[-1]:
            raise ValueError(f"each offset must be a whole number in 1..{maps.shape[-1] - 1}, got {offset!r}")
        values = [_pearson(maps[:, c, :, :-offset], maps[:, c, :, offset:]) for c in range(maps.shape[1])]
        values = [v for v in values if v == v]  # NaN: a constant channel
        if not values:
            raise ValueError("every channel is constant: there is no correlation to measure")
        rows.append({"offset": offset, "correlation": sum(values) / len(values), "min": min(values),
                     "max": max(values), "channels": len(values)})
    return Table(rows)


@torch.no_grad()
def layer_moments(stack: nn.Sequential, X: torch.Tensor, *, train: bool = True, seed: int = 0) -> Table:
    """Mean and variance of each block's output as ``X`` passes through ``stack`` (lesson 11).

    Args:
        stack: a ``Sequential`` of blocks (e.g. ``models.build_selu_stack``).
        X: inputs, N x width.
        train: dropout on (train mode) or off (eval mode); the stack's mode is restored after.
        seed: seeds the dropout masks.

    Returns:
        A ``Table`` with one row per block: ``layer`` (1-based), ``mean`` and ``variance`` over
        all units and inputs.
    """
    was_training = stack.training
    stack.train(train)
    rows = []
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            x = X
            for i, block in enumerate(stack, start=1):
                x = block(x)
                x64 = x.double()
                rows.append({"layer": i, "mean": float(x64.mean()), "variance": float(x64.var())})
    finally:
        stack.train(was_training)
    return Table(rows)
