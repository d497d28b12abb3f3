"""Tests of dropout_kit.plots.pitfalls: lesson 12's figures draw exactly the tables' numbers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dropout_kit.plots import pitfalls  # noqa: E402


def test_input_weight_maps_one_28x28_panel_per_row():
    """Is each row's first-run input map drawn as a 28 x 28 image under its label, on one colour scale?"""
    rows = [{"label": "a", "input_map_runs": [list(np.linspace(0, 1, 784))]},
            {"label": "b", "input_map_runs": [[0.5] * 784, [9.0] * 784]}]
    fig = pitfalls.input_weight_maps(rows)
    images = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in images] == ["a", "b"]
    assert np.allclose(np.asarray(images[0].images[0].get_array()), np.linspace(0, 1, 784).reshape(28, 28))
    assert np.allclose(np.asarray(images[1].images[0].get_array()), 0.5)  # the first run, not the second
    assert images[1].images[0].get_clim() == (0.0, 1.0)
    with pytest.raises(ValueError, match="weight_stats"):
        pitfalls.input_weight_maps([{"label": "c"}])


def row(p, wd, acc):
    return {"p": p, "weight_decay": wd, "val_acc_mean": acc}


def test_search_points_place_each_run_and_star_each_best():
    """Are the runs drawn at (p, weight_decay) coloured by accuracy, each search's best starred, and acc against p?"""
    grid = [row(0.0, 1e-5, 0.80), row(0.3, 1e-3, 0.85)]
    random = [row(0.12, 3e-5, 0.82), row(0.41, 2e-4, 0.86), row(0.55, 1e-4, 0.84)]
    fig = pitfalls.search_points(grid, random)
    plane, against_p = fig.axes[0], fig.axes[1]
    grid_dots, grid_star, random_dots, random_star = plane.collections
    assert np.allclose(grid_dots.get_offsets(), [[0.0, 1e-5], [0.3, 1e-3]])
    assert np.allclose(grid_dots.get_array(), [80.0, 85.0])
    assert np.allclose(grid_star.get_offsets(), [[0.3, 1e-3]]) and np.allclose(random_star.get_offsets(), [[0.41, 2e-4]])
    assert plane.get_yscale() == "log"
    assert list(against_p.lines[2].get_ydata()) == pytest.approx([82.0, 86.0, 84.0])
    with pytest.raises(ValueError, match="two non-empty tables"):
        pitfalls.search_points(grid, [])


def test_selection_optimism_plots_points_and_band():
    """Is the mean optimism drawn in points against the number of configs searched?"""
    table = [{"configs searched": m, "optimism": 0.001 * m, "optimism p5": 0.0, "optimism p95": 0.002 * m}
             for m in (1, 2, 4)]
    fig = pitfalls.selection_optimism(table)
    line = fig.axes[0].lines[0]
    assert list(line.get_xdata()) == [1, 2, 4] and list(line.get_ydata()) == pytest.approx([0.1, 0.2, 0.4])
    with pytest.raises(ValueError, match="selection_optimism"):
        pitfalls.selection_optimism([])
