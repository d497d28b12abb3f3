"""Checks of lesson 07's ``choose_p(table)`` against ``tuning.pick_rate`` on synthetic sweep tables.

Deterministic: each table is built so that a usual wrong rule (the test column, the std
instead of the standard error, the largest p among ties, ...) picks a different rate.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch

from dropout_kit import integrity
from dropout_kit.metric_checks.harness import CheckFailed, LearnerError, check
from dropout_kit.metric_checks.report import Report
from dropout_kit.tuning import pick_rate

TOL = 1e-6  # a rate returned as float32 still matches its row

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
