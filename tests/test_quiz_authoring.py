"""Tests of dropout_kit.quiz_authoring: building the questions file and the key from a plain quiz and back,
the key's format (every answer stored alike, nothing in plain text), and the checks that refuse feedback
which would give an answer away.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path

import pytest

from dropout_kit import quiz, quiz_authoring
from dropout_kit.exercises import quiz as quiz_exercises
from quiz_answers import CHOICE_KEY, NUMBER_KEY

ROOT = Path(__file__).resolve().parents[1]


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _files_and_plain() -> tuple[dict, dict, dict]:
    questions, key = _read(quiz.QUESTIONS_FILE), _read(quiz.KEY_FILE)
    return questions, key, quiz_authoring.decode(questions, key)  # scans every grid point: once is enough


def _plain() -> dict:
    return copy.deepcopy(_files_and_plain()[2])


def _question(plain: dict, qid: str) -> dict:
    return next(q for q in plain["questions"] if q["id"] == qid)


def test_export_recovers_the_key_and_build_reproduces_both_files():
    """Does export recover the test key, and does build write back exactly the shipped files from it?"""
    questions, key, plain = _files_and_plain()
    answers = {q["id"]: q["answer"] for q in plain["questions"]}
    assert {q: answers[q] for q in CHOICE_KEY} == {q: k[0] for q, k in CHOICE_KEY.items()}
    assert all(answers[q] == round(k[0], 5) for q, k in NUMBER_KEY.items())
    assert quiz_authoring.encode(_plain()) == (questions, key)


def test_every_answer_has_an_entry_and_all_are_stored_alike():
    """Has every option, and every number's answer and known mistake, one entry, all boxes of one length?"""
    _, key, plain = _files_and_plain()
    assert set(key) == {"format", "salt", "grid", "questions"} and key["format"] == 2
    for p in plain["questions"]:
        entries, salt = key["questions"][p["id"]]["entries"], key["salt"]
        if p["kind"] == "choice":
            canonical = list(p["options"])
        else:
            canonical = [round(v / key["grid"]) for v in [p["answer"]] + [m["value"] for m in p["mistakes"]]]
        assert sorted(entries) == sorted(quiz_exercises.tag(salt, p["id"], c) for c in canonical)
        assert list(entries) == sorted(entries)  # ordered by tag: no position gives the right one away
        assert len({len(box) for box in entries.values()}) == 1
        opened = [quiz_exercises.unseal(salt, p["id"], c, entries[quiz_exercises.tag(salt, p["id"], c)])
                  for c in canonical]
        assert [e["right"] for e in opened] == [c == (p["answer"] if p["kind"] == "choice" else canonical[0])
                                                for c in canonical]
        assert next(e["text"] for e in opened if e["right"]) == p["explanation"]


def test_the_shipped_files_hold_no_answer_in_plain_text():
    """Are answers, explanations and feedback absent, as plain text, from the quiz's modules and both files?"""
    _, key, plain = _files_and_plain()
    texts = [p["explanation"] for p in plain["questions"]]
    texts += [f[k] for p in plain["questions"] for f in p.get("feedback", {}).values() for k in ("why", "hint")]
    texts += [m["why"] for p in plain["questions"] for m in p.get("mistakes", [])]
    snippets = [t[:40] for t in texts] + ["85 / 95", "85/95", "170 / 195", "170/195", "175 / 200"]
    for qid, (value, *_) in NUMBER_KEY.items():
        if qid != "keep_prob":  # 0.2 itself is in prompts, nn.Dropout(0.2); see the pattern below
            snippets += [f"{value:.4f}", f"{value:.3f}", f"{100 * value:.2f}%", f"{100 * value:.1f}%"]
    files = [ROOT / "dropout_kit" / name for name in ("quiz.py", "quiz_authoring.py", "quiz_questions.json",
                                                       "quiz_key.json")] + [ROOT / "dropout_kit/exercises/quiz.py"]
    for path in files:
        text = path.read_text(encoding="utf-8")
        leaked = [s for s in snippets if s in text]
        assert not leaked, f"{path.name} gives away {leaked}"
        assert not re.search(r"p\s*=\s*0?\.20*\b", text), path.name
        assert not re.search(r'answer\w*\s*[:=]\s*["\'][A-D]["\']', text), path.name
        if path.suffix == ".json":  # no field that stores an answer or says which entry is right
            assert not re.search(r'"(answer\w*|correct|right|explanation|feedback|mistakes)"\s*:', text), path.name


def test_the_questions_file_holds_only_what_learners_see():
    """Does the questions file hold prompts, options, tolerances, ranges and general hints, and no salt or key?"""
    questions = _read(quiz.QUESTIONS_FILE)
    assert set(questions) == {"format", "questions"}
    for q in questions["questions"]:
        public = {"choice": {"options"}, "number": {"tolerance", "range", "hint"}}[q["kind"]]
        assert set(q) == {"id", "kind", "points", "prompt"} | public


def _broken(edit) -> dict:
    plain = _plain()
    edit({q["id"]: q for q in plain["questions"]})
    return plain


@pytest.mark.parametrize("edit,message", [
    (lambda q: q["purpose"]["feedback"].pop("A"), "purpose: the answer must be an option, and every wrong option"),
    (lambda q: q["purpose"]["feedback"].update(B={"why": "x", "hint": "y"}), r"every wrong option \(only those\)"),
    (lambda q: q["purpose"].update(answer="E"), "purpose: the answer must be an option"),
    (lambda q: q["f1"]["mistakes"].append({"value": q["f1"]["answer"] + 0.0001, "why": "x"}),
     "f1: mistake .* is within the tolerance of the answer"),
    (lambda q: q["f1"]["mistakes"].append({"value": 0.5, "why": "x"}) or q["f1"]["mistakes"].append(
        {"value": 0.500001, "why": "y"}), "f1: two mistakes, or a mistake and the answer, share one grid point"),
    (lambda q: q["f1"].update(tolerance=0.000015), "not a whole multiple of the grid"),
    (lambda q: q["recall"]["mistakes"].append({"value": 1.5, "why": "x"}), "recall: 1.5 is outside the range"),
    (lambda q: q["purpose"].update(kind="essay"), "purpose: unknown kind 'essay'"),
    (lambda q: q["make_p30"]["feedback"]["B"].update(hint="The right answer is the positional one."),
     "make_p30: feedback gives the answer away .*calls something the right answer"),
    (lambda q: q["no_effect"]["feedback"]["C"].update(why="Options A, B and C are all wrong."),
     "no_effect: feedback gives the answer away .*names option A"),
    (lambda q: q["eval_output"]["feedback"]["D"].update(hint="You get `tensor([1., 1., 1., 1.])`."),
     "eval_output: feedback gives the answer away .*quotes the right option's text"),
    (lambda q: q["precision"]["mistakes"][0].update(why="Close, but it is 0.8947."),
     r"precision: feedback gives the answer away \(states the answer \(0.8947\)\)"),
    (lambda q: q["keep_prob"].update(hint="Dropping 20% of the units is what you want."),
     r"keep_prob: feedback gives the answer away \(states the answer \(20%\)\)"),
])
def test_build_refuses_a_broken_or_revealing_quiz(edit, message):
    """Does build refuse missing or misplaced feedback, unreachable mistakes, and feedback that reveals the answer?"""
    with pytest.raises(ValueError, match=message):
        quiz_authoring.encode(_broken(edit))


def test_build_refuses_a_repeated_question():
    """Does build refuse two questions with one id?"""
    plain = _plain()
    plain["questions"].append(copy.deepcopy(plain["questions"][0]))
    with pytest.raises(ValueError, match="question id 'purpose' appears twice"):
        quiz_authoring.encode(plain)


@pytest.mark.parametrize("text", [
    "`eval()` only sets the flag `layer.training = False`.", "A new `nn.Dropout` starts in training mode.",
    "That is TP / (TP + FN), the recall: it divides by the actual positives.", "Rates around 0.2 are common.",
])
def test_ordinary_teaching_text_is_not_taken_for_a_leak(text):
    """Does the leak check let ordinary feedback through (articles, code, other numbers)?"""
    plain = _plain()
    for qid in ("eval_output", "precision", "recall"):
        assert quiz_authoring.revealing(_question(plain, qid), text) == []


def test_cli_builds_and_exports_through_files(tmp_path, capsys):
    """Do `build` and `export` round-trip through files, a revealing quiz exit 2 naming it, and no salt draw one?"""
    plain_path, questions, key = tmp_path / "plain.json", tmp_path / "q.json", tmp_path / "k.json"
    plain_path.write_text(json.dumps(_plain()), encoding="utf-8")
    assert quiz_authoring.main(["build", str(plain_path), "--questions", str(questions), "--key", str(key)]) == 0
    assert (_read(questions), _read(key)) == _files_and_plain()[:2]
    again = tmp_path / "again.json"
    assert quiz_authoring.main(["export", str(again), "--questions", str(questions), "--key", str(key)]) == 0
    assert _read(again) == _files_and_plain()[2]
    bad = _broken(lambda q: q["purpose"]["feedback"]["A"].update(hint="Pick option B."))
    plain_path.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(SystemExit) as info:
        quiz_authoring.main(["build", str(plain_path), "--questions", str(questions), "--key", str(key)])
    assert info.value.code == 2 and "purpose: feedback gives the answer away" in capsys.readouterr().err
    fresh = _plain()
    fresh["salt"] = None
    _, new_key = quiz_authoring.encode(fresh)
    assert new_key["salt"] != _files_and_plain()[1]["salt"] and len(new_key["salt"]) == 32
