"""Lesson 09's own checks, on the arrays the probe returned: the edge cases and the exact backward.

Each check reads the calls of its role (see ``backward.challenge``) and fails with a message
naming what was observed and the likely mistake. Inputs are never 0, so an output entry is
kept iff it is not 0: the mask the forward drew is read off its output, and the gradient must
use that same mask. These checks are deterministic, except p_zero (its docstring says why).
The forward's statistical checks are lesson 02's (``backward.CHECKS`` lists them).
"""

from __future__ import annotations

import numpy as np

from dropout_kit.exercises import from_scratch_checks
from dropout_kit.exercises.backward_reply import Outcome
# Lesson 02's judge's conventions (a check fails by raising CheckFailed; ``values`` reads a call's output,
# ``role`` its calls) and its forward checks, which read the same records: they are reused as they are.
from dropout_kit.exercises.from_scratch_checks import CheckFailed, role, scale_mistake, values

RTOL = {"float32": 1e-5, "float64": 1e-12}
CONTRACT = "return grad_output * mask / (1 - p), None, None"


def dropping(outcomes: list[Outcome]) -> list[Outcome]:
    """Every call in training mode with 0 < p < 1: the calls whose output and gradient carry a mask."""
    return [o for o in outcomes if o.call["training"] and 0 < o.call["p"] < 1]


def _rtol(o: Outcome) -> float:
    return RTOL.get(o.x.dtype.name, 1e-5)


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


# --- edge cases, forward and backward ------------------------------------------------------------------

def check_eval_mode(outcomes: list[Outcome]) -> None:
    """Is ``training=False`` the identity forward (lesson 02's check) and backward (x.grad = grad_output)?"""
    from_scratch_checks.check_eval_identity(outcomes)
    for o in role(outcomes, "eval"):
        if not np.array_equal(gradient(o), o.call["upstream"]):
            raise CheckFailed(f"{o.seen}: x.grad differs from grad_output in eval mode: y = x there, so backward "
                              "returns grad_output unchanged (remember training on ctx)")


def check_p_zero(outcomes: list[Outcome]) -> None:
    """Does p=0 change nothing, forward (lesson 02's check) or backward?

    Only the forward can fail a correct Function: 12 float32 and 5 float64 entries, so that
    ``rand_like(x) > p``, which drops an entry where ``torch.rand`` returns exactly 0.0, fails
    with probability < 7.2e-7 (lesson 02's docstring); the backward part is deterministic.
    """
    from_scratch_checks.check_p_zero(outcomes)
    for o in role(outcomes, "p_zero"):
        if not np.array_equal(gradient(o), o.call["upstream"]):
            raise CheckFailed(f"{o.seen}: x.grad differs from grad_output: with p=0 the gradient passes unchanged")


def check_p_one(outcomes: list[Outcome]) -> None:
    """Does p=1 give zeros without NaN, forward (lesson 02's check) and backward? Deterministic."""
    from_scratch_checks.check_p_one(outcomes)
    for o in role(outcomes, "p_one"):
        grad = gradient(o)
        if np.isnan(grad).any():
            raise CheckFailed(f"{o.seen}: x.grad holds NaN: that is 0/0 from mask/(1-p) at p=1; use the factor 0 "
                              "when p == 1")
        if (grad != 0).any():
            raise CheckFailed(f"{o.seen}: x.grad has {int((grad != 0).sum())} non-zero entries: at p=1 every unit "
                              "is dropped")


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
        hint = scale_mistake(float(ratio[0]), o.call["p"], unscaled="the 1/(1-p) is missing")
        return (f"x.grad is grad_output * mask times {ratio[0]:.3f}, expected 1/(1-p) = {1 / q:.3f}"
                + (f": {hint}" if hint else "") + " (the backward needs the same factor as forward)")
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
