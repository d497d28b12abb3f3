"""The calibration behind lesson 05's target: designs, the verdict each must get, and its margin.

``scripts/calibrate_grading.py`` trains every design of ``DESIGNS`` on ``SEEDS`` with
``result.runs`` (the judge's own training run) and writes ``dropout_kit/calibration.csv``.
A seed stands in for a machine too: another CPU's or a GPU's float rounding changes a
50-epoch run about as much as a change of seed does. The grade is the mean over three
seeds, so a design's *margin* is its distance from the target in standard errors of a
3-seed mean (std over the calibration seeds / sqrt(3)). Every design expected to fail must
fail, and every design expected to pass must pass, on every calibration seed and with a
margin of at least ``MIN_MARGIN``; the tests check this from the CSV. The target itself
was placed where the calibration leaves the widest margin on both sides.
"""

from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path

from dropout_kit.exercises.experiment.result import TARGET, Target
from dropout_kit.tables import Table

CALIBRATION = Path(__file__).resolve().parents[2] / "calibration.csv"
SEEDS = tuple(range(6))
MIN_MARGIN = 3.0

# (label, rates at input / hidden 1 / hidden 2 / logits, expected verdict). Expected to fail:
# the baseline, the tutorial's design, rates far too low or too high, dropout on the logits, and
# dropout after the hidden layers alone at any rate (its best, 0.6, stays above the target).
# Expected to pass: designs with input dropout, the lesson's solution (input 0.2, hidden 0.5) among them.
DESIGNS = (
    ("baseline", (0, 0, 0, 0), "fail"),
    ("hidden 0.1", (0, 0.1, 0.1, 0), "fail"),
    ("hidden 0.3 (the tutorial's)", (0, 0.3, 0.3, 0), "fail"),
    ("hidden 0.5", (0, 0.5, 0.5, 0), "fail"),
    ("hidden 0.6", (0, 0.6, 0.6, 0), "fail"),
    ("hidden 0.7", (0, 0.7, 0.7, 0), "fail"),
    ("hidden 0.8", (0, 0.8, 0.8, 0), "fail"),
    ("hidden 0.9", (0, 0.9, 0.9, 0), "fail"),
    ("logits 0.5", (0, 0, 0, 0.5), "fail"),
    ("hidden 0.3 + logits 0.3", (0, 0.3, 0.3, 0.3), "fail"),
    ("input 0.5", (0.5, 0, 0, 0), "pass"),
    ("input 0.2 + hidden 0.4", (0.2, 0.4, 0.4, 0), "pass"),
    ("input 0.2 + hidden 0.5", (0.2, 0.5, 0.5, 0), "pass"),
    ("input 0.3 + hidden 0.3", (0.3, 0.3, 0.3, 0), "pass"),
    ("input 0.3 + hidden 0.5", (0.3, 0.5, 0.5, 0), "pass"),
    ("input 0.5 + hidden 0.5", (0.5, 0.5, 0.5, 0), "pass"),
)
FIELDS = ("design", "p_input", "p_hidden1", "p_hidden2", "p_logits", "seed", "val_loss", "val_acc",
          "val_loss_final", "val_acc_final", "train_eval_acc", "gap", "seconds")


def read(path: Path = CALIBRATION) -> dict[str, list[dict]]:
    """The calibration runs by design label, each run's numbers as floats."""
    with open(path, newline="") as handle:
        raw = list(csv.DictReader(handle))
    if not raw:
        raise ValueError(f"{path} holds no calibration rows; re-run scripts/calibrate_grading.py")
    by_design: dict[str, list[dict]] = {}
    for row in raw:
        by_design.setdefault(row["design"], []).append({k: float(v) for k, v in row.items() if k != "design"})
    return by_design


def margin(values: list[float], target: Target = TARGET) -> float:
    """Distance of the values' mean below the target, in standard errors of a 3-seed mean (< 0: fails)."""
    std = statistics.stdev(values)
    return (target.max_val_loss - statistics.fmean(values)) / (std / math.sqrt(3)) if std else math.copysign(
        math.inf, target.max_val_loss - statistics.fmean(values))


def calibration_table(path: Path = CALIBRATION, target: Target = TARGET) -> Table:
    """Every calibrated design: expected verdict, windowed val loss (mean, std, range), margin, accuracies.

    ``val_acc`` is the windowed mean like ``val_loss``; ``train_eval_acc`` (eval mode, all
    3,000 training images) and ``gap`` (it minus val accuracy) are the last epoch's.
    """
    runs = read(path)
    rows = []
    for label, rates, expected in DESIGNS:
        if label not in runs:
            raise ValueError(f"{path} has no runs of {label!r}; re-run scripts/calibrate_grading.py")
        losses = [r["val_loss"] for r in runs[label]]
        rows.append({
            "design": label, "expected": expected, "seeds": len(losses),
            "val_loss": statistics.fmean(losses), "val_loss_std": statistics.stdev(losses),
            "min": min(losses), "max": max(losses), "margin": margin(losses, target),
            "seeds_passing": sum(v <= target.max_val_loss for v in losses),
            "train_eval_acc": statistics.fmean(r["train_eval_acc"] for r in runs[label]),
            "val_acc": statistics.fmean(r["val_acc"] for r in runs[label]),
            "gap": statistics.fmean(r["gap"] for r in runs[label]),
        })
    return Table(rows, percent=("train_eval_acc", "val_acc", "gap"))


def markdown(path: Path = CALIBRATION, target: Target = TARGET) -> str:
    """The README's calibration table, from the committed CSV (``calibrate_grading.py --report``)."""
    lines = ["| design | expected | seeds | val loss (mean ± std) | min–max | margin (SE) | seeds passing "
             "| train acc | val acc | gap |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in calibration_table(path, target):
        lines.append(f"| {r['design']} | {r['expected']} | {r['seeds']} "
                     f"| {r['val_loss']:.3f} ± {r['val_loss_std']:.3f} "
                     f"| {r['min']:.3f}–{r['max']:.3f} | {r['margin']:+.1f} | {r['seeds_passing']} of {r['seeds']} "
                     f"| {r['train_eval_acc']:.1%} | {r['val_acc']:.1%} | {r['gap'] * 100:.1f} pts |")
    return "\n".join(lines)
