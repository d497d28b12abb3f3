"""Tests of dropout_kit.quiz and quiz_authoring, with PyTorch and scikit-learn as the references.

The answer key lives here, in the tests, which are never shipped to learners; the
package only holds hashes. Each option's snippet is a phrase that only that option's
explanation contains, so a test can tell that the right explanation was shown.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from dropout_kit import quiz, quiz_authoring
from dropout_kit.quiz import InvalidAnswerError, UnknownQuestionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "solutions" / "03_quiz" / "03_quiz.ipynb"

# question id -> (right letter, {letter: a phrase only that option's explanation contains})
CHOICE_KEY = {
    "purpose": ("B", {"A": "never touches the learning rate", "B": "fresh random mask",
                      "C": "skips no layer", "D": "Data augmentation changes"}),
    "make_p30": ("A", {"A": "prints as `Dropout(p=0.3, inplace=False)`", "B": "not a percentage",
                       "C": "unexpected keyword argument 'rate'", "D": "Naming the argument"}),
    "eval_output": ("C", {"A": "what `out_train` can look like", "B": "only sets `layer.training = False`",
                          "C": "is the identity", "D": "only when p = 1"}),
    "no_effect": ("D", {"A": "CPU and GPU", "B": "about 40% of the elements",
                        "C": "the other way round", "D": "starts in training mode"}),
    "best_practice": ("D", {"A": "predictions are random", "B": "removes the whole benefit",
                            "C": "after both hidden layers", "D": "full, deterministic network"}),
    "self_check_gap": ("C", {"A": "memorised rather than learned", "B": "not to widen it",
                             "C": "Too much dropout underfits", "D": "one final estimate"}),
    "train_values": ("B", {"A": "*inverted* dropout", "B": "expected value stays 1",
                           "C": "original dropout paper", "D": "Bernoulli"}),
    "output_layer": ("A", {"A": "allowed, just unhelpful", "B": "runs without error",
                           "C": "1,290 parameters", "D": "every submodule"}),
    "forgot_eval": ("C", {"A": "only stops PyTorch from recording", "B": "needs no gradients",
                          "C": "randomly thinned network", "D": "spoils the measurement"}),
    "functional_training": ("A", {"A": "training=self.training", "B": "plain function that only sees",
                                  "C": "unfortunately in evaluation too", "D": "`training` is optional"}),
    "replace_validation": ("D", {"A": "does not remove it", "B": "No rate is best",
                                 "C": "needs no data at all", "D": "different jobs"}),
}
# question id -> (exact value, tolerance, phrase of the explanation, {known slip: its phrase})
NUMBER_KEY = {
    "precision": (85 / 95, 0.005, "85 / 95", {0.85: "That is the **recall**", 0.875: "That is the **accuracy**"}),
    "recall": (85 / 100, 0.005, "85 / 100 = 0.85", {85 / 95: "That is the **precision**", 0.9: "specificity"}),
    "accuracy": (175 / 200, 0.005, "175 / 200", {85 / 110: "leaves out the 90 true negatives",
                                                 85 / 200: "counts only the true positives"}),
    "f1": (170 / 195, 0.0003, "170 / 195", {(85 / 95 + 0.85) / 2: "arithmetic mean", 0.875: "F1 ignores"}),
    "keep_prob": (0.2, 0.005, "1 − 0.8 = 0.2", {0.8: "the keep probability itself"}),
}
POINTS = {**{q: 1 for q in CHOICE_KEY}, **{q: 1 for q in NUMBER_KEY}, "f1": 2}


def test_every_question_has_a_key():
    """Does the test key cover exactly the questions of the quiz, in the lesson's order?"""
    assert sorted(quiz.questions()) == sorted(CHOICE_KEY | NUMBER_KEY)
    assert quiz.questions()[:5] == ["purpose", "make_p30", "eval_output", "no_effect", "best_practice"]
    assert {q: quiz.question(q).points for q in quiz.questions()} == POINTS
    assert all(quiz.question(q).kind == "choice" and list(quiz.question(q).options) == list("ABCD")
               for q in CHOICE_KEY)


@pytest.mark.parametrize("form", ["{}", "{l}", " {}  ", "{})", "({l})", "{}.", "[{}]"])
@pytest.mark.parametrize("qid", CHOICE_KEY)
def test_right_letter_is_accepted_in_every_form(qid, form):
    """Is the right letter accepted as "d", " D ", "D)", "(d)", "D." ...?"""
    right, why = CHOICE_KEY[qid]
    result = quiz.check(qid, form.format(right, l=right.lower()))
    assert result.correct and result.answer == right and result.score == POINTS[qid]
    assert "✅ **Right.**" in result.message and why[right] in result.message
    assert f"{POINTS[qid]}/{POINTS[qid]} point" in result.message


@pytest.mark.parametrize("qid,wrong", [(q, l) for q, (right, _) in CHOICE_KEY.items() for l in "ABCD" if l != right])
def test_wrong_option_is_rejected_with_its_own_explanation(qid, wrong):
    """Is a wrong option marked wrong, explained, and followed by why the right one is right?"""
    right, why = CHOICE_KEY[qid]
    result = quiz.check(qid, wrong.lower())
    assert not result.correct and result.score == 0
    assert f"You answered {wrong}:" in result.message
    assert f"**Why not {wrong}:** " in result.message and why[wrong] in result.message
    assert f"**The right answer is {right}:**" in result.message and why[right] in result.message
    others = set("ABCD") - {wrong, right}
    assert not any(why[o] in result.message for o in others)


@pytest.mark.parametrize("qid", NUMBER_KEY)
def test_right_number_is_accepted_in_every_form(qid):
    """Is the right number accepted as a float, a rounded float, a string, a percentage and a tensor?"""
    value, _, phrase, _ = NUMBER_KEY[qid]
    forms = [value, round(value, 4), f"{value:.4f}", f" {100 * value:.2f}% ", f"{100 * value:.2f} %",
             torch.tensor(value), np.float32(value), np.array(value)]
    for form in forms:
        result = quiz.check(qid, form)
        assert result.correct, form
        assert result.score == POINTS[qid] and math.isclose(result.answer, value, abs_tol=1e-4)
        assert phrase in result.message


@pytest.mark.parametrize("qid", NUMBER_KEY)
def test_tolerance_holds_at_its_edges(qid):
    """Is a number just inside the tolerance accepted, and one just outside rejected, on both sides?"""
    value, tol, _, _ = NUMBER_KEY[qid]
    stored = round(value, 5)  # the documented centre: the exact answer rounded to 5 decimals
    for sign in (-1, 1):
        assert quiz.check(qid, stored + sign * tol).correct  # inclusive edge
        assert quiz.check(qid, value + sign * (tol - 2e-5)).correct
        assert not quiz.check(qid, value + sign * (tol + 2e-5)).correct
        assert not quiz.check(qid, stored + sign * (tol + 1e-5)).correct
    assert quiz.question(qid).tolerance == tol
    assert f"accepted within ±{tol:g}" in quiz.question(qid).how_to_answer()


def test_two_decimals_pass_where_the_tolerance_allows_it():
    """Are answers rounded to two decimals accepted for the ±0.005 questions (0.875 rounds either way)?"""
    assert quiz.check("precision", 0.89).correct and quiz.check("precision", "89%").correct
    assert quiz.check("accuracy", 0.88).correct and quiz.check("accuracy", 0.87).correct
    assert not quiz.check("precision", 0.9).correct


@pytest.mark.parametrize("qid,slip", [(q, s) for q, k in NUMBER_KEY.items() for s in k[3]])
def test_known_slips_get_their_own_explanation(qid, slip):
    """Is a typical wrong number (recall for precision, keep_prob for p ...) explained specifically?"""
    value, _, phrase, slips = NUMBER_KEY[qid]
    result = quiz.check(qid, slip)
    assert not result.correct and result.score == 0
    assert "**Why not:** " in result.message and slips[slip] in result.message
    assert f"**How to get it:** " in result.message and phrase in result.message
    assert not any(slips[s] in result.message for s in slips if s != slip)


def test_f1_tells_the_arithmetic_mean_apart():
    """Is the arithmetic mean of precision and recall rejected for F1, even rounded to four decimals?"""
    mean = (85 / 95 + 0.85) / 2
    assert not quiz.check("f1", round(mean, 4)).correct
    assert quiz.check("f1", round(170 / 195, 4)).correct


@pytest.mark.parametrize("answer,problem", [
    ("E", "'E' is not an option"), ("e)", "is not an option"), (5, "5 (int) is not an option letter"),
    ("", "is empty"), ("   ", "is empty"), (None, "no answer to question 'purpose' yet (got None)"),
    (True, "(bool) is not an option letter"), ("A or B", "is not a single option letter"),
    (["B"], "(list) is not an option letter"),
])
def test_invalid_letter_is_refused_clearly(answer, problem):
    """Is an answer that is no option letter refused, naming the problem and the valid letters?"""
    with pytest.raises(InvalidAnswerError) as info:
        quiz.check("purpose", answer)
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
    (-0.1, "-0.1 is outside the range 0 to 1"), ("150%", "1.5 is outside the range 0 to 1"),
    (float("nan"), "not a finite number"), ("inf", "not a finite number"), (True, "(bool) is not a number"),
    ([0.9], "(list) is not a number"), (torch.ones(2), "is not a single number"),
    (torch.tensor(True), "does not hold a number"), (np.bool_(True), "does not hold a number"),
])
def test_invalid_number_is_refused_clearly(answer, problem):
    """Is an answer that is no number in range refused, naming the problem and what is valid?"""
    with pytest.raises(InvalidAnswerError) as info:
        quiz.check("precision", answer)
    assert problem in str(info.value)
    assert "answer with one number from 0 to 1" in str(info.value)


@pytest.mark.parametrize("qid", ["nope", "", None, 3, "Purpose"])
def test_unknown_question_is_refused_clearly(qid):
    """Does an unknown question id raise an error that lists the known ids?"""
    for call in (lambda: quiz.check(qid, "A"), lambda: quiz.show(qid), lambda: quiz.validate(qid, "A")):
        with pytest.raises(UnknownQuestionError, match=f"no quiz question has the id {re.escape(repr(qid))};"):
            call()
    with pytest.raises(ValueError, match="did you mean 'purpose'\\? the ids are: purpose, make_p30"):
        quiz.check("purpse", "A")


def test_validate_returns_the_normal_form():
    """Does validate turn answers into the letter or float that check grades?"""
    assert quiz.validate("purpose", " (c) ") == "C"
    assert quiz.validate("keep_prob", "20%") == pytest.approx(0.2)
    assert quiz.validate("keep_prob", torch.tensor([0.3])) == pytest.approx(0.3)


def test_question_and_feedback_render_in_a_notebook():
    """Do questions and feedback render as markdown, and print without markdown bold?"""
    shown = quiz.show("make_p30")._repr_markdown_()
    assert shown.startswith("**Question `make_p30`** (1 point)")
    assert "- **C.** `nn.Dropout(rate=0.3)`" in shown
    assert "Set `answer_make_p30` to one letter (A, B, C or D), as a string." in shown
    assert "accepted within ±0.0003" in str(quiz.show("f1")) and "(2 points)" in str(quiz.show("f1"))
    result = quiz.check("make_p30", "B")
    assert result._repr_markdown_() == result.message
    assert str(result).startswith("❌ Not right. You answered B: `nn.Dropout(30)`") and "**" not in str(result)
    assert str(result).endswith("*Question `make_p30`: 0/1 point*")


def _plain_key_strings() -> list[str]:
    """Texts that would give answers away if they appeared in the shipped files."""
    stored = json.loads(quiz.QUESTIONS_FILE.read_text(encoding="utf-8"))
    texts = []
    for q in stored["questions"]:
        blobs = list(q.get("feedback", {}).values()) + [q.get("explanation")] + [
            m["feedback"] for m in q.get("mistakes", [])]
        texts += [quiz.decode_text(b)[:40] for b in blobs if b]
    for qid, (value, *_) in NUMBER_KEY.items():
        if qid != "keep_prob":  # 0.2 itself is in a prompt, nn.Dropout(0.2); see the pattern below
            texts += [f"{value:.4f}", f"{value:.3f}", f"{100 * value:.2f}%", f"{100 * value:.1f}%"]
    return texts + ["85 / 95", "85/95", "170 / 195", "170/195", "175 / 200"]


def test_answers_are_not_in_plain_text_in_the_package():
    """Are the answers and their explanations absent, as plain text, from quiz*.py and the JSON?"""
    files = sorted((ROOT / "dropout_kit").glob("quiz*.py")) + [quiz.QUESTIONS_FILE]
    assert len(files) >= 3
    for path in files:
        text = path.read_text(encoding="utf-8")
        leaked = [t for t in _plain_key_strings() if t in text]
        assert not leaked, f"{path.name} gives away {leaked}"
        for pattern in (r'"answer"\s*:', r'answer\w*\s*[:=]\s*["\'][A-D]["\']', r'"(correct|right)\w*"\s*:',
                        r"p\s*=\s*0?\.20*\b"):
            assert not re.search(pattern, text), (path.name, pattern)


def test_solution_notebook_holds_answers_only_between_solution_markers():
    """Once nbgrader strips the solutions, does the notebook hold no answer assignment?"""
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    released = "".join(re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "", "".join(c["source"]), flags=re.S)
                       for c in nb["cells"])
    assert not re.search(r"answer_\w+\s*=\s*\S", released)
    assert "85 / (85" not in released


def test_notebook_asks_every_question_with_the_banks_points():
    """Does the notebook show, answer and test every question once, with its points and no outputs?"""
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    graded = {c["metadata"]["nbgrader"]["grade_id"]: c for c in code if c["metadata"].get("nbgrader", {}).get("grade")}
    assert list(graded) == [f"test_{q}" for q in quiz.questions()]
    for qid in quiz.questions():
        cell = graded[f"test_{qid}"]
        assert cell["metadata"]["nbgrader"]["points"] == POINTS[qid] and cell["metadata"]["nbgrader"]["locked"]
        assert f'feedback = quiz.check("{qid}", answer_{qid})' in "".join(cell["source"])
        assert "".join(cell["source"]).rstrip().endswith("assert feedback.correct")
    sources = ["".join(c["source"]) for c in code]
    assert all(sources.count(f'quiz.show("{q}")') == 1 for q in quiz.questions())


@functools.lru_cache(maxsize=1)
def _stored_and_plain() -> tuple[dict, dict]:
    stored = json.loads(quiz.QUESTIONS_FILE.read_text(encoding="utf-8"))
    return stored, quiz_authoring.decode(stored)  # decoding scans every grid point: once is enough


def _plain() -> dict:
    return copy.deepcopy(_stored_and_plain()[1])


def test_authoring_round_trip_recovers_the_key():
    """Does export recover this file's key, and does build reproduce the same hashes from it?"""
    stored, plain = _stored_and_plain()
    answers = {q["id"]: q["answer"] for q in plain["questions"]}
    assert {q: answers[q] for q in CHOICE_KEY} == {q: k[0] for q, k in CHOICE_KEY.items()}
    assert all(answers[q] == round(k[0], 5) for q, k in NUMBER_KEY.items())
    rebuilt = quiz_authoring.encode(plain)
    assert _readable(rebuilt) == _readable(stored)  # same hashes, same texts (zlib bytes may vary)


def _readable(stored: dict) -> str:
    """The stored quiz with its compressed texts decoded, for comparison."""
    def walk(x, key=None):
        if key in ("feedback", "explanation") and isinstance(x, str):
            return quiz.decode_text(x)
        if isinstance(x, dict):  # a choice's feedback is {letter: text}: its values are texts too
            return {k: walk(v, key if key == "feedback" else k) for k, v in x.items()}
        return [walk(v, key) for v in x] if isinstance(x, list) else x
    return json.dumps(walk(stored), sort_keys=True)


def test_authoring_refuses_a_broken_quiz():
    """Does build refuse a missing explanation, an unreachable slip and a tolerance off the grid?"""
    plain = _plain()
    by_id = {q["id"]: q for q in plain["questions"]}
    del by_id["purpose"]["feedback"]["A"]
    with pytest.raises(ValueError, match="purpose: the answer must be an option and every option needs feedback"):
        quiz_authoring.encode(plain)
    plain = _plain()
    f1 = next(q for q in plain["questions"] if q["id"] == "f1")
    f1["mistakes"].append({"value": f1["answer"] + 0.0001, "feedback": "x"})
    with pytest.raises(ValueError, match="f1: mistake .* is within the tolerance of the answer"):
        quiz_authoring.encode(plain)
    f1["mistakes"].pop()
    f1["tolerance"] = 0.000015
    with pytest.raises(ValueError, match="not a whole multiple of the grid"):
        quiz_authoring.encode(plain)


# --- The explanations' claims, measured on PyTorch and scikit-learn -------------------------

def test_explained_constructor_errors_are_what_torch_raises():
    """Do nn.Dropout(30), nn.Dropout(p=30) and nn.Dropout(rate=0.3) fail as make_p30 explains?"""
    for make in (lambda: nn.Dropout(30), lambda: nn.Dropout(p=30)):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 30"):
            make()
    with pytest.raises(TypeError, match="unexpected keyword argument 'rate'"):
        nn.Dropout(rate=0.3)
    assert repr(nn.Dropout(0.3)) == "Dropout(p=0.3, inplace=False)"
    why = quiz.check("make_p30", "A").message
    assert "dropout probability has to be between 0 and 1, but got 30" in quiz.check("make_p30", "B").message
    assert "unexpected keyword argument 'rate'" in quiz.check("make_p30", "C").message
    assert "Dropout(p=0.3, inplace=False)" in why


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
        assert quiz.check(qid, value).correct
