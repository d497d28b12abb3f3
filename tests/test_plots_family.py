"""Tests of dropout_kit.plots.family: lesson 11's figures draw exactly the data they are given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from dropout_kit.plots import family  # noqa: E402


def shown(ax):
    return np.asarray(ax.images[0].get_array())


def test_feature_map_masks_show_the_maps_and_pytorchs_two_masks():
    """Are the columns the maps, F.dropout of them and F.dropout2d of them (same seed), one row per channel?"""
    maps = torch.rand(6, 5, 7, generator=torch.Generator().manual_seed(0)) + 0.1
    fig = family.feature_map_masks(maps, p=0.5, channels=3, seed=4)
    assert len(fig.axes) == 9
    torch.manual_seed(4)
    element = F.dropout(maps, 0.5, training=True)
    channel = F.dropout2d(maps.unsqueeze(0), 0.5, training=True)[0]
    for c in range(3):
        assert np.allclose(shown(fig.axes[3 * c]), maps[c].numpy())
        assert np.allclose(shown(fig.axes[3 * c + 1]), element[c].numpy())
        assert np.allclose(shown(fig.axes[3 * c + 2]), channel[c].numpy())
        column = shown(fig.axes[3 * c + 2])
        assert (column == 0).all() or np.allclose(column, 2 * maps[c].numpy())  # a whole map, dropped or kept
    assert "element dropout" in fig.axes[1].get_title() and "channel dropout" in fig.axes[2].get_title()


def test_feature_map_masks_refuse_bad_shapes():
    """Are a batched tensor and more channels than exist refused?"""
    with pytest.raises(ValueError, match="C x H x W"):
        family.feature_map_masks(torch.rand(2, 3, 4, 4))
    with pytest.raises(ValueError, match="at least 5 channels"):
        family.feature_map_masks(torch.rand(3, 4, 4), channels=5)


def test_layer_moments_draw_each_table_with_eval_dashed():
    """Does each table become one line per panel (mean, variance), eval-mode tables dashed?"""
    rows = [{"layer": i, "mean": 0.1 * i, "variance": 1 + i} for i in (1, 2, 3)]
    fig = family.layer_moments({"dropout, train mode": rows, "any, eval mode": rows[:2]})
    ax_mean, ax_var = fig.axes[:2]
    line = ax_var.lines[0]
    assert list(line.get_xdata()) == [1, 2, 3] and list(line.get_ydata()) == [2, 3, 4]
    assert list(ax_mean.lines[0].get_ydata()) == pytest.approx([0.1, 0.2, 0.3])
    assert ax_var.lines[0].get_linestyle() == "-" and ax_var.lines[1].get_linestyle() == "--"
    with pytest.raises(ValueError, match="at least one table"):
        family.layer_moments({})


def test_attention_dropout_shows_both_modes_and_row_sums():
    """Are the two panels the given head's weights, titled with the range of their row sums?"""
    eval_w = torch.full((2, 3, 3), 1 / 3)
    train_w = eval_w.clone() * 1.5
    train_w[0, 0, 0] = 0.0
    fig = family.attention_dropout(eval_w, train_w, head=0)
    assert np.allclose(shown(fig.axes[0]), eval_w[0].numpy()) and np.allclose(shown(fig.axes[1]), train_w[0].numpy())
    assert "row sums 1.00-1.00" in fig.axes[0].get_title() and "row sums 1.00-1.50" in fig.axes[1].get_title()
    assert not fig.axes[0].collections and np.allclose(fig.axes[1].collections[0].get_offsets(), [[0, 0]])
    with pytest.raises(ValueError, match="one shape"):
        family.attention_dropout(eval_w, train_w[:1])
