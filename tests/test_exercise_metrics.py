"""Lesson 07's exercises as a whole (dropout_kit.exercises.metrics): registered for the notebook's test
cells, gradable through the kernel responder, and what the two share (the watch and the delegation check)."""

from __future__ import annotations

import numpy as np
import pytest

from dropout_kit import exercises, metrics
from dropout_kit.exercises import kernel, wire
from dropout_kit.exercises.metrics import choose, prf, shared


def test_both_exercises_are_registered_for_lesson_07():
    """Are the two exercises found by key and by the grade ids of the notebook's test cells?"""
    assert exercises.get("precision_recall_f1") is prf.EXERCISE
    assert exercises.for_grade_id("test_choose_p") is choose.EXERCISE
    assert {e.lesson for e in (prf.EXERCISE, choose.EXERCISE)} == {"07_metrics"}
    assert (prf.EXERCISE.target, choose.EXERCISE.target) == ("precision_recall_f1", "choose_p")


@pytest.mark.parametrize("exercise, obj", [(prf.EXERCISE, lambda cm: tuple(t.numpy() for t in
                                                                           _own_prf(cm))),
                                           (choose.EXERCISE, lambda t: max(t, key=lambda r: r["val_acc_mean"])["p"])])
def test_grading_through_the_kernel_responder(monkeypatch, exercise, obj):
    """Does the code the grader sends run the probe on the learner's object, and the judge decide from the
    published reply alone?"""
    published = []
    monkeypatch.setattr("IPython.display.publish_display_data", lambda data, **kw: published.append(data))
    requests = exercise.new_requests(np.random.default_rng(3))
    exec(kernel.call_code(exercise.key, exercise.target, requests), {exercise.target: obj})
    verdict = exercise.decide(requests, published[0][kernel.MIME])
    assert verdict.checks[0].name == "no_delegation" and verdict.checks[0].passed
    # The prf object is right; the choose_p one is the plain maximum, which the judge must catch.
    assert verdict.passed is (exercise is prf.EXERCISE), str(verdict)


def _own_prf(cm):
    cm = cm.double()
    tp, columns, rows = cm.diagonal(), cm.sum(0), cm.sum(1)
    precision = tp / columns.clamp(min=1)  # tp is 0 wherever the column sum is
    recall = tp / rows.clamp(min=1)
    both = precision + recall
    return precision, recall, 2 * precision * recall / both.where(both > 0, 1.0)


def test_the_watch_records_only_the_learners_call():
    """Does call_watched return the result, an exception as text, and the forbidden calls made inside?"""
    codes = [metrics.precision_recall_f1.__code__]
    assert shared.call_watched(lambda x: x + 1, 1, codes=codes) == (2, None, [])
    assert shared.call_watched(lambda x: 1 / x, 0, codes=codes) == (None, "ZeroDivisionError: division by zero", [])
    _, _, names = shared.call_watched(metrics.precision_recall_f1, np.eye(2, dtype=np.int64), codes=codes)
    assert names == ["dropout_kit.metrics.precision_recall_f1"]


def test_library_folder_finds_installed_packages_without_importing_them():
    """Is scikit-learn's folder found, and a missing package None?"""
    assert shared.library_folder("sklearn").name == "sklearn"
    assert shared.library_folder("no_such_package_here") is None


def test_call_logs_are_validated():
    """Is a call log that is not a short list of short strings refused with the field named?"""
    assert shared.read_calls(["a.b"]) == ["a.b"]
    for bad, reason in [("x", "calls must be a list"), ([1], "calls[0] must be a string"),
                        (["x" * 201], "calls[0] has 201 characters"), (["x"] * 51, "at most 50")]:
        with pytest.raises(wire.ReplyError, match=reason.replace("[", r"\[").replace("]", r"\]")):
            shared.read_calls(bad)


def test_no_delegation_lists_what_it_found():
    """Does the check name each finding and each call, and cap a long list?"""
    check = shared.no_delegation("x = metrics.f(1)\ny = metrics.f(2)", ["m.g"] * 9, attrs={"f"}, modules=(),
                                 reference="metrics.f", summary="s")
    assert not check.passed and check.name == "no_delegation"
    assert check.message.startswith("write the computation yourself: the exercise is to compute what metrics.f "
                                    "computes, not to call it or a library that does. Found: line 1: uses metrics.f; "
                                    "line 2: uses metrics.f; while your function ran, it called m.g")
    assert check.message.endswith("; and 3 more")
    assert shared.no_delegation(None, [], attrs={"f"}, modules=(), reference="r", summary="s").passed
