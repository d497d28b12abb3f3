"""Graded exercises: one module per exercise family, each a challenge, a probe and a judge.

A learner's test cell calls::

    verdict = exercises.check("dropout_function", dropout)
    display(verdict)
    assert verdict.passed, "..."

``check`` draws fresh requests, runs the probe on the learner's object and the judge on
the reply, in the kernel: immediate feedback, and the same verdict the grade gives. Grading
does not run that cell: the grader draws its own requests, runs only the probe in the
sandboxed kernel (``dropout_kit.exercises.kernel.respond``) and the judge in its own
process, and records the judge's verdict (see ``dropout_kit.course``).

See ``base.py`` for the protocol and CONTRIBUTING.md ("Graded exercises") for how to add one.
"""

from __future__ import annotations

import importlib

import numpy as np

from dropout_kit.errors import DropoutKitError
from dropout_kit.exercises.base import Exercise, envelope_text, session_source, source_of
from dropout_kit.exercises import wire
from dropout_kit.verdict import Verdict

# The modules that define exercises, each with a module-level list EXERCISES.
MODULES: tuple[str, ...] = ("from_scratch", "quiz", "metrics", "backward", "experiment")

_registry: dict[str, Exercise] | None = None


class UnknownExerciseError(DropoutKitError, KeyError):
    """No exercise has this key."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def all_exercises() -> dict[str, Exercise]:
    """Every exercise of the course by key (imports the exercise modules once)."""
    global _registry
    if _registry is None:
        found: dict[str, Exercise] = {}
        for name in MODULES:
            for exercise in importlib.import_module(f"dropout_kit.exercises.{name}").EXERCISES:
                if exercise.key in found:
                    raise RuntimeError(f"two exercises have the key {exercise.key!r}")
                found[exercise.key] = exercise
        _registry = found
    return _registry


def get(key: str) -> Exercise:
    """The exercise with this key; a clear error listing the keys otherwise."""
    exercises = all_exercises()
    if key not in exercises:
        raise UnknownExerciseError(f"no exercise is called {key!r}; the exercises are "
                                   f"{', '.join(sorted(exercises)) or '(none)'}")
    return exercises[key]


def for_grade_id(grade_id: str) -> Exercise | None:
    """The exercise judged in the test cell with this nbgrader grade id, if any."""
    if not grade_id.startswith("test_"):
        return None
    return all_exercises().get(grade_id[len("test_"):])


def check(key: str, obj, *, source: str | None = None, rng: np.random.Generator | None = None) -> Verdict:
    """Self-study: challenge, probe and judge in this process, as grading does across processes.

    Args:
        key: the exercise, e.g. ``"dropout_function"``.
        obj: the learner's object (function, class, answer value), passed explicitly.
        source: the learner's code, for exercises with rules about it (default: in a kernel, every
            cell run so far, as grading reads the notebook; elsewhere ``inspect.getsource(obj)``).
        rng: the judge's randomness (default: fresh from ``secrets``, never the learner's RNG).

    Returns:
        The judge's :class:`~dropout_kit.verdict.Verdict`.
    """
    exercise = get(key)
    requests = exercise.new_requests(rng)
    # The probe gets the requests through the wire, as in grading; the judge keeps its own copy.
    reply_text = envelope_text(exercise, obj, wire.roundtrip(requests))
    if source is None:
        source = session_source() or source_of(obj)
    return exercise.decide(requests, reply_text, source=source)


__all__ = ["Exercise", "UnknownExerciseError", "Verdict", "all_exercises", "check", "for_grade_id", "get", "wire"]
