"""Checkers for lesson 07's two exercises: per-class metrics, and choosing p from a sweep table.

The graded cells call::

    report = metric_checks.check_precision_recall_f1(precision_recall_f1)
    report = metric_checks.check_choose_p(choose_p)

and assert ``report.passed``. Both are deterministic (fixed matrices and tables, no
randomness), so a correct answer always passes. A failed check names the likely mistake:
each test case is built so that the usual wrong answers (precision and recall swapped,
NaN on 0/0, the test column, the std instead of the standard error, ...) give a result
different from the right one, and the message says which mistake matches.

Reports are ``dropout_kit.checks.Report`` objects: a table in a notebook, ✓/✗ lines in print.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch

from dropout_kit import integrity
from dropout_kit import metrics as reference
from dropout_kit.checks._harness import CheckFailed, LearnerError, check
from dropout_kit.checks.report import Report
from dropout_kit.tuning import pick_rate

__all__ = [
    "CHOOSE_P_CHECKS", "PRF_CHECKS", "check_choose_p", "check_precision_recall_f1", "choose_p_rule",
]

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


# --- choosing p ---------------------------------------------------------------------------

choose_p_rule = pick_rate
"""The rule of the exercise, the reference the checks compare with (``tuning.pick_rate``)."""


def _row(p, mean, std, n=4, *, train=None, train_eval=None, test=None, loss=None) -> dict:
    # Distractor columns that real sweep tables carry. By default they point at p itself in a
    # harmless way; the "columns" case sets them to point elsewhere.
    return {
        "p": p, "n": n,
        "train_acc_mean": train if train is not None else 0.95 - p / 4,
        "train_eval_acc_mean": train_eval if train_eval is not None else 0.995 - p / 8,
        "val_loss_mean": loss if loss is not None else 0.45 + (mean - 0.85) ** 2,
        "val_loss_std": 0.01,
        "val_acc_mean": mean, "val_acc_std": std,
        "test_acc_mean": test if test is not None else mean - 0.004,
    }


def _se(row: dict) -> float:
    std = row["val_acc_std"]
    return 0.0 if row["n"] < 2 or math.isnan(std) else std / math.sqrt(row["n"])


def _best(table) -> float:
    return max(r["val_acc_mean"] for r in table)


def _se_of_best(table) -> float:
    return _se(min((r for r in table if r["val_acc_mean"] == _best(table)), key=lambda r: r["p"]))


def _within(table, margin_of) -> list[dict]:
    """Rows whose mean is >= best - margin_of(best_row, row), in table order."""
    best = _best(table)
    best_row = min((r for r in table if r["val_acc_mean"] == best), key=lambda r: r["p"])
    return [r for r in table if r["val_acc_mean"] >= best - margin_of(best_row, r)]


# Known wrong rules, most specific first: (name, rule(table) -> p, what to tell the learner).
_WRONG_RULES = [
    ("test column", lambda t: max(t, key=lambda r: r["test_acc_mean"])["p"],
     "you picked the p with the highest test accuracy: the test column is for the final report "
     "only; choose with val_acc_mean"),
    ("train accuracy", lambda t: max(t, key=lambda r: r["train_acc_mean"])["p"],
     "you picked the p with the highest train accuracy: the more a network fits its training data, "
     "the higher that is; choose with val_acc_mean"),
    ("eval-mode train accuracy", lambda t: max(t, key=lambda r: r["train_eval_acc_mean"])["p"],
     "you picked the p with the highest train accuracy (eval mode): choose with val_acc_mean"),
    ("val loss", lambda t: min(t, key=lambda r: r["val_loss_mean"])["p"],
     "you picked the p with the lowest val loss: the rule of this exercise uses val_acc_mean"),
    ("std as margin", lambda t: min(r["p"] for r in _within(
        t, lambda b, r: 0.0 if math.isnan(b["val_acc_std"]) else b["val_acc_std"])),
     "you allowed one standard deviation below the best; the margin is one standard *error*, "
     "std / sqrt(n) (the uncertainty of a mean of n runs, smaller than the spread of single runs)"),
    ("own error bars", lambda t: min(r["p"] for r in _within(t, lambda b, r: _se(r))),
     "you compared each row's own error bar with the best mean; the rule uses the best row's "
     "standard error only: keep rates whose mean is >= best mean - SE(best)"),
    ("largest p within", lambda t: max(r["p"] for r in _within(t, lambda b, r: _se(b))),
     "you returned the largest p within one standard error; the rule takes the smallest"),
    ("first in table order", lambda t: _within(t, lambda b, r: _se(b))[0]["p"],
     "you returned the first candidate in the table's order; the rows are not sorted by p, "
     "so take the smallest p among the candidates (min(...))"),
    ("strict inequality", lambda t: min(r["p"] for r in _within(t, lambda b, r: _se(b))
                                        if r["val_acc_mean"] > _best(t) - _se_of_best(t)
                                        or r["val_acc_mean"] == _best(t)),
     "a rate exactly one standard error below the best counts as within: use >=, not >"),
    ("highest mean", lambda t: max(t, key=lambda r: (r["val_acc_mean"], r["p"]))["p"],
     "you returned the rate with the highest mean val accuracy; the rule takes the smallest p whose "
     "mean is within one standard error of that best mean"),
]


def _call_choose(fn, table: list[dict]):
    given = copy.deepcopy(table)
    try:
        answer = fn(given)
    except Exception as error:
        raise LearnerError(f"choose_p(table of {len(table)} rows)", error) from error
    ps = [r["p"] for r in table]
    if isinstance(answer, dict):
        raise CheckFailed("choose_p returned a whole row; return just the rate, row['p']")
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        answer = answer.item()
    if isinstance(answer, bool) or not isinstance(answer, (int, float, np.integer, np.floating)):
        raise CheckFailed(f"choose_p returned {answer!r} ({type(answer).__name__}); expected one of the "
                          f"table's rates, a number such as {ps[0]}")
    answer = float(answer)
    # A float32 answer (a tensor) is within 1e-6 of the rate it means; rates differ by far more.
    matches = [p for p in ps if abs(answer - p) < TOL]
    if not matches:
        index_hint = (" It looks like a row index: return table[i]['p'], not i."
                      if answer.is_integer() and 0 <= answer < len(ps) else "")
        raise CheckFailed(f"choose_p returned {answer}, which is not one of the table's rates {sorted(ps)}."
                          + index_hint)
    return matches[0]


def _expect(fn, table: list[dict], situation: str, hints=None) -> None:
    want = pick_rate(table)
    got = _call_choose(fn, table)
    if got == want:
        return
    rules = [r for r in _WRONG_RULES if hints is None or r[0] in hints]
    for _, rule, message in rules:
        try:
            wrong = rule(table)
        except (ValueError, TypeError):
            continue
        if wrong != want and wrong == got:
            raise CheckFailed(f"{situation}: you returned p={got}, expected p={want}. Likely: {message}")
    raise CheckFailed(f"{situation}: you returned p={got}, expected p={want}. The rule: best = highest "
                      "val_acc_mean; SE = its val_acc_std / sqrt(n); return the smallest p with "
                      "val_acc_mean >= best - SE")


_CLEAR = [
    _row(0.0, 0.820, 0.004, 3, train=0.99, train_eval=0.999, test=0.850, loss=0.60),
    _row(0.1, 0.835, 0.004, 3, train=0.97, train_eval=1.000, test=0.852, loss=0.50),
    _row(0.2, 0.842, 0.004, 3, train=0.95, train_eval=0.990, test=0.855, loss=0.41),
    _row(0.3, 0.861, 0.004, 3, train=0.93, train_eval=0.980, test=0.851, loss=0.43),
    _row(0.4, 0.845, 0.004, 3, train=0.90, train_eval=0.960, test=0.858, loss=0.45),
    _row(0.5, 0.830, 0.004, 3, train=0.87, train_eval=0.950, test=0.840, loss=0.48),
]
_WITHIN = [_row(0.1, 0.840, 0.004), _row(0.2, 0.847, 0.004), _row(0.3, 0.852, 0.004), _row(0.4, 0.853, 0.004),
           _row(0.5, 0.856, 0.010), _row(0.6, 0.855, 0.004), _row(0.7, 0.845, 0.004)]
_STD = [_row(0.1, 0.835, 0.004), _row(0.2, 0.840, 0.004), _row(0.3, 0.846, 0.004), _row(0.4, 0.850, 0.012),
        _row(0.5, 0.842, 0.004)]
_OWN_BARS = [_row(0.1, 0.835, 0.040), _row(0.2, 0.846, 0.004), _row(0.3, 0.850, 0.004), _row(0.4, 0.849, 0.004),
             _row(0.5, 0.830, 0.004)]
_UNSORTED = [_row(0.4, 0.859, 0.006), _row(0.5, 0.860, 0.006), _row(0.3, 0.858, 0.006), _row(0.1, 0.850, 0.006),
             _row(0.2, 0.855, 0.006), _row(0.0, 0.830, 0.006)]
_TIES = [_row(0.0, 0.830, 0.006, 3), _row(0.1, 0.840, 0.006, 3), _row(0.2, 0.852, 0.006, 3),
         _row(0.3, 0.847, 0.006, 3), _row(0.4, 0.852, 0.006, 3), _row(0.5, 0.845, 0.006, 3)]
# Exact in binary: SE = 0.0625 / 2 = 0.03125 and 0.875 - 0.03125 = 0.84375.
_BOUNDARY = [_row(0.1, 0.8125, 0.0625), _row(0.2, 0.84375, 0.0625), _row(0.3, 0.859375, 0.0625),
             _row(0.4, 0.875, 0.0625), _row(0.5, 0.8125, 0.0625)]
_SINGLE_RUN = [_row(0.0, 0.80, math.nan, 1), _row(0.1, 0.83, math.nan, 1), _row(0.2, 0.85, math.nan, 1),
               _row(0.3, 0.86, math.nan, 1), _row(0.4, 0.84, math.nan, 1)]
_ONE_ROW = [_row(0.3, 0.85, 0.005, 3)]


@check("returns_a_rate", "returns one of the table's rates (a number), not a row or an index")
def check_choose_returns_rate(fn) -> None:
    """The answer must be a number equal to some row's ``p``."""
    _call_choose(fn, _CLEAR)


@check("validation_column", "chooses with val_acc_mean: not train accuracy, not test accuracy, not val loss")
def check_choose_columns(fn) -> None:
    """One rate clearly best on val; train, eval-mode train, test and loss columns each favour another."""
    _expect(fn, _CLEAR, "in a table where p=0.3 is clearly best on validation",
            ["test column", "train accuracy", "eval-mode train accuracy", "val loss"])


@check("within_one_se", "takes the smallest p within one standard error of the best mean, not the best itself")
def check_choose_within(fn) -> None:
    """Best at 0.5; 0.3, 0.4 and 0.6 within one SE of it; 0.2 within one std but not one SE."""
    _expect(fn, _WITHIN, "best mean at p=0.5 with p=0.3, 0.4 and 0.6 within one standard error",
            ["highest mean", "largest p within", "std as margin"])


@check("standard_error", "the margin is the best row's standard error, val_acc_std / sqrt(n)")
def check_choose_standard_error(fn) -> None:
    """A row within one std (not one SE) of the best; a row whose own wide error bar reaches the best."""
    _expect(fn, _STD, "a table where p=0.2 is within one std of the best but not within one standard "
            "error (n=4)", ["std as margin", "own error bars"])
    _expect(fn, _OWN_BARS, "a table where p=0.1 has a wide error bar of its own", ["own error bars", "std as margin"])


@check("unsorted", "works when the rows are not in order of p")
def check_choose_unsorted(fn) -> None:
    """Rows in the order 0.4, 0.5, 0.3, 0.1, 0.2, 0.0; candidates 0.3, 0.4, 0.5."""
    _expect(fn, _UNSORTED, "rows not sorted by p", ["first in table order", "highest mean", "largest p within"])


@check("ties", "two rates tied for the best mean: the smaller one")
def check_choose_ties(fn) -> None:
    """p=0.2 and p=0.4 share the best mean exactly; nothing else is within one SE."""
    _expect(fn, _TIES, "p=0.2 and p=0.4 tied for the best mean", ["largest p within", "highest mean"])


@check("boundary", "a rate exactly one standard error below the best counts as within (>=)")
def check_choose_boundary(fn) -> None:
    """Best 0.875 (std 0.0625, n=4, SE 0.03125) and a row at exactly 0.84375; exact in binary floats."""
    _expect(fn, _BOUNDARY, "a rate exactly one standard error below the best", ["strict inequality"])


@check("single_run", "n = 1 (std NaN): the standard error counts as 0, so the best mean wins")
def check_choose_single_run(fn) -> None:
    """One run per rate: std is NaN, as ``runs.summarize`` writes it."""
    try:
        _expect(fn, _SINGLE_RUN, "one run per rate (n=1, val_acc_std is NaN)")
    except LearnerError as error:
        raise CheckFailed(f"{error}. With n = 1 the std is NaN (no spread can be measured from one run) "
                          "and best - NaN is NaN, so nothing compares >= it: treat the standard error "
                          "as 0 when n < 2 or the std is NaN") from None
    except CheckFailed as failure:
        raise CheckFailed(f"{failure} (with n = 1 the std is NaN: treat the standard error as 0)") from None


@check("one_row", "a table of one row gives its rate")
def check_choose_one_row(fn) -> None:
    """A single rate: nothing to choose."""
    _expect(fn, _ONE_ROW, "a table with one row")


@check("no_mutation", "leaves the table it is given unchanged (no in-place sort, no added keys)")
def check_choose_no_mutation(fn) -> None:
    """The table (rows and their order) is compared with a deep copy after the call."""
    table = copy.deepcopy(_UNSORTED)
    try:
        fn(table)
    except Exception as error:
        raise LearnerError("choose_p(table)", error) from error
    if table != _UNSORTED:
        raise CheckFailed("your function changed the table it was given (table.sort(...) sorts in place; "
                          "row[...] = ... adds keys): use sorted(table, key=...) or build new values")


CHOOSE_P_CHECKS = [check_choose_returns_rate, check_choose_columns, check_choose_within,
                   check_choose_standard_error, check_choose_unsorted, check_choose_ties,
                   check_choose_boundary, check_choose_single_run, check_choose_one_row,
                   check_choose_no_mutation]
"""Every check of :func:`check_choose_p`, in the order they run."""


def check_choose_p(fn) -> Report:
    """Check a learner's ``choose_p(table)`` against the rule of lesson 07 on synthetic sweep tables.

    The rule (``tuning.pick_rate``): take the highest ``val_acc_mean``; its standard error is
    ``val_acc_std / sqrt(n)`` (0 when n < 2 or the std is NaN); return the smallest ``p``
    whose ``val_acc_mean`` is at least the best minus that standard error.

    Used in lesson 07's graded cell. Deterministic: fixed tables.

    Args:
        fn: the learner's function: a list of row dicts (keys ``p``, ``n``, ``val_acc_mean``,
            ``val_acc_std`` and distractors such as ``train_acc_mean`` and ``test_acc_mean``)
            in, one rate ``p`` out.

    Returns:
        A ``Report`` with one result per check of ``CHOOSE_P_CHECKS``.
    """
    integrity.verify()
    return Report(f"{getattr(fn, '__name__', 'choose_p')}()", [c(fn) for c in CHOOSE_P_CHECKS])
