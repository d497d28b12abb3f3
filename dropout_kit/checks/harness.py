"""What every check shares: calling the learner's code safely, and turning failures into results."""

from __future__ import annotations

import functools
from typing import Callable

import torch

from dropout_kit.checks.report import CheckResult


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


def describe(x: torch.Tensor) -> str:
    """``x`` in a call's description: its shape and dtype."""
    return f"x of shape {tuple(x.shape)}, {str(x.dtype).replace('torch.', '')}"


def describe_call(fn, x: torch.Tensor, p: float, training: bool, inplace: bool) -> str:
    """How a call looks in a message, e.g. ``dropout(x of shape (4,), float32, p=0.3, ...)``."""
    own = getattr(fn, "describe_call", None)
    if own is not None:
        return own(x, p, training, inplace)
    name = getattr(fn, "__name__", "dropout")
    return f"{name}({describe(x)}, p={p}, training={training}, inplace={inplace})"


def call(fn, x: torch.Tensor, p: float, training: bool = True, inplace: bool = False) -> torch.Tensor:
    """``fn(x, p=p, training=training, inplace=inplace)``, insisting on a tensor back.

    Raises:
        LearnerError: ``fn`` raised.
        CheckFailed: ``fn`` returned something that is not a tensor.
    """
    try:
        out = fn(x, p=p, training=training, inplace=inplace)
    except (CheckFailed, LearnerError):  # already explained, e.g. by as_function
        raise
    except Exception as error:
        raise LearnerError(describe_call(fn, x, p, training, inplace), error) from error
    if not isinstance(out, torch.Tensor):
        raise CheckFailed(
            f"{describe_call(fn, x, p, training, inplace)} returned {type(out).__name__}, "
            "expected a torch.Tensor: did you forget the return statement?"
        )
    return out


def same_shape(fn, x: torch.Tensor, out: torch.Tensor, p: float, training: bool, inplace: bool):
    """Fail with a clear message if ``out`` does not have ``x``'s shape (later steps compare entries)."""
    if out.shape != x.shape:
        raise CheckFailed(
            f"{describe_call(fn, x, p, training, inplace)} returned shape {tuple(out.shape)}, "
            f"expected {tuple(x.shape)}: dropout keeps the input's shape"
        )


def make_input(shape, dtype=torch.float32, positive: bool = False) -> torch.Tensor:
    """Test input whose entries are never 0 (|x| in [0.5, 2)), so a 0 in the output means dropped."""
    if positive:
        return 0.5 + 1.5 * torch.rand(shape, dtype=dtype)
    u = 3.0 * torch.rand(shape, dtype=dtype) - 1.5  # one draw gives both sign and size
    return torch.where(u >= 0, u + 0.5, u - 0.5)


def near(a: float, b: float, rel: float = 0.02) -> bool:
    """``a`` is within ``rel`` (relative) of ``b``: used to name the likely mistake."""
    return abs(a - b) <= rel * abs(b)


def kept_mask(out: torch.Tensor) -> torch.Tensor:
    """The observed mask: test inputs are never 0, so an output entry is kept iff it is not 0."""
    return out.detach() != 0
