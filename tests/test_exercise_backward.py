"""Tests of dropout_kit.exercises.backward: lesson 09's DropoutFunction as a probe and a judge.

The judge against the solution notebook's class over many seeded challenges and against other
correct styles; the catalogue of wrong backward and forward passes, each failing with the
message that names its mistake; the by-hand rule read from source text joined with
``scan.join_cells``; the released notebook's blank class; golden files. Attacks on the reply
are in test_exercise_backward_attacks.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import golden
from backward_catalogue import CORRECT, SOLUTION, WRONG, build
from dropout_kit import exercises
from dropout_kit.exercises import backward, scan, wire
from dropout_kit.exercises.base import envelope_text

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = backward.EXERCISE
SEEDS = range(40)
# A correct class fails one verdict with probability <= 3e-6 (the module docstring's union bound), so the
# 40 verdicts of the solution test fail it with probability <= 1.2e-4 had the masks not been seeded; they
# are (torch.manual_seed per verdict), so the test is deterministic, and a seed that failed would be a bug.


def notebook_cell(folder: str, grade_id: str) -> str:
    """The source of the cell with this nbgrader grade id in ``folder``/09_backward/09_backward.ipynb."""
    nb = json.loads((ROOT / folder / "09_backward" / "09_backward.ipynb").read_text(encoding="utf-8"))
    [cell] = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id]
    return "".join(cell["source"])


def verdict_of(text: str, seed: int = 0, *, source: str | None = None):
    """The judge's verdict on the class a cell defines, its masks seeded, its source read as cell 5."""
    cls = build(text)
    torch.manual_seed(seed)
    return exercises.check(EXERCISE.key, cls, rng=np.random.default_rng(seed),
                           source=scan.join_cells([("5", text)]) if source is None else source)


def test_the_exercise_is_registered():
    """Is dropout_backward an exercise of lesson 09, probing DropoutFunction, graded in test_dropout_backward?"""
    assert "backward" in exercises.MODULES
    exercise = exercises.get("dropout_backward")
    assert exercise is EXERCISE
    assert (exercise.lesson, exercise.target, exercise.grade_id) == ("09_backward", "DropoutFunction",
                                                                     "test_dropout_backward")
    assert exercises.for_grade_id("test_dropout_backward") is exercise


def test_the_notebooks_test_cell_calls_this_judge():
    """Does the lesson's read-only test cell start as the course requires and check this exercise?"""
    cell = notebook_cell("solutions", "test_dropout_backward").splitlines()
    assert cell[0] == "# Read-only test cell: run it to check your backward pass (5 points)."
    assert cell[1] == 'verdict = exercises.check("dropout_backward", DropoutFunction)'
    assert cell[-1] == 'assert verdict.passed, "see the failed checks above"'


@pytest.mark.parametrize("seed", SEEDS)
def test_the_solution_passes_every_seeded_challenge(seed):
    """Does the solution notebook's DropoutFunction pass the judge on 40 challenges, each with its own masks?"""
    verdict = verdict_of(notebook_cell("solutions", "dropout_backward"), seed)
    assert verdict.passed, verdict
    assert len(verdict.checks) == len(backward.CHECKS) + 1


@pytest.mark.parametrize("style", CORRECT)
@pytest.mark.parametrize("seed", range(5))
def test_correct_styles_pass(style, seed):
    """Do other correct classes (mask on ctx, rand >= p, the scaled mask saved, needs_input_grad) pass too?"""
    verdict = verdict_of(CORRECT[style], seed)
    assert verdict.passed, verdict


@pytest.mark.parametrize("name", WRONG)
@pytest.mark.parametrize("seed", range(2))
def test_each_mistake_fails_with_its_named_message(name, seed):
    """Is every wrong class failed by the check its mistake breaks, with a message that names the mistake?"""
    wrong = WRONG[name]
    verdict = verdict_of(wrong.code, seed)
    assert not verdict.passed
    assert not verdict[wrong.check].passed, f"{name}: {wrong.check} passed; failed: {[c.name for c in verdict.failed]}"
    assert wrong.phrase in verdict[wrong.check].message, verdict[wrong.check].message


def test_single_backward_mistakes_fail_nothing_else():
    """Does a mistake confined to backward leave every forward check passing (messages point at the real fault)?"""
    forward_checks = {"forward_output", "keep_fraction", "scale", "fresh_mask", "by_hand"}
    for name in ("no_scale_in_backward", "mask_of_ones", "in_place_grad_output", "too_many", "mask_on_the_class"):
        verdict = verdict_of(WRONG[name].code, 3)
        assert forward_checks.isdisjoint(c.name for c in verdict.failed), (name, verdict)


def test_a_fresh_backward_mask_is_told_apart_from_a_shared_one():
    """Are a new draw in backward and a mask kept on the class named differently?"""
    fresh = verdict_of(WRONG["fresh_mask_in_backward"].code, 1)["gradient"].message
    shared = verdict_of(WRONG["mask_on_the_class"].code, 1)["gradient"].message
    assert "Did you draw a new mask in backward?" in fresh and "class attribute" not in fresh
    assert "class attribute" in shared and "new mask" not in shared


# --- the by-hand rule, on source text ---------------------------------------------------------------

HONEST_LATER_CELLS = [
    ("7", "y = DropoutFunction.apply(x, 0.5, True)\ny.backward(torch.ones_like(y))\nprint(x.grad)"),
    ("8", "reference = F.dropout(x, 0.5)  # a comparison cell: the class does not use it\nlayer = nn.Dropout(0.5)"),
    ("9", "ok = torch.autograd.gradcheck(model, (X,))\nloss.backward()\ngrads = torch.autograd.grad(loss, [w])"),
]
MASK_LINE = "        mask = torch.empty_like(x).bernoulli_(1.0 - p)"


def by_hand(cells):
    """The by_hand check as grading decides it: the solution's reply, judged with this source (all cells)."""
    requests = EXERCISE.new_requests(np.random.default_rng(0))
    torch.manual_seed(0)
    reply = envelope_text(EXERCISE, build(SOLUTION), wire.roundtrip(requests))
    return EXERCISE.decide(requests, reply, source=scan.join_cells(cells + HONEST_LATER_CELLS))["by_hand"]


@pytest.mark.parametrize("cells, phrase", [
    ([("5", SOLUTION.replace(MASK_LINE, "        mask = (F.dropout(torch.ones_like(x), p) != 0).to(x.dtype)"))],
     "cell 5, line 10: uses F.dropout"),
    ([("4", "def draw(x, p):\n    return (F.dropout(torch.ones_like(x), p) != 0).to(x.dtype)"),
      ("5", SOLUTION.replace(MASK_LINE, "        mask = draw(x, p)"))], "cell 4, line 2: uses F.dropout"),
    ([("5", SOLUTION), ("6", "DropoutFunction = nn.Dropout")], "cell 6, line 1: uses nn.Dropout"),
    ([("4", "from torch.ops.aten import native_dropout_backward"),
      ("5", SOLUTION.replace("return grad_output * mask * ctx.scale, None, None",
                             "return native_dropout_backward(grad_output, mask, ctx.scale), None, None"))],
     "cell 4, line 1: imports native_dropout_backward from torch.ops.aten"),
    ([("5", SOLUTION.replace("return grad_output * mask * ctx.scale, None, None",
                             "return torch.autograd.grad(x * mask, x, grad_output)[0], None, None"))],
     "DropoutFunction.backward calls torch.autograd.grad (that asks autograd for the derivative)"),
    ([("5", SOLUTION.replace("        mask, = ctx.saved_tensors",
                             "        mask, = ctx.saved_tensors\n        out.backward(grad_output)"))],
     "DropoutFunction.backward calls out.backward"),
    ([("5", SOLUTION.replace("        mask, = ctx.saved_tensors",
                             "        mask, = ctx.saved_tensors\n        _, vjp = torch.func.vjp(f, x)"))],
     "DropoutFunction.backward calls torch.func.vjp"),
    ([("5", SOLUTION), ("6", "def broken(:\n    pass")], "the grader cannot read your code: cell 6, line 1"),
])
def test_the_by_hand_rule_reads_what_the_class_uses(cells, phrase):
    """Is PyTorch's dropout in the class or in code it uses, autograd inside the class, or an unreadable cell
    failed, naming cell and line?"""
    check = by_hand(cells)
    assert not check.passed and phrase in check.message, check.message
    assert check.message.endswith(backward.WRITE_IT)


def test_comparisons_and_autograd_outside_the_class_are_allowed():
    """Are a comparison with F.dropout, .backward(), gradcheck and autograd.grad in other cells left alone?"""
    assert by_hand([("5", SOLUTION)]).passed
    assert verdict_of(SOLUTION, 2, source=scan.join_cells([("5", SOLUTION), *HONEST_LATER_CELLS])).passed


def test_library_dropout_seen_only_at_run_time_fails():
    """Is PyTorch's dropout that the source scan cannot see (a name built at run time) caught by the detector?"""
    hidden = SOLUTION.replace("        mask = torch.empty_like(x).bernoulli_(1.0 - p)",
                              '        mask = (getattr(F, "drop" + "out")(torch.ones_like(x), p) != 0).to(x.dtype)')
    assert by_hand([("5", hidden)]).passed  # the text alone looks clean
    verdict = verdict_of(hidden, 0)
    assert not verdict["by_hand"].passed
    assert "while your code ran, it called torch.nn.functional.dropout" in verdict["by_hand"].message


# --- the target and the released notebook ------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:.*should not be instantiated")
@pytest.mark.parametrize("target, got", [
    (lambda cls: cls(), "got a DropoutFunction object, expected the class itself"),
    (lambda cls: cls.apply, "got a builtin_function_or_method object, expected the class itself"),
    (lambda cls: torch.nn.Module, "got a type object, expected a subclass of torch.autograd.Function"),
])
def test_a_wrong_target_fails_with_a_hint(target, got):
    """Is an instance, .apply or another class failed with what to pass instead?"""
    verdict = exercises.check(EXERCISE.key, target(build(SOLUTION)), rng=np.random.default_rng(0))
    assert not verdict.passed and got in verdict["function"].message
    assert "pass DropoutFunction" in verdict["function"].message


def test_the_released_blank_class_earns_nothing():
    """Does the learner's blank class (the released notebook, before any answer) fail every check but by_hand?"""
    blank = notebook_cell("notebooks", "dropout_backward")
    assert "raise NotImplementedError()" in blank and "### BEGIN SOLUTION" not in blank
    verdict = verdict_of(blank, 0)
    assert not verdict.passed
    assert {c.name for c in verdict.failed} == {name for name, _, _ in backward.CHECKS}
    assert "raised NotImplementedError" in verdict["scale"].message


def test_the_kernel_responder_serves_the_grader(monkeypatch):
    """Does the code the grader sends to the kernel run the probe on the learner's class, and the judge pass it?"""
    from dropout_kit.exercises import kernel

    published = []
    monkeypatch.setattr("IPython.display.publish_display_data", lambda data, **kw: published.append(data))
    requests = EXERCISE.new_requests(np.random.default_rng(11))
    exec(kernel.call_code(EXERCISE.key, EXERCISE.target, requests), {"DropoutFunction": build(SOLUTION)})
    [data] = published
    assert EXERCISE.decide(requests, data[kernel.MIME], source=scan.join_cells([("5", SOLUTION)])).passed


# --- golden files ------------------------------------------------------------------------------------

GOLDEN_CASES = {"solution": SOLUTION, "fresh_mask_in_backward": WRONG["fresh_mask_in_backward"].code,
                "too_many": WRONG["too_many"].code}


@pytest.mark.parametrize("name", [*GOLDEN_CASES, "forged_other_inputs"])
def test_golden_cases_judge_the_same(request, name):
    """Does the judge give today the verdicts recorded for the solution, two mistakes and a replayed reply?"""
    def make():
        torch.manual_seed(7)
        if name == "forged_other_inputs":  # the solution's reply to other requests, sent for seed 7's
            other = EXERCISE.new_requests(np.random.default_rng(8))
            reply = envelope_text(EXERCISE, build(SOLUTION), wire.roundtrip(other))
            return golden.record(EXERCISE, None, seed=7, source=None, reply_text=reply)
        text = GOLDEN_CASES[name]
        return golden.record(EXERCISE, build(text), seed=7, source=scan.join_cells([("5", text)]))

    recorded = golden.case(request, EXERCISE, name, make)
    assert golden.judge_again(EXERCISE, recorded).to_dict() == recorded["verdict"]
    assert recorded["verdict"]["passed"] is (name == "solution")
