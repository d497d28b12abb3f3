"""Tests of dropout_kit.quiz: questions, answer validation, self-study checks, the instructor's explanation,
the notebook's cells, and the explanations' claims measured with PyTorch and scikit-learn as the references.

The answer key lives in tests/quiz_answers.py, never shipped to learners. The judge itself, the key's
secrecy and forged replies are tested in tests/test_exercise_quiz.py.
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from dropout_kit import quiz
from dropout_kit.quiz import InvalidAnswerError, QuizError, UnknownQuestionError
from dropout_kit.verdict import Verdict
from quiz_answers import CHOICE_KEY, NUMBER_KEY, POINTS

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "solutions" / "03_quiz" / "03_quiz.ipynb"


def test_every_question_has_a_key():
    """Does the test key cover exactly the questions of the quiz, in the lesson's order, with their points?"""
    assert sorted(quiz.questions()) == sorted(CHOICE_KEY | NUMBER_KEY)
    assert quiz.questions()[:5] == ["purpose", "make_p30", "eval_output", "no_effect", "best_practice"]
    assert {q: quiz.question(q).points for q in quiz.questions()} == POINTS
    assert all(quiz.question(q).kind == "choice" and list(quiz.question(q).options) == list("ABCD")
               for q in CHOICE_KEY)
    assert all(quiz.question(q).kind == "number" and quiz.question(q).hint for q in NUMBER_KEY)


@pytest.mark.parametrize("form", ["{}", "{l}", " {}  ", "{})", "({l})", "{}.", "[{}]"])
@pytest.mark.parametrize("qid", CHOICE_KEY)
def test_right_letter_is_accepted_in_every_form(qid, form):
    """Is the right letter accepted as "d", " D ", "D)", "(d)", "D." ..., with its full explanation shown?"""
    right, why = CHOICE_KEY[qid]
    verdict = quiz.check(qid, form.format(right, l=right.lower()))
    assert isinstance(verdict, Verdict) and verdict.passed and verdict.exercise == qid
    assert len(verdict.notes) == 1 and why[right] in verdict.notes[0]


@pytest.mark.parametrize("qid", NUMBER_KEY)
def test_right_number_is_accepted_in_every_form(qid):
    """Is the right number accepted as a float, a rounded float, a string, a percentage and a tensor?"""
    value, _, phrase, _ = NUMBER_KEY[qid]
    forms = [value, round(value, 4), f"{value:.4f}", f" {100 * value:.2f}% ", f"{100 * value:.2f} %",
             torch.tensor(value), np.float32(value), np.array(value)]
    for form in forms:
        verdict = quiz.check(qid, form)
        assert verdict.passed, form
        assert phrase in verdict.notes[0]


@pytest.mark.parametrize("qid", NUMBER_KEY)
def test_tolerance_holds_at_its_edges(qid):
    """Is a number just inside the tolerance accepted, and one just outside rejected, on both sides?"""
    value, tol, _, _ = NUMBER_KEY[qid]
    stored = round(value, 5)  # the documented centre: the exact answer rounded to 5 decimals
    for sign in (-1, 1):
        assert quiz.check(qid, stored + sign * tol).passed  # inclusive edge
        assert quiz.check(qid, value + sign * (tol - 2e-5)).passed
        assert not quiz.check(qid, value + sign * (tol + 2e-5)).passed
        assert not quiz.check(qid, stored + sign * (tol + 1e-5)).passed
    assert quiz.question(qid).tolerance == tol
    assert f"accepted within ±{tol:g}" in quiz.question(qid).how_to_answer()


def test_two_decimals_pass_where_the_tolerance_allows_it():
    """Are answers rounded to two decimals accepted for the ±0.005 questions (0.875 rounds either way)?"""
    assert quiz.check("precision", 0.89).passed and quiz.check("precision", "89%").passed
    assert quiz.check("accuracy", 0.88).passed and quiz.check("accuracy", 0.87).passed
    assert not quiz.check("precision", 0.9).passed


def test_f1_tells_the_arithmetic_mean_apart():
    """Is the arithmetic mean of precision and recall rejected for F1, even rounded to four decimals?"""
    mean = (85 / 95 + 0.85) / 2
    verdict = quiz.check("f1", round(mean, 4))
    assert not verdict.passed and "arithmetic mean" in verdict["answer"].message
    assert quiz.check("f1", round(170 / 195, 4)).passed


@pytest.mark.parametrize("answer,problem", [
    ("E", "'E' is not an option"), ("e)", "is not an option"), (5, "5 (int) is not an option letter"),
    ("", "is empty"), ("   ", "is empty"), (None, "no answer to question 'purpose' yet (got None)"),
    (True, "(bool) is not an option letter"), ("A or B", "is not a single option letter"),
    (["B"], "(list) is not an option letter"), (0.5, "0.5 (float) is not an option letter"),
])
def test_invalid_letter_is_refused_clearly(answer, problem):
    """Is an answer that is no option letter refused by validate and check, naming the problem and the letters?"""
    for call in (quiz.validate, quiz.check):
        with pytest.raises(InvalidAnswerError) as info:
            call("purpose", answer)
        assert problem in str(info.value)
        assert "answer with one of the letters A, B, C, D" in str(info.value)
        assert isinstance(info.value, ValueError)


def test_option_text_instead_of_letter_points_to_the_letter():
    """Is an option's text refused with a pointer to its letter?"""
    with pytest.raises(InvalidAnswerError, match=r"is the text of option C; answer with its letter, \"C\""):
        quiz.check("make_p30", "nn.Dropout(rate=0.3)")


@pytest.mark.parametrize("answer,problem", [
    (None, "(got None)"), ("", "is empty"), ("abc", "'abc' is not a number"), ("%", "is empty"),
    (89.47, '89.47 is outside the range 0 to 1 of question \'precision\'; for a percentage write the string "89.47%"'),
    (12.5, 'for a percentage write the string "12.5%" or the fraction 0.125'),
    (-0.1, "-0.1 is outside the range 0 to 1"), ("150%", "1.5 is outside the range 0 to 1"),
    (float("nan"), "not a finite number"), ("inf", "not a finite number"), (True, "(bool) is not a number"),
    ([0.9], "(list) is not a number"), (torch.ones(2), "is not a single number"),
    (torch.tensor(True), "does not hold a number"), (np.bool_(True), "does not hold a number"),
])
def test_invalid_number_is_refused_clearly(answer, problem):
    """Is an answer that is no number in range refused by validate and check, naming the problem and the range?"""
    for call in (quiz.validate, quiz.check):
        with pytest.raises(InvalidAnswerError) as info:
            call("precision", answer)
        assert problem in str(info.value)
        assert "answer with one number from 0 to 1" in str(info.value)


@pytest.mark.parametrize("qid", ["nope", "", None, 3, "Purpose"])
def test_unknown_question_is_refused_clearly(qid):
    """Does an unknown question id raise an error that lists the known ids?"""
    calls = (lambda: quiz.check(qid, "A"), lambda: quiz.show(qid), lambda: quiz.validate(qid, "A"),
             lambda: quiz.explanation(qid))
    for call in calls:
        with pytest.raises(UnknownQuestionError, match=f"no quiz question has the id {re.escape(repr(qid))};"):
            call()
    with pytest.raises(ValueError, match="did you mean 'purpose'\\? the ids are: purpose, make_p30"):
        quiz.check("purpse", "A")


def test_validate_returns_the_normal_form():
    """Does validate turn answers into the letter or float that the judge receives?"""
    assert quiz.validate("purpose", " (c) ") == "C"
    assert quiz.validate("keep_prob", "20%") == pytest.approx(0.2)
    assert quiz.validate("keep_prob", torch.tensor([0.3])) == pytest.approx(0.3)


def test_question_and_verdict_render_in_a_notebook():
    """Do questions render as markdown, and verdicts as text and HTML, without the right answer when wrong?"""
    shown = quiz.show("make_p30")._repr_markdown_()
    assert shown.startswith("**Question `make_p30`** (1 point)")
    assert "- **C.** `nn.Dropout(rate=0.3)`" in shown
    assert "Set `answer_make_p30` to one letter (A, B, C or D), as a string." in shown
    assert "accepted within ±0.0003" in str(quiz.show("f1")) and "(2 points)" in str(quiz.show("f1"))
    # Graded feedback keeps only plain text: the question's plain form is its text, not a dataclass repr.
    assert repr(quiz.show("f1")) == str(quiz.show("f1")) and "Question(" not in repr(quiz.show("f1"))
    verdict = quiz.check("make_p30", "B")
    assert str(verdict).startswith("Question make_p30: NOT passed (1 of 1 checks failed)\n✗ answer: ")
    assert "You answered B: `nn.Dropout(30)`. Why not: " in str(verdict) and " Hint: " in str(verdict)
    assert "not a percentage" in verdict._repr_html_() and "inplace=False" not in verdict._repr_html_()


@pytest.mark.parametrize("qid", ["purpose", "f1"])
def test_explanation_gives_the_answer_and_its_explanation(qid):
    """Does the instructor's explanation name the right answer and explain it, for choices and numbers?"""
    text = quiz.explanation(qid)
    if qid in CHOICE_KEY:
        right, why = CHOICE_KEY[qid]
        assert text.startswith(f"Answer: {right}: {quiz.question(qid).options[right]}\n\n") and why[right] in text
    else:
        value, tol, phrase, _ = NUMBER_KEY[qid]
        assert text.startswith(f"Answer: {round(value, 5):g} (accepted within ±{tol:g})\n\n") and phrase in text


def test_explanation_needs_the_key(monkeypatch, tmp_path):
    """Without the key (a learner's kernel while grading), does explanation refuse, saying the grader judges?"""
    monkeypatch.setattr(quiz, "KEY_FILE", tmp_path / "quiz_key.json")
    with pytest.raises(QuizError, match="the grader judges the answers outside the notebook"):
        quiz.explanation("purpose")


# --- The notebook ------------------------------------------------------------------------------

def _notebook() -> dict:
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))


def test_solution_notebook_holds_answers_only_between_solution_markers():
    """Once nbgrader strips the solutions, does the notebook hold no answer assignment?"""
    released = "".join(re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "", "".join(c["source"]), flags=re.S)
                       for c in _notebook()["cells"])
    assert not re.search(r"answer_\w+\s*=\s*\S", released)
    assert "85 / (85" not in released


def test_notebook_asks_every_question_with_read_only_test_cells():
    """Does every question have one shown cell and one locked test cell: header, smoke check, verdict, assert?"""
    nb = _notebook()
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    graded = {c["metadata"]["nbgrader"]["grade_id"]: c for c in code if c["metadata"].get("nbgrader", {}).get("grade")}
    assert list(graded) == [f"test_{q}" for q in quiz.questions()]
    for qid in quiz.questions():
        cell, points = graded[f"test_{qid}"], POINTS[qid]
        assert cell["metadata"]["nbgrader"]["points"] == points and cell["metadata"]["nbgrader"]["locked"]
        lines = "".join(cell["source"]).splitlines()
        assert lines[0] == (f"# Read-only test cell: run it to check your answer "
                            f"({points} point{'' if points == 1 else 's'}).")
        assert lines[1].startswith("# Smoke check: ") and f'quiz.validate("{qid}", answer_{qid})' in lines[2]
        assert lines[3:] == [f'verdict = quiz.check("{qid}", answer_{qid})', "display(verdict)",
                             'assert verdict.passed, "not yet right: see the feedback above"']
    sources = ["".join(c["source"]) for c in code]
    assert all(sources.count(f'quiz.show("{q}")') == 1 for q in quiz.questions())
    intro = "".join(nb["cells"][0]["source"])
    assert "explains why *that* choice" in intro and "shows the full explanation" in intro
    assert "judges them outside the notebook" in intro


def test_released_notebook_matches_the_solution():
    """Is notebooks/03_quiz the release of the solution: same test cells, no answers?"""
    released = json.loads((ROOT / "notebooks" / "03_quiz" / "03_quiz.ipynb").read_text(encoding="utf-8"))
    tests = lambda nb: ["".join(c["source"]) for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")]
    assert tests(released) == tests(_notebook())
    assert not any(re.search(r"answer_\w+\s*=", "".join(c["source"])) for c in released["cells"])


# --- The explanations' claims, measured on PyTorch and scikit-learn -------------------------

def test_explained_constructor_errors_are_what_torch_raises():
    """Do nn.Dropout(30), nn.Dropout(p=30) and nn.Dropout(rate=0.3) fail as make_p30 explains?"""
    for make in (lambda: nn.Dropout(30), lambda: nn.Dropout(p=30)):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 30"):
            make()
    with pytest.raises(TypeError, match="unexpected keyword argument 'rate'"):
        nn.Dropout(rate=0.3)
    assert repr(nn.Dropout(0.3)) == "Dropout(p=0.3, inplace=False)"
    assert "dropout probability has to be between 0 and 1, but got 30" in quiz.check("make_p30", "B")["answer"].message
    assert "dropout probability has to be between 0 and 1, but got 30" in quiz.check("make_p30", "D")["answer"].message
    assert "unexpected keyword argument 'rate'" in quiz.check("make_p30", "C")["answer"].message
    assert "Dropout(p=0.3, inplace=False)" in quiz.check("make_p30", "A").notes[0]


def test_train_and_eval_outputs_are_as_explained():
    """Is eval mode the identity, a new layer in training mode, and every train-mode value 0 or 1/(1-p)?"""
    torch.manual_seed(0)
    layer = nn.Dropout(0.5)
    assert layer.training  # a new layer starts in training mode (no_effect)
    out_train = layer(torch.ones(4))
    assert set(out_train.tolist()) <= {0.0, 2.0}
    layer.eval()
    assert torch.equal(layer(torch.ones(4)), torch.ones(4))  # eval_output: C
    assert torch.equal(layer(torch.ones(1000)), torch.ones(1000))  # stays off until train()
    values = set(nn.Dropout(0.2)(torch.ones(10_000)).tolist())
    assert values == {0.0, 1.25}  # train_values: B
    assert (nn.Dropout(0.4)(torch.ones(10_000)) == 0).float().mean().item() == pytest.approx(0.4, abs=0.03)


def test_functional_dropout_and_no_grad_are_as_explained():
    """Does F.dropout default to training=True, and does no_grad leave nn.Dropout dropping?"""
    assert inspect.signature(F.dropout).parameters["training"].default is True

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 1000)

        def forward(self, X):
            return F.dropout(self.fc(X), p=0.3)

    torch.manual_seed(0)
    net = Net().eval()
    with torch.no_grad():
        assert (net(torch.ones(1, 4)) == 0).any()  # functional_training: still drops after eval()
        assert (nn.Dropout(0.3).train()(torch.ones(1000)) == 0).any()  # forgot_eval: no_grad doesn't stop it
    model = nn.Sequential(nn.Linear(128, 10), nn.Dropout(0.3))  # output_layer: legal as last module
    assert model(torch.ones(2, 128)).shape == (2, 10)
    assert sum(p.numel() for p in model.parameters()) == 1290
    model.eval()
    assert not any(m.training for m in model.modules())


def test_metric_answers_agree_with_scikit_learn():
    """Do the key's precision, recall, accuracy and F1 match scikit-learn on TP=85, FP=10, TN=90, FN=15?"""
    metrics = pytest.importorskip("sklearn.metrics")
    y = np.array([1] * 85 + [0] * 10 + [0] * 90 + [1] * 15)
    y_hat = np.array([1] * 85 + [1] * 10 + [0] * 90 + [0] * 15)
    assert metrics.confusion_matrix(y, y_hat, labels=[1, 0]).tolist() == [[85, 15], [10, 90]]
    reference = {"precision": metrics.precision_score(y, y_hat), "recall": metrics.recall_score(y, y_hat),
                 "accuracy": metrics.accuracy_score(y, y_hat), "f1": metrics.f1_score(y, y_hat)}
    for qid, value in reference.items():
        assert NUMBER_KEY[qid][0] == pytest.approx(value, abs=1e-12)
        assert quiz.check(qid, value).passed


def test_every_formula_a_mistake_names_gives_that_mistake():
    """Does each known mistake's feedback ("That is FP / (TP + FP) ...") name the formula that gives its value?"""
    tp, fp, tn, fn = 85, 10, 90, 15
    p, r = tp / (tp + fp), tp / (tp + fn)
    formulas = {"TP / (TP + FN)": r, "TP / (TP + FP)": p, "(TP + TN) / 200": (tp + tn) / 200,
                "FP / (TP + FP)": fp / (tp + fp), "TP / 200": tp / 200, "TN / (TN + FP)": tn / (tn + fp),
                "FN / (TP + FN)": fn / (tp + fn), "TP / (TP + FP + FN)": tp / (tp + fp + fn),
                "(FP + FN) / 200": (fp + fn) / 200, "(P + R) / 2": (p + r) / 2}
    named = 0
    for qid, (_, _, _, slips) in NUMBER_KEY.items():
        for slip in slips:
            why = quiz.check(qid, slip)["answer"].message.split(" Hint: ")[0]
            for formula in (f for f in formulas if f"That is {f}" in why or f"That is the arithmetic mean {f}" in why):
                named += 1
                assert formulas[formula] == pytest.approx(slip, abs=1e-5), (qid, formula)
    assert named >= 12
