"""The contract checks of a dropout function ``fn(x, p=0.5, training=True, inplace=False)``.

Shapes, dtypes, eval mode, p=0 and p=1, invalid p, exact scaling, in-place semantics
and gradients: these follow from nn.Dropout's contract and are deterministic, given the
mask the function drew. A correct dropout can fail one only by a remote accident, stated
in each docstring: ``scale`` and ``inplace`` need one kept or one dropped entry (missing
with probability < 1e-99), and ``p_zero`` meets torch.rand's exact zeros (< 1e-6).

The checks give a fresh copy of their input to every call and keep the original, so a
function that wrongly mutates its input fails ``no_mutation`` without confusing others.
"""

from __future__ import annotations

import math

import torch

from dropout_kit.checks.harness import (
    CheckFailed, LearnerError, call, check, describe_call, kept_mask, make_input, near, same_shape,
)


@check("shape_dtype", "returns a tensor of the input's shape and dtype (1-D to 4-D, float32 and float64)")
def check_shape_dtype(fn) -> None:
    """Are shape and dtype preserved for 1-D to 4-D float32 and float64 inputs? Deterministic."""
    for shape in [(10,), (6, 7), (3, 4, 5), (2, 3, 4, 5)]:
        for dtype in (torch.float32, torch.float64):
            x = make_input(shape, dtype)
            out = call(fn, x.clone(), 0.5)
            same_shape(fn, x, out, 0.5, True, False)
            if out.dtype != dtype:
                raise CheckFailed(
                    f"{describe_call(fn, x, 0.5, True, False)} returned {out.dtype}, expected {dtype}: "
                    "build the mask with x's dtype (torch.rand_like(x), torch.empty_like(x)) "
                    "or convert it with .to(x.dtype)"
                )


@check("eval_identity", "training=False returns the input unchanged")
def check_eval_identity(fn) -> None:
    """Is ``training=False`` the identity, for two p and two dtypes? Deterministic."""
    for p, x in [(0.3, make_input((64, 64))), (0.8, make_input((5, 6), torch.float64))]:
        out = call(fn, x.clone(), p, training=False)
        same_shape(fn, x, out, p, False, False)
        if torch.equal(out, x):
            continue
        seen = describe_call(fn, x, p, False, False)
        q = 1 - p
        if (out == 0).any():
            hint = (f"{int((out == 0).sum())} entries are 0: dropout must be the identity when "
                    "training=False (return x as it is)")
        elif torch.allclose(out, x / q):
            hint = (f"the output is x/(1-p) = {1 / q:.2f}·x: inverted dropout scales during training "
                    "only, so eval must return x unchanged")
        elif torch.allclose(out, x * q):
            hint = (f"the output is (1-p)·x = {q:.2f}·x: that is the old recipe that scales at test "
                    "time; with inverted dropout (as PyTorch does) eval returns x unchanged")
        else:
            hint = ("output differs in eval mode: dropout must be the identity when training=False")
        raise CheckFailed(f"{seen}: {hint}")


@check("p_zero", "p=0 returns the input unchanged (in value)")
def check_p_zero(fn) -> None:
    """Does p=0 change nothing?

    Uses 12 float32 and 5 float64 entries on purpose: ``torch.rand`` can return exactly 0.0
    (probability 2**-24 per float32 entry), which ``rand_like(x) > p`` drops at p=0, so a
    correct ``> p`` implementation fails with probability <= 12 * 2**-24 + 5 * 2**-53 < 1e-6
    (union bound); other correct implementations never fail.
    """
    for x in (make_input((3, 4)), make_input((5,), torch.float64)):
        out = call(fn, x.clone(), 0.0)
        same_shape(fn, x, out, 0.0, True, False)
        if not torch.equal(out, x):
            changed = int((out != x).sum())
            hint = " (some are inf: did you divide by p?)" if torch.isinf(out).any() else ""
            raise CheckFailed(
                f"{describe_call(fn, x, 0.0, True, False)} changed {changed} of {x.numel()} entries"
                f"{hint}: with p=0 nothing is dropped and 1/(1-p) = 1, so the output must equal x"
            )


@check("p_one", "p=1 returns all zeros, without NaN")
def check_p_one(fn) -> None:
    """Does p=1 give exact zeros rather than NaN (0/0) or an error? Deterministic."""
    for x in (make_input((6, 7)), make_input((3,), torch.float64)):
        try:
            out = call(fn, x.clone(), 1.0)
        except LearnerError as error:
            raise CheckFailed(
                f"{error}: 1/(1-p) is undefined at p=1, so handle p == 1 on its own "
                "(every entry is dropped: return zeros)"
            ) from None
        same_shape(fn, x, out, 1.0, True, False)
        seen = describe_call(fn, x, 1.0, True, False)
        if torch.isnan(out).any():
            raise CheckFailed(f"{seen} contains NaN: that is 0/0 from mask/(1-p) at p=1; "
                              "special-case p == 1 and return zeros")
        if not (out == 0).all():
            raise CheckFailed(f"{seen} kept {int((out != 0).sum())} of {x.numel()} entries: "
                              "with p=1 every entry is dropped")


@check("invalid_p", "p outside [0, 1] (negative, > 1, NaN) raises ValueError")
def check_invalid_p(fn) -> None:
    """Do p=-0.1, p=1.5 raise ValueError, and p=nan raise? Deterministic.

    For NaN, RuntimeError is accepted as well as ValueError: torch.nn.functional.dropout
    itself lets NaN through its Python check and raises RuntimeError from its kernel.
    """
    for p, allowed in [(-0.1, (ValueError,)), (1.5, (ValueError,)),
                       (math.nan, (ValueError, RuntimeError))]:
        x = make_input((4, 5))
        seen = describe_call(fn, x, p, True, False)
        try:
            fn(x, p=p, training=True, inplace=False)
        except allowed:
            continue
        except Exception as error:
            raise CheckFailed(f"{seen} raised {type(error).__name__}: {error}; expected ValueError "
                              "(raise ValueError(...) yourself, like torch.nn.functional.dropout)")
        if math.isnan(p):
            raise CheckFailed(f"{seen} returned a tensor: NaN slips through `p < 0 or p > 1` because "
                              "every comparison with NaN is False; test `not 0 <= p <= 1` instead")
        raise CheckFailed(f"{seen} returned a tensor instead of raising ValueError: p is a "
                          "probability, so check `if not 0 <= p <= 1: raise ValueError(...)` first")


@check("scale", "kept entries are exactly x/(1-p), dropped entries exactly 0")
def check_scale(fn) -> None:
    """Is every output entry exactly 0 or x/(1-p), at p=0.3 (float32) and p=0.8 (float64)?

    Deterministic given the observed mask (inputs are never 0). It needs one kept entry,
    which a correct dropout fails to provide with probability 0.3^4096 + 0.8^1024 < 1e-99.
    """
    for p, x in [(0.3, make_input((64, 64))), (0.8, make_input((32, 32), torch.float64))]:
        out = call(fn, x.clone(), p)
        same_shape(fn, x, out, p, True, False)
        seen = describe_call(fn, x, p, True, False)
        q, kept = 1 - p, kept_mask(out)
        if not kept.any():
            raise CheckFailed(f"{seen} dropped every entry at p={p}: expected about {q:.0%} kept")
        rtol = 1e-5 if x.dtype == torch.float32 else 1e-12
        ratio = out.detach()[kept] / x[kept]
        if torch.allclose(ratio, torch.full_like(ratio, 1 / q), rtol=rtol, atol=0):
            continue
        first = ratio[0].item()
        if not torch.allclose(ratio, torch.full_like(ratio, first), rtol=1e-4, atol=0):
            bad = int((~torch.isclose(ratio, torch.full_like(ratio, 1 / q), rtol=rtol, atol=0)).sum())
            raise CheckFailed(
                f"{seen}: {bad} of {x.numel()} entries are neither 0 nor x/(1-p): dropout multiplies "
                "each entry by exactly 0 or 1/(1-p), with no other noise or rounding"
            )
        guesses = [(1 / p, "did you divide by p instead of 1-p?"),
                   (1.0, "did you forget to divide the kept values by 1-p (inverted dropout)?"),
                   (q, "did you multiply by 1-p? Inverted dropout divides by 1-p"),
                   (p, "did you multiply by p? Inverted dropout divides by 1-p"),
                   (1 / q**2, "did you divide by 1-p twice?")]
        hint = next((h for value, h in guesses if near(first, value)), "")
        raise CheckFailed(f"kept values are multiplied by {first:.2f}, expected 1/(1-p) = "
                          f"{1 / q:.2f} for p={p}" + (f": {hint}" if hint else ""))


@check("no_mutation", "inplace=False never changes the input")
def check_no_mutation(fn) -> None:
    """Is the input left as it was after calls with inplace=False? Deterministic.

    Calls that raise at p=0 or p=1 are skipped here; ``p_zero`` and ``p_one`` report them.
    """
    for p, training, may_skip in [(0.5, True, False), (0.5, False, False),
                                  (0.0, True, True), (1.0, True, True)]:
        original = make_input((64, 64))
        x = original.clone()
        try:
            call(fn, x, p, training=training, inplace=False)
        except LearnerError:
            if may_skip:
                continue
            raise
        if not torch.equal(x, original):
            changed = int((x != original).sum())
            raise CheckFailed(
                f"{describe_call(fn, x, p, training, False)} changed {changed} entries of its input "
                "x: with inplace=False compute a new tensor (x * mask), never x.mul_(...), "
                "x[...] = 0 or x *= ..."
            )


@check("inplace", "inplace=True modifies x itself and returns it")
def check_inplace(fn) -> None:
    """Does inplace=True change x and return x (same storage), at p=0.5 and p=1? Deterministic.

    At p=0.5 it needs one dropped entry: a correct dropout fails with probability 2^-4096.
    """
    for p in (0.5, 1.0):
        original = make_input((64, 64))
        x = original.clone()
        out = call(fn, x, p, inplace=True)
        seen = describe_call(fn, x, p, True, True)
        if not (out is x or (out.data_ptr() == x.data_ptr() and out.shape == x.shape)):
            changed = "" if torch.equal(x, original) else " (x was changed, but a new tensor came back)"
            raise CheckFailed(
                f"{seen} returned a new tensor{changed}: with inplace=True modify x itself "
                "(x.mul_(mask), x.masked_fill_(...)) and return x"
            )
        if torch.equal(x, original):
            raise CheckFailed(f"{seen} returned x but did not change it: nothing was dropped")
        kept = x != 0
        if p < 1 and not torch.allclose(x[kept], original[kept] / (1 - p), rtol=1e-5, atol=0):
            raise CheckFailed(f"{seen}: the kept entries of x are not x/(1-p); scale them in place "
                              "too, e.g. x.mul_(mask).div_(1 - p)")
        if p == 1 and kept.any():
            raise CheckFailed(f"{seen} left {int(kept.sum())} entries non-zero at p=1")


@check("gradient", "the gradient is mask/(1-p) times the upstream gradient")
def check_gradient(fn) -> None:
    """Is x.grad equal to upstream * mask/(1-p) for the observed mask, with and without inplace?

    Deterministic given the observed mask. The in-place case runs on a non-leaf tensor
    (x * 1), as in a network, because in-place ops on a leaf that requires grad are refused.
    """
    p = 0.3
    for inplace in (False, True):
        leaf = make_input((32, 32)).requires_grad_(True)
        x = leaf * 1.0 if inplace else leaf
        seen = describe_call(fn, x, p, True, inplace)
        out = call(fn, x, p, inplace=inplace)
        same_shape(fn, x, out, p, True, inplace)
        if not out.requires_grad:
            raise CheckFailed(
                f"{seen}: the output is cut off from autograd (out.requires_grad is False): did you "
                "build it with torch.tensor(...), .detach(), .data, .numpy() or under "
                "torch.no_grad()? Multiply x by the mask so gradients flow back"
            )
        upstream = torch.randn_like(out)
        try:
            out.backward(upstream)
        except Exception as error:
            raise CheckFailed(f"backward through {seen} raised {type(error).__name__}: {error}")
        expected = upstream * kept_mask(out) / (1 - p)
        if leaf.grad is None:
            raise CheckFailed(f"{seen}: x.grad is None after backward: the output does not depend on x")
        if torch.allclose(leaf.grad, expected, rtol=1e-5, atol=1e-6):
            continue
        if torch.allclose(leaf.grad, upstream):
            hint = ("x.grad equals the upstream gradient, as if no mask were applied: the mask was "
                    "applied outside autograd (.data, .detach() or torch.no_grad())")
        else:
            bad = int((~torch.isclose(leaf.grad, expected, rtol=1e-5, atol=1e-6)).sum())
            hint = f"x.grad differs from upstream * mask/(1-p) on {bad} of {x.numel()} entries"
        raise CheckFailed(f"{seen}: {hint}")
