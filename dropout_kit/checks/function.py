"""Checks of a dropout function ``fn(x, p=0.5, training=True, inplace=False)``.

Each ``check_*`` takes ``fn`` and returns a :class:`~dropout_kit.checks.report.CheckResult`;
it never raises, and it never seeds torch: the statistical checks hold for any random
stream. Each check's docstring states its false-failure probability for a correct
dropout (at most 1e-6, see :mod:`dropout_kit.checks.stats`) and the bound behind it.

The checks give a fresh copy of their input to every call and keep the original, so a
function that wrongly mutates its input fails ``no_mutation`` without confusing others.
"""

from __future__ import annotations

import math

import torch

from dropout_kit.checks import stats
from dropout_kit.checks._harness import (
    CheckFailed, LearnerError, call, check, describe_call, make_input, near, same_shape,
)


def _kept(out: torch.Tensor) -> torch.Tensor:
    """The observed mask: inputs are never 0, so an output entry is kept iff it is not 0."""
    return out.detach() != 0


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
            raise CheckFailed(
                f"{describe_call(fn, x, 0.0, True, False)} changed {changed} of {x.numel()} entries: "
                "with p=0 nothing is dropped and 1/(1-p) = 1, so the output must equal x"
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


@check("keep_fraction", "about a fraction 1-p of the entries is kept")
def check_keep_fraction(fn) -> None:
    """Is the fraction of kept entries 1-p, at p=0.3 and p=0.8?

    Bound: the kept count of 4096 entries is Binomial(4096, 1-p); each p gets an exact
    two-sided binomial interval of level 5e-7, so a correct dropout fails with
    probability <= 1e-6.
    """
    for p in (0.3, 0.8):
        x = make_input((64, 64))
        out = call(fn, x.clone(), p)
        same_shape(fn, x, out, p, True, False)
        n, q = x.numel(), 1 - p
        kept = int(_kept(out).sum())
        lo, hi = stats.binomial_interval(n, q, stats.ALPHA / 2)
        if lo <= kept <= hi:
            continue
        message = (f"{describe_call(fn, x, p, True, False)} kept {kept / n:.3f} of the entries, "
                   f"expected 1-p = {q:.2f} (a correct dropout keeps between {lo / n:.3f} and "
                   f"{hi / n:.3f} with probability > 1 - 1e-6)")
        p_lo, p_hi = stats.binomial_interval(n, p, stats.ALPHA / 2)
        if p_lo <= kept <= p_hi:
            message += (": it looks like p is used as the keep probability; in PyTorch p is the "
                        "probability to *drop* an entry, so keep with probability 1-p")
        elif kept == n:
            message += ": nothing was dropped"
        raise CheckFailed(message)


@check("scale", "kept entries are exactly x/(1-p), dropped entries exactly 0")
def check_scale(fn) -> None:
    """Is every output entry exactly 0 or x/(1-p), at p=0.3 (float32) and p=0.8 (float64)?

    Deterministic given the observed mask (inputs are never 0). It needs one kept entry,
    which a correct dropout fails to provide with probability (1-q)^n < 1e-300.
    """
    for p, x in [(0.3, make_input((64, 64))), (0.8, make_input((32, 32), torch.float64))]:
        out = call(fn, x.clone(), p)
        same_shape(fn, x, out, p, True, False)
        seen = describe_call(fn, x, p, True, False)
        q, kept = 1 - p, _kept(out)
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


@check("mean_preserved", "the mean is preserved: E[dropout(x)] = x")
def check_mean_preserved(fn) -> None:
    """Is the output's sum within a Hoeffding bound of the input's, at p=0.2 and p=0.7?

    Bound: output entry i lies in [0, x_i/(1-p)] independently, so by Hoeffding
    P(|sum out - sum x| >= t) <= 2 exp(-2 t^2 (1-p)^2 / sum x_i^2); t is set so this is
    5e-7 for each p, so a correct dropout fails with probability <= 1e-6.
    """
    for p in (0.2, 0.7):
        x = make_input((128, 128), positive=True)
        out = call(fn, x.clone(), p)
        same_shape(fn, x, out, p, True, False)
        q, n = 1 - p, x.numel()
        x_sum, out_sum = x.double().sum().item(), out.detach().double().sum().item()
        t = stats.hoeffding_halfwidth((x.double() ** 2).sum().item() / q**2, stats.ALPHA / 2)
        if abs(out_sum - x_sum) <= t:
            continue
        ratio = out_sum / x_sum
        message = (f"{describe_call(fn, x, p, True, False)}: the output's mean is {out_sum / n:.3f} "
                   f"but the input's is {x_sum / n:.3f} (ratio {ratio:.2f}; a correct dropout stays "
                   f"within ±{t / n:.3f} with probability > 1 - 1e-6)")
        if near(ratio, q, 0.1):
            message += ": the kept values need scaling by 1/(1-p) so the expectation is unchanged"
        elif near(ratio, p / q, 0.1):
            message += ": is p used as the keep probability? p is the probability to drop"
        raise CheckFailed(message)


@check("fresh_mask", "a new mask is drawn on every call")
def check_fresh_mask(fn) -> None:
    """Do two calls on the same input draw different masks?

    Bound: at p=0.5 two independent masks agree on each of 4096 entries with probability
    1/2, so the agreement count is Binomial(4096, 1/2); the check fails above its exact
    one-sided 1e-6 quantile, so a correct dropout fails with probability <= 1e-6.
    """
    p, x = 0.5, make_input((64, 64))
    first = call(fn, x.clone(), p)
    second = call(fn, x.clone(), p)
    same_shape(fn, x, first, p, True, False)
    same_shape(fn, x, second, p, True, False)
    n = x.numel()
    agree = int((_kept(first) == _kept(second)).sum())
    if agree <= stats.binomial_upper(n, 0.5):
        return
    if agree == n:
        raise CheckFailed("two calls on the same input dropped exactly the same entries: draw a new "
                          "mask inside the function on every call (don't store it between calls, "
                          "and don't call torch.manual_seed inside)")
    raise CheckFailed(f"the masks of two calls agree on {agree / n:.1%} of the entries, independent "
                      "masks agree on about 50%: draw a new mask on every call")


def _pairs_agreement(kept: torch.Tensor, dim: int) -> tuple[int, int]:
    """Agreements between slices 0-1, 2-3, ... along ``dim``: disjoint pairs, so independent."""
    m = kept.movedim(dim, 0)
    half = m.shape[0] // 2
    even, odd = m[0:2 * half:2], m[1:2 * half:2]
    return int((even == odd).sum()), even.numel()


def _shared_hint(ndim: int, dim: int) -> str:
    if ndim == 2 and dim == 0:
        return ("every example in the batch gets the same mask (e.g. a mask of shape (1, n) or "
                "x.shape[1:] broadcast over the batch)")
    if ndim == 2 and dim == 1:
        return "each row is kept or dropped as a whole (one mask value per row)"
    if ndim == 4 and dim in (2, 3):
        return ("whole feature maps are kept or dropped together (that is nn.Dropout2d's "
                "channel-wise dropout, not nn.Dropout)")
    return f"entries along dim {dim} share their mask value"


@check("independence", "entries are dropped independently (no mask shared across batch, rows, columns, channels)")
def check_independence(fn) -> None:
    """Do neighbouring entries along every dim of 2-D and 4-D inputs have independent masks?

    Bound: at p=0.5, 2048 disjoint pairs of neighbours per dim agree each with probability
    1/2 when independent, so their agreement count is Binomial(2048, 1/2). Six dims are
    tested, each above its exact one-sided quantile of level 1e-6/6, so a correct dropout
    fails with probability <= 1e-6. A mask shared along a dim agrees in 100% of pairs.
    """
    p = 0.5
    for shape in [(64, 64), (8, 8, 8, 8)]:
        x = make_input(shape)
        out = call(fn, x.clone(), p)
        same_shape(fn, x, out, p, True, False)
        kept = _kept(out)
        failing = []
        for dim in range(x.dim()):
            agree, pairs = _pairs_agreement(kept, dim)
            if agree > stats.binomial_upper(pairs, 0.5, stats.ALPHA / 6):
                failing.append((agree / pairs, dim))
        if failing:
            # A mask shared along one dim also upsets the counts along the others; the dim
            # that agrees most is where the sharing is.
            share, dim = max(failing)
            raise CheckFailed(
                f"{describe_call(fn, x, p, True, False)}: neighbours along dim {dim} agree "
                f"(both kept or both dropped) in {share:.0%} of pairs, independent entries "
                f"agree in about 50%: {_shared_hint(x.dim(), dim)}. Draw one value per entry "
                "with x's full shape, e.g. torch.rand_like(x)"
            )


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
        expected = upstream * _kept(out) / (1 - p)
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


FUNCTION_CHECKS = [
    check_shape_dtype, check_eval_identity, check_p_zero, check_p_one, check_invalid_p,
    check_keep_fraction, check_scale, check_mean_preserved, check_fresh_mask,
    check_independence, check_no_mutation, check_inplace, check_gradient,
]
"""Every check of :func:`check_dropout_function`, in the order they run."""
