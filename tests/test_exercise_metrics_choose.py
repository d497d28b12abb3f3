"""Lesson 07, exercise 2 (dropout_kit.exercises.metrics.choose): honest implementations of the
one-standard-error rule pass on fresh tables, each known mistake fails the check meant for it
with a message naming it, delegation fails, and malformed or hostile replies fail closed."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import golden
from dropout_kit import exercises, tuning
from dropout_kit.exercises import scan, wire
from dropout_kit.exercises.base import envelope_text
from dropout_kit.exercises.metrics import choose, choose_hints, choose_tables
from dropout_kit.tuning.stats import pick_rate as hidden_rule

EX = choose.EXERCISE
SEEDS = range(25)


def check(fn, seed=0, source=None):
    return exercises.check(EX.key, fn, rng=np.random.default_rng(seed), source=source)


# --- honest implementations -------------------------------------------------------------------


def choose_loops(table):
    best = max(table, key=lambda r: r["val_acc_mean"])
    se = best["val_acc_std"] / math.sqrt(best["n"]) if best["n"] > 1 else 0.0
    return max(r["p"] for r in table if r["val_acc_mean"] >= best["val_acc_mean"] - se)


def choose_sorted_scan(table):
    rows = sorted(table, key=lambda r: r["p"], reverse=True)
    best = max(r["val_acc_mean"] for r in rows)
    best_row = next(r for r in rows if r["val_acc_mean"] == best)
    std = best_row["val_acc_std"]
    se = 0.0 if math.isnan(std) else std / best_row["n"] ** 0.5
    for row in rows:  # largest p first
        if best - row["val_acc_mean"] <= se:
            return row["p"]


def choose_numpy(table):
    p = np.array([r["p"] for r in table])
    mean = np.array([r["val_acc_mean"] for r in table])
    std = np.nan_to_num(np.array([r["val_acc_std"] for r in table]))
    n = np.array([r["n"] for r in table])
    i = int(np.argmax(mean))
    return np.max(p[mean >= mean[i] - std[i] / np.sqrt(n[i])])  # a numpy float


def choose_tensor(table):
    return torch.tensor(choose_loops([{**r, "val_acc_std": 0.0 if r["n"] == 1 else r["val_acc_std"]}
                                      for r in table]), dtype=torch.float32)


def _standard_error(row):
    return 0.0 if row["n"] < 2 or math.isnan(row["val_acc_std"]) else row["val_acc_std"] / math.sqrt(row["n"])


def choose_with_helper(table):
    best = max(table, key=lambda r: r["val_acc_mean"])
    return max(r["p"] for r in table if r["val_acc_mean"] >= best["val_acc_mean"] - _standard_error(best))


SHADOWING = '''
sum = 0  # shadows the builtins; the function below uses loops only
max = None
min = None

def choose_p(table):
    best = table[0]
    for row in table:
        if row["val_acc_mean"] > best["val_acc_mean"]:
            best = row
    std = best["val_acc_std"]
    se = 0.0 if best["n"] < 2 or math.isnan(std) else std / math.sqrt(best["n"])
    chosen = None
    for row in table:
        if row["val_acc_mean"] >= best["val_acc_mean"] - se and (chosen is None or row["p"] > chosen):
            chosen = row["p"]
    return chosen
'''


def shadowing():
    namespace = {"math": math}
    exec(SHADOWING, namespace)
    return namespace["choose_p"]


HONEST = [choose_loops, choose_sorted_scan, choose_numpy, choose_tensor, choose_with_helper]


@pytest.mark.parametrize("fn", HONEST, ids=lambda f: f.__name__)
def test_honest_implementations_pass_on_fresh_tables(fn):
    """Does every honest style (loops, a sorted scan, numpy, a float32 tensor, a helper) pass on 25 fresh challenges?"""
    for seed in SEEDS:
        verdict = check(fn, seed)
        assert verdict.passed, f"seed {seed}:\n{verdict}"
    assert [c.name for c in verdict.checks] == ["no_delegation", "returns_a_rate", "validation_column",
                                                 "within_one_se", "standard_error", "unsorted", "ties", "boundary",
                                                 "single_run", "one_row", "no_mutation"]


def test_shadowed_builtins_pass_with_the_notebook_source():
    """Does a cell that shadows sum, max and min pass, its source read as the grader reads it?"""
    for seed in range(5):
        assert check(shadowing(), seed, scan.join_cells([("23", SHADOWING)])).passed


# --- the tables: each built so that its mistakes give another answer --------------------------


def test_every_table_separates_its_mistakes_from_the_rule():
    """On 300 fresh challenges, does every mistake a table kind is built to catch give a different answer
    from the rule there (so a message never blames the rule's own answer)?"""
    for seed in range(300):
        for table in EX.new_requests(np.random.default_rng(seed))["tables"]:
            rows, want = table["rows"], tuning.pick_rate(table["rows"])
            for name in choose_hints.SEPARATES[table["kind"]]:
                assert choose_hints.wrong_answer(name, rows) != want, (seed, table["kind"], name)


def test_the_tables_are_what_they_claim():
    """Are the unsorted rows unsorted, the boundary row exactly best - SE, the single runs NaN, and the rule's
    answer a larger p than the best in the tables about margins?"""
    for seed in range(100):
        tables = {t["kind"]: t["rows"] for t in EX.new_requests(np.random.default_rng(seed))["tables"]}
        ps = [r["p"] for r in tables["unsorted"]]
        assert ps != sorted(ps) and ps != sorted(ps, reverse=True)
        best = max(tables["boundary"], key=lambda r: r["val_acc_mean"])
        line = best["val_acc_mean"] - best["val_acc_std"] / math.sqrt(best["n"])
        assert any(r["val_acc_mean"] == line and r["p"] > best["p"] for r in tables["boundary"])
        assert all(r["n"] == 1 and math.isnan(r["val_acc_std"]) for r in tables["single_run"])
        assert len(tables["one_row"]) == 1
        tied = [r for r in tables["tie"] if r["val_acc_mean"] == max(x["val_acc_mean"] for x in tables["tie"])]
        assert len(tied) == 2
        for kind in ("within", "unsorted", "boundary", "tie"):
            rows = tables[kind]
            assert tuning.pick_rate(rows) > max(rows, key=lambda r: r["val_acc_mean"])["p"], kind


# --- the catalogue of mistakes ----------------------------------------------------------------


def _best(table):
    return max(table, key=lambda r: r["val_acc_mean"])


def choose_highest_mean(table):
    return _best(table)["p"]


def choose_train_acc(table):
    return max(table, key=lambda r: r["train_acc_mean"])["p"]


def choose_train_eval_acc(table):
    return max(table, key=lambda r: r["train_eval_acc_mean"])["p"]


def choose_test(table):  # the rule, applied to the test column
    best = max(table, key=lambda r: r["test_acc_mean"])
    return max(r["p"] for r in table if r["test_acc_mean"] >= best["test_acc_mean"] - _standard_error(best))


def choose_val_loss(table):
    return min(table, key=lambda r: r["val_loss_mean"])["p"]


def choose_smallest_within(table):  # the rule as lesson 07 stated it before: the least regularised
    best = _best(table)
    return min(r["p"] for r in table if r["val_acc_mean"] >= best["val_acc_mean"] - _standard_error(best))


def choose_std_margin(table):
    best = _best(table)
    margin = 0.0 if math.isnan(best["val_acc_std"]) else best["val_acc_std"]
    return max(r["p"] for r in table if r["val_acc_mean"] >= best["val_acc_mean"] - margin)


def choose_std_over_n(table):
    best = _best(table)
    margin = 0.0 if math.isnan(best["val_acc_std"]) else best["val_acc_std"] / best["n"]
    return max(r["p"] for r in table if r["val_acc_mean"] >= best["val_acc_mean"] - margin)


def choose_own_bars(table):
    best = _best(table)["val_acc_mean"]
    return max(r["p"] for r in table if r["val_acc_mean"] + _standard_error(r) >= best)


def choose_last_in_order(table):
    best = _best(table)
    return [r for r in table if r["val_acc_mean"] >= best["val_acc_mean"] - _standard_error(best)][-1]["p"]


def choose_first_in_order(table):
    best = _best(table)
    return next(r["p"] for r in table if r["val_acc_mean"] >= best["val_acc_mean"] - _standard_error(best))


def choose_strict(table):
    best = _best(table)
    return max(r["p"] for r in table if r["val_acc_mean"] > best["val_acc_mean"] - _standard_error(best) or r is best)


def choose_nan_naive(table):
    best = _best(table)
    se = best["val_acc_std"] / math.sqrt(best["n"])
    return max(r["p"] for r in table if r["val_acc_mean"] >= best["val_acc_mean"] - se)


def choose_nan_keeps_all(table):
    best = _best(table)
    se = best["val_acc_std"] / math.sqrt(best["n"])
    return max(r["p"] for r in table if not r["val_acc_mean"] < best["val_acc_mean"] - se)


def choose_returns_row(table):
    return next(r for r in table if r["p"] == choose_loops(table))


def choose_returns_index(table):
    target = choose_with_helper(table)
    return next(i for i, r in enumerate(table) if r["p"] == target) + 1  # off by one from a list position


def choose_sorts_in_place(table):
    table.sort(key=lambda r: r["p"])
    return choose_with_helper(table)


def choose_adds_a_key(table):
    for row in table:
        row["se"] = _standard_error(row)
    return choose_with_helper(table)


def choose_returns_none(table):
    choose_with_helper(table)  # forgot the return


def choose_returns_text(table):
    return str(choose_with_helper(table))


# (function, a check that must fail, a phrase of its message)
MISTAKES = [
    (choose_highest_mean, "within_one_se", "highest mean val accuracy"),
    (choose_train_acc, "validation_column", "highest train accuracy:"),
    (choose_train_eval_acc, "validation_column", "train accuracy (eval mode)"),
    (choose_test, "validation_column", "test accuracy"),
    (choose_val_loss, "validation_column", "lowest val loss"),
    (choose_smallest_within, "within_one_se", "smallest p within one standard error"),
    (choose_smallest_within, "ties", "smallest p within one standard error"),
    (choose_std_margin, "within_one_se", "standard *error*"),
    (choose_std_margin, "standard_error", "standard *error*"),
    (choose_std_over_n, "within_one_se", "std / sqrt(n)"),
    (choose_own_bars, "standard_error", "own error bar"),
    (choose_last_in_order, "unsorted", "last candidate in the table's order"),
    (choose_first_in_order, "unsorted", "first candidate in the table's order"),
    (choose_strict, "boundary", "use >="),
    (choose_nan_naive, "single_run", "treat the standard error as 0"),
    (choose_nan_keeps_all, "single_run", "largest p of the whole table"),
    (choose_returns_row, "returns_a_rate", "whole row"),
    (choose_returns_index, "returns_a_rate", "row index"),
    (choose_sorts_in_place, "no_mutation", "sorts in place"),
    (choose_adds_a_key, "no_mutation", "adds keys"),
    (choose_returns_none, "returns_a_rate", "NoneType"),
    (choose_returns_text, "returns_a_rate", "returned a str"),
]


@pytest.mark.parametrize("fn, check_name, phrase", MISTAKES, ids=lambda v: getattr(v, "__name__", str(v)))
def test_each_mistake_fails_the_check_meant_for_it(fn, check_name, phrase):
    """Is each known mistake rejected by the check meant for it, on several fresh challenges, with a message
    naming it, and never taken for delegation?"""
    for seed in range(5):
        verdict = check(fn, seed)
        assert not verdict[check_name].passed, f"seed {seed}:\n{verdict}"
        assert phrase in verdict[check_name].message, verdict[check_name].message
        assert verdict["no_delegation"].passed


def test_every_check_catches_a_mistake():
    """Does every check but no_delegation (see the delegation tests) reject some mistake of the catalogue?"""
    caught = {c.name for fn, _, _ in MISTAKES for c in check(fn).failed}
    assert {c.name for c in check(choose_loops).checks} - caught == {"no_delegation"}


# --- delegation -------------------------------------------------------------------------------

SOLUTION_CELL = SHADOWING.split("min = None\n")[1]


@pytest.mark.parametrize("cell, name, finding", [
    ("def helper(table):\n    return tuning.pick_rate(table)", "helper", "cell 24, line 2: uses tuning.pick_rate"),
    ("from dropout_kit.tuning import standard_error", "standard_error",
     "imports standard_error from dropout_kit.tuning"),
    ("rule = getattr(tuning, 'pick_rate')", "rule", 'looks up "pick_rate" with getattr'),
    ("from dropout_kit.tuning.stats import pick_rate as rule", "rule", "imports pick_rate from dropout_kit.tuning.stats"),
    ("se = tuning.stats.standard_error(best)", "se", "uses tuning.stats.standard_error"),
])
def test_delegation_in_the_source_fails(cell, name, finding):
    """Does the judge's reading of the learner's cells refuse each route to tuning.pick_rate or its SE
    that choose_p reaches, even when the answers are right?"""
    uses = f"def choose_p(table):\n    return {name}"  # the learner's final definition reaches it
    source = scan.join_cells([("23", SOLUTION_CELL), ("24", cell), ("25", uses)])
    verdict = check(choose_loops, source=source)
    assert [c.name for c in verdict.failed] == ["no_delegation"]
    message = verdict["no_delegation"].message
    assert message.startswith("write the computation yourself: the exercise is to compute what tuning.pick_rate "
                              "computes") and finding in message


def test_comparing_with_the_reference_in_another_cell_is_allowed():
    """Is a cell that only compares the learner's choose_p with tuning.pick_rate left out of the rule?"""
    compare = "print(choose_p(smoke) == tuning.pick_rate(smoke))"
    source = scan.join_cells([("23", SOLUTION_CELL), ("24", compare)])
    assert check(choose_loops, source=source).passed


def choose_calls_the_reference(table):
    return hidden_rule(table)  # imported under another name at the top of this file


def test_delegation_at_run_time_fails():
    """Does the probe's detector report tuning.pick_rate running inside the learner's function?"""
    verdict = check(choose_calls_the_reference)
    assert [c.name for c in verdict.failed] == ["no_delegation"], str(verdict)
    assert "it called dropout_kit.tuning.stats.pick_rate" in verdict["no_delegation"].message


# --- what the probe sends, and replies that must fail closed ---------------------------------


def test_the_probe_reports_data_only():
    """Does the probe send a float per table, the type of a non-number, an exception, and a changed table?"""
    requests = wire.roundtrip(EX.new_requests(np.random.default_rng(0)))
    assert all(isinstance(r["p"], float) for r in choose.probe(choose_tensor, requests)["results"])
    assert choose.probe(choose_returns_row, requests)["results"][0] == {"changed": False, "returned": "dict"}
    assert all(r["changed"] for r in choose.probe(choose_adds_a_key, requests)["results"])
    raised = choose.probe(choose_nan_naive, requests)["results"][8]
    assert raised["raised"].startswith("ValueError") and raised["changed"] is False


def test_a_nan_replaced_in_place_counts_as_a_change():
    """Is a NaN std overwritten with 0 in the learner's copy seen as a change (NaN != NaN is handled)?"""
    requests = wire.roundtrip(EX.new_requests(np.random.default_rng(0)))

    def zero_nan(table):
        for row in table:
            row["val_acc_std"] = 0.0 if math.isnan(row["val_acc_std"]) else row["val_acc_std"]
        return choose_loops(table)
    results = choose.probe(zero_nan, requests)["results"]
    assert [r["changed"] for r in results] == [t["kind"] == "single_run" for t in requests["tables"]]


def _tampered(change):
    requests = EX.new_requests(np.random.default_rng(0))
    reply = choose.probe(choose_loops, wire.roundtrip(requests))
    change(reply)
    return EX.decide(requests, wire.dumps({"ok": True, "reply": reply}))


@pytest.mark.parametrize("change, reason", [
    (lambda r: r["results"][0].update(changed="no"), "changed must be true or false"),
    (lambda r: r["results"][0].pop("changed"), "lacks changed"),
    (lambda r: r["results"][0].update(p="0.3"), "p must be a number"),
    (lambda r: r["results"][0].update(p=True), "p must be a number"),
    (lambda r: r["results"][0].update(p=math.nan), "not one of the table's rates"),
    (lambda r: r["results"][0].update(p=[0.3] * 10), "p must be a number"),
    (lambda r: r["results"][0].update(raised="x"), "exactly one of raised, returned, p"),
    (lambda r: r["results"][0].update(returned=7, p=r["results"][0].pop("p")) or r["results"][0].pop("p"),
     "must be a string"),
    (lambda r: r["results"].append(r["results"][0]), "must have 10 items"),
    (lambda r: r.update(results={}), "results must be a list"),
    (lambda r: r.update(calls=[{"name": "x"}]), "calls[0] must be a string"),
    (lambda r: r["results"][3].update(changed=True), "changed the table"),
])
def test_malformed_replies_fail_closed(change, reason):
    """Is every malformed or hostile field a failed verdict naming it, never a pass or a crash?"""
    verdict = _tampered(change)
    assert not verdict.passed and reason in str(verdict), str(verdict)


def test_answers_forged_for_other_tables_fail():
    """Does a reply computed for another challenge's tables fail: the judge keeps its own tables?"""
    forged = choose.probe(choose_loops, wire.roundtrip(EX.new_requests(np.random.default_rng(1))))
    verdict = EX.decide(EX.new_requests(np.random.default_rng(2)), wire.dumps({"ok": True, "reply": forged}))
    assert not verdict.passed and not verdict["returns_a_rate"].passed


# --- golden files -----------------------------------------------------------------------------

GOLDEN = {
    "solution": lambda: golden.record(EX, choose_loops, seed=7),
    "smallest_within": lambda: golden.record(EX, choose_smallest_within, seed=7),
    "std_margin": lambda: golden.record(EX, choose_std_margin, seed=7),
    "delegation": lambda: golden.record(EX, choose_loops, seed=7, source=scan.join_cells(
        [("23", SOLUTION_CELL), ("24", "def helper(table):\n    return tuning.pick_rate(table)"),
         ("25", "def choose_p(table):\n    return helper(table)")])),
    "changed_claim": lambda: golden.record(EX, None, seed=7, reply_text=envelope_text(
        EX, choose_adds_a_key, wire.roundtrip(EX.new_requests(np.random.default_rng(7))))),
}


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_cases_judge_the_same(request, name):
    """Does the judge give today the verdict recorded for each golden case (only the solution passes)?"""
    recorded = golden.assert_judged_the_same(request, EX, name, GOLDEN[name])
    assert recorded["verdict"]["passed"] is (name == "solution")
