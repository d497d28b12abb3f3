"""The judge's catalogue of precision/recall/F1 mistakes: what each gives, and what to tell the learner.

Each hint recomputes a known-wrong variant (precision and recall swapped or rows and columns
transposed, the total as denominator, integer division, the arithmetic mean for F1, NaN or 1
for 0/0) from the judge's own matrix, and names it when the learner's values match it.
"""

from __future__ import annotations

import math

import numpy as np

TOL = 1e-6  # absolute; float32 answers are fine


def close(got: np.ndarray, want: np.ndarray) -> bool:
    """Equal within ``TOL``, entry by entry (NaN is never close)."""
    return got.shape == want.shape and bool(np.allclose(got, want, rtol=0, atol=TOL))


def show(values) -> str:
    """Values as ``[0.895, 0.900]``, NaN and infinities spelled out."""
    return "[" + ", ".join(f"{v:.3f}" if math.isfinite(v) else str(v) for v in np.asarray(values).tolist()) + "]"


def show_cm(cm) -> str:
    """A confusion matrix as the learner would write it."""
    return f"cm = {np.asarray(cm).tolist()}"


def shape_problem(name: str, array: np.ndarray, k: int) -> str:
    """Why an output of the wrong shape is not one value per class."""
    if array.size == 1:
        return (f"{name} is a single number for a {k}-class matrix; expected one value per class ({k} values). "
                "Averaging the per-class values gives the macro average, which is not what this exercise asks "
                "for: return the per-class values")
    return f"{name} has shape {tuple(array.shape)}; expected ({k},), one value per class"


def _sums(cm) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cm = np.asarray(cm, dtype=np.int64)
    return np.diagonal(cm), cm.sum(axis=0), cm.sum(axis=1)


def ratio_hint(name: str, got: np.ndarray, cm, expected) -> str:
    """The likely mistake behind a wrong precision (or recall) on a matrix without 0/0 cells."""
    tp, columns, rows = _sums(cm)
    own, other = (columns, "column") if name == "precision" else (rows, "row")
    if name == "precision":
        mirror = ("your precision equals the recall: precision divides the diagonal by the column sums "
                  "cm[:, c].sum() (everything predicted as c); you divided by the row sums (everything that truly "
                  "is c), as if rows and columns were transposed. Rows are true classes, columns predictions. Or you "
                  "returned the values in the wrong order: return precision, recall, f1")
    else:
        mirror = ("your recall equals the precision: recall divides the diagonal by the row sums cm[c, :].sum() "
                  "(everything that truly is c); you divided by the column sums, as if rows and columns were "
                  "transposed. Rows are true classes, columns predictions. Or you returned the values in the "
                  "wrong order: return precision, recall, f1")
    if not np.isfinite(got).all():
        return "NaN or infinite values, though no class of this matrix has a 0/0"
    candidates = [
        (expected[1] if name == "precision" else expected[0], mirror),
        (tp / cm.sum() if np.asarray(cm).sum() else tp * 0.0,
         f"your {name} divides by the total count; divide by the {other} sum of the class"),
        (tp // np.maximum(own, 1), f"your {name} values are whole numbers: integer division (//) floors them; "
                                   "use / (or convert the counts to float first)"),
    ]
    for values, hint in candidates:
        if close(got, np.asarray(values, dtype=np.float64)):
            return hint
    return ""


def f1_hint(got: np.ndarray, precision: np.ndarray, recall: np.ndarray, f1: np.ndarray) -> str:
    """The likely mistake behind a wrong F1 on a matrix without 0/0 cells."""
    if close(got, (precision + recall) / 2):
        return "that is the arithmetic mean (P + R) / 2; F1 is the harmonic mean 2PR / (P + R)"
    if close(got, f1 / 2):
        return "half the right value; F1 = 2PR / (P + R) (did you drop the 2?)"
    return ""


def zero_reason(kind: str, c: int) -> str:
    """Why a challenge matrix has a 0/0, in words."""
    return {
        "never_predicted": f"class {c} is never predicted (column {c} is all 0), so its precision is 0/0",
        "no_images": f"class {c} has no images (row {c} is all 0), so its recall is 0/0",
        "absent": f"class {c} is neither present nor predicted (row and column {c} are all 0), so all three of its "
                  "metrics are 0/0",
        "tp_zero": f"class {c} is never predicted correctly (cm[{c}, {c}] = 0), so its precision and recall are 0 "
                   "and its F1 is 0/0",
    }[kind]


def _zero_cells(index: int, cm) -> np.ndarray:
    """Where output ``index`` (0 precision, 1 recall, 2 F1) is a 0/0 for this matrix."""
    tp, columns, rows = _sums(cm)
    if index == 0:
        return columns == 0
    if index == 1:
        return rows == 0
    precision = np.where(columns > 0, tp / np.maximum(columns, 1), 0.0)
    recall = np.where(rows > 0, tp / np.maximum(rows, 1), 0.0)
    return precision + recall == 0


def zero_hint(index: int, got: np.ndarray, want: np.ndarray, cm) -> str:
    """The likely mistake behind a wrong output on a matrix with a 0/0 cell."""
    if not np.isfinite(got).all():
        return ("NaN/inf came out: the convention is that 0/0 counts as 0, e.g. torch.where(den > 0, num / den, 0.0) "
                "or torch.nan_to_num")
    cells = _zero_cells(index, cm)
    if cells.any() and close(np.where(cells, 1.0, want), got):
        return "you gave 1 where 0/0 occurs; the convention is 0"
    return "compare the entries with the expected values"
