"""Tests of TrustedExecute's pieces that need no kernel: learner code, verdict outputs, explanations."""

import nbformat
from nbformat import v4

from dropout_kit.course.execute import is_test_cell, learner_code, verdict_outputs, with_explanation
from dropout_kit.exercises import scan
from dropout_kit.exercises.base import Exercise
from dropout_kit.verdict import Check, Verdict


def cell(source, **nbgrader):
    c = v4.new_code_cell(source)
    if nbgrader:
        c.metadata["nbgrader"] = nbgrader
    return c


def test_learner_code_is_answers_and_cells_the_lesson_did_not_give():
    """Is the learner's code the answer cells and every code cell not given as is by the lesson?"""
    source = v4.new_notebook(cells=[cell("import torch"), cell("def f():\n    return 1", solution=True),
                                    cell("assert f()", grade=True, solution=False)])
    submitted = v4.new_notebook(cells=[cell("import torch"), cell("def f():\n    return 2", solution=True),
                                       cell("helper = 3"), cell("assert f()", grade=True, solution=False)])
    assert scan.split_cells(learner_code(submitted, source)) == [("1", "def f():\n    return 2"), ("2", "helper = 3")]
    assert [is_test_cell(c) for c in submitted.cells] == [False, False, False, True]


def test_a_verdict_becomes_outputs_that_nbgrader_scores():
    """Does a passed verdict give only its display, and a failed one an error too (0 points in nbgrader)?"""
    passed = Verdict("k", (Check("a", True),), title="K")
    failed = Verdict("k", (Check("a", False, "<script>x</script>"),), title="K")
    assert [o.output_type for o in verdict_outputs(passed)] == ["display_data"]
    outputs = verdict_outputs(failed)
    assert [o.output_type for o in outputs] == ["display_data", "error"]
    assert outputs[1].evalue == "K: NOT passed (1 of 1 checks failed)"
    assert "<script>" not in outputs[0].data["text/html"]
    nbformat.validate(v4.new_notebook(cells=[cell("x", grade=True)]))


def test_failed_verdicts_get_the_explanation_for_the_instructors_feedback():
    """Is the exercise's explanation added to a failed verdict only, and is a broken explain() ignored?"""
    exercise = Exercise("k", "99_x", "t", "K", None, None, None, explain=lambda: "B, because ...")
    failed = Verdict("k", (Check("a", False),))
    assert with_explanation(exercise, failed).notes == ("After grading: B, because ...",)
    passed = Verdict("k", (Check("a", True),), notes=("B, because ...",))
    assert with_explanation(exercise, passed) is passed

    def broken():
        raise RuntimeError("no key")
    assert with_explanation(Exercise("k", "99_x", "t", "K", None, None, None, explain=broken), failed) is failed
