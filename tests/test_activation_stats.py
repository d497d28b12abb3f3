"""Tests of dropout_kit.activation_stats: neighbour correlations against numpy, block-by-block moments."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dropout_kit import activation_stats, models

pytestmark = pytest.mark.usefixtures("one_thread")


def test_neighbour_correlation_matches_numpy_per_channel():
    """Is each offset's correlation numpy's corrcoef of pixel and neighbour, averaged over channels?"""
    maps = torch.rand(5, 3, 6, 7, generator=torch.Generator().manual_seed(0))
    table = activation_stats.neighbour_correlation(maps, offsets=(1, 3))
    for row, offset in zip(table, (1, 3)):
        expected = [np.corrcoef(maps[:, c, :, :-offset].flatten().numpy(),
                                maps[:, c, :, offset:].flatten().numpy())[0, 1] for c in range(3)]
        assert row["offset"] == offset and row["channels"] == 3
        assert row["correlation"] == pytest.approx(np.mean(expected), abs=1e-12)
        assert row["min"] == pytest.approx(min(expected), abs=1e-12)
        assert row["max"] == pytest.approx(max(expected), abs=1e-12)


def test_smooth_maps_are_more_correlated_than_noise():
    """Do maps blurred by a 3x3 convolution show high neighbour correlation, and white noise about none?

    Seeded; white noise over 20,000 pixel pairs has a correlation within about 0.02 of 0 (bound 0.05).
    """
    noise = torch.randn(20, 4, 32, 32, generator=torch.Generator().manual_seed(1))
    blurred = F.conv2d(noise, torch.ones(4, 1, 3, 3) / 9, padding=1, groups=4)
    assert abs(activation_stats.neighbour_correlation(noise, offsets=(1,))[0]["correlation"]) < 0.05
    assert activation_stats.neighbour_correlation(blurred, offsets=(1,))[0]["correlation"] > 0.6  # theory: 2/3


def test_neighbour_correlation_skips_constant_channels_and_refuses_bad_input():
    """Is a constant channel (a dead ReLU) left out, and are all-constant maps, bad offsets and shapes refused?"""
    maps = torch.rand(4, 2, 5, 5, generator=torch.Generator().manual_seed(2))
    maps[:, 1] = 0.0
    assert activation_stats.neighbour_correlation(maps, offsets=(1,))[0]["channels"] == 1
    with pytest.raises(ValueError, match="every channel is constant"):
        activation_stats.neighbour_correlation(torch.zeros(2, 2, 5, 5))
    with pytest.raises(ValueError, match="offset"):
        activation_stats.neighbour_correlation(maps, offsets=(5,))
    with pytest.raises(ValueError, match="N x C x H x W"):
        activation_stats.neighbour_correlation(maps[0])


def test_layer_moments_follow_the_blocks_seeded_and_restore_mode():
    """Are the rows each block's output mean and variance, masks seeded, the mode restored, torch's RNG untouched?"""
    torch.manual_seed(0)
    stack = models.build_selu_stack(4, 16, dropout="dropout", p=0.3)
    X = torch.randn(50, 16, generator=torch.Generator().manual_seed(3))
    stack.eval()
    state = torch.get_rng_state()
    table = activation_stats.layer_moments(stack, X, train=True, seed=7)
    assert torch.equal(torch.get_rng_state(), state) and not stack.training
    assert table == activation_stats.layer_moments(stack, X, train=True, seed=7)
    assert table != activation_stats.layer_moments(stack, X, train=True, seed=8)
    with torch.no_grad():
        torch.manual_seed(7)
        x = X
        for i, block in enumerate(stack.train()):
            x = block(x)
            assert table[i]["layer"] == i + 1
            assert table[i]["mean"] == pytest.approx(float(x.double().mean()), abs=1e-12)
            assert table[i]["variance"] == pytest.approx(float(x.double().var()), abs=1e-12)
    eval_rows = activation_stats.layer_moments(stack, X, train=False)
    with torch.no_grad():
        assert eval_rows[-1]["variance"] == pytest.approx(float(stack.eval()(X).double().var()), abs=1e-12)


def test_alpha_dropout_keeps_selu_moments_and_plain_dropout_does_not():
    """Through 32 SELU blocks at p=0.1, does AlphaDropout stay near (0, 1) while nn.Dropout's variance grows?

    Seeded (weights, inputs, masks): a measurement of lesson 11's claim, with wide margins.
    """
    X = torch.randn(2000, 256, generator=torch.Generator().manual_seed(0))
    last = {}
    for kind in ("dropout", "alpha"):
        torch.manual_seed(0)
        last[kind] = activation_stats.layer_moments(models.build_selu_stack(32, 256, dropout=kind, p=0.1), X)[-1]
    assert abs(last["alpha"]["mean"]) < 0.1 and abs(last["alpha"]["variance"] - 1) < 0.15
    assert last["dropout"]["variance"] > 1.3
    assert isinstance(nn.AlphaDropout(0.1), nn.modules.dropout._DropoutNd)
