"""Tests of dropout_kit.plots.masks: the figures of lesson 01_concepts hold the data they claim."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from dropout_kit.plots import masks  # noqa: E402
from dropout_kit.seeding import seed_everything  # noqa: E402


def left_half(x, p=0.5, training=True, inplace=False):
    """A fake, deterministic 'dropout' that drops the right half of the columns."""
    out = x.clone()
    out[..., x.shape[-1] // 2:] = 0
    return out


def test_plot_masks_has_one_binary_image_per_p_and_draw():
    """Does plot_masks return a Figure with one 0/1 image of the given shape per (p, draw)?"""
    seed_everything(0)
    fig = masks.plot_masks(F.dropout, ps=(0.2, 0.8), draws=3, shape=(4, 10))
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 6
    for ax in fig.axes:
        image = np.asarray(ax.images[0].get_array())
        assert image.shape == (4, 10)
        assert set(np.unique(image)) <= {0.0, 1.0}
    assert fig.axes[0].get_title().startswith("p=0.2, draw 1: ")
    assert fig.axes[5].get_title().startswith("p=0.8, draw 3: ")
    assert fig.axes[3].get_ylabel() == "p = 0.8"


def test_plot_masks_draws_from_the_function_it_is_given():
    """Do the heatmaps show the masks of the function passed in, with the kept share in the title?"""
    fig = masks.plot_masks(left_half, ps=(0.5,), draws=2, shape=(3, 8))
    expected = np.zeros((3, 8))
    expected[:, :4] = 1
    for ax in fig.axes:
        np.testing.assert_array_equal(ax.images[0].get_array(), expected)
        assert ax.get_title().endswith("50% kept")


def test_plot_masks_rejects_no_draws():
    """Is asking for zero draws an error that says what was asked?"""
    with pytest.raises(ValueError, match="draws=0"):
        masks.plot_masks(F.dropout, draws=0)


def test_plot_expectation_running_mean_ends_near_the_input():
    """Does the running mean of F.dropout's outputs end within a Hoeffding bound of x?

    Each output of entry i lies in [0, x_i/(1-p)]; over 4000 draws Hoeffding bounds the
    mean's error by x_i/(1-p) * sqrt(ln(2/1e-6) / (2 * 4000)) = 0.086 x_i at p=0.5, so this
    fails a correct dropout with probability <= 3e-6 (3 entries), and the seed is fixed.
    """
    seed_everything(0)
    x = torch.tensor([1.0, 2.0, 4.0])
    fig = masks.plot_expectation(F.dropout, x, p=0.5, draws=4000)
    left, right = fig.axes
    lines = left.get_lines()
    assert len(lines) == 6  # three running means, then three dashed inputs
    for i, value in enumerate(x.tolist()):
        final = lines[i].get_ydata()[-1]
        assert abs(final - value) <= 0.086 * value
        assert lines[3 + i].get_ydata()[0] == value
        assert lines[3 + i].get_linestyle() == "--"
    assert len(lines[0].get_xdata()) == 4000


def test_plot_expectation_histogram_has_only_zero_and_the_scaled_value():
    """Does the histogram count every draw, all at 0 or at x/(1-p)?"""
    seed_everything(1)
    fig = masks.plot_expectation(F.dropout, torch.tensor([3.0, 1.0]), p=0.25, draws=500)
    right = fig.axes[1]
    heights = np.array([patch.get_height() for patch in right.patches])
    lefts = np.array([patch.get_x() for patch in right.patches])
    assert heights.sum() == 500
    occupied = lefts[heights > 0]
    assert len(occupied) == 2
    assert occupied[0] == pytest.approx(0.0) and occupied[1] <= 4.0 < occupied[1] + 0.2
    assert "x/(1-p) = 4" in right.get_title()


def test_plot_expectation_shows_the_bias_of_a_function_without_scaling():
    """Does a dropout that forgets 1/(1-p) visibly converge to (1-p)·x instead of x?"""
    seed_everything(2)

    def unscaled(x, p=0.5, training=True, inplace=False):
        return x * (torch.rand_like(x) >= p)

    fig = masks.plot_expectation(unscaled, torch.tensor([2.0]), p=0.5, draws=4000)
    final = fig.axes[0].get_lines()[0].get_ydata()[-1]
    assert abs(final - 1.0) <= 0.086  # Hoeffding, outputs in [0, 2]: fails w.p. <= 1e-6


def test_plot_expectation_rejects_a_matrix():
    """Is a 2-D x refused with a message asking for a 1-D tensor?"""
    with pytest.raises(ValueError, match="1-D tensor"):
        masks.plot_expectation(F.dropout, torch.ones(2, 2))


def test_figures_render_to_png():
    """Do both figures render to PNG bytes without pyplot?"""
    seed_everything(0)
    for fig in (masks.plot_masks(F.dropout, draws=1),
                masks.plot_expectation(F.dropout, torch.tensor([1.0, 2.0]), draws=50)):
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        assert buffer.getvalue().startswith(b"\x89PNG")
