"""Lesson 09 ("dropout's backward pass by hand"): the learner's ``DropoutFunction``.

The learner writes ``class DropoutFunction(torch.autograd.Function)`` with
``forward(ctx, x, p, training)`` (draw a mask, save it, return ``x * mask / (1 - p)``) and
``backward(ctx, grad_output)`` (return ``grad_output * mask / (1 - p), None, None``). One
exercise, ``dropout_backward``, a challenge, a probe and a judge:

- ``challenge`` draws about 20 calls from the judge's own generator: inputs with no zero
  entry (so a 0 in the output means dropped), upstream gradients with no zero entry, rates
  from short menus (1/p, 1/(1-p), 1-p and p all differ at each), eval mode, p=0 and p=1, and
  a pair of calls on the same input whose forwards both run before either backward;
- ``probe`` (``backward_probe``) runs them through ``DropoutFunction.apply`` and autograd in the
  kernel and returns outputs, gradients and what backward returned, as data;
- ``judge`` validates the reply (``backward_reply``) and decides from its own inputs
  (``backward_checks``), plus the rule that names the lesson, ``by_hand``: no PyTorch dropout
  anywhere in the learner's code, and no autograd call (``torch.autograd.grad``,
  ``.backward()``, ``torch.func.vjp`` ...) inside a class that defines ``backward``, read from
  the source as text (``scan``), and no PyTorch dropout seen running by the probe's detector.

The forward checks forward_output, keep_fraction, scale and fresh_mask are lesson 02's own
(``from_scratch_checks``, ``from_scratch_masks``), run on this exercise's records.

False failures: keep_fraction and fresh_mask fail a correct Function with probability at most
1e-6 each (exact binomial tails), p_zero at most 7.2e-7 (only ``rand_like(x) > p``), scale at
most 1e-11 (a mask all kept or all dropped where that has probability < 1e-12); the other
checks are deterministic. So a correct Function fails its verdict with probability at most
3e-6 (union bound).
"""

from __future__ import annotations

import numpy as np

from dropout_kit.exercises import from_scratch, scan, wire
from dropout_kit.exercises.backward_checks import (
    check_backward_returns, check_dropped_zero, check_eval_mode, check_grad_output_untouched, check_gradient,
    check_p_one, check_p_zero,
)
from dropout_kit.exercises.backward_probe import probe
from dropout_kit.exercises.backward_reply import read_class, read_groups
from dropout_kit.exercises.base import Exercise
# Lesson 02's forward checks read the same records (role "shape", "keep", "fresh"; every call for scale).
from dropout_kit.exercises.from_scratch_checks import check_scale, check_shape_dtype, run
from dropout_kit.exercises.from_scratch_masks import check_fresh_mask, check_keep_fraction
from dropout_kit.exercises.from_scratch_reply import read_library_calls
from dropout_kit.exercises.from_scratch_requests import P_HIGH, P_LOW, make_input, make_upstream, pick
from dropout_kit.verdict import Check, Verdict

# Lesson 02's names that reach PyTorch's dropout, and the backward of its kernel.
FORBIDDEN = from_scratch.FORBIDDEN | {"native_dropout_backward"}
# Calls that hand a derivative back to autograd, forbidden inside the learner's Function.
AUTOGRAD_CALLS = frozenset({"backward", "grad", "vjp", "jvp", "jacobian", "hessian", "jacrev", "jacfwd",
                            "gradcheck"})
BY_HAND = "by_hand"
BY_HAND_SUMMARY = ("no PyTorch dropout, and no autograd call inside DropoutFunction: the mask and its gradient are "
                   "yours")
WRITE_IT = "write the mask and its gradient yourself: the exercise is the backward pass by hand"

CHECKS = [
    ("forward_output", "forward returns one tensor of x's shape and dtype", check_shape_dtype),
    ("eval_mode", "training=False: y = x, and x.grad = grad_output", check_eval_mode),
    ("p_zero", "p=0: y = x, and x.grad = grad_output", check_p_zero),
    ("p_one", "p=1: y and x.grad are all zeros, without NaN", check_p_one),
    ("keep_fraction", "about a fraction 1-p of the entries is kept", check_keep_fraction),
    ("scale", "kept entries are exactly x/(1-p), dropped entries exactly 0", check_scale),
    ("fresh_mask", "forward draws a new mask on every call", check_fresh_mask),
    ("backward_returns", "backward returns exactly (grad_x, None, None)", check_backward_returns),
    ("gradient", "x.grad = grad_output * mask/(1-p), with the mask this call's forward drew", check_gradient),
    ("dropped_zero", "units the forward dropped get exactly zero gradient", check_dropped_zero),
    ("grad_output_untouched", "backward leaves grad_output unchanged (no in-place change)",
     check_grad_output_untouched),
]


def _call(rng: np.random.Generator, role: str, shape, p: float, dtype: str = "float32", training: bool = True,
          x: np.ndarray | None = None) -> dict:
    x = make_input(rng, shape, dtype) if x is None else x
    return {"role": role, "x": x, "p": float(p), "training": training, "upstream": make_upstream(rng, shape, dtype)}


def challenge(rng: np.random.Generator) -> dict:
    """The judge's calls, in groups: every forward of a group runs before any of its backwards."""
    lows, highs = pick(rng, P_LOW, 4), pick(rng, P_HIGH, 3)
    fresh_x = make_input(rng, (32, 32))
    single = [
        _call(rng, "shape", (int(rng.integers(5, 21)),), lows[0]),
        _call(rng, "shape", tuple(int(n) for n in rng.integers(2, 6, size=3)), highs[0], "float64"),
        _call(rng, "eval", (32, 32), lows[1], training=False),
        _call(rng, "eval", (5, 6), highs[1], "float64", training=False),
        # 12 float32 and 5 float64 entries: see check_p_zero for why so few.
        _call(rng, "p_zero", (3, 4), 0.0), _call(rng, "p_zero", (5,), 0.0, "float64"),
        _call(rng, "p_one", (6, 7), 1.0), _call(rng, "p_one", (3,), 1.0, "float64"),
        _call(rng, "keep", (64, 64), lows[2]), _call(rng, "keep", (64, 64), highs[2]),
        _call(rng, "gradient", (32, 32), lows[3]), _call(rng, "gradient", (16, 16), highs[0], "float64"),
    ]
    pair = [_call(rng, "fresh", (32, 32), 0.5, x=fresh_x), _call(rng, "fresh", (32, 32), 0.5, x=fresh_x.copy())]
    return {"groups": [[call] for call in single] + [pair]}


def describe(call: dict) -> str:
    """A call as messages show it: ``DropoutFunction.apply(x of shape (64, 64), float32, p=0.3, training=True)``."""
    x = call["x"]
    return f"DropoutFunction.apply(x of shape {x.shape}, {x.dtype.name}, p={call['p']}, training={call['training']})"


def check_by_hand(source: str | None, library_calls: list[str]) -> Check:
    """Fail when the source uses PyTorch's dropout or hands the derivative to autograd, or the probe saw dropout run.

    Deterministic: the source is read as text (``scan``), never run. A cell the scan cannot
    read (it does not parse, or it registers an IPython input transformer) fails too, because
    the grader cannot tell what it does.
    """
    reasons = []
    for finding in scan.findings(source, attrs=FORBIDDEN):
        unreadable = finding.kind in ("unparseable", "transformer")
        reasons.append(f"the grader cannot read your code: {finding}" if unreadable else str(finding))
    reasons += [f"{finding} (that asks autograd for the derivative)"
                for finding in scan.calls_in_classes(source, calls=AUTOGRAD_CALLS)]
    if library_calls:
        reasons.append(f"while your code ran, it called {', '.join(library_calls)}")
    if not reasons:
        return Check(BY_HAND, True, "", BY_HAND_SUMMARY)
    return Check(BY_HAND, False, "; ".join(reasons) + f": {WRITE_IT}", BY_HAND_SUMMARY)


def judge(requests: dict, reply, *, source: str | None = None) -> Verdict:
    """The verdict on a ``DropoutFunction`` from its probe's reply (and its source, for the by-hand rule)."""
    reply = wire.mapping(reply, "reply", ["class", "groups", "library_calls"])
    cls, library_calls = read_class(reply["class"]), read_library_calls(reply)
    if not cls["is_function"]:
        what = "the class itself" if not cls["is_type"] else "a subclass of torch.autograd.Function"
        message = (f"got a {cls['type']} object, expected {what}: pass DropoutFunction, a class deriving from "
                   "torch.autograd.Function (not DropoutFunction(), nor DropoutFunction.apply)")
        checks = [Check("function", False, message, "DropoutFunction is a subclass of torch.autograd.Function")]
        return Verdict(EXERCISE.key, [*checks, check_by_hand(source, library_calls)], title=EXERCISE.title)
    outcomes = read_groups(reply, requests["groups"], describe)
    checks = [run(name, summary, body, outcomes) for name, summary, body in CHECKS]
    checks.append(check_by_hand(source, library_calls))
    return Verdict(EXERCISE.key, checks, title=EXERCISE.title)


EXERCISE = Exercise("dropout_backward", "09_backward", "DropoutFunction",
                    "DropoutFunction: forward and backward by hand", challenge, probe, judge, timeout=60.0)
EXERCISES = [EXERCISE]
