"""The quiz of lesson 03: questions as data, answers checked by the quiz's exercise judges.

Used by ``solutions/03_quiz``: a cell shows a question with ``quiz.show(id)``, the learner
sets ``answer_<id>``, and the read-only test cell displays ``quiz.check(id, answer_<id>)``,
a :class:`~dropout_kit.verdict.Verdict`, and asserts ``.passed``.

Feedback teaches without giving answers away. A wrong answer gets why *that* choice (or
number) is wrong and a hint toward the idea, never the right option or value; the full
explanation comes once the answer is right, and in the instructor's feedback after grading
(``explanation``).

Each question is an exercise of ``dropout_kit.exercises.quiz`` (key = question id, target
``answer_<id>``): ``check`` is self-study's path, the probe and the judge run in the kernel.
Grading runs only the probe in the learner's kernel and the judge in the grader's process.
The judge reads the key, ``KEY_FILE`` (``quiz_key.json``), which the grader hides from the
sandboxed kernel: there ``check`` says that the grader judges the answers, and gives nothing
away. ``dropout_kit.exercises.quiz`` describes the key's format and what it hides.

Questions are data. ``QUESTIONS_FILE`` (``quiz_questions.json``) holds, per question: ``id``,
``kind`` (``"choice"``: one option letter; ``"number"``: a value checked with a tolerance),
``points``, ``prompt`` (markdown), ``options`` (choice) or ``tolerance``, ``range`` and
``hint`` (number: the hint for a wrong value that is no known mistake). No answers.

Numbers. An answer is right when it lies within the question's ``tolerance`` (inclusive) of
the exact answer rounded to 5 decimals. ``show`` states the tolerance: ±0.005 for most,
±0.0003 for F1, which asks for four decimals because the arithmetic mean of precision and
recall is only 0.0006 away. Percentages are accepted only as strings ending in "%" ("12.5%"
is 0.125); a bare 12.5 is outside the range 0..1 and is refused with a hint, never rescaled.

Invalid answers. ``check`` and ``validate`` raise ``InvalidAnswerError`` for an answer that
is not of the asked form ("E" for options A-D, 5, "", None, "abc") and
``UnknownQuestionError`` for an unknown id; both are ``ValueError`` and say what is wrong and
what is valid. In grading, the probe raises the same error in the kernel and the judge's
verdict carries its message: an invalid answer fails, and never passes for a merely wrong one.

Adding or changing a question (maintainers)::

    python -m dropout_kit.quiz_authoring export /tmp/quiz_plain.json  # never commit it
    # edit /tmp/quiz_plain.json: prompts, options, answers, explanations, feedback, hints
    python -m dropout_kit.quiz_authoring build /tmp/quiz_plain.json   # writes both files

then add the answer to ``tests/quiz_answers.py`` and three cells to the notebook.
"""

from __future__ import annotations

import difflib
import json
import math
import numbers
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from dropout_kit.errors import DropoutKitError
from dropout_kit.verdict import Verdict

QUESTIONS_FILE = Path(__file__).with_name("quiz_questions.json")
# The key: hidden from the learner's kernel while grading; read by the judge (see exercises.quiz).
KEY_FILE = Path(__file__).with_name("quiz_key.json")


class QuizError(DropoutKitError, ValueError):
    """Base of the quiz's errors; the message says what was wrong and what to do."""


class UnknownQuestionError(QuizError):
    """No quiz question has this id."""


class InvalidAnswerError(QuizError):
    """The answer is not of the form the question asks for (not merely wrong)."""


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
    hint: str = ""  # number questions: the hint for a wrong value that is no known mistake

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

    def __repr__(self) -> str:  # the plain-text form a notebook falls back on (graded feedback keeps only text)
        return str(self)


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
                    range=tuple(r["range"]) if "range" in r else None, hint=r.get("hint", ""))


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


def check(question_id: str, answer) -> Verdict:
    """Self-study: judge an answer as grading does; right or wrong, say why, without giving answers away.

    Args:
        question_id: one of ``questions()``, e.g. ``"purpose"``.
        answer: a letter for a choice ("d", "(D)", ...), a number for a number question.

    Returns:
        The judge's ``Verdict``: ``.passed``; when right, the full explanation in its notes;
        when wrong, why that answer is wrong and a hint. It renders in a notebook.

    Raises:
        InvalidAnswerError, UnknownQuestionError: see the module docstring.
    """
    validate(question_id, answer)  # raise in the learner's face, not inside a verdict
    from dropout_kit import exercises

    return exercises.check(question_id, answer)


def explanation(question_id: str) -> str:
    """The right answer and its full explanation, for the instructor's feedback (needs the key).

    The grader calls it in its own process for every question, also for wrong answers.
    Raises ``QuizError`` where the key cannot be read (a learner's kernel while grading).
    """
    from dropout_kit.exercises import quiz as quiz_exercises

    question(question_id)  # UnknownQuestionError first
    return quiz_exercises.explanation(question_id)


def _points(points: float) -> str:
    return f"{points:g} point{'' if points == 1 else 's'}"
