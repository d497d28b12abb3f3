"""The statistical checks of a dropout function: how many entries are kept, and how.

The mask is random, so these checks compare counts and sums with exact tail bounds
(:mod:`dropout_kit.checks.stats`) set so that a correct dropout fails any one check
with probability at most 1e-6, whatever the seed. The checks never seed torch.
"""

from __future__ import annotations

import torch

from dropout_kit.checks import stats
from dropout_kit.checks.harness import (
    CheckFailed, call, check, describe_call, kept_mask, make_input, near, same_shape,
)


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
        kept = int(kept_mask(out).sum())
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
        elif near(ratio, q / p, 0.1):
            message += ": did you divide by p instead of 1-p?"
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
    agree = int((kept_mask(first) == kept_mask(second)).sum())
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
        kept = kept_mask(out)
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
