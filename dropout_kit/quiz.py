"""The quiz of lesson 03: questions as data, immediate explained feedback, grading.

Used by ``solutions/03_quiz``: a cell shows a question with ``quiz.show(id)``, the
learner sets ``answer_<id>``, and a graded cell displays ``quiz.check(id, answer)``
and asserts ``.correct``. The learner sees the same feedback while working.

Questions are data. ``quiz_questions.json`` beside this module holds, per question:
``id``, ``kind`` (``"choice"``: one option letter; ``"number"``: a value checked
with a tolerance), ``points``, ``prompt`` (markdown), ``options`` (choice) or
``tolerance`` and ``range`` (number), and the obfuscated key and explanations.

Why hashes and compressed explanations. The package ships to learners, so the key
must not be readable by scrolling or grepping its files. An answer is stored only
as ``sha256("<salt>:<question id>:<canonical answer>")``; the canonical form of a
choice is its letter, that of a number its index ``round(value / grid)`` on the
file's grid (1e-5). The explanations name the right answer, so they are stored as
base64 of zlib-compressed UTF-8. This keeps answers out of sight, not out of reach:
anyone can try every letter with ``check``, which is what immediate feedback is for.

Numbers. An answer is right when it lies within the question's ``tolerance``
(inclusive) of the stored value, the exact answer rounded to 5 decimals; ``check``
hashes every grid point in that window and compares. Tolerances are stated by
``show``: +-0.005 for most, +-0.0003 for F1, which asks for four decimals because
the arithmetic mean of precision and recall is only 0.0006 away. Known wrong values
are stored the same way, with their own explanation. Percentages are accepted only
as strings ending in "%" ("12.5%" is 0.125); a bare 12.5 is outside the range
0..1 and is refused with a hint, never rescaled silently.

Invalid answers. ``check`` and ``validate`` raise ``InvalidAnswerError`` for an
answer that is not of the asked form ("E" for options A-D, 5, "", None, "abc") and
``UnknownQuestionError`` for an unknown id; both are ``ValueError`` and say what is
wrong and what is valid. They never return a result for an invalid answer, so it
can neither earn credit nor pass for a merely wrong one. In a graded cell the error
fails the cell (0 points) with the message as its last line.

Adding or changing a question (maintainers)::

    python -m dropout_kit.quiz_authoring export /tmp/quiz_plain.json  # never commit
    # edit /tmp/quiz_plain.json: prompts, options, answers, explanations
    python -m dropout_kit.quiz_authoring build /tmp/quiz_plain.json   # same salt

then add the answer to the key in ``tests/test_quiz.py`` and three cells to the notebook.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import json
import math
import numbers
import re
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from dropout_kit.errors import DropoutKitError

QUESTIONS_FILE = Path(__file__).with_name("quiz_questions.json")


class QuizError(DropoutKitError, ValueError):
    """Base of the quiz's errors; the message says what was wrong and what to do."""


class UnknownQuestionError(QuizError):
    """No quiz question has this id."""


class InvalidAnswerError(QuizError):
    """The answer is not of the form the question asks for (not merely wrong)."""


def digest(salt: str, question_id: str, canonical: str | int) -> str:
    """The stored hash of one canonical answer (a letter or a grid index)."""
    return hashlib.sha256(f"{salt}:{question_id}:{canonical}".encode()).hexdigest()


def encode_text(text: str) -> str:
    """Explanation text -> base64 of zlib, so that it cannot be grepped."""
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")


def decode_text(blob: str) -> str:
    """Inverse of ``encode_text``."""
    return zlib.decompress(base64.b64decode(blob)).decode("utf-8")


@dataclass(frozen=True)
class Question:
    """One quiz question as a learner sees it; displays itself in a notebook."""

    id: str
    kind: str
    prompt: str
    points: float
    options: dict[str, str] = field(default_factory=dict)
    tolerance: float | None = None
    range: tuple[float, float] | None = None

    def how_to_answer(self) -> str:
        """One line on the expected form of the answer."""
        if self.kind == "choice":
            *rest, last = self.options
            return f'Set `answer_{self.id}` to one letter ({", ".join(rest)} or {last}), as a string.'
        lo, hi = self.range
        return (f"Set `answer_{self.id}` to a number from {lo:g} to {hi:g} (or a string such as "
                f'`"25%"`); accepted within ±{self.tolerance:g}.')

    def _repr_markdown_(self) -> str:
        lines = [f"**Question `{self.id}`** ({_points(self.points)})", "", self.prompt, ""]
        lines += [f"- **{k}.** {text}" for k, text in self.options.items()]
        return "\n".join(lines + ["", f"*{self.how_to_answer()}*"])

    def __str__(self) -> str:
        return self._repr_markdown_().replace("**", "")


@dataclass(frozen=True)
class Feedback:
    """The result of ``check``: ``.correct``, the points, and an explained message."""

    question_id: str
    answer: str | float  # normalised: the letter, or the number as a float
    correct: bool
    points: float
    message: str  # markdown

    @property
    def score(self) -> float:
        """The points earned: all of them when correct, else 0."""
        return self.points if self.correct else 0

    def _repr_markdown_(self) -> str:
        return self.message

    def __str__(self) -> str:
        return self.message.replace("**", "")


@lru_cache(maxsize=None)
def _bank() -> dict:
    try:
        data = json.loads(QUESTIONS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise QuizError(f"cannot read the quiz questions from {QUESTIONS_FILE} ({exc}); "
                        "reinstall dropout-kit or rebuild it with dropout_kit.quiz_authoring") from None
    data["by_id"] = {q["id"]: q for q in data["questions"]}
    return data


def _record(question_id) -> dict:
    by_id = _bank()["by_id"]
    if isinstance(question_id, str) and question_id in by_id:
        return by_id[question_id]
    close = difflib.get_close_matches(str(question_id), by_id, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise UnknownQuestionError(f"no quiz question has the id {question_id!r}; {hint}"
                               f"the ids are: {', '.join(by_id)}")


def questions() -> list[str]:
    """The ids of all quiz questions, in the order of the lesson."""
    return list(_bank()["by_id"])


def question(question_id: str) -> Question:
    """The question ``question_id`` (prompt, options, points, tolerance)."""
    r = _record(question_id)
    return Question(id=r["id"], kind=r["kind"], prompt=r["prompt"], points=r["points"],
                    options=dict(r.get("options", {})), tolerance=r.get("tolerance"),
                    range=tuple(r["range"]) if "range" in r else None)


def show(question_id: str) -> Question:
    """Show a question in a notebook: use ``quiz.show("purpose")`` as a cell's last line.

    Returns the ``Question``, which renders as markdown (``print`` it for plain text).
    """
    return question(question_id)


def validate(question_id: str, answer) -> str | float:
    """The answer in normal form (a letter or a float), or ``InvalidAnswerError``.

    Letters: " d ", "D)", "(d)", "d." all mean "D". Numbers: 0.125, "0.125",
    "12.5%", and one-element tensors or arrays.
    """
    q = question(question_id)
    return _letter(q, answer) if q.kind == "choice" else _number(q, answer)


_LETTER = re.compile(r"^[(\[]?\s*([A-Za-z])\s*[)\].:]?$")


def _letter(q: Question, answer) -> str:
    letters = ", ".join(q.options)
    how = f'answer with one of the letters {letters}, as a string such as "{next(iter(q.options))}"'
    if answer is None:
        raise InvalidAnswerError(f"no answer to question {q.id!r} yet (got None): {how}")
    if not isinstance(answer, str):
        raise InvalidAnswerError(f"{answer!r} ({type(answer).__name__}) is not an option "
                                 f"letter of question {q.id!r}: {how}")
    text = answer.strip()
    if not text:
        raise InvalidAnswerError(f"the answer to question {q.id!r} is empty: {how}")
    match = _LETTER.match(text)
    if match and match.group(1).upper() in q.options:
        return match.group(1).upper()
    if match:
        raise InvalidAnswerError(f"{answer!r} is not an option of question {q.id!r}: {how}")
    plain = _plain(text)
    for letter, option in q.options.items():
        if _plain(option) == plain:
            raise InvalidAnswerError(f"{answer!r} is the text of option {letter}; "
                                     f'answer with its letter, "{letter}"')
    raise InvalidAnswerError(f"{answer!r} is not a single option letter: {how}")


def _plain(text: str) -> str:
    return re.sub(r"[`\s.]", "", text).lower()


def _number(q: Question, answer) -> float:
    lo, hi = q.range
    how = f'answer with one number from {lo:g} to {hi:g}, e.g. 0.25 or the string "25%"'
    if answer is None:
        raise InvalidAnswerError(f"no answer to question {q.id!r} yet (got None): {how}")
    percent = isinstance(answer, str) and answer.strip().endswith("%")
    if isinstance(answer, str):
        text = answer.strip().removesuffix("%").strip()
        if not text:
            raise InvalidAnswerError(f"the answer to question {q.id!r} is empty: {how}")
        try:
            value = float(text) / (100 if percent else 1)
        except ValueError:
            raise InvalidAnswerError(f"{answer!r} is not a number: {how}") from None
    elif isinstance(answer, numbers.Real) and not isinstance(answer, bool):
        value = float(answer)
    elif callable(getattr(answer, "item", None)) and not isinstance(answer, bool):
        try:  # a one-element tensor or array, e.g. tp / (tp + fp) computed with torch
            value = answer.item()
        except (ValueError, TypeError, RuntimeError):
            raise InvalidAnswerError(f"{answer!r} is not a single number: {how}") from None
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise InvalidAnswerError(f"{answer!r} does not hold a number: {how}")
        value = float(value)
    else:
        raise InvalidAnswerError(f"{answer!r} ({type(answer).__name__}) is not a number: {how}")
    if not math.isfinite(value):
        raise InvalidAnswerError(f"{answer!r} is not a finite number: {how}")
    if not lo <= value <= hi:
        hint = ""
        if not percent and lo <= value / 100 <= hi:
            hint = f'; for a percentage write the string "{value:g}%" or the fraction {value / 100:g}'
        raise InvalidAnswerError(f"{value:g} is outside the range {lo:g} to {hi:g} of "
                                 f"question {q.id!r}{hint}: {how}")
    return value


def window(salt: str, question_id: str, value: float, tolerance: float, grid: float) -> dict[str, float]:
    """Hash -> distance in grid steps, for every grid point within ``tolerance`` of ``value``."""
    steps, centre = round(tolerance / grid), value / grid
    slack = 1e-6  # grid steps: absorbs float error so that the edges are inclusive
    lo, hi = math.ceil(centre - steps - slack), math.floor(centre + steps + slack)
    return {digest(salt, question_id, j): abs(j - centre) for j in range(lo, hi + 1)}


def check(question_id: str, answer) -> Feedback:
    """Check an answer and explain: right or wrong, why, and why a wrong choice is wrong.

    Args:
        question_id: one of ``questions()``, e.g. ``"purpose"``.
        answer: a letter for a choice ("d", "(D)", ...), a number for a number question.

    Returns:
        A ``Feedback`` with ``.correct``, ``.score`` and a message; it renders in a notebook.

    Raises:
        InvalidAnswerError, UnknownQuestionError: see the module docstring.
    """
    q, r, salt = question(question_id), _record(question_id), _bank()["salt"]
    if q.kind == "choice":
        letter = _letter(q, answer)
        right = next(k for k in q.options if digest(salt, q.id, k) == r["answer_sha256"])
        why = {k: decode_text(v) for k, v in r["feedback"].items()}
        correct = letter == right
        if correct:
            body = f"✅ **Right.** You answered {letter}: {q.options[letter]}\n\n{why[letter]}"
        else:
            body = (f"❌ **Not right.** You answered {letter}: {q.options[letter]}\n\n"
                    f"**Why not {letter}:** {why[letter]}\n\n"
                    f"**The right answer is {right}:** {q.options[right]}\n\n{why[right]}")
        answer = letter
    else:
        answer = _number(q, answer)
        near = window(salt, q.id, answer, q.tolerance, _bank()["grid"])
        correct = r["answer_sha256"] in near
        explanation = decode_text(r["explanation"])
        if correct:
            body = f"✅ **Right.** {answer:.6g} is within ±{q.tolerance:g} of the answer.\n\n{explanation}"
        else:
            body = f"❌ **Not right.** {answer:.6g} is not within ±{q.tolerance:g} of the answer."
            known = [m for m in r.get("mistakes", []) if m["answer_sha256"] in near]
            if known:  # the nearest known mistake explains the likely slip
                slip = min(known, key=lambda m: near[m["answer_sha256"]])
                body += f"\n\n**Why not:** {decode_text(slip['feedback'])}"
            body += f"\n\n**How to get it:** {explanation}"
    score = q.points if correct else 0
    message = f"{body}\n\n*Question `{q.id}`: {score:g}/{_points(q.points)}*"
    return Feedback(q.id, answer, correct, q.points, message)


def _points(points: float) -> str:
    return f"{points:g} point{'' if points == 1 else 's'}"
