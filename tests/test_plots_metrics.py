"""Tests of dropout_kit.plots.metrics: each figure draws exactly the numbers it is given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dropout_kit.plots import metrics as plots  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_confusion_matrix_counts_and_row_percentages():
    """Are cells the counts (or % of the true class with normalize), rows true and columns predicted?"""
    cm = torch.tensor([[8, 2], [1, 9]])
    fig = plots.confusion_matrix(cm, ["a", "b"])
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), [[8, 2], [1, 9]])
    assert [t.get_text() for t in ax.texts] == ["8", "2", "1", "9"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted class", "true class")
    normalized = plots.confusion_matrix(cm, ["a", "b"], normalize=True).axes[0]
    np.testing.assert_allclose(normalized.images[0].get_array(), [[80, 20], [10, 90]])
    assert normalized.texts[0].get_text() == "80%"
    with pytest.raises(ValueError, match="K x K"):
        plots.confusion_matrix(cm, ["a", "b", "c"])


def test_per_class_bars_heights():
    """Are there three bars per class at the metric values in %?"""
    fig = plots.per_class_bars([1.0, 0.5], [0.5, 1.0], [2 / 3, 2 / 3], ["a", "b"])
    heights = [p.get_height() for p in fig.axes[0].patches]
    np.testing.assert_allclose(heights, [100, 50, 50, 100, 200 / 3, 200 / 3])


def test_train_vs_eval_dots_and_line():
    """Is every train-mode accuracy a dot and the eval accuracy a vertical line (in %)?"""
    fig = plots.train_vs_eval({"eval_acc": 0.86, "train_mode_accs": [0.80, 0.81, 0.79]})
    dots, line = fig.axes[0].lines
    np.testing.assert_allclose(dots.get_xdata(), [80, 81, 79])
    assert line.get_xdata()[0] == pytest.approx(86)


def test_uncertainty_deciles_bars():
    """Is there one bar per bin at its accuracy (%), labelled with the value?"""
    table = [{"bin": 1, "accuracy": 0.99}, {"bin": 2, "accuracy": 0.6}]
    ax = plots.uncertainty_deciles(table).axes[0]
    np.testing.assert_allclose([p.get_height() for p in ax.patches], [99, 60])
    assert [t.get_text() for t in ax.texts] == ["99", "60"]


def test_entropy_histogram_counts_right_and_wrong():
    """Does the histogram split right from wrong answers with their counts in the legend?"""
    ax = plots.entropy_histogram(torch.tensor([0.1, 0.2, 1.5]), torch.tensor([True, True, False])).axes[0]
    assert ax.get_legend_handles_labels()[1] == ["right (2)", "wrong (1)"]


def test_activation_variance_one_axis_per_layer_one_line_per_model():
    """Is there one axis per layer and one line per model through the epoch means?"""
    table = [{"model": m, "layer": f"hidden {k}", "epoch": e, "variance_mean": v * k, "variance_std": 0.1}
             for m, v in (("p=0", 1.0), ("p=0.5", 2.0)) for k in (1, 2) for e in (1, 2)]
    fig = plots.activation_variance(table)
    assert [ax.get_title() for ax in fig.axes] == ["hidden 1", "hidden 2"]
    np.testing.assert_allclose(fig.axes[1].lines[1].get_ydata(), [4.0, 4.0])
    assert fig.axes[0].get_legend_handles_labels()[1] == ["p=0", "p=0.5"]


def test_ablation_lines_per_model():
    """Is accuracy (%) drawn against the fraction switched off (%), one line per model?"""
    table = [{"model": m, "fraction": f, "accuracy_mean": a, "accuracy_std": 0.01}
             for m, accs in (("p=0", (0.85, 0.6)), ("p=0.5", (0.86, 0.8))) for f, a in zip((0.0, 0.5), accs)]
    ax = plots.ablation(table).axes[0]
    first = ax.containers[0].lines[0]
    np.testing.assert_allclose(np.asarray(first.get_xdata(), dtype=float), [0, 50])
    np.testing.assert_allclose(np.asarray(first.get_ydata(), dtype=float), [85, 60])
    assert ax.get_legend_handles_labels()[1] == ["p=0", "p=0.5"]
