"""Lesson 02's value checks, on the arrays a probe returned: what every dropout (function or layer) must do.

Each check reads the calls of its role (see ``from_scratch_requests``) and fails with a
message naming what was observed and the likely mistake. Inputs are never 0, so an output
entry is kept iff it is not 0. Deterministic checks can fail a correct dropout only by a
remote accident stated in their docstring; statistical ones use exact tail bounds
(``dropout_kit.exercises.stats``) set so a correct dropout fails each with probability at
most 1e-6, whatever the learner's seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from dropout_kit.exercises import stats
from dropout_kit.exercises.from_scratch_reply import Outcome
from dropout_kit.verdict import Check


EXTREME = 1e-12  # a mask a correct dropout draws less often than this is treated as impossible


class CheckFailed(Exception):
    """Raised inside a check to fail it; the message is what the learner reads."""


def run(name: str, summary: str, body: Callable, *args) -> Check:
    """``body(*args)`` as a :class:`Check`: passed unless it raises :class:`CheckFailed`."""
    try:
        body(*args)
    except CheckFailed as failure:
        return Check(name, False, str(failure), summary)
    return Check(name, True, "", summary)


def role(outcomes: list[Outcome], name: str) -> list[Outcome]:
    """The calls made for one check, in request order."""
    return [o for o in outcomes if o.call["role"] == name]


def values(o: Outcome) -> np.ndarray:
    """The output of a call that must return a tensor of x's shape, as float64; else the check fails."""
    if o.raised is not None:
        raise CheckFailed(f"{o.seen} raised {o.raised}")
    out = o.out
    if not out.tensor:
        raise CheckFailed(f"{o.seen} returned {out.type}, expected a torch.Tensor: did you forget the return statement?")
    if out.shape != o.x.shape:
        raise CheckFailed(f"{o.seen} returned shape {out.shape}, expected {o.x.shape}: dropout keeps the input's shape")
    if out.values is None:
        raise CheckFailed(f"{o.seen} returned a tensor whose values cannot be read ({out.note})")
    return out.values.astype(np.float64)


def kept(o: Outcome) -> np.ndarray:
    """The observed mask: True where the output is not 0."""
    return values(o) != 0


def near(a: float, b: float, rel: float = 0.02) -> bool:
    """``a`` is within ``rel`` (relative) of ``b``: used to name the likely mistake."""
    return abs(a - b) <= rel * abs(b)


UNSCALED = "did you forget to divide the kept values by 1-p (inverted dropout)?"


def scale_mistake(factor: float, p: float, *, unscaled: str = UNSCALED) -> str:
    """The likely mistake behind values multiplied by ``factor`` instead of 1/(1-p) at rate p, or "".

    ``unscaled`` is what to say when the factor is 1 (lesson 09 words it for a gradient).
    """
    q = 1 - p
    guesses = [(1 / p, "did you divide by p instead of 1-p?"), (1.0, unscaled),
               (q, "did you multiply by 1-p? Inverted dropout divides by 1-p"),
               (p, "did you multiply by p? Inverted dropout divides by 1-p"),
               (1 / q**2, "did you divide by 1-p twice?")]
    return next((hint for value, hint in guesses if near(factor, value)), "")


def expected_dtype(o: Outcome) -> str:
    """The dtype a call must return, as torch writes it."""
    return f"torch.{o.x.dtype.name}"


def check_shape_dtype(outcomes: list[Outcome]) -> None:
    """Are shape and dtype preserved for 1-D to 4-D float32 and float64 inputs? Deterministic."""
    for o in role(outcomes, "shape"):
        values(o)
        if o.out.dtype != expected_dtype(o):
            raise CheckFailed(f"{o.seen} returned {o.out.dtype}, expected {expected_dtype(o)}: build the mask with "
                              "x's dtype (torch.rand_like(x), torch.empty_like(x)) or convert it with .to(x.dtype)")


def check_eval_identity(outcomes: list[Outcome]) -> None:
    """Is ``training=False`` the identity, for two rates and two dtypes? Deterministic."""
    for o in role(outcomes, "eval"):
        out, x, q = values(o), o.x.astype(np.float64), 1 - o.call["p"]
        if np.array_equal(out, x) and o.out.dtype == expected_dtype(o):
            continue
        if np.array_equal(out, x):
            hint = f"it returned {o.out.dtype}, expected {expected_dtype(o)}: return x as it is"
        elif (out == 0).any():
            hint = (f"{int((out == 0).sum())} entries are 0: dropout must be the identity when training=False "
                    "(return x as it is)")
        elif np.allclose(out, x / q):
            hint = (f"the output is x/(1-p) = {1 / q:.2f}·x: inverted dropout scales during training only, so "
                    "eval must return x unchanged")
        elif np.allclose(out, x * q):
            hint = (f"the output is (1-p)·x = {q:.2f}·x: that is the old recipe that scales at test time; with "
                    "inverted dropout (as PyTorch does) eval returns x unchanged")
        else:
            hint = "output differs in eval mode: dropout must be the identity when training=False"
        raise CheckFailed(f"{o.seen}: {hint}")


def check_p_zero(outcomes: list[Outcome]) -> None:
    """Does p=0 change nothing?

    Uses 12 float32 and 5 float64 entries on purpose: ``torch.rand`` can return exactly 0.0
    (probability 2**-24 per float32 entry), which ``rand_like(x) > p`` drops at p=0, so a correct
    ``> p`` implementation fails with probability <= 12 * 2**-24 + 5 * 2**-53 < 1e-6 (union
    bound); other correct implementations never fail.
    """
    for o in role(outcomes, "p_zero"):
        out = values(o)
        if not np.array_equal(out, o.x):
            hint = " (some are inf: did you divide by p?)" if np.isinf(out).any() else ""
            raise CheckFailed(f"{o.seen} changed {int((out != o.x).sum())} of {o.x.size} entries{hint}: with p=0 "
                              "nothing is dropped and 1/(1-p) = 1, so the output must equal x")


def check_p_one(outcomes: list[Outcome]) -> None:
    """Does p=1 give exact zeros rather than NaN (0/0) or an error? Deterministic."""
    for o in role(outcomes, "p_one"):
        if o.raised is not None:
            raise CheckFailed(f"{o.seen} raised {o.raised}: 1/(1-p) is undefined at p=1, so handle p == 1 on its "
                              "own (every entry is dropped: return zeros)")
        out = values(o)
        if np.isnan(out).any():
            raise CheckFailed(f"{o.seen} contains NaN: that is 0/0 from mask/(1-p) at p=1; special-case p == 1 "
                              "and return zeros")
        if not (out == 0).all():
            raise CheckFailed(f"{o.seen} kept {int((out != 0).sum())} of {o.x.size} entries: with p=1 every entry "
                              "is dropped")


def check_invalid_p(outcomes: list[Outcome]) -> None:
    """Do a negative p and a p above 1 raise ValueError, and p=nan ValueError or RuntimeError? Deterministic.

    For NaN, RuntimeError is accepted as well as ValueError: torch.nn.functional.dropout itself
    lets NaN through its Python check and raises RuntimeError from its kernel.
    """
    for o in role(outcomes, "invalid"):
        nan = math.isnan(o.call["p"])
        if o.raised is not None:
            if o.raised.value_error or (nan and o.raised.runtime_error):
                continue
            raise CheckFailed(f"{o.seen} raised {o.raised}; expected ValueError (raise ValueError(...) yourself, "
                              "like torch.nn.functional.dropout)")
        what = "a tensor" if o.out.tensor else o.out.type
        if nan:
            raise CheckFailed(f"{o.seen} returned {what}: NaN slips through `p < 0 or p > 1` because every "
                              "comparison with NaN is False; test `not 0 <= p <= 1` instead")
        raise CheckFailed(f"{o.seen} returned {what} instead of raising ValueError: p is a probability, so check "
                          "`if not 0 <= p <= 1: raise ValueError(...)` first")


def _rtol(o: Outcome) -> float:
    """How exactly x/(1-p) must come out, in the dtype the learner returned."""
    return {"torch.float32": 1e-5, "torch.float64": 1e-12}.get(o.out.dtype, 1e-2)


def check_scale(outcomes: list[Outcome]) -> None:
    """Is every output entry exactly 0 or x/(1-p)? The scale calls first, then every call in training at 0 < p < 1.

    Deterministic given the observed masks (inputs are never 0), except for one guard: a call
    that dropped every entry, or kept every entry, where a correct dropout does so with
    probability below 1e-12, fails too (about 35 calls: < 4e-11 in all). The scale calls hold
    1024 or more entries, so they must keep one and drop one. Checking every call means that
    outputs which are not dropout of the judge's own inputs fail.
    """
    others = [o for o in outcomes if o.call["role"] not in ("scale", "invalid")
              and o.call["training"] and 0 < o.call["p"] < 1]
    for o in role(outcomes, "scale") + others:
        out, x, p = values(o), o.x.astype(np.float64), o.call["p"]
        q, keep = 1 - p, out != 0
        if not keep.any() and p**x.size < EXTREME:
            raise CheckFailed(f"{o.seen} dropped every entry at p={p}: expected about {q:.0%} kept")
        if not keep.any():
            continue
        ratio = out[keep] / x[keep]
        if np.allclose(ratio, 1 / q, rtol=_rtol(o), atol=0):
            if keep.all() and q**x.size < EXTREME:
                raise CheckFailed(f"{o.seen} kept every entry at p={p}: expected about {p:.0%} dropped")
            continue
        first = float(ratio[0])
        if not np.allclose(ratio, first, rtol=1e-4, atol=0):
            bad = int((~np.isclose(ratio, 1 / q, rtol=_rtol(o), atol=0)).sum())
            raise CheckFailed(f"{o.seen}: {bad} of {x.size} entries are neither 0 nor x/(1-p): dropout multiplies "
                              "each entry by exactly 0 or 1/(1-p), with no other noise or rounding")
        hint = scale_mistake(first, p)
        raise CheckFailed(f"kept values are multiplied by {first:.2f}, expected 1/(1-p) = {1 / q:.2f} for p={p}"
                          + (f": {hint}" if hint else ""))


def check_no_mutation(outcomes: list[Outcome]) -> None:
    """Is the input left as it was after every call with inplace=False (its own four first)? Deterministic."""
    others = [o for o in outcomes if o.call["role"] not in ("no_mutation", "invalid") and not o.call["inplace"]]
    for o in role(outcomes, "no_mutation") + others:
        if not o.input_changed:
            continue
        after = o.input_after
        changed = (f"{int((after != o.x).sum())} entries" if after is not None and after.shape == o.x.shape
                   else "the shape or dtype")
        raise CheckFailed(f"{o.seen} changed {changed} of its input x: with inplace=False compute a new tensor "
                          "(x * mask), never x.mul_(...), x[...] = 0 or x *= ...")


def check_inplace(outcomes: list[Outcome]) -> None:
    """Does inplace=True change x and return x (same storage), at p=0.5 and p=1? Deterministic.

    At p=0.5 it needs one dropped entry of 256: a correct dropout fails with probability 2^-256.
    """
    for o in role(outcomes, "inplace"):
        if o.raised is not None:
            raise CheckFailed(f"{o.seen} raised {o.raised}")
        p = o.call["p"]
        if not (o.out.is_input or o.out.same_storage):
            changed = " (x was changed, but a new tensor came back)" if o.input_changed else ""
            raise CheckFailed(f"{o.seen} returned a new tensor{changed}: with inplace=True modify x itself "
                              "(x.mul_(mask), x.masked_fill_(...)) and return x")
        if not o.input_changed:
            raise CheckFailed(f"{o.seen} returned x but did not change it: nothing was dropped")
        after = o.input_after
        if after is None or after.shape != o.x.shape:
            raise CheckFailed(f"{o.seen} changed the shape or dtype of x, or its values cannot be read")
        after, x = after.astype(np.float64), o.x.astype(np.float64)
        keep = after != 0
        if p < 1 and not np.allclose(after[keep], x[keep] / (1 - p), rtol=1e-5, atol=0):
            raise CheckFailed(f"{o.seen}: the kept entries of x are not x/(1-p); scale them in place too, e.g. "
                              "x.mul_(mask).div_(1 - p)")
        if p == 1 and keep.any():
            raise CheckFailed(f"{o.seen} left {int(keep.sum())} entries non-zero at p=1")


def check_gradient(outcomes: list[Outcome]) -> None:
    """Is x.grad equal to upstream * mask/(1-p) for the observed mask, with and without inplace?

    Deterministic given the observed mask; the upstream gradient is the judge's. The in-place
    call runs on a non-leaf tensor (x * 1), as in a network, because in-place ops on a leaf
    that requires grad are refused.
    """
    for o in role(outcomes, "gradient"):
        out = values(o)
        if not o.out.requires_grad:
            raise CheckFailed(f"{o.seen}: the output is cut off from autograd (out.requires_grad is False): did you "
                              "build it with torch.tensor(...), .detach(), .data, .numpy() or under torch.no_grad()? "
                              "Multiply x by the mask so gradients flow back")
        grad, upstream = o.grad, o.call["upstream"].astype(np.float64)
        if grad.raised is not None:
            raise CheckFailed(f"backward through {o.seen} raised {grad.raised}")
        if grad.values is None:
            raise CheckFailed(f"{o.seen}: x.grad is None after backward: the output does not depend on x")
        expected = upstream * (out != 0) / (1 - o.call["p"])
        actual = grad.values.astype(np.float64)
        if np.allclose(actual, expected, rtol=1e-5, atol=1e-6):
            continue
        if np.allclose(actual, upstream):
            hint = ("x.grad equals the upstream gradient, as if no mask were applied: the mask was applied outside "
                    "autograd (.data, .detach() or torch.no_grad())")
        else:
            bad = int((~np.isclose(actual, expected, rtol=1e-5, atol=1e-6)).sum())
            hint = f"x.grad differs from upstream * mask/(1-p) on {bad} of {o.x.size} entries"
        raise CheckFailed(f"{o.seen}: {hint}")
