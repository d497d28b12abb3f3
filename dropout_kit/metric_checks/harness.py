"""What every metric check shares: failing a check with a message, and turning failures into results."""

from __future__ import annotations

import functools
from typing import Callable

from dropout_kit.metric_checks.report import CheckResult


class CheckFailed(Exception):
    """Raised inside a check to fail it; the message is what the learner reads."""


class LearnerError(Exception):
    """The learner's code raised where it should not have; keeps the call and the exception."""

    def __init__(self, call: str, error: BaseException):
        super().__init__(f"{call} raised {type(error).__name__}: {error}")
        self.call = call
        self.error = error


def check(name: str, summary: str) -> Callable:
    """Make ``body(fn)`` into a check that returns a :class:`CheckResult` and never raises.

    ``body`` fails by raising :class:`CheckFailed`. An exception from the learner's code
    (:class:`LearnerError`) or any other error while checking also becomes a failed
    result, with the exception's type and message, so one broken check cannot hide the
    others.
    """

    def decorate(body: Callable) -> Callable:
        @functools.wraps(body)
        def run(fn) -> CheckResult:
            try:
                body(fn)
            except CheckFailed as failure:
                return CheckResult(name, False, str(failure), summary)
            except LearnerError as error:
                return CheckResult(name, False, str(error), summary)
            except Exception as error:  # a strange return value can break the check itself
                return CheckResult(
                    name, False, f"checking failed with {type(error).__name__}: {error}", summary
                )
            return CheckResult(name, True, "", summary)

        run.check_name = name
        run.summary = summary
        return run

    return decorate
