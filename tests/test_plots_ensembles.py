"""Tests of dropout_kit.plots.ensembles: the MC-averaging figure of lesson 10 holds the table's numbers."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dropout_kit.plots import ensembles  # noqa: E402

TABLE = [{"K": 1, "accuracy_mean": 0.80, "accuracy_std": 0.01, "log_loss_mean": 0.60, "log_loss_std": 0.02},
         {"K": 10, "accuracy_mean": 0.83, "accuracy_std": 0.002, "log_loss_mean": 0.46, "log_loss_std": 0.004},
         {"K": 100, "accuracy_mean": 0.835, "accuracy_std": math.nan, "log_loss_mean": 0.44, "log_loss_std": math.nan}]


def test_each_axis_holds_the_series_and_the_eval_line():
    """Are accuracy (in %) and log-loss plotted against K on a log axis, with eval mode as a horizontal line?"""
    fig = ensembles.mc_curve(TABLE, {"accuracy": 0.84, "log_loss": 0.5}, title="t")
    accuracy, loss = fig.axes
    for ax, values, scaled in ((accuracy, [80.0, 83.0, 83.5], 84.0), (loss, [0.6, 0.46, 0.44], 0.5)):
        series, eval_line = ax.lines[0], ax.lines[-1]
        np.testing.assert_allclose(np.asarray(series.get_xdata(), dtype=float), [1, 10, 100])
        np.testing.assert_allclose(np.asarray(series.get_ydata(), dtype=float), values)
        np.testing.assert_allclose(np.asarray(eval_line.get_ydata(), dtype=float), [scaled, scaled])
        assert eval_line.get_label() == "eval mode (weight scaling)"
        assert ax.get_xscale() == "log"
    assert fig._suptitle.get_text() == "t"


def test_error_bars_are_the_std_and_nan_draws_none():
    """Are the error bars ± std over groups, and of zero length where there is one group (NaN)?"""
    fig = ensembles.mc_curve(TABLE, {"accuracy": 0.84, "log_loss": 0.5})
    segments = fig.axes[0].collections[0].get_segments()
    lengths = [seg[1][1] - seg[0][1] for seg in segments]
    np.testing.assert_allclose(lengths, [2.0, 0.4, 0.0], atol=1e-9)


def test_a_table_without_the_columns_is_refused():
    """Is a table from elsewhere refused, naming the missing columns and where to get the right one?"""
    with pytest.raises(ValueError, match="the table lacks \\['log_loss_mean', 'log_loss_std'\\]: make it with"):
        ensembles.mc_curve([{"K": 1, "accuracy_mean": 0.8, "accuracy_std": 0.1}], {"accuracy": 0.8, "log_loss": 0.5})
