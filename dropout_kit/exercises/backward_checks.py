"""Lesson 09's checks, on the arrays the probe returned: a valid forward, and its exact backward.

Each check reads the calls of its role (see ``backward.challenge``) and fails with a message
naming what was observed and the likely mistake. Inputs are never 0, so an output entry is
kept iff it is not 0: the mask the forward drew is read off its output, and the gradient must
use that same mask. Deterministic checks can fail a correct Function only by a remote accident
stated in their docstring; the statistical ones (keep_fraction, fresh_mask) use exact binomial
tails (``dropout_kit.exercises.stats``) set so that a correct Function fails each with
probability at most 1e-6, whatever the learner's seed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dropout_kit.exercises import stats
from dropout_kit.exercises.backward_reply import Outcome
from dropout_kit.verdict import Check

EXTREME = 1e-12  # a mask a correct dropout draws less often than this is treated as impossible
RTOL = {"float32": 1e-5, "float64": 1e-12}
CONTRACT = "return grad_output * mask / (1 - p), None, None"


class CheckFailed(Exception):
    """Raised inside a check to fail it; the message is what the learner reads."""


def run(name: str, summary: str, body: Callable, *args) -> Check:
    """``body(*args)`` as a :class:`Check`: passed unless it raises :class:`CheckFailed`."""
    try:
        body(*args)
    except CheckFailed as failure:
        return Check(name, False, str(failure), summary)
    return Check(name, True, "", summary)


def role(outcomes: list[Outcome], *names: str) -> list[Outcome]:
    """The calls made for the given roles, in request order."""
    return [o for o in outcomes if o.call["role"] in names]


def dropping(outcomes: list[Outcome]) -> list[Outcome]:
    """Every call in training mode with 0 < p < 1: the calls whose output and gradient carry a mask."""
    return [o for o in outcomes if o.call["training"] and 0 < o.call["p"] < 1]


def _rtol(o: Outcome) -> float:
    return RTOL.get(o.x.dtype.name, 1e-5)


def values(o: Outcome) -> np.ndarray:
    """The output of a call as float64; the check fails when forward gave no readable tensor of x's shape."""
    if o.raised is not None:
        raise CheckFailed(f"{o.seen}: forward raised {o.raised}")
    out = o.out
    if not out.tensor:
        raise CheckFailed(f"{o.seen}: forward returned {out.type}, expected one tensor: did you forget the return "
                          "statement, or return the mask too?")
    if out.shape != o.x.shape:
        raise CheckFailed(f"{o.seen}: forward returned shape {out.shape}, expected {o.x.shape}: dropout keeps the "
                          "input's shape")
    if out.values is None:
        raise CheckFailed(f"{o.seen}: the values of forward's output cannot be read")
    return out.values.astype(np.float64)


def gradient(o: Outcome) -> np.ndarray:
    """``x.grad`` after backward with the judge's upstream gradient, as float64; else the check fails."""
    values(o)
    b = o.backward
    if b is None:
        raise CheckFailed(f"{o.seen}: the output does not require grad, so nothing flows back to x: build it "
                          "with DropoutFunction.apply(x, p, training), not by calling forward yourself")
    if b.raised is not None:
        raise CheckFailed(f"{o.seen}: backward raised {b.raised}")
    if b.grad is None:
        raise CheckFailed(f"{o.seen}: x.grad is None after backward: backward returned None for x (or no readable "
                          f"tensor); {CONTRACT}")
    return b.grad.astype(np.float64)


# --- forward ----------------------------------------------------------------------------------------

def check_forward_output(outcomes: list[Outcome]) -> None:
    """Does every call return one tensor of x's shape and dtype? Deterministic."""
    for o in outcomes:
        values(o)
        if o.out.dtype != f"torch.{o.x.dtype.name}":
            raise CheckFailed(f"{o.seen}: forward returned {o.out.dtype}, expected torch.{o.x.dtype.name}: build the "
                              "mask with x's dtype (torch.rand_like(x), torch.empty_like(x).bernoulli_(1 - p))")


def check_eval_mode(outcomes: list[Outcome]) -> None:
    """Is ``training=False`` the identity forward and backward (y = x, x.grad = grad_output)? Deterministic."""
    for o in role(outcomes, "eval"):
        out, x, q = values(o), o.x.astype(np.float64), 1 - o.call["p"]
        if not np.array_equal(out, x):
            if (out == 0).any():
                hint = f"{int((out == 0).sum())} entries are 0: nothing is dropped when training=False"
            elif np.allclose(out, x / q):
                hint = "the output is x/(1-p): inverted dropout scales in training only"
            else:
                hint = "the output differs from x"
            raise CheckFailed(f"{o.seen}: {hint}; return x unchanged (x.clone()) when training=False")
        upstream, grad = o.call["upstream"].astype(np.float64), gradient(o)
        if not np.array_equal(grad, upstream):
            raise CheckFailed(f"{o.seen}: x.grad differs from grad_output in eval mode: y = x there, so backward "
                              "returns grad_output unchanged (remember training on ctx)")


def check_p_zero(outcomes: list[Outcome]) -> None:
    """Does p=0 change nothing, forward or backward?

    12 float32 and 5 float64 entries on purpose: ``torch.rand`` can return exactly 0.0
    (probability 2**-24 per float32 entry), which ``rand_like(x) > p`` drops at p=0, so such a
    correct Function fails with probability <= 12 * 2**-24 + 5 * 2**-53 < 1e-6 (union bound);
    other correct Functions never fail.
    """
    for o in role(outcomes, "p_zero"):
        out = values(o)
        if not np.array_equal(out, o.x):
            hint = " (some are inf: did you divide by p?)" if np.isinf(out).any() else ""
            raise CheckFailed(f"{o.seen} changed {int((out != o.x).sum())} of {o.x.size} entries{hint}: with p=0 "
                              "nothing is dropped and 1/(1-p) = 1, so y = x")
        if not np.array_equal(gradient(o), o.call["upstream"]):
            raise CheckFailed(f"{o.seen}: x.grad differs from grad_output: with p=0 the gradient passes unchanged")


def check_p_one(outcomes: list[Outcome]) -> None:
    """Does p=1 give zeros without NaN, forward and backward? Deterministic."""
    for o in role(outcomes, "p_one"):
        if o.raised is not None:
            raise CheckFailed(f"{o.seen}: forward raised {o.raised}: 1/(1-p) is undefined at p=1, so handle p == 1 "
                              "on its own (every entry is dropped)")
        for what, array in (("the output", values(o)), ("x.grad", gradient(o))):
            if np.isnan(array).any():
                raise CheckFailed(f"{o.seen}: {what} holds NaN: that is 0/0 from mask/(1-p) at p=1; use the factor "
                                  "0 when p == 1")
            if (array != 0).any():
                raise CheckFailed(f"{o.seen}: {what} has {int((array != 0).sum())} non-zero entries: at p=1 every "
                                  "unit is dropped")


def check_keep_fraction(outcomes: list[Outcome]) -> None:
    """Is the number of kept entries plausible for Binomial(n, 1-p)? Two calls, each at alpha/2: <= 1e-6 in all."""
    calls = role(outcomes, "keep")
    for o in calls:
        kept, p = int((values(o) != 0).sum()), o.call["p"]
        lo, hi = stats.binomial_interval(o.x.size, 1 - p, stats.ALPHA / len(calls))
        if not lo <= kept <= hi:
            hint = " (is the mask drawn with probability p of keeping instead of 1-p?)" if lo > kept else ""
            raise CheckFailed(f"{o.seen} kept {kept} of {o.x.size} entries ({kept / o.x.size:.1%}); a fraction 1-p = "
                              f"{1 - p:.0%} keeps between {lo} and {hi} except with probability 1e-6{hint}")


def _scale_hint(factor: float, p: float) -> str:
    """The likely mistake behind kept values (or gradients) multiplied by ``factor`` instead of 1/(1-p)."""
    q = 1 - p
    guesses = [(1 / p, "did you divide by p instead of 1-p?"), (1.0, "the 1/(1-p) is missing"),
               (q, "did you multiply by 1-p? Inverted dropout divides by 1-p"),
               (p, "did you multiply by p? Inverted dropout divides by 1-p"),
               (1 / q**2, "did you divide by 1-p twice?")]
    return next((": " + h for value, h in guesses if abs(factor - value) <= 0.02 * abs(value)), "")


def check_scale(outcomes: list[Outcome]) -> None:
    """Is every output entry exactly 0 or x/(1-p), on every call that drops?

    Deterministic given the observed masks, except one guard: a call that dropped every
    entry, or kept every entry, where a correct dropout does so with probability below 1e-12,
    fails too (about 10 calls: < 1e-11 in all). Every call is checked, so outputs that are not
    dropout of the judge's own inputs fail.
    """
    for o in dropping(outcomes):
        out, x, p = values(o), o.x.astype(np.float64), o.call["p"]
        q, keep = 1 - p, out != 0
        if not keep.any():
            if p**x.size < EXTREME:
                raise CheckFailed(f"{o.seen} dropped every entry: expected about {q:.0%} kept")
            continue
        ratio = out[keep] / x[keep]
        if np.allclose(ratio, 1 / q, rtol=_rtol(o), atol=0):
            if keep.all() and q**x.size < EXTREME:
                raise CheckFailed(f"{o.seen} kept every entry: expected about {p:.0%} dropped")
            continue
        first = float(ratio[0])
        if not np.allclose(ratio, first, rtol=1e-4, atol=0):
            raise CheckFailed(f"{o.seen}: kept entries are not all x times one factor: forward multiplies each entry "
                              "by exactly 0 or 1/(1-p)")
        raise CheckFailed(f"{o.seen}: kept values are x times {first:.3f}, expected 1/(1-p) = {1 / q:.3f}"
                          + _scale_hint(first, p))


def check_fresh_mask(outcomes: list[Outcome]) -> None:
    """Do two calls on the same input (p=0.5) draw different masks?

    Two independent masks agree on each entry with probability 1/2; the check fails when they
    agree on more entries than Binomial(n, 1/2) exceeds with probability 1e-6. A mask drawn
    once and reused agrees everywhere.
    """
    first, second = role(outcomes, "fresh")
    a, b = values(first) != 0, values(second) != 0
    agree, n = int((a == b).sum()), a.size
    if agree > stats.binomial_upper(n, 0.5):
        raise CheckFailed(f"two calls on the same x at p=0.5 dropped the same units on {agree} of {n} entries: draw "
                          "a new mask inside forward on every call, never once for all calls")


# --- backward ---------------------------------------------------------------------------------------

def backward_ran(outcomes: list[Outcome]) -> list[Outcome]:
    """The calls whose backward ran; the check fails when there are none (no check passes on nothing)."""
    ran = [o for o in outcomes if o.backward is not None]
    if not ran:
        raise CheckFailed("backward never ran: no call of forward returned a tensor that requires grad (see the "
                          "forward checks)")
    return ran


def check_backward_returns(outcomes: list[Outcome]) -> None:
    """Does backward return exactly (grad_x, None, None), and does autograd accept it? Deterministic."""
    for o in backward_ran(outcomes):
        b = o.backward
        r = b.returned
        if r is not None and r.raised is not None:
            raise CheckFailed(f"{o.seen}: calling backward(ctx, grad_output) raised {r.raised}" + (
                "" if b.raised is not None else " on a second call: backward must leave ctx as forward left it "
                "(autograd may call it again with retain_graph=True)"))
        if r is not None and r.count is None:
            raise CheckFailed(f"{o.seen}: backward returned a single {r.type}; return a tuple with one gradient per "
                              f"input of forward (x, p, training): {CONTRACT}")
        if r is not None and r.count != 3:
            many = "too few" if r.count < 3 else "too many"
            raise CheckFailed(f"{o.seen}: backward returned {r.count} values, {many}: one gradient per input of "
                              f"forward (x, p, training), so {CONTRACT}")
        if r is not None and r.kinds[0] != "Tensor":
            raise CheckFailed(f"{o.seen}: backward returned {r.kinds[0]} as the gradient for x; {CONTRACT}")
        if r is not None and r.kinds[1:] != ("NoneType", "NoneType"):
            raise CheckFailed(f"{o.seen}: backward returned {r.kinds[1]}, {r.kinds[2]} as the gradients for p and "
                              f"training: they are not tensors, so their gradients are None; {CONTRACT}")
        if b.raised is not None:
            raise CheckFailed(f"{o.seen}: autograd refused what backward returned: {b.raised}")


def _support_hint(o: Outcome, grad: np.ndarray, kept: np.ndarray, others: list[Outcome]) -> str | None:
    """When the gradient's zeros are not the forward's mask: whose mask it is, in words."""
    moved = grad != 0
    if np.array_equal(moved, kept):
        return None
    for other in others:
        if other.raised is None and other.out is not None and other.out.values is not None \
                and other.out.values.shape == kept.shape and np.array_equal(moved, other.out.values != 0):
            return ("the gradient used the mask of the other call of its pair (both forwards ran before either "
                    "backward): keep the mask on ctx (ctx.save_for_backward(mask)), not in a class attribute or a "
                    "global variable that the next call overwrites")
    leaked, lost = int((moved & ~kept).sum()), int((kept & ~moved).sum())
    return (f"backward used a different mask from the one forward drew: {leaked} of {int((~kept).sum())} dropped "
            f"units got gradient and {lost} of {int(kept.sum())} kept units got none. Did you draw a new mask in "
            "backward? Save the forward's mask (ctx.save_for_backward(mask)) and reuse it")


def diagnose(o: Outcome, others: list[Outcome]) -> str | None:
    """None when x.grad = upstream * mask/(1-p) for the mask this call's forward drew; else the mistake in words."""
    out, grad = values(o), gradient(o)
    upstream, q, rtol = o.call["upstream"].astype(np.float64), 1 - o.call["p"], _rtol(o)
    kept = out != 0
    if np.allclose(grad, upstream * kept / q, rtol=rtol, atol=0):
        return None

    def same(a):
        return np.allclose(grad, a, rtol=rtol, atol=0)

    if same(upstream):
        return ("x.grad equals grad_output: the gradient passed through unmasked, so the dropped units got gradient "
                "too (and the kept ones lack the 1/(1-p)). Multiply by the mask forward saved and divide by 1-p")
    if same(upstream / q):
        return ("mask not reused: x.grad is grad_output/(1-p) on every entry, as if no unit had been dropped (a mask "
                "of ones). Save the mask in forward (ctx.save_for_backward(mask)) and multiply by it in backward")
    if same(kept / q):
        return ("x.grad is mask/(1-p) without grad_output: that is dy/dx alone; the chain rule multiplies it by the "
                "upstream gradient, grad_output * mask / (1 - p)")
    if same(np.ones_like(grad)):
        return "x.grad is all ones: backward ignores both grad_output and the mask; " + CONTRACT
    support = _support_hint(o, grad, kept, others)
    if support:
        return support
    ratio = grad[kept] / upstream[kept]
    if kept.any() and np.allclose(ratio, ratio[0], rtol=1e-4, atol=0):
        return (f"x.grad is grad_output * mask times {ratio[0]:.3f}, expected 1/(1-p) = {1 / q:.3f}"
                + _scale_hint(float(ratio[0]), o.call["p"]) + " (the backward needs the same factor as forward)")
    bad = int((~np.isclose(grad, upstream * kept / q, rtol=rtol, atol=0)).sum())
    return f"x.grad differs from grad_output * mask/(1-p) on {bad} of {o.x.size} entries"


def check_gradient(outcomes: list[Outcome]) -> None:
    """Is x.grad = grad_output * mask/(1-p), with the mask the same call's forward drew? Deterministic."""
    for o in dropping(outcomes):
        others = [other for other in outcomes if other.group == o.group and other is not o]
        mistake = diagnose(o, others)
        if mistake:
            raise CheckFailed(f"{o.seen}: {mistake}")


def check_dropped_zero(outcomes: list[Outcome]) -> None:
    """Does every unit the forward dropped get exactly zero gradient? Deterministic."""
    for o in dropping(outcomes):
        dropped = values(o) == 0
        leaked = int((gradient(o)[dropped] != 0).sum())
        if leaked:
            raise CheckFailed(f"{o.seen}: {leaked} of {int(dropped.sum())} dropped units got a non-zero gradient: a "
                              "dropped unit did not take part in the output, so its gradient is exactly 0 (multiply "
                              "grad_output by the same mask)")


def check_grad_output_untouched(outcomes: list[Outcome]) -> None:
    """Is the gradient autograd hands to backward left as it was (no in-place change)? Deterministic."""
    for o in backward_ran(outcomes):
        if o.backward.grad_output_changed:
            raise CheckFailed(f"{o.seen}: backward changed grad_output in place (e.g. grad_output.mul_(mask) or "
                              "grad_output *= mask). Autograd may hand the same tensor to other parts of the graph, "
                              "which would then see your masked values: compute a new tensor, "
                              "grad_output * mask / (1 - p)")
