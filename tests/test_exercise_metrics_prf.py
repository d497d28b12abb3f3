"""Lesson 07, exercise 1 (dropout_kit.exercises.metrics.prf): honest implementations pass on fresh
matrices, each known mistake fails the checks meant for it with a message naming it, delegation
fails, and malformed or hostile replies fail closed."""

from __future__ import annotations

import html

import numpy as np
import pytest
import torch
from sklearn.metrics import precision_recall_fscore_support

import golden
from dropout_kit import exercises, metrics
from dropout_kit.exercises import scan, wire
from dropout_kit.exercises.base import envelope_text
from dropout_kit.exercises.metrics import prf

EX = prf.EXERCISE
SEEDS = range(25)  # fresh challenges per implementation; each is deterministic given its seed


def check(fn, seed=0, source=None):
    return exercises.check(EX.key, fn, rng=np.random.default_rng(seed), source=source)


# --- honest implementations, in several styles ------------------------------------------------


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
    return precision, recall, f1  # lists


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


def _safe_ratio(num, den):
    return torch.where(den > 0, num / torch.where(den > 0, den, torch.ones_like(den)), torch.zeros_like(num))


def prf_with_helper(cm):
    cm = cm.to(torch.float64)
    precision, recall = _safe_ratio(cm.diag(), cm.sum(0)), _safe_ratio(cm.diag(), cm.sum(1))
    return precision, recall, _safe_ratio(2 * precision * recall, precision + recall)


def prf_stacked(cm):
    return torch.stack(prf_torch(cm))  # one (3, K) tensor: unpacks into three rows


SHADOWING = '''
sum = 0  # shadows the builtin; the function below never needs it
max = None

def precision_recall_f1(cm):
    cm = cm.double()
    tp = cm.diagonal()
    predicted, actual = cm.sum(dim=0), cm.sum(dim=1)
    zero = torch.zeros_like(tp)
    precision = torch.where(predicted > 0, tp / predicted, zero)
    recall = torch.where(actual > 0, tp / actual, zero)
    both = precision + recall
    return precision, recall, torch.where(both > 0, 2 * precision * recall / both, zero)
'''


def shadowing():
    namespace = {"torch": torch}
    exec(SHADOWING, namespace)
    return namespace["precision_recall_f1"]


HONEST = [prf_torch, prf_loops, prf_numpy_counts, prf_float32_nan_to_num, prf_with_helper, prf_stacked]


@pytest.mark.parametrize("fn", HONEST, ids=lambda f: f.__name__)
def test_honest_implementations_pass_on_fresh_matrices(fn):
    """Does every honest style (torch, loops and lists, numpy, float32, a helper, a stacked tensor) pass
    on 25 freshly drawn challenges?"""
    for seed in SEEDS:
        verdict = check(fn, seed)
        assert verdict.passed, f"seed {seed}:\n{verdict}"
    assert [c.name for c in verdict.checks] == ["no_delegation", "per_class", "precision", "recall", "f1",
                                                 "zero_division", "tutorial_example", "no_mutation"]


def test_shadowed_builtins_pass_with_the_notebook_source():
    """Does a cell that shadows sum and max pass, its source read as the grader reads it?"""
    source = scan.join_cells([("8", SHADOWING)])
    for seed in range(5):
        assert check(shadowing(), seed, source).passed


def test_the_judge_reference_agrees_with_sklearn_on_the_challenge_matrices():
    """Are the judge's expected values (dropout_kit.metrics) scikit-learn's on every matrix it draws?"""
    for seed in range(20):
        for case in EX.new_requests(np.random.default_rng(seed))["cases"]:
            cm = case["cm"]
            k = len(cm)
            y = np.repeat(np.repeat(np.arange(k), k), cm.flatten())
            y_hat = np.repeat(np.tile(np.arange(k), k), cm.flatten())
            ref = precision_recall_fscore_support(y, y_hat, labels=range(k), zero_division=0)[:3]
            for ours, theirs in zip(metrics.precision_recall_f1(torch.from_numpy(cm)), ref):
                np.testing.assert_allclose(ours.numpy(), theirs, atol=1e-12)


def test_the_challenge_draws_what_the_checks_need():
    """Does every challenge hold asymmetric matrices without 0/0, the tutorial's, and each kind of 0/0?"""
    for seed in range(50):
        cases = EX.new_requests(np.random.default_rng(seed))["cases"]
        kinds = sorted(c["kind"] for c in cases)
        assert kinds == sorted(["regular"] * 4 + ["tutorial", *prf.ZERO_KINDS])
        for case in cases:
            cm, c = case["cm"], case["c"]
            assert cm.dtype == np.int64 and (cm >= 0).all()
            columns, rows, tp = cm.sum(0), cm.sum(1), np.diag(cm)
            if case["kind"] == "regular":
                assert (columns > 0).all() and (rows > 0).all() and (columns != rows).any()
            elif case["kind"] in prf.ZERO_KINDS:
                others = np.arange(len(cm)) != c
                assert (tp[others] > 0).all() and tp[c] == 0
                assert (columns[c] == 0) == (case["kind"] in ("never_predicted", "absent"))
                assert (rows[c] == 0) == (case["kind"] in ("no_images", "absent"))


# --- the catalogue of mistakes ----------------------------------------------------------------


def prf_swapped(cm):
    p, r, f = prf_torch(cm)
    return r, p, f


def prf_axis_mixup(cm):
    cm = cm.double()
    tp = cm.diag()
    precision = torch.nan_to_num(tp / cm.sum(1))  # rows where columns are meant, and vice versa
    recall = torch.nan_to_num(tp / cm.sum(0))
    return precision, recall, torch.nan_to_num(2 * precision * recall / (precision + recall))


def prf_transposed(cm):
    return prf_torch(cm.T)


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


def prf_strings(cm):
    p, r, f = prf_torch(cm)
    return p, r, [f"{v:.3f}" for v in f.tolist()]


def prf_dict(cm):
    p, r, f = prf_torch(cm)
    return {"precision": p, "recall": r, "f1": f}


ALL = {"per_class", "precision", "recall", "f1", "zero_division", "tutorial_example"}
# (function, the checks that fail -- exactly these --, a phrase of their messages)
MISTAKES = [
    (prf_swapped, {"precision", "recall", "tutorial_example", "zero_division"}, "equals the recall"),
    (prf_axis_mixup, {"precision", "recall", "tutorial_example", "zero_division"}, "row sums"),
    (prf_transposed, {"precision", "recall", "tutorial_example", "zero_division"}, "transposed"),
    (prf_same_axis, {"recall", "f1", "tutorial_example", "zero_division"}, "equals the precision"),
    (prf_nan_on_zero, {"zero_division"}, "NaN"),
    (prf_zero_division_error, {"zero_division"}, "ZeroDivisionError"),
    (prf_one_on_zero, {"zero_division"}, "you gave 1"),
    (prf_macro, ALL, "macro average"),
    (prf_arithmetic_f1, {"f1", "zero_division", "tutorial_example"}, "arithmetic mean"),
    (prf_no_factor_two, {"f1", "zero_division", "tutorial_example"}, "drop the 2"),
    (prf_integer_division, ALL - {"per_class"}, "integer division"),
    (prf_over_total, {"precision", "zero_division", "tutorial_example"}, "total count"),
    (prf_mutates, {"no_mutation"}, "changed the matrix"),
    (prf_two_values, ALL, "three values"),
    (prf_strings, ALL, "f1 is a list of text, not numbers"),
    (prf_dict, ALL, "returned a dict"),
]


@pytest.mark.parametrize("fn, failing, phrase", MISTAKES, ids=lambda v: getattr(v, "__name__", ""))
def test_each_mistake_fails_the_checks_meant_for_it(fn, failing, phrase):
    """Is each known mistake rejected by exactly the checks meant for it, on several fresh challenges,
    with a message naming it?"""
    for seed in range(5):
        verdict = check(fn, seed)
        assert {c.name for c in verdict.failed} == failing, f"seed {seed}:\n{verdict}"
        assert phrase in " ".join(c.message for c in verdict.failed), str(verdict)


def test_a_failed_verdict_renders_in_text_and_html():
    """Does a failed verdict show the ✗ line and the escaped message in print and in HTML?"""
    verdict = check(prf_nan_on_zero)
    text, page = str(verdict), verdict._repr_html_()
    assert "✗ zero_division" in text and "NaN" in text and "(1 of 8 checks failed)" in text
    assert html.escape(verdict["zero_division"].message) in page


# --- delegation -------------------------------------------------------------------------------

SOLUTION_CELL = SHADOWING.split("max = None\n")[1]


@pytest.mark.parametrize("cell, name, finding", [
    ("def helper(cm):\n    return metrics.precision_recall_f1(cm)", "helper",
     "cell 9, line 2: uses metrics.precision_recall_f1"),
    ("from sklearn.metrics import precision_recall_fscore_support", "precision_recall_fscore_support",
     "imports from sklearn.metrics"),
    ("import sklearn", "sklearn", "imports sklearn"),
    ("rule = getattr(metrics, 'precision_recall_f1')", "rule", 'looks up "precision_recall_f1" with getattr'),
    ("table = metrics.per_class_table(cm, CLASSES)", "table", "uses metrics.per_class_table"),
    ("from dropout_kit.metrics import _ratio", "_ratio", "imports _ratio from dropout_kit.metrics"),
    ("import importlib\nm = importlib.import_module('sklearn.metrics')", "m", "imports sklearn.metrics at run time"),
    ("def f(:\n    pass", "cm", "does not parse as Python"),
])
def test_delegation_in_the_source_fails(cell, name, finding):
    """Does the judge's reading of the learner's cells refuse each route to the reference or scikit-learn
    that the graded function reaches, even when the values are right?"""
    uses = f"def precision_recall_f1(cm):\n    return {name}"  # the learner's final definition reaches it
    source = scan.join_cells([("1", "from dropout_kit import metrics"), ("8", SOLUTION_CELL), ("9", cell),
                              ("10", uses)])
    verdict = check(prf_torch, source=source)
    assert [c.name for c in verdict.failed] == ["no_delegation"]
    message = verdict["no_delegation"].message
    assert message.startswith("write the computation yourself: the exercise is to compute what "
                              "metrics.precision_recall_f1 computes") and finding in message


def test_comparing_with_the_reference_in_another_cell_is_allowed():
    """Is a cell that only compares the learner's function with metrics.precision_recall_f1 left out of the rule?"""
    compare = "print(precision_recall_f1(cm)[0] - metrics.precision_recall_f1(cm)[0])"
    source = scan.join_cells([("1", "from dropout_kit import metrics"), ("8", SOLUTION_CELL), ("9", compare)])
    assert check(prf_torch, source=source).passed


def prf_calls_the_reference(cm):
    return helper_reference(cm)


helper_reference = metrics.precision_recall_f1  # reached through a name the function's source does not show


def prf_calls_sklearn(cm):
    k = len(cm)
    counts = cm.flatten().numpy()
    y = np.repeat(np.repeat(np.arange(k), k), counts)
    y_hat = np.repeat(np.tile(np.arange(k), k), counts)
    return precision_recall_fscore_support(y, y_hat, labels=list(range(k)), zero_division=0)[:3]


@pytest.mark.parametrize("fn, name", [(prf_calls_the_reference, "dropout_kit.metrics.precision_recall_f1"),
                                      (prf_calls_sklearn, "sklearn.")])
def test_delegation_at_run_time_fails(fn, name):
    """Does the probe's detector report the reference or scikit-learn running inside the learner's function,
    where the source shows neither?"""
    verdict = check(fn)
    assert [c.name for c in verdict.failed] == ["no_delegation"], str(verdict)
    assert f"while your function ran, it called {name}" in verdict["no_delegation"].message


# --- what the probe sends, and replies that must fail closed ---------------------------------


def test_the_probe_reports_data_only():
    """Does the probe send float64 arrays, the reason an output is unreadable, an exception, and a changed input?"""
    requests = wire.roundtrip(EX.new_requests(np.random.default_rng(0)))
    assert all(r["values"][0].dtype == np.float64 for r in prf.probe(prf_loops, requests)["results"])
    assert prf.probe(prf_strings, requests)["results"][0]["values"][2] == "is a list of text, not numbers"
    assert prf.probe(prf_two_values, requests)["results"][0] == {"mutated": False, "returned": "tuple", "length": 2}
    assert prf.probe(prf_macro, requests)["results"][0]["values"][0].shape == ()
    assert all(r["mutated"] for r in prf.probe(prf_mutates, requests)["results"])
    raised = [r for r in prf.probe(prf_zero_division_error, requests)["results"] if "raised" in r]
    assert len(raised) == 4 and raised[0]["raised"].startswith("ZeroDivisionError")


def _reply(seed=0, fn=prf_torch):
    requests = EX.new_requests(np.random.default_rng(seed))
    return requests, prf.probe(fn, wire.roundtrip(requests))


def _tampered(change):
    requests, reply = _reply()
    change(reply)
    return EX.decide(requests, wire.dumps({"ok": True, "reply": reply}))


def _set_values(index, value):
    def change(reply):
        reply["results"][0]["values"][index] = value
    return change


@pytest.mark.parametrize("change, reason", [
    (_set_values(0, np.full(3, np.nan)), "precision has shape"),
    (_set_values(0, np.ones((2, 2))), "precision has shape"),
    (_set_values(1, np.arange(3)), "must be of kind 'f'"),
    (_set_values(2, [0.5, 0.5]), "must be an array"),
    (lambda r: r["results"][0].pop("mutated"), "lacks mutated"),
    (lambda r: r["results"][0].update(mutated="no"), "mutated must be true or false"),
    (lambda r: r["results"][0].update(raised="x"), "exactly one of raised, returned, values"),
    (lambda r: r["results"].pop(), "must have 9 items"),
    (lambda r: r.pop("calls"), "lacks calls"),
    (lambda r: r.update(calls="none"), "calls must be a list"),
    (lambda r: r.update(calls=[7]), "calls[0] must be a string"),
    (lambda r: r.update(calls=["x"] * 51), "at most 50"),
    (lambda r: r["results"][0].update(values=None), "must be a list"),
    (lambda r: r["results"][0].update(returned="tuple", length=-1, values=0) or r["results"][0].pop("values"),
     "must lie in"),
])
def test_malformed_replies_fail_closed(change, reason):
    """Is every malformed field a failed verdict naming it, never a pass or a crash?"""
    verdict = _tampered(change)
    assert not verdict.passed and reason in str(verdict), str(verdict)


def test_nan_values_fail_and_forged_calls_only_hurt():
    """Do NaN outputs fail the value checks, and does a forged call log fail the learner, never help?"""
    requests, reply = _reply()
    reply["results"] = [{**r, "values": [np.full_like(v, np.nan) for v in r["values"]]} for r in reply["results"]]
    assert not EX.decide(requests, wire.dumps({"ok": True, "reply": reply})).passed
    verdict = _tampered(lambda r: r.update(calls=["<b>made up</b>"]))
    assert verdict.failed == [verdict["no_delegation"]] and "<b>" not in verdict._repr_html_()


def test_a_reply_for_other_matrices_fails():
    """Does a replayed reply (right values, but for another challenge's matrices) fail: the judge keeps its own?"""
    _, replayed = _reply(seed=1)
    requests = EX.new_requests(np.random.default_rng(2))
    verdict = EX.decide(requests, wire.dumps({"ok": True, "reply": replayed}))
    assert not verdict.passed and not verdict["per_class"].passed and not verdict["precision"].passed


def test_oversize_replies_are_refused_before_parsing():
    """Is a reply beyond the wire's size limit refused with the reason?"""
    requests = EX.new_requests(np.random.default_rng(0))
    verdict = EX.decide(requests, '{"ok": true, "reply": "' + "x" * (wire.MAX_BYTES + 1) + '"}')
    assert not verdict.passed and "at most" in verdict["reply"].message


# --- golden files -----------------------------------------------------------------------------

GOLDEN = {
    "solution": lambda: golden.record(EX, prf_torch, seed=7),
    "swapped": lambda: golden.record(EX, prf_swapped, seed=7),
    "nan_on_zero": lambda: golden.record(EX, prf_nan_on_zero, seed=7),
    "delegation": lambda: golden.record(EX, prf_torch, seed=7, source=scan.join_cells(
        [("8", SOLUTION_CELL), ("9", "def helper(cm):\n    return metrics.precision_recall_f1(cm)"),
         ("10", "def precision_recall_f1(cm):\n    return helper(cm)")])),
    "forged_for_other_matrices": lambda: golden.record(EX, None, seed=7, reply_text=envelope_text(
        EX, prf_torch, wire.roundtrip(EX.new_requests(np.random.default_rng(8))))),
}


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_cases_judge_the_same(request, name):
    """Does the judge give today the verdict recorded for each golden case (only the solution passes)?"""
    recorded = golden.assert_judged_the_same(request, EX, name, GOLDEN[name])
    assert recorded["verdict"]["passed"] is (name == "solution")
