"""Tests of dropout_kit.exercises.quiz: every quiz question as a probe and a judge.

The judge against the solution's answers and every wrong option and known mistake; feedback that
never gives the answer away; brute force without the key (the grading kernel) learning nothing;
the trusted judge scoring what the kernel's probe sends; forged and malformed replies; golden files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import golden
from dropout_kit import exercises, quiz
from dropout_kit.exercises import wire
from dropout_kit.exercises import quiz as quiz_exercises
from dropout_kit.exercises.base import envelope_text
from quiz_answers import CHOICE_KEY, NUMBER_KEY

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "solutions" / "03_quiz" / "03_quiz.ipynb"
GRADER_SAYS = "the grader judges the answers outside the notebook"


def judge(qid: str, answer):
    """What the grader decides on ``answer``: the kernel's probe, then the judge in this (trusted) process."""
    exercise = exercises.get(qid)
    requests = exercise.new_requests(np.random.default_rng(0))
    return exercise.decide(requests, envelope_text(exercise, answer, wire.roundtrip(requests)))


def seen(verdict) -> str:
    """Everything a learner sees of a verdict: text (checks, messages, notes) and HTML."""
    return str(verdict) + "\n" + verdict._repr_html_()


@pytest.fixture
def no_key(monkeypatch, tmp_path):
    """The grading kernel: the key file is hidden (here: missing)."""
    monkeypatch.setattr(quiz, "KEY_FILE", tmp_path / "hidden" / "quiz_key.json")


def test_every_question_is_a_registered_exercise():
    """Is each question an exercise of lesson 03 keyed by its id, probing answer_<id>, graded in test_<id>,
    with the key among the files that grading hides from the kernel?"""
    for qid in quiz.questions():
        exercise = exercises.get(qid)
        assert (exercise.lesson, exercise.target, exercise.grade_id) == ("03_quiz", f"answer_{qid}", f"test_{qid}")
        assert exercise.hidden == (quiz.KEY_FILE,) and quiz.KEY_FILE.is_file()  # what grading hides from the kernel
        assert exercises.for_grade_id(f"test_{qid}") is exercise
    assert [e.key for e in quiz_exercises.EXERCISES] == quiz.questions()


def _solution_answers() -> dict:
    """The answer cells of the solution notebook, run as the notebook runs them."""
    namespace: dict = {}
    for cell in json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            exec("".join(cell["source"]), namespace)
    return {k.removeprefix("answer_"): v for k, v in namespace.items() if k.startswith("answer_")}


def test_solution_answers_pass_every_question():
    """Does the judge pass the solution notebook's answer to every question, with its full explanation?"""
    answers = _solution_answers()
    assert sorted(answers) == sorted(quiz.questions())
    for qid, answer in answers.items():
        verdict = judge(qid, answer)
        assert verdict.passed, verdict
        phrase = CHOICE_KEY[qid][1][CHOICE_KEY[qid][0]] if qid in CHOICE_KEY else NUMBER_KEY[qid][2]
        assert phrase in verdict.notes[0]


@pytest.mark.parametrize("qid,wrong", [(q, l) for q, (right, _) in CHOICE_KEY.items() for l in "ABCD" if l != right])
def test_wrong_option_fails_with_its_own_feedback(qid, wrong):
    """Is a wrong option failed with why that option is wrong and a hint, and nothing of the other options?"""
    right, phrases = CHOICE_KEY[qid]
    verdict = judge(qid, wrong.lower())
    assert not verdict.passed and verdict.notes == ()
    message = verdict["answer"].message
    assert message.startswith(f"You answered {wrong}: ") and " Why not: " in message and " Hint: " in message
    assert phrases[wrong] in message
    assert not any(phrases[o] in seen(verdict) for o in "ABCD" if o != wrong)


@pytest.mark.parametrize("qid,slip", [(q, s) for q, k in NUMBER_KEY.items() for s in k[3]])
def test_known_mistake_fails_with_its_own_feedback(qid, slip):
    """Is a typical wrong number (recall for precision, keep_prob for p ...) failed with what mistake gives it?"""
    _, _, phrase, slips = NUMBER_KEY[qid]
    verdict = judge(qid, slip)
    assert not verdict.passed and verdict.notes == ()
    message = verdict["answer"].message
    assert slips[slip] in message and " Hint: " in message and phrase not in seen(verdict)
    assert not any(slips[s] in message for s in slips if s != slip)


@pytest.mark.parametrize("qid", NUMBER_KEY)
def test_other_wrong_numbers_get_the_general_hint(qid):
    """Is a wrong number that is no known mistake failed with the question's general hint?"""
    verdict = judge(qid, 0.01)
    assert verdict["answer"].message == (f"You answered 0.01. Why not: That is not within ±{NUMBER_KEY[qid][1]:g} "
                                         f"of the answer. Hint: {quiz.question(qid).hint}")


def _wrong_verdicts():
    """(question, verdict) for every wrong option, every known mistake and a few other wrong numbers."""
    for qid, (right, _) in CHOICE_KEY.items():
        for letter in "ABCD":
            if letter != right:
                yield qid, judge(qid, letter)
    for qid, (value, tol, _, slips) in NUMBER_KEY.items():
        for wrong in [*slips, 0.0, 0.33, 0.5, 0.99]:
            yield qid, judge(qid, wrong)


# Phrases that would name the right letter as the answer, checked with this test's own patterns.
def _naming(letter: str) -> list[str]:
    return [rf"answer\s+is\s*\W?{letter}\b", rf"\b(option|choice|letter)\s*\W?{letter}\b",
            rf"(?<![\w`]){letter}\W?\s+is\s+(right|correct)", r"(?i)\b(right|correct)\s+(option|answer|choice)\b",
            r"(?i)\bis right\b"]


def test_no_wrong_feedback_gives_the_answer_away():
    """Does no wrong answer's feedback name the right letter, quote its option, or state the right value?"""
    count = 0
    for qid, verdict in _wrong_verdicts():
        count += 1
        assert not verdict.passed
        text = seen(verdict)
        if qid in CHOICE_KEY:
            right, phrases = CHOICE_KEY[qid]
            leaks = [p for p in _naming(right) if re.search(p, verdict["answer"].message)]
            option = re.sub(r"[`\s]", "", quiz.question(qid).options[right])
            assert option not in re.sub(r"[`\s]", "", verdict["answer"].message), (qid, "quotes the right option")
            assert phrases[right] not in text
        else:
            value = NUMBER_KEY[qid][0]
            forms = {f"{value:.{d}f}" for d in (2, 3, 4)} | {f"{100 * value:.{d}f}%" for d in (0, 1, 2)}
            leaks = [f for f in forms if re.search(rf"(?<![\d.]){re.escape(f)}(?!\d)", text)]
        assert not leaks, (qid, leaks, verdict["answer"].message)
    assert count == 11 * 3 + sum(len(k[3]) for k in NUMBER_KEY.values()) + 4 * len(NUMBER_KEY)


def test_checks_of_the_test_patterns_would_catch_a_leak():
    """Would the no-leak test catch feedback naming the right answer (so that it can fail)?"""
    assert any(re.search(p, "Not A: the correct option is B.") for p in _naming("B"))
    assert any(re.search(p, "The answer is (B).") for p in _naming("B"))
    assert not any(re.search(p, "You answered A: `nn.Dropout(30)`. A new layer starts in training mode.")
                   for p in _naming("B"))


# --- Without the key: the grading kernel ----------------------------------------------------------

def _every_try(qid: str) -> list:
    """Brute force: every option letter, or every number of the range by the tolerance."""
    q = quiz.question(qid)
    if q.kind == "choice":
        return list(q.options)
    lo, hi = q.range
    return [float(x) for x in np.arange(lo, hi + q.tolerance, q.tolerance) if lo <= x <= hi]


@pytest.mark.parametrize("qid", ["purpose", "precision", "f1"])
def test_brute_force_without_the_key_earns_nothing(no_key, qid):
    """In a kernel that cannot read the key, does every try fail alike, saying that the grader judges?"""
    tries = _every_try(qid)
    verdicts = [quiz.check(qid, answer) for answer in tries]
    assert len(tries) >= 4 and not any(v.passed for v in verdicts)
    assert len({json.dumps(v.to_dict(), sort_keys=True) for v in verdicts}) == 1  # nothing tells one from another
    assert GRADER_SAYS in verdicts[0]["key"].message and "no code in the notebook can see the key" in str(verdicts[0])
    assert all(exercises.check(qid, answer).to_dict() == verdicts[0].to_dict() for answer in tries[:3])


def test_an_empty_or_damaged_key_fails_closed(monkeypatch, tmp_path):
    """Is an empty, non-JSON, foreign or tampered key failed for every answer, saying why, never passed?"""
    real = json.loads(quiz.KEY_FILE.read_text(encoding="utf-8"))
    garbled = json.loads(json.dumps(real))
    for record in garbled["questions"].values():
        record["entries"] = {t: "QUJD" + box[4:] for t, box in record["entries"].items()}
    emptied = {**real, "questions": {"purpose": [], "precision": {"entries": {}}}}
    cases = [("", GRADER_SAYS), ("{not json", GRADER_SAYS), ('{"format": 2}', GRADER_SAYS), ("[]", GRADER_SAYS),
             (json.dumps(garbled), "is damaged"), (json.dumps(emptied), "has no entries for question")]
    path = tmp_path / "quiz_key.json"
    monkeypatch.setattr(quiz, "KEY_FILE", path)
    for content, problem in cases:
        path.write_text(content)
        for qid, tries in (("purpose", "ABCD"), ("precision", [0.85, 85 / 95])):
            verdicts = [quiz.check(qid, answer) for answer in tries]
            assert not any(v.passed for v in verdicts) and problem in verdicts[0]["key"].message, content[:20]


def test_a_brute_forcing_answer_cell_finds_nothing_in_grading(no_key, monkeypatch):
    """Does an answer cell that keeps whichever option passes keep none in the grading kernel, and score 0?"""
    cell = ("from dropout_kit import quiz\n"
            "answer_purpose = next((a for a in 'ABCD' if quiz.check('purpose', a).passed), 'A')\n")
    namespace: dict = {}
    exec(cell, namespace)  # the learner's kernel, where the key is hidden
    exercise = exercises.get("purpose")
    requests = exercise.new_requests()
    reply = envelope_text(exercise, namespace["answer_purpose"], wire.roundtrip(requests))
    monkeypatch.undo()  # the grader's process, where the key is readable
    assert namespace["answer_purpose"] == "A" and not exercise.decide(requests, reply).passed


@pytest.mark.parametrize("qid", quiz.questions())
def test_the_trusted_judge_scores_what_the_hidden_kernel_sends(qid, monkeypatch, tmp_path):
    """Does the probe run without the key, and the grader's judge with it pass the right and fail a wrong answer?"""
    right = CHOICE_KEY[qid][0] if qid in CHOICE_KEY else NUMBER_KEY[qid][0]
    wrong = next(iter(set("ABCD") - {right})) if qid in CHOICE_KEY else next(iter(NUMBER_KEY[qid][3]))
    exercise = exercises.get(qid)
    requests = exercise.new_requests()
    monkeypatch.setattr(quiz, "KEY_FILE", tmp_path / "hidden.json")
    replies = [envelope_text(exercise, answer, wire.roundtrip(requests)) for answer in (right, wrong)]
    monkeypatch.undo()
    assert [exercise.decide(requests, reply).passed for reply in replies] == [True, False]


# --- Forged and malformed replies -----------------------------------------------------------------

@pytest.mark.parametrize("qid,reply,problem", [
    ("purpose", ["B"], "the answer must be a letter or a number, got list"),
    ("purpose", {"passed": True}, "the answer must be a letter or a number, got dict"),
    ("purpose", None, "the answer must be a letter or a number, got NoneType"),
    ("purpose", True, "the answer must be a letter or a number, got bool"),
    ("purpose", 0.5, "0.5 (float) is not an option letter of question 'purpose'"),
    ("purpose", "B" * 10_000_000, "the answer has 10000000 characters; at most 200 are accepted"),
    ("purpose", "E", "'E' is not an option of question 'purpose'"),
    ("precision", float("nan"), "nan is not a finite number"),
    ("precision", float("inf"), "inf is not a finite number"),
    ("precision", [0.8947], "the answer must be a letter or a number, got list"),
    ("precision", {"__array__": "AAAAAAAA8D8=", "dtype": "float64", "shape": [1]},
     "the answer must be a letter or a number, got ndarray"),
    ("precision", 89.47, "89.47 is outside the range 0 to 1"),
    ("precision", "B", "'B' is not a number"),
])
def test_forged_replies_fail_closed_with_a_reason(qid, reply, problem):
    """Does the judge fail a reply no probe sends (wrong type, NaN, 10 MB, out of range) and say why?"""
    exercise = exercises.get(qid)
    text = json.dumps({"ok": True, "reply": reply})
    verdict = exercise.decide(exercise.new_requests(), text)
    assert not verdict.passed and problem in verdict.checks[0].message


def test_a_reply_without_an_answer_or_with_an_error_fails():
    """Does an envelope with no reply, or one reporting the probe's error, fail with that reason?"""
    exercise = exercises.get("purpose")
    assert not exercise.decide({}, '{"ok": true}').passed
    verdict = exercise.decide({}, None, missing="answer_purpose is not defined")
    assert not verdict.passed and verdict.checks[0].message == "answer_purpose is not defined"


def test_invalid_answer_in_the_kernel_fails_with_the_validators_message():
    """Does an invalid answer, refused by the probe in the kernel, fail the grade with the same message?"""
    with pytest.raises(quiz.InvalidAnswerError) as info:
        quiz.validate("keep_prob", 20)
    verdict = judge("keep_prob", 20)
    assert not verdict.passed and str(info.value) in verdict.checks[0].message
    assert verdict.checks[0].message.startswith("checking `answer_keep_prob` failed: InvalidAnswerError: ")


# --- Golden files ---------------------------------------------------------------------------------

GOLDEN_CASES = {  # (question, case) -> the answer given to the probe, or a forged envelope's reply
    ("purpose", "right"): ("B", None), ("purpose", "wrong"): ("D", None),
    ("purpose", "invalid"): ("E", None), ("purpose", "forged"): (None, {"passed": True}),
    ("f1", "right"): ("87.18%", None), ("f1", "mistake"): (0.8724, None),
    ("f1", "invalid"): (87.18, None), ("f1", "forged"): (None, float("nan")),
}


@pytest.mark.parametrize("qid,name", GOLDEN_CASES)
def test_golden_cases_judge_the_same(request, qid, name):
    """Does the judge give today the verdicts recorded for right, wrong, invalid and forged replies?"""
    answer, forged = GOLDEN_CASES[qid, name]
    exercise = exercises.get(qid)
    reply_text = None if forged is None else json.dumps({"ok": True, "reply": forged})
    recorded = golden.case(request, exercise, name, lambda: golden.record(exercise, answer, seed=7,
                                                                           reply_text=reply_text))
    assert golden.judge_again(exercise, recorded).to_dict() == recorded["verdict"]
    assert recorded["verdict"]["passed"] is (name == "right")
