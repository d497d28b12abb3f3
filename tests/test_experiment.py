"""Tests of the main job: both regimes in one table and one figure."""

import csv

import pytest

from conftest import make_fashion_folder
from dropout_kit import experiment


@pytest.fixture
def tiny_regimes(monkeypatch):
    """The two regimes, shrunk to tiny data: the structure of the job, not its numbers."""
    monkeypatch.setattr(experiment, "REGIMES", {
        "tutorial": {"subset": None, "epochs": 1, "eval_every": 1},
        "overfitting": {"subset": 60, "epochs": 3, "eval_every": 3},
    })


def test_both_regimes_go_into_the_table_and_the_figure(isolated, tiny_regimes, one_thread):
    """Does the default job train both regimes and write them into results.csv, results.md and curves.png?"""
    folder = make_fashion_folder(isolated / "d", n_train=10_120, n_test=40)
    lines = []
    rows = experiment.run_experiment(root=folder, seeds=(0, 1), out=isolated / "out", echo=lines.append,
                                     progress=False, device="cpu")
    assert [(r["regime"], r["label"]) for r in rows] == [
        ("tutorial", "no dropout"), ("tutorial", "dropout"), ("overfitting", "no dropout"), ("overfitting", "dropout")]
    with open(isolated / "out" / "results.csv") as handle:
        stored = list(csv.DictReader(handle))
    assert [(r["regime"], r["n"]) for r in stored] == [(r["regime"], "2") for r in rows]
    report = (isolated / "out" / "results.md").read_text()
    assert report.index("### The tutorial regime") < report.index("### The overfitting regime")
    assert "Measured: 120 training images" in report and "Measured: 60 training images (class-balanced subset)" in report
    import matplotlib.image
    height, width, _ = matplotlib.image.imread(isolated / "out" / "curves.png").shape
    assert height > 0.7 * width  # two rows of panels, one per regime


def test_an_unknown_regime_is_refused(isolated):
    """Is a regime that does not exist refused, naming the ones that do, before any work?"""
    with pytest.raises(ValueError, match="unknown regime\\(s\\) huge; the regimes are tutorial, overfitting"):
        experiment.run_experiment(regimes=["huge"], out=isolated / "out", device="cpu")
