"""Tests of dropout_kit.metric_checks: correct answers in several styles pass every check, and each
known-wrong answer of the catalogues below is rejected by the check meant for it, with a message
naming the mistake. Everything is deterministic (fixed matrices and tables)."""

from __future__ import annotations

import html
import math
import statistics

import numpy as np
import pytest
import torch
from sklearn.metrics import precision_recall_fscore_support

from dropout_kit import metric_checks, metrics, tuning

# --- precision / recall / F1: correct styles ----------------------------------------------


def prf_torch(cm):
    cm = cm.double()
    tp = cm.diag()
    col, row = cm.sum(0), cm.sum(1)
    precision = torch.where(col > 0, tp / col, torch.zeros_like(tp))
    recall = torch.where(row > 0, tp / row, torch.zeros_like(tp))
    f1 = torch.where(precision + recall > 0, 2 * precision * recall / (precision + recall), torch.zeros_like(tp))
    return precision, recall, f1


def prf_loops(cm):
    k = len(cm)
    cm = cm.tolist()
    precision, recall, f1 = [], [], []
    for c in range(k):
        tp = cm[c][c]
        predicted = sum(cm[r][c] for r in range(k))
        actual = sum(cm[c])
        p = tp / predicted if predicted else 0.0
        r = tp / actual if actual else 0.0
        precision.append(p)
        recall.append(r)
        f1.append(2 * p * r / (p + r) if p + r else 0.0)
    return precision, recall, f1


def prf_numpy_counts(cm):
    cm = np.asarray(cm, dtype=float)
    tp = np.diag(cm)
    fp, fn = cm.sum(0) - tp, cm.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.nan_to_num(tp / (tp + fp))
        recall = np.nan_to_num(tp / (tp + fn))
        f1 = np.nan_to_num(2 * tp / (2 * tp + fp + fn))
    return precision, recall, f1


def prf_float32_nan_to_num(cm):
    cm = cm.float()
    tp = cm.diag()
    precision = torch.nan_to_num(tp / cm.sum(0))
    recall = torch.nan_to_num(tp / cm.sum(1))
    return precision, recall, torch.nan_to_num(2 * precision * recall / (precision + recall))


CORRECT_PRF = [metrics.precision_recall_f1, prf_torch, prf_loops, prf_numpy_counts, prf_float32_nan_to_num]


# --- precision / recall / F1: the catalogue of mistakes -------------------------------------


def prf_swapped(cm):
    p, r, f = prf_torch(cm)
    return r, p, f


def prf_axis_mixup(cm):
    cm = cm.double()
    tp = cm.diag()
    precision = torch.nan_to_num(tp / cm.sum(1))  # rows where columns are meant, and vice versa
    recall = torch.nan_to_num(tp / cm.sum(0))
    return precision, recall, torch.nan_to_num(2 * precision * recall / (precision + recall))


def prf_same_axis(cm):
    cm = cm.double()
    tp = cm.diag()
    precision = torch.nan_to_num(tp / cm.sum(0))
    recall = torch.nan_to_num(tp / cm.sum(0))
    return precision, recall, torch.nan_to_num(2 * precision * recall / (precision + recall))


def prf_nan_on_zero(cm):
    cm = cm.double()
    tp = cm.diag()
    precision, recall = tp / cm.sum(0), tp / cm.sum(1)
    return precision, recall, 2 * precision * recall / (precision + recall)


def prf_zero_division_error(cm):
    cm = cm.tolist()
    precision = [cm[c][c] / sum(row[c] for row in cm) for c in range(len(cm))]
    recall = [cm[c][c] / sum(cm[c]) for c in range(len(cm))]
    return precision, recall, [2 * p * r / (p + r) for p, r in zip(precision, recall)]


def prf_one_on_zero(cm):
    cm = cm.double()
    tp = cm.diag()
    precision = torch.nan_to_num(tp / cm.sum(0), nan=1.0)
    recall = torch.nan_to_num(tp / cm.sum(1), nan=1.0)
    return precision, recall, torch.nan_to_num(2 * precision * recall / (precision + recall), nan=1.0)


def prf_macro(cm):
    return tuple(t.mean() for t in prf_torch(cm))


def prf_arithmetic_f1(cm):
    p, r, _ = prf_torch(cm)
    return p, r, (p + r) / 2


def prf_no_factor_two(cm):
    p, r, f = prf_torch(cm)
    return p, r, f / 2


def prf_integer_division(cm):
    tp = cm.diag()
    precision = torch.div(tp, cm.sum(0), rounding_mode="floor").double()
    recall = torch.div(tp, cm.sum(1), rounding_mode="floor").double()
    return precision, recall, torch.nan_to_num(2 * precision * recall / (precision + recall))


def prf_over_total(cm):
    p, r, f = prf_torch(cm)
    return cm.diag().double() / cm.sum(), r, f


def prf_mutates(cm):
    tp = cm.diag().clone()
    cm.fill_diagonal_(0)  # cm now holds the errors only: FP by column, FN by row
    fp, fn = cm.sum(0), cm.sum(1)
    return (torch.nan_to_num(tp / (tp + fp)), torch.nan_to_num(tp / (tp + fn)),
            torch.nan_to_num(2 * tp / (2 * tp + fp + fn)))


def prf_two_values(cm):
    p, r, _ = prf_torch(cm)
    return p, r


# (function, the checks that must fail — exactly these —, a phrase of the first one's message)
WRONG_PRF = [
    (prf_swapped, {"precision", "recall", "tutorial_example", "zero_division"}, "equals the recall"),
    (prf_axis_mixup, {"precision", "recall", "tutorial_example", "zero_division"}, "row sums"),
    (prf_same_axis, {"recall", "f1", "tutorial_example", "zero_division"}, "equals the precision"),
    (prf_nan_on_zero, {"zero_division"}, "NaN"),
    (prf_zero_division_error, {"zero_division"}, "ZeroDivisionError"),
    (prf_one_on_zero, {"zero_division"}, "you gave 1"),
    (prf_macro, {"per_class", "precision", "recall", "f1", "zero_division", "tutorial_example"}, "macro"),
    (prf_arithmetic_f1, {"f1", "zero_division", "tutorial_example"}, "arithmetic mean"),
    (prf_no_factor_two, {"f1", "zero_division", "tutorial_example"}, "drop the 2"),
    (prf_integer_division, {"precision", "recall", "f1", "zero_division", "tutorial_example"}, "integer division"),
    (prf_over_total, {"precision", "zero_division", "tutorial_example"}, "total count"),
    (prf_mutates, {"no_mutation"}, "changed the matrix"),
    (prf_two_values, {"per_class", "precision", "recall", "f1", "zero_division", "tutorial_example"},
     "three values"),
]


@pytest.mark.parametrize("fn", CORRECT_PRF, ids=lambda f: f.__name__)
def test_correct_precision_recall_f1_pass(fn):
    """Does every correct style (torch, loops, numpy counts, float32 nan_to_num) pass every check?"""
    report = metric_checks.check_precision_recall_f1(fn)
    assert report.passed, str(report)
    assert report.names == [c.check_name for c in metric_checks.PRF_CHECKS]


@pytest.mark.parametrize("fn, failing, phrase", WRONG_PRF, ids=lambda v: getattr(v, "__name__", ""))
def test_each_prf_mistake_fails_the_right_checks(fn, failing, phrase):
    """Is each known mistake rejected by exactly the checks meant for it, with a message naming it?"""
    report = metric_checks.check_precision_recall_f1(fn)
    assert not report.passed
    assert {r.name for r in report.failed} == failing, str(report)
    first = report.failed[0] if report.failed[0].name in failing else report[sorted(failing)[0]]
    assert phrase in " ".join(r.message for r in report.failed), str(report)
    assert first.message


def test_prf_reference_agrees_with_sklearn_on_the_check_matrices():
    """Do the checker's expected values (dropout_kit.metrics) equal sklearn's on every matrix it uses?"""
    for cm in metric_checks.prf._PRF_CASES + [cm for cm, _ in metric_checks.prf._ZERO_CASES]:
        k = len(cm)
        y = np.repeat(np.repeat(np.arange(k), k), cm.flatten().numpy())
        y_hat = np.repeat(np.tile(np.arange(k), k), cm.flatten().numpy())
        ref = precision_recall_fscore_support(y, y_hat, labels=range(k), zero_division=0)[:3]
        for ours, theirs in zip(metrics.precision_recall_f1(cm), ref):
            np.testing.assert_allclose(ours.numpy(), theirs, atol=1e-12)


def test_prf_report_renders_messages_in_text_and_html():
    """Does a failed report show the ✗ line and the escaped message in print and in HTML?"""
    report = metric_checks.check_precision_recall_f1(prf_nan_on_zero)
    text, page = str(report), report._repr_html_()
    assert "✗ zero_division" in text and "NaN" in text
    assert html.escape(report["zero_division"].message) in page
    assert "6 of 7 passed" in text


# --- choose_p: correct styles ---------------------------------------------------------------


def choose_loops(table):
    best = max(table, key=lambda r: r["val_acc_mean"])
    se = best["val_acc_std"] / math.sqrt(best["n"]) if best["n"] > 1 else 0.0
    candidates = [r["p"] for r in table if r["val_acc_mean"] >= best["val_acc_mean"] - se]
    return min(candidates)


def choose_sorted_first(table):
    rows = sorted(table, key=lambda r: r["p"])
    best = max(r["val_acc_mean"] for r in rows)
    best_row = next(r for r in rows if r["val_acc_mean"] == best)
    std = best_row["val_acc_std"]
    se = 0.0 if math.isnan(std) else std / best_row["n"] ** 0.5
    for row in rows:
        if best - row["val_acc_mean"] <= se:
            return row["p"]


def choose_numpy(table):
    p = np.array([r["p"] for r in table])
    mean = np.array([r["val_acc_mean"] for r in table])
    std = np.nan_to_num(np.array([r["val_acc_std"] for r in table]))
    n = np.array([r["n"] for r in table])
    i = int(np.argmax(mean))
    return np.min(p[mean >= mean[i] - std[i] / np.sqrt(n[i])])  # a numpy float


def choose_tensor(table):
    return torch.tensor(choose_loops([{**r, "val_acc_std": 0.0 if r["n"] == 1 else r["val_acc_std"]}
                                      for r in table]))


CORRECT_CHOOSE = [tuning.pick_rate, metric_checks.choose_p_rule, choose_loops, choose_sorted_first, choose_numpy,
                  choose_tensor]


# --- choose_p: the catalogue of mistakes ----------------------------------------------------


def _se(row):
    return 0.0 if row["n"] < 2 or math.isnan(row["val_acc_std"]) else row["val_acc_std"] / math.sqrt(row["n"])


def choose_highest_mean(table):
    return max(table, key=lambda r: r["val_acc_mean"])["p"]


def choose_train_acc(table):
    return max(table, key=lambda r: r["train_acc_mean"])["p"]


def choose_train_eval_acc(table):
    return max(table, key=lambda r: r["train_eval_acc_mean"])["p"]


def choose_test(table):
    best = max(table, key=lambda r: r["test_acc_mean"])
    se = _se(best)
    return min(r["p"] for r in table if r["test_acc_mean"] >= best["test_acc_mean"] - se)


def choose_val_loss(table):
    return min(table, key=lambda r: r["val_loss_mean"])["p"]


def choose_std_margin(table):
    best = max(table, key=lambda r: r["val_acc_mean"])
    margin = 0.0 if math.isnan(best["val_acc_std"]) else best["val_acc_std"]
    return min(r["p"] for r in table if r["val_acc_mean"] >= best["val_acc_mean"] - margin)


def choose_own_bars(table):
    best = max(r["val_acc_mean"] for r in table)
    return min(r["p"] for r in table if r["val_acc_mean"] + _se(r) >= best)


def choose_largest_within(table):
    best = max(table, key=lambda r: r["val_acc_mean"])
    return max(r["p"] for r in table if r["val_acc_mean"] >= best["val_acc_mean"] - _se(best))


def choose_first_in_order(table):
    best = max(table, key=lambda r: r["val_acc_mean"])
    return next(r["p"] for r in table if r["val_acc_mean"] >= best["val_acc_mean"] - _se(best))


def choose_strict(table):
    best = max(table, key=lambda r: r["val_acc_mean"])
    return min(r["p"] for r in table if r["val_acc_mean"] > best["val_acc_mean"] - _se(best) or r is best)


def choose_nan_naive(table):
    best = max(table, key=lambda r: r["val_acc_mean"])
    se = best["val_acc_std"] / math.sqrt(best["n"])
    return min(r["p"] for r in table if r["val_acc_mean"] >= best["val_acc_mean"] - se)


def choose_returns_row(table):
    return min(table, key=lambda r: r["p"] if r["p"] == choose_loops(table) else math.inf)


def choose_returns_index(table):
    target = tuning.pick_rate(table)
    return next(i for i, r in enumerate(table) if r["p"] == target) + 1  # off by one from a list position


def choose_sorts_in_place(table):
    table.sort(key=lambda r: r["p"])
    return tuning.pick_rate(table)


def choose_returns_none(table):
    tuning.pick_rate(table)  # forgot the return


# (function, a check that must fail, a phrase of its message)
WRONG_CHOOSE = [
    (choose_highest_mean, "within_one_se", "highest mean val accuracy"),
    (choose_train_acc, "validation_column", "highest train accuracy:"),
    (choose_train_eval_acc, "validation_column", "train accuracy (eval mode)"),
    (choose_test, "validation_column", "test accuracy"),
    (choose_val_loss, "validation_column", "lowest val loss"),
    (choose_std_margin, "within_one_se", "standard *error*"),
    (choose_std_margin, "standard_error", "standard *error*"),
    (choose_own_bars, "standard_error", "own error bar"),
    (choose_largest_within, "within_one_se", "largest p"),
    (choose_largest_within, "ties", "largest p"),
    (choose_first_in_order, "unsorted", "first candidate in the table's order"),
    (choose_strict, "boundary", "use >="),
    (choose_nan_naive, "single_run", "treat the standard error as 0"),
    (choose_returns_row, "returns_a_rate", "whole row"),
    (choose_returns_index, "returns_a_rate", "row index"),
    (choose_sorts_in_place, "no_mutation", "sorts in place"),
    (choose_returns_none, "returns_a_rate", "NoneType"),
]


@pytest.mark.parametrize("fn", CORRECT_CHOOSE, ids=lambda f: getattr(f, "__name__", "rule"))
def test_correct_choose_p_pass(fn):
    """Does every correct style (loops, sorted scan, numpy, a tensor answer) pass every check?"""
    report = metric_checks.check_choose_p(fn)
    assert report.passed, str(report)
    assert report.names == [c.check_name for c in metric_checks.CHOOSE_P_CHECKS]


@pytest.mark.parametrize("fn, check_name, phrase", WRONG_CHOOSE, ids=lambda v: getattr(v, "__name__", str(v)))
def test_each_choose_mistake_fails_the_right_check(fn, check_name, phrase):
    """Is each known mistake rejected by the check meant for it, with a message naming the mistake?"""
    report = metric_checks.check_choose_p(fn)
    assert not report.passed
    assert not report[check_name].passed, str(report)
    assert phrase in report[check_name].message, report[check_name].message


def test_every_choose_check_catches_something():
    """Does every check of check_choose_p reject at least one mistake of the catalogue (none is idle)?"""
    caught = {name for fn, _, _ in WRONG_CHOOSE for name in (r.name for r in metric_checks.check_choose_p(fn).failed)}
    idle = set(metric_checks.check_choose_p(tuning.pick_rate).names) - caught - {"one_row"}
    assert not idle


@pytest.mark.parametrize("name", ["_CLEAR", "_WITHIN", "_STD", "_OWN_BARS", "_UNSORTED", "_TIES", "_BOUNDARY",
                                  "_SINGLE_RUN", "_ONE_ROW"])
def test_check_tables_expected_answers(name):
    """Does the reference rule give the answer each table's docstring promises (worked by hand)?"""
    promised = {"_CLEAR": 0.3, "_WITHIN": 0.3, "_STD": 0.3, "_OWN_BARS": 0.3, "_UNSORTED": 0.3, "_TIES": 0.2,
                "_BOUNDARY": 0.2, "_SINGLE_RUN": 0.3, "_ONE_ROW": 0.3}
    assert tuning.pick_rate(getattr(metric_checks.choose, name)) == promised[name]


def test_boundary_table_is_exact_in_floating_point():
    """Is the boundary row exactly best - SE in binary floats, so >= and > really differ?"""
    rows = metric_checks.choose._BOUNDARY
    best = max(rows, key=lambda r: r["val_acc_mean"])
    se = best["val_acc_std"] / math.sqrt(best["n"])
    assert best["val_acc_mean"] - se == 0.84375 == statistics.fmean([0.84375])
