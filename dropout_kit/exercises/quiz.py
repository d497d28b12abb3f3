"""Lesson 03's quiz as graded exercises: the probe hands over an answer, the judge reads the key.

Each question is one exercise: key = question id (``"purpose"``), target = ``answer_<id>``,
test cell grade id ``test_<id>``. ``challenge`` asks for nothing (the question is fixed).
``probe`` returns the learner's answer in normal form, a letter or a float (``"12.5%"`` becomes
0.125), and raises ``InvalidAnswerError`` when it is not of the asked form. The judge validates
the reply again, since it may be forged, and looks the answer up in the key: right gives a passed
verdict whose ``notes`` hold the full explanation; wrong gives a failed one whose message says
why that choice is wrong and gives a hint, never the right option or value.

The key, ``dropout_kit/quiz_key.json`` (``dropout_kit.quiz.KEY_FILE``), is kept apart from the
questions. It has one entry for every option of a choice, right or wrong, and one for the answer
and for each known mistake of a number question, all stored alike::

    tag   = sha256("<salt>:tag:<question id>:<canonical>")                     (hex)
    box   = base64(plain XOR shake_256("<salt>:key:<question id>:<canonical>"))
    plain = {"right": ..., "text": ..., "hint": ...} as JSON, space-padded to one length per question

where ``canonical`` is the option letter, or a number's index ``round(value / grid)`` on the
grid 1e-5. Whether an entry is the right one is written only inside its box: the file has no
separate answer hash, every box of a question has the same length, and entries are ordered by
tag, so nothing tells the right entry from the others, or finds it by absence, without trying
answers. A number is looked up by hashing every grid point within the question's tolerance of
the learner's value (``window``): the answer's window and the known mistakes' are stored alike.

What this hides, and what it does not:

- In a learner's copy of the package it is obfuscation. Whoever can read the key can try all
  the letters, or every grid point of a number's range (``explanation`` and
  ``python -m dropout_kit.quiz_authoring export`` do exactly that). Self-study allows it:
  trying an answer and reading its feedback is what the quiz is for.
- During grading the grader hides the key file from the sandboxed kernel. There the judge finds
  no key and says so, alike for every answer: trying answers in a cell learns nothing. The
  grader runs the judge in its own process, where the key is readable.
- The salt only makes tables computed for one build useless for another.
"""

from __future__ import annotations

import functools

import base64
import binascii
import hashlib
import json
import math
from functools import lru_cache
from pathlib import Path

from dropout_kit import quiz
from dropout_kit.exercises import wire
from dropout_kit.exercises.base import Exercise
from dropout_kit.quiz import InvalidAnswerError, Question, QuizError
from dropout_kit.verdict import Check, Verdict

LESSON = "03_quiz"
MAX_ANSWER_CHARS = 200  # a longer reply is no answer: refused before parsing


class KeyUnavailableError(QuizError):
    """The quiz key cannot be read here (grading hides it from the kernel) or is damaged."""


# --- the key's primitives (shared with quiz_authoring, which writes the key) -----------------

def tag(salt: str, question_id: str, canonical: str | int) -> str:
    """The stored tag of one canonical answer (an option letter or a grid index)."""
    return hashlib.sha256(f"{salt}:tag:{question_id}:{canonical}".encode()).hexdigest()


def _xor(salt: str, question_id: str, canonical: str | int, data: bytes) -> bytes:
    stream = hashlib.shake_256(f"{salt}:key:{question_id}:{canonical}".encode()).digest(len(data))
    return bytes(a ^ b for a, b in zip(data, stream))


def seal(salt: str, question_id: str, canonical: str | int, entry: dict, length: int) -> str:
    """``entry`` as JSON padded to ``length`` bytes, XORed with the keystream of its answer, in base64."""
    data = json.dumps(entry, ensure_ascii=False, sort_keys=True).encode("utf-8")
    if len(data) > length:
        raise ValueError(f"{question_id}: an entry of {len(data)} bytes does not fit in {length}")
    return base64.b64encode(_xor(salt, question_id, canonical, data.ljust(length))).decode("ascii")


def unseal(salt: str, question_id: str, canonical: str | int, box: str) -> dict:
    """Inverse of ``seal``; ``KeyUnavailableError`` when the box does not open to an entry."""
    try:
        entry = json.loads(_xor(salt, question_id, canonical, base64.b64decode(box, validate=True)))
        if isinstance(entry, dict) and isinstance(entry.get("right"), bool) and isinstance(entry.get("text"), str):
            return entry
    except (ValueError, binascii.Error, TypeError):
        pass
    raise KeyUnavailableError(f"the quiz key {quiz.KEY_FILE.name} is damaged (question {question_id!r}); "
                              "rebuild it with python -m dropout_kit.quiz_authoring")


def window(salt: str, question_id: str, value: float, tolerance: float, grid: float) -> dict[str, tuple[int, float]]:
    """Tag -> (grid index, distance in steps) for every grid point within ``tolerance`` of ``value``."""
    steps, centre = round(tolerance / grid), value / grid
    slack = 1e-6  # grid steps: absorbs float error so that the edges are inclusive
    lo, hi = math.ceil(centre - steps - slack), math.floor(centre + steps + slack)
    return {tag(salt, question_id, j): (j, abs(j - centre)) for j in range(lo, hi + 1)}


def scan(salt: str, question_id: str, lo: float, hi: float, grid: float) -> dict[str, int]:
    """Tag -> grid index for every grid point of the range [lo, hi]: a search over all answers."""
    prefix = hashlib.sha256(f"{salt}:tag:{question_id}:".encode())  # == tag(...), without re-hashing the prefix
    found = {}
    for j in range(math.floor(lo / grid), math.ceil(hi / grid) + 1):
        h = prefix.copy()
        h.update(str(j).encode())
        found[h.hexdigest()] = j
    return found


def load_key(path: Path | None = None) -> dict:
    """The key (``dropout_kit.quiz.KEY_FILE`` unless ``path``); ``KeyUnavailableError`` if unreadable."""
    path = Path(path) if path is not None else quiz.KEY_FILE
    try:
        key = json.loads(path.read_text(encoding="utf-8"))
        if (key.get("format") == 2 and isinstance(key.get("salt"), str) and isinstance(key.get("grid"), float)
                and isinstance(key.get("questions"), dict)):
            return key
        reason = "not a quiz key"
    except (OSError, ValueError, AttributeError) as exc:
        reason = type(exc).__name__
    raise KeyUnavailableError(
        f"The quiz key cannot be read here ({reason}), so this cell cannot tell whether the answer is right. "
        "While your notebook is graded that is expected: the grader judges the answers outside the notebook, "
        "and no code in the notebook can see the key. While studying, reinstall dropout-kit: its file "
        f"{path.name} is missing or damaged.")


def _entries(key: dict, question_id: str) -> dict:
    record = key["questions"].get(question_id)
    entries = record.get("entries") if isinstance(record, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise KeyUnavailableError(f"the quiz key has no entries for question {question_id!r}; rebuild it with "
                                  "python -m dropout_kit.quiz_authoring")
    return entries


# --- judging ------------------------------------------------------------------------------------

def judge_answer(q: Question, answer: str | float, key: dict) -> Verdict:
    """The verdict on a valid answer (a letter or a float, as ``quiz.validate`` returns it)."""
    salt, entries, title = key["salt"], _entries(key, q.id), f"Question {q.id}"
    if q.kind == "choice":
        summary = f"the right one of the options {', '.join(q.options)}"
        said = f"You answered {answer}: {q.options[answer]}"
        box = entries.get(tag(salt, q.id, answer))
        if box is None:
            raise KeyUnavailableError(f"the quiz key has no entry for option {answer} of question {q.id!r}")
        entry = unseal(salt, q.id, answer, box)
    else:
        summary = f"within ±{q.tolerance:g} of the answer"
        said = f"You answered {answer:.6g}"
        near = window(salt, q.id, answer, q.tolerance, key["grid"])
        hits = sorted((distance, j, t) for t, (j, distance) in near.items() if t in entries)
        opened = [unseal(salt, q.id, j, entries[t]) for _, j, t in hits]  # nearest first
        # The right answer wins over a known mistake whose window also holds the value.
        entry = next((e for e in opened if e["right"]), opened[0] if opened else {
            "right": False, "text": f"That is not within ±{q.tolerance:g} of the answer.", "hint": q.hint})
    if entry["right"]:
        return Verdict(q.id, (Check("answer", True, said, summary),), title=title, notes=(entry["text"],))
    hint = entry.get("hint") or q.hint
    message = f"{said.rstrip('.')}. Why not: {entry['text']}" + (f" Hint: {hint}" if hint else "")
    return Verdict(q.id, (Check("answer", False, message, summary),), title=title)


def _reply_answer(q: Question, reply):
    """The answer in a reply, validated like the learner's own; ``ReplyError`` for what no probe sends."""
    if isinstance(reply, str):
        return wire.text(reply, "the answer", max_len=MAX_ANSWER_CHARS)
    if isinstance(reply, bool) or not isinstance(reply, (int, float)):
        raise wire.ReplyError(f"the answer must be a letter or a number, got {type(reply).__name__}")
    return reply


def _exercise(q: Question) -> Exercise:
    def challenge(rng):
        return {"question": q.id}

    def probe(answer, requests):
        return quiz.validate(q.id, answer)

    def judge(requests, reply, *, source=None):
        try:
            answer = quiz.validate(q.id, _reply_answer(q, reply))
        except InvalidAnswerError as exc:
            return Verdict.fail(q.id, "answer", str(exc), title=f"Question {q.id}")
        try:
            return judge_answer(q, answer, load_key())
        except KeyUnavailableError as exc:
            return Verdict.fail(q.id, "key", str(exc), title=f"Question {q.id}")

    # The grader hides the key from the sandboxed kernel; its judge, in the grader's process, reads it.
    return Exercise(q.id, LESSON, f"answer_{q.id}", f"Question {q.id}", challenge, probe, judge, timeout=10.0,
                    hidden=(quiz.KEY_FILE,), explain=functools.partial(quiz.explanation, q.id))


# --- the full explanation, for the instructor's feedback ----------------------------------------

def explanation(question_id: str, path: Path | None = None) -> str:
    """The right answer and its full explanation, found by trying every answer against the key (trusted side)."""
    path = Path(path) if path is not None else quiz.KEY_FILE
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = None
    return _explanation(question_id, str(path), stamp)


@lru_cache(maxsize=64)
def _explanation(question_id: str, path: str, stamp) -> str:
    q, key = quiz.question(question_id), load_key(Path(path))
    salt, entries = key["salt"], _entries(key, q.id)
    if q.kind == "choice":
        candidates = {tag(salt, q.id, letter): letter for letter in q.options}
    else:  # every grid point of the range: ~0.1 s for [0, 1], hence the cache
        candidates = scan(salt, q.id, *q.range, key["grid"])
    for t, canonical in candidates.items():
        if t in entries and (entry := unseal(salt, q.id, canonical, entries[t]))["right"]:
            if q.kind == "choice":
                return f"Answer: {canonical}: {q.options[canonical]}\n\n{entry['text']}"
            return f"Answer: {canonical * key['grid']:.5g} (accepted within ±{q.tolerance:g})\n\n{entry['text']}"
    raise KeyUnavailableError(f"the quiz key holds no right answer for question {q.id!r}; rebuild it with "
                              "python -m dropout_kit.quiz_authoring")


EXERCISES = [_exercise(quiz.question(question_id)) for question_id in quiz.questions()]
