"""Lesson 07, exercise 2: choose the dropout rate from a sweep table by the one-standard-error rule.

- ``challenge`` draws made-up sweep tables (``choose_tables``), each built so that a common
  mistake gives a different answer from the rule.
- ``probe`` calls the learner's ``choose_p`` on a copy of each table and returns the chosen
  rate as a number (or what came back instead), whether the table was changed, and the
  forbidden functions that ran meanwhile.
- ``judge`` compares with ``tuning.pick_rate`` (tested in ``tests/test_tuning.py``) and names
  the likely mistake (``choose_hints``).

Delegation is refused (``shared.no_delegation``). The forbidden names, and why each:
``pick_rate`` is the answer itself; ``standard_error`` is its step 2 with the n = 1 convention
(SE = 0 when the std is NaN), which one of the graded checks is about. ``difference`` and
``neighbours`` stay allowed: they compare two rates and choose nothing.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch

from dropout_kit.exercises import wire
from dropout_kit.exercises.base import Exercise
from dropout_kit.exercises.metrics import choose_hints as hints
from dropout_kit.exercises.metrics import shared
from dropout_kit.exercises.metrics.choose_tables import challenge
from dropout_kit.tuning import stats
from dropout_kit.verdict import Check, Verdict

KEY, TITLE = "choose_p", "Exercise 2: choosing p by the one-standard-error rule"
FORBIDDEN_NAMES = frozenset({"pick_rate", "standard_error"})
TOL = 1e-6  # a rate returned as float32 still matches its row; rates differ by 0.05 or more


# --- probe (kernel side: data only) -------------------------------------------------------------

def _rate(answer) -> float | None:
    """The answer as a float when it is one number (int, float, numpy scalar, one-element array)."""
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        answer = answer.item()
    elif isinstance(answer, np.ndarray) and answer.size == 1:
        answer = answer.reshape(()).item()
    if isinstance(answer, (bool, np.bool_)) or not isinstance(answer, (int, float, np.integer, np.floating)):
        return None
    return float(answer)


def _same(a, b) -> bool:
    both_nan = isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
    return both_nan or (type(a) is type(b) and a == b)


def _unchanged(given, rows: list[dict]) -> bool:
    """Whether the learner's copy still holds the table as drawn: rows, their order, keys and values."""
    try:
        return (isinstance(given, list) and len(given) == len(rows)
                and all(isinstance(g, dict) and set(g) == set(r) and all(_same(g[k], r[k]) for k in r)
                        for g, r in zip(given, rows)))
    except Exception:  # a row replaced by something whose comparison raises
        return False


def probe(fn, requests) -> dict:
    """Run the learner's ``choose_p`` on a copy of each table; report the rate and whether the copy changed."""
    codes = [stats.pick_rate.__code__, stats.standard_error.__code__]
    results, seen = [], []
    for table in requests["tables"]:
        rows = table["rows"]
        given = copy.deepcopy(rows)
        answer, error, names = shared.call_watched(fn, given, codes=codes)
        shared.merge_names(seen, names)
        result = {"changed": not _unchanged(given, rows)}
        if error is not None:
            result["raised"] = error
        elif (rate := _rate(answer)) is None:
            result["returned"] = type(answer).__name__
        else:
            result["p"] = rate
        results.append(result)
    return {"results": results, "calls": seen}


# --- judge (trusted side) -----------------------------------------------------------------------

def _answer(result, name: str, rows: list[dict]) -> tuple[bool, float | None, str | None]:
    """``(changed, the table's rate the learner chose, problem)`` from one validated result."""
    result, changed, kind = shared.outcome(result, name, "changed", ("raised", "returned", "p"))
    if kind == "raised":
        return changed, None, f"choose_p raised {wire.text(result['raised'], name, max_len=2000)}"
    if kind == "returned":
        return changed, None, hints.returned_problem(wire.text(result["returned"], name, max_len=100), rows)
    got = wire.number(result["p"], f"{name}.p", finite=False)
    matches = [r["p"] for r in rows if abs(got - r["p"]) < TOL]
    if not matches:
        return changed, None, hints.not_a_rate(got, rows)
    return changed, matches[0], None


def _judge_table(kind: str, rows: list[dict], got: float | None, problem: str | None) -> str | None:
    """None when the learner's answer follows the rule on this table, else what went wrong."""
    situation = hints.SITUATIONS[kind]
    if problem is not None:
        return f"{situation}: {problem}{hints.single_run_note(kind, raised=True)}\n{hints.show_table(rows)}"
    want = stats.pick_rate(rows)
    if got == want:
        return None
    return (f"{situation}: you returned p={got}, expected p={want}. {hints.likely(kind, rows, got, want)}"
            f"{hints.single_run_note(kind, raised=False)}\n{hints.show_table(rows)}")


def judge(requests, reply, *, source: str | None = None) -> Verdict:
    """Compare the learner's choices with ``tuning.pick_rate``; refuse delegation and a changed table."""
    tables = requests["tables"]
    reply = wire.mapping(reply, "reply", ["results", "calls"])
    results = wire.sequence(reply["results"], "results", len(tables))
    answers = [_answer(r, f"results[{i}]", t["rows"]) for i, (r, t) in enumerate(zip(results, tables))]
    calls = shared.read_calls(reply["calls"])
    verdicts = [(t["kind"], _judge_table(t["kind"], t["rows"], got, problem))
                for t, (_, got, problem) in zip(tables, answers)]
    unreadable = next((f"{hints.SITUATIONS[t['kind']]}: {problem}" for t, (_, _, problem) in zip(tables, answers)
                       if problem is not None), None)

    def first(*kinds: str) -> str | None:
        return next((message for kind, message in verdicts if kind in kinds and message), None)

    checks = [shared.no_delegation(source, calls, attrs=FORBIDDEN_NAMES, modules=(), reference="tuning.pick_rate",
                                   summary="applies the rule itself (no tuning.pick_rate or tuning.standard_error)"),
              Check("returns_a_rate", unreadable is None, unreadable or "",
                    "returns one of the table's rates (a number), not a row or an index")]
    checks += [Check(name, (message := first(*kinds)) is None, message or "", summary)
               for name, kinds, summary in hints.CHECKS]
    changed = any(c for c, _, _ in answers)
    checks.append(Check("no_mutation", not changed, hints.CHANGED if changed else "",
                        "leaves the table it is given unchanged (no in-place sort, no added keys)"))
    return Verdict(KEY, tuple(checks), title=TITLE)


EXERCISE = Exercise(KEY, "07_metrics", "choose_p", TITLE, challenge, probe, judge)
