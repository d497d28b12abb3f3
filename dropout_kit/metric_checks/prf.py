"""Checks of lesson 07's ``precision_recall_f1(cm)`` against ``dropout_kit.metrics``.

Deterministic: fixed confusion matrices (asymmetric, and with 0/0 cases), tolerance 1e-6.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from dropout_kit import integrity
from dropout_kit import metrics as reference
from dropout_kit.metric_checks.harness import CheckFailed, LearnerError, check
from dropout_kit.metric_checks.report import Report

TOL = 1e-6  # float32 answers are fine

# --- precision, recall and F1 ------------------------------------------------------------

# Asymmetric matrices (row sums differ from column sums), no empty row or column.
_PRF_CASES = [
    torch.tensor([[5, 1, 0], [2, 3, 1], [0, 4, 6]]),
    torch.tensor([[50, 3, 2, 0], [10, 40, 0, 5], [1, 1, 30, 8], [0, 9, 2, 20]]),
    reference.binary_confusion(tp=85, fp=10, tn=90, fn=15),
    torch.tensor([[7, 2], [0, 1]]),
]
# 0/0 cases: class 2 never predicted; class 1 never the truth; class 3 absent altogether.
_ZERO_CASES = [
    (torch.tensor([[4, 1, 0], [2, 3, 0], [1, 1, 0]]), "class 2 is never predicted (column 2 is all 0), "
     "so its precision is 0/0"),
    (torch.tensor([[4, 1, 1], [0, 0, 0], [2, 0, 5]]), "class 1 never occurs (row 1 is all 0), so its recall is 0/0"),
    (torch.tensor([[3, 1, 0, 0], [1, 2, 1, 0], [0, 1, 4, 0], [0, 0, 0, 0]]),
     "class 3 is neither predicted nor present, so all three of its metrics are 0/0"),
]


def _call_prf(fn, cm: torch.Tensor):
    try:
        out = fn(cm.clone())
    except Exception as error:
        raise LearnerError(f"precision_recall_f1(cm of shape {tuple(cm.shape)})", error) from error
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise CheckFailed(f"precision_recall_f1 returned {type(out).__name__}"
                          f"{f' of length {len(out)}' if hasattr(out, '__len__') else ''}; "
                          "expected three values: return precision, recall, f1")
    k = cm.shape[0]
    arrays = []
    for name, value in zip(("precision", "recall", "f1"), out):
        try:
            array = np.asarray(value.detach() if isinstance(value, torch.Tensor) else value, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise CheckFailed(f"{name} is a {type(value).__name__} that is not numbers: {error}") from None
        if array.shape != (k,):
            if array.size == 1:
                raise CheckFailed(
                    f"{name} is a single number for a {k}-class matrix; expected one value per class "
                    f"({k} values). Averaging the per-class values gives the macro average, which is "
                    "not what this exercise asks for: return the per-class values")
            raise CheckFailed(f"{name} has shape {array.shape}; expected ({k},), one value per class")
        arrays.append(array)
    return arrays


def _show(values) -> str:
    return "[" + ", ".join("nan" if math.isnan(v) else f"{v:.3f}" for v in values) + "]"


def _close(a, b) -> bool:
    return bool(np.allclose(a, b, rtol=0, atol=TOL))


def _ref(cm):
    return [t.numpy() for t in reference.precision_recall_f1(cm)]


@check("per_class", "returns (precision, recall, f1), each with one value per class")
def check_prf_per_class(fn) -> None:
    """Three per-class sequences of length K for a K x K matrix (K = 3 and 4)."""
    for cm in (_PRF_CASES[0], _PRF_CASES[1]):
        _call_prf(fn, cm)


def _wrong_ratio_hint(name: str, got, cm: torch.Tensor) -> str:
    cm64 = cm.to(torch.float64)
    tp = torch.diagonal(cm64)
    p, r, _ = _ref(cm)
    hints = [
        (r if name == "precision" else p,
         f"your {name} equals the {'recall' if name == 'precision' else 'precision'}: "
         + ("precision divides the diagonal by the column sums cm[:, c].sum() (everything predicted "
            "as c); you divided by the row sums (everything that truly is c). Rows are true classes, "
            "columns predictions. Or you returned the values in the wrong order: return precision, recall, f1"
            if name == "precision" else
            "recall divides the diagonal by the row sums cm[c, :].sum() (everything that truly is c); "
            "you divided by the column sums. Rows are true classes, columns predictions. Or you "
            "returned the values in the wrong order: return precision, recall, f1")),
        ((tp / cm64.sum()).numpy(), f"your {name} divides by the total count; divide by the "
                                    f"{'column' if name == 'precision' else 'row'} sum of the class"),
        (torch.div(torch.diagonal(cm), cm.sum(dim=0 if name == "precision" else 1),
                   rounding_mode="floor").double().numpy(),
         f"your {name} values are whole numbers: integer division (//) floors them; use / "
         "(or convert the counts to float first)"),
    ]
    for values, hint in hints:
        if _close(got, values):
            return hint
    return ""


def _ratio_check(fn, index: int, name: str) -> None:
    for cm in _PRF_CASES:
        got = _call_prf(fn, cm)[index]
        want = _ref(cm)[index]
        if not _close(got, want):
            hint = _wrong_ratio_hint(name, got, cm)
            raise CheckFailed(f"for cm = {cm.tolist()} your {name} is {_show(got)}, expected {_show(want)}"
                              + (f": {hint}" if hint else ""))


@check("precision", "precision[c] = cm[c, c] / cm[:, c].sum()  (column: predicted as c)")
def check_prf_precision(fn) -> None:
    """Precision on four fixed matrices (K = 2, 3, 4), none with an empty column."""
    _ratio_check(fn, 0, "precision")


@check("recall", "recall[c] = cm[c, c] / cm[c, :].sum()  (row: truly c)")
def check_prf_recall(fn) -> None:
    """Recall on the same matrices, none with an empty row."""
    _ratio_check(fn, 1, "recall")


@check("f1", "f1 = 2 * precision * recall / (precision + recall), per class")
def check_prf_f1(fn) -> None:
    """F1 on the same matrices; names the arithmetic mean and a missing factor 2."""
    for cm in _PRF_CASES:
        got = _call_prf(fn, cm)[2]
        p, r, want = _ref(cm)
        if _close(got, want):
            continue
        hint = ""
        if _close(got, (p + r) / 2):
            hint = ": that is the arithmetic mean (P + R) / 2; F1 is the harmonic mean 2PR / (P + R)"
        elif _close(got, want / 2):
            hint = ": half the right value; F1 = 2PR / (P + R) (did you drop the 2?)"
        raise CheckFailed(f"for cm = {cm.tolist()} your f1 is {_show(got)}, expected {_show(want)}{hint}")


@check("zero_division", "0/0 gives 0 (a class never predicted, or never present), never NaN or an error")
def check_prf_zero_division(fn) -> None:
    """The three 0/0 situations of ``_ZERO_CASES``; other entries must still be right."""
    for cm, why in _ZERO_CASES:
        got = _call_prf(fn, cm)
        want = _ref(cm)
        for name, g, w in zip(("precision", "recall", "f1"), got, want):
            if _close(g, w):
                continue
            if np.isnan(g).any() or np.isinf(g).any():
                hint = ("NaN/inf came out: the convention is that 0/0 counts as 0, e.g. "
                        "torch.where(den > 0, num / den, 0.0) or torch.nan_to_num")
            elif _close(np.where(np.isclose(w, 0) & ~np.isclose(g, w), 1.0, w), g):
                hint = "you gave 1 where 0/0 occurs; the convention is 0"
            else:
                hint = "compare the entries with the expected values"
            raise CheckFailed(f"for cm = {cm.tolist()} ({why}) your {name} is {_show(g)}, "
                              f"expected {_show(w)}: {hint}")


@check("tutorial_example", "the tutorial's binary example: precision 85/95 ≈ 0.895, recall 0.85 for the positives")
def check_prf_tutorial(fn) -> None:
    """TP 85, FP 10, TN 90, FN 15 as a 2 x 2 matrix (class 0 = positive)."""
    cm = reference.binary_confusion(tp=85, fp=10, tn=90, fn=15)
    got = _call_prf(fn, cm)
    want = _ref(cm)
    for name, g, w in zip(("precision", "recall", "f1"), got, want):
        if not _close(g, w):
            raise CheckFailed(f"for the tutorial's matrix {cm.tolist()} (row 0: the 100 positives, "
                              f"85 found and 15 missed; row 1: the 100 negatives, 10 false alarms) your "
                              f"{name} is {_show(g)}, expected {_show(w)}")


@check("no_mutation", "leaves the confusion matrix it is given unchanged")
def check_prf_no_mutation(fn) -> None:
    """The matrix passed in is compared with a copy after the call."""
    cm = _PRF_CASES[1].clone()
    keep = cm.clone()
    try:
        fn(cm)
    except Exception as error:
        raise LearnerError("precision_recall_f1(cm)", error) from error
    if not torch.equal(cm, keep):
        raise CheckFailed("your function changed the matrix it was given (an in-place operation such as "
                          "fill_diagonal_ or += on cm): work on a copy, e.g. cm.clone() or cm.double()")


PRF_CHECKS = [check_prf_per_class, check_prf_precision, check_prf_recall, check_prf_f1,
              check_prf_zero_division, check_prf_tutorial, check_prf_no_mutation]
"""Every check of :func:`check_precision_recall_f1`, in the order they run."""


def check_precision_recall_f1(fn) -> Report:
    """Check a learner's ``precision_recall_f1(cm)`` against ``dropout_kit.metrics``.

    Used in lesson 07's graded cell. Deterministic: fixed matrices, tolerance 1e-6.

    Args:
        fn: the learner's function: a K x K int64 tensor ``cm`` (rows = true class,
            columns = predicted) in, ``(precision, recall, f1)`` out, each with K values
            (tensor, array or list), 0/0 counted as 0.

    Returns:
        A ``Report``: ``report.passed`` and one result per check of ``PRF_CHECKS``.
    """
    integrity.verify()
    return Report(f"{getattr(fn, '__name__', 'precision_recall_f1')}()", [c(fn) for c in PRF_CHECKS])
