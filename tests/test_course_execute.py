"""Tests of TrustedExecute's pure parts: which probe reply the judge gets, and which code is the learner's."""

import nbformat
import pytest
from nbformat import v4

pytest.importorskip("nbgrader")

from dropout_kit.course.execute import choose_reply, learner_code  # noqa: E402


def test_one_reply_is_taken_and_none_is_no_reply():
    """Is the probe's one reply handed to the judge, and no reply reported as none?"""
    assert choose_reply(['{"ok": true}']) == ('{"ok": true}', "", False)
    assert choose_reply([]) == (None, "", False)
    assert choose_reply([], finished=False, error="KeyboardInterrupt: ") == (None, "", False)


def test_several_replies_to_one_call_are_tampering():
    """When a hook publishes a reply of its own beside the probe's, is neither taken, and is it tampering?"""
    assert choose_reply(['{"ok": true, "reply": 1}', '{"ok": true, "reply": 2}']) == (
        None, "2 probe replies came for one call: something in the notebook publishes replies of its own, so "
        "none is taken", True)


def test_a_reply_from_a_call_that_failed_or_hung_is_not_taken():
    """Is a reply followed by an error (a forged reply, then the probe stopped) tampering, and one from a
    call that never finished left out?"""
    reply, problem, tampering = choose_reply(['{"ok": true}'], error="KeyboardInterrupt: ")
    assert (reply, tampering) == (None, True) and problem.startswith("a reply came, but then the probe call failed")
    assert choose_reply(['{"ok": true}'], finished=False) == (
        None, "the probe call did not finish, so its reply is not taken", False)


def test_learner_code_is_answers_and_changed_cells_without_tests():
    """Is the learner's code the answer cells and the cells the lesson did not give, never the test cells?"""
    answer = v4.new_code_cell("def dropout(x):\n    return x", metadata={"nbgrader": {"solution": True}})
    test = v4.new_code_cell("check(dropout)", metadata={"nbgrader": {"grade": True, "solution": False}})
    given = v4.new_code_cell("import torch")
    source = nbformat.from_dict(v4.new_notebook(cells=[given, answer, test]))
    submitted = v4.new_notebook(cells=[given, answer, v4.new_code_cell("hook()"), test])
    assert learner_code(submitted, source) == "# %% cell 1\ndef dropout(x):\n    return x\n# %% cell 2\nhook()"
