"""The shape of every graded exercise: a challenge, a probe and a judge.

- ``challenge(rng)`` runs on the judge's side and chooses the requests: inputs, rates,
  parameters, anything the learner's code must be run on. Its randomness comes from the
  judge's own generator, never from the learner's torch or numpy state.
- ``probe(obj, requests)`` runs beside the learner's code (in the kernel) and returns only
  data: what the learner's object gave for each request. It decides nothing and holds no
  answer; its source is visible to learners.
- ``judge(requests, reply, *, source)`` runs where the learner's code cannot reach (the
  grader's process; in self-study, the same function in the kernel) and returns a
  :class:`~dropout_kit.verdict.Verdict` from the requests it chose and the reply, validated
  with ``dropout_kit.exercises.wire``. ``source`` is the learner's code as text when the
  exercise has rules about it (no library dropout, no delegation), else unused. Judges are
  deterministic: the same requests and reply give the same verdict.

``Exercise.decide`` wraps the judge so that it never raises: no reply, a reply that is not
what the exercise expects, or a judge that trips over hostile data all become a failed
verdict with the reason. ``run_probe`` wraps the probe the same way on the kernel's side: an
exception in the learner's code becomes data (``{"ok": false, "error": ...}``).
"""

from __future__ import annotations

import inspect
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from dropout_kit.exercises import reach, scan, wire
from dropout_kit.verdict import Verdict

MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Exercise:
    """One graded exercise. Its test cell's nbgrader grade id is ``"test_" + key``.

    Attributes:
        key: short unique name, e.g. ``"dropout_function"``.
        lesson: the lesson folder, e.g. ``"02_from_scratch"``.
        target: the learner's name that the probe receives, e.g. ``"dropout"``.
        title: what the verdict's headline calls it.
        challenge: ``rng -> requests`` (JSON-able; judge side).
        probe: ``(obj, requests) -> reply`` (JSON-able; kernel side).
        judge: ``(requests, reply, *, source) -> Verdict`` (trusted side).
        timeout: seconds the grader waits for the probe's reply.
        hidden: files the learner's kernel must not read while grading (e.g. a quiz key).
        explain: the full explanation that the instructor's feedback shows after grading, also
            for a wrong answer (called in the grader's process only; self-study never shows it).
    """

    key: str
    lesson: str
    target: str
    title: str
    challenge: Callable[[np.random.Generator], Any]
    probe: Callable[[Any, Any], Any]
    judge: Callable[..., Verdict]
    timeout: float = 60.0
    hidden: tuple = ()
    explain: Callable[[], str] | None = None

    @property
    def grade_id(self) -> str:
        """The nbgrader grade id of this exercise's test cell."""
        return "test_" + self.key

    def new_requests(self, rng: np.random.Generator | None = None):
        """Requests from the judge's own randomness (fresh unless ``rng`` is given)."""
        return self.challenge(rng if rng is not None else np.random.default_rng(secrets.randbits(128)))

    def decide(self, requests, reply_text: str | None, *, source: str | None = None,
               missing: str = "") -> Verdict:
        """The trusted side: parse and judge a probe's reply; never raises.

        Args:
            requests: what ``challenge`` returned (the judge's own copy, never a copy from the kernel).
            reply_text: the probe's envelope as JSON text, or None when no reply came.
            source: the learner's code (cells joined by ``scan.join_cells``), for exercises with rules
                about it; the judge sees only what ``target`` can reach (``reach.relevant``).
            missing: why no reply came (shown when ``reply_text`` is None).
        """
        if reply_text is None:
            return Verdict.fail(self.key, "reply", missing or f"no reply came from the probe of `{self.target}`",
                                title=self.title)
        try:
            envelope = wire.mapping(wire.loads(reply_text), "the probe's envelope", ["ok"])
            if wire.flag(envelope["ok"], "ok") is not True:
                error = wire.text(envelope.get("error", ""), "error", max_len=MAX_ERROR_CHARS) or "unknown error"
                return Verdict.fail(self.key, "reply", f"checking `{self.target}` failed: {error}",
                                    title=self.title)
            return self.judge(requests, envelope.get("reply"), source=reach.relevant(source, self.target))
        except wire.ReplyError as exc:
            return Verdict.fail(self.key, "reply", f"the probe's reply is malformed: {exc}", title=self.title)
        except Exception as exc:  # fail closed: hostile data must never crash grading or pass
            return Verdict.fail(self.key, "reply", f"the judge could not read the reply "
                                f"({type(exc).__name__}: {str(exc)[:300]})", title=self.title)


def run_probe(exercise: Exercise, obj, requests) -> dict:
    """Run ``exercise.probe`` on the learner's object; an exception becomes data, not a crash."""
    try:
        return {"ok": True, "reply": exercise.probe(obj, requests)}
    except Exception as exc:  # the learner's code, or a broken object: report it to the judge
        return {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:MAX_ERROR_CHARS]}"}


def envelope_text(exercise: Exercise, obj, requests) -> str:
    """The probe's envelope as the JSON text that crosses to the judge."""
    envelope = run_probe(exercise, obj, requests)
    try:
        return wire.dumps(envelope)
    except (TypeError, ValueError) as exc:  # a probe returned something unsendable
        return wire.dumps({"ok": False, "error": f"the probe's reply cannot be sent: {exc}"})


def source_of(obj) -> str | None:
    """The source text of a function or class defined in a notebook or file, if Python can find it."""
    try:
        return inspect.getsource(obj)
    except (TypeError, OSError):
        return None


def session_source() -> str | None:
    """In a Jupyter kernel: every cell run so far, in order, as the grader reads a notebook's cells.

    Self-study judges this, so that it sees what grading sees: the learner's code, not only the
    graded object's own lines. A definition replaced by a later one no longer counts.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    history = shell.user_ns.get("In") if shell is not None else None
    if not isinstance(history, list) or not history:
        return None
    return scan.join_cells([(f"[{i}]", code) for i, code in enumerate(history) if isinstance(code, str) and code])
