"""Tests of dropout_kit.plots.sweeps: each figure draws exactly the table's numbers."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dropout_kit.plots import sweeps  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def summary(p, acc, acc_std, loss=0.5, loss_std=0.02, wd=0.0, n=3, label=None):
    return {"label": label or f"p={p}", "p": p, "weight_decay": wd, "n": n, "val_acc_mean": acc,
            "val_acc_std": acc_std, "val_loss_mean": loss, "val_loss_std": loss_std,
            "train_eval_acc_mean": 0.99}


def _errorbar_data(ax):
    """(x, y, half-widths) of the first error-bar container of an axis."""
    line, _, (bars,) = ax.containers[0].lines
    x, y = line.get_data()
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float), bars.get_segments()


def test_rate_sweep_plots_means_and_stds_in_order_of_p():
    """Are val accuracy (in %) and loss drawn at sorted p with ± std bars, NaN std as no bar, and p marked?"""
    table = [summary(0.3, 0.86, 0.004, 0.40, 0.01), summary(0.0, 0.83, math.nan, 0.70, 0.03),
             summary(0.5, 0.85, 0.006, 0.42, 0.02)]
    fig = sweeps.rate_sweep(table, chosen=0.3, title="sweep")
    ax_acc, ax_loss = fig.axes
    x, y, segments = _errorbar_data(ax_acc)
    assert list(x) == [0.0, 0.3, 0.5]
    np.testing.assert_allclose(y, [83.0, 86.0, 85.0])
    np.testing.assert_allclose([s[1][1] - s[0][1] for s in segments], [0.0, 0.8, 1.2], atol=1e-9)
    x, y, segments = _errorbar_data(ax_loss)
    np.testing.assert_allclose(y, [0.70, 0.40, 0.42])
    assert any(line.get_xdata()[0] == 0.3 for line in ax_acc.lines if line.get_linestyle() == ":")
    assert any("n=3" in label for label in ax_acc.get_legend_handles_labels()[1])
    assert fig._suptitle.get_text() == "sweep"


def test_compare_configs_one_bar_per_row_top_down():
    """Does compare_configs draw one point per config, the first row on top, labels with n?"""
    table = [summary((0.2, 0.5), 0.85, 0.004, label="0.2/0.5"), summary((0.5, 0.2), 0.853, 0.006, label="0.5/0.2")]
    fig = sweeps.compare_configs(table)
    ax = fig.axes[0]
    x, y, _ = _errorbar_data(ax)
    np.testing.assert_allclose(x, [85.0, 85.3])
    assert list(y) == [1, 0]
    at = {t.get_position()[1]: t.get_text() for t in ax.get_yticklabels()}
    assert at == {1: "0.2/0.5 (n=3)", 0: "0.5/0.2 (n=3)"}
    loss_fig = sweeps.compare_configs(table, metric="val_loss")
    assert "val loss: mean ± std" == loss_fig.axes[0].get_xlabel()


def test_l2_grid_cells_and_annotations():
    """Is each (p, weight_decay) cell the mean in %, annotated mean ± std, and a missing config left empty?"""
    table = [summary(0.0, 0.80, 0.01, wd=0.0), summary(0.0, 0.82, 0.01, wd=1e-3), summary(0.3, 0.86, 0.002, wd=0.0)]
    fig = sweeps.l2_grid(table)
    ax = fig.axes[0]
    grid = ax.images[0].get_array()
    assert grid[0, 0] == pytest.approx(80.0) and grid[0, 1] == pytest.approx(82.0) and grid[1, 0] == pytest.approx(86.0)
    assert np.ma.is_masked(grid[1, 1]) or np.isnan(grid[1, 1])
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == ["80.0\n± 1.0", "82.0\n± 1.0", "86.0\n± 0.2"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "0.001"]
    colours = {t.get_text(): t.get_color() for t in ax.texts}
    assert colours["86.0\n± 0.2"] == "black" and colours["80.0\n± 1.0"] == "white"  # readable on yellow and purple


def test_cv_folds_pairs_each_fold_across_configs():
    """Does cv_folds draw one line per fold through the configs and the mean line over folds?"""
    rows = [{"label": lab, "fold": f, "val_acc": acc} for lab, accs in (("p=0", [0.8, 0.82]), ("p=0.3", [0.85, 0.86]))
            for f, acc in enumerate(accs)]
    fig = sweeps.cv_folds(rows)
    lines = fig.axes[0].lines
    assert len(lines) == 3
    np.testing.assert_allclose(lines[0].get_ydata(), [80.0, 85.0])
    np.testing.assert_allclose(lines[1].get_ydata(), [82.0, 86.0])
    np.testing.assert_allclose(lines[2].get_ydata(), [81.0, 85.5])


def test_empty_or_wrong_tables_are_refused():
    """Are an empty table and a table without the needed columns refused with a hint?"""
    with pytest.raises(ValueError, match="empty"):
        sweeps.rate_sweep([])
    with pytest.raises(KeyError, match="tuning"):
        sweeps.l2_grid([{"p": 0.1}])
