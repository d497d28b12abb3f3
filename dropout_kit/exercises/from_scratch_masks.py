"""Lesson 02's statistical checks, on the masks a probe's outputs show: how many entries are kept, and how.

The mask is random, so these checks compare counts and sums with exact tail bounds
(``dropout_kit.exercises.stats``) set so that a correct dropout fails any one check with
probability at most 1e-6, whatever the learner's seed. The judge never seeds anything.
"""

from __future__ import annotations

import numpy as np

from dropout_kit.exercises import stats
from dropout_kit.exercises.from_scratch_checks import CheckFailed, kept, near, role, values
from dropout_kit.exercises.from_scratch_reply import Outcome


def check_keep_fraction(outcomes: list[Outcome]) -> None:
    """Is the fraction of kept entries 1-p, at a low and a high rate?

    Bound: the kept count of n entries is Binomial(n, 1-p); each of the two calls gets an
    exact two-sided binomial interval of level 5e-7, so a correct dropout fails with
    probability <= 1e-6.
    """
    for o in role(outcomes, "keep"):
        p, n = o.call["p"], o.x.size
        count = int(kept(o).sum())
        lo, hi = stats.binomial_interval(n, 1 - p, stats.ALPHA / 2)
        if lo <= count <= hi:
            continue
        message = (f"{o.seen} kept {count / n:.3f} of the entries, expected 1-p = {1 - p:.2f} (a correct dropout "
                   f"keeps between {lo / n:.3f} and {hi / n:.3f} with probability > 1 - 1e-6)")
        p_lo, p_hi = stats.binomial_interval(n, p, stats.ALPHA / 2)
        if p_lo <= count <= p_hi:
            message += (": it looks like p is used as the keep probability; in PyTorch p is the probability to "
                        "*drop* an entry, so keep with probability 1-p")
        elif count == n:
            message += ": nothing was dropped"
        raise CheckFailed(message)


def check_mean_preserved(outcomes: list[Outcome]) -> None:
    """Is the output's sum within a Hoeffding bound of the input's, at a low and a high rate?

    Bound: output entry i lies in [0, x_i/(1-p)] independently, so by Hoeffding
    P(|sum out - sum x| >= t) <= 2 exp(-2 t^2 (1-p)^2 / sum x_i^2); t is set so this is 5e-7
    for each call, so a correct dropout fails with probability <= 1e-6.
    """
    for o in role(outcomes, "mean"):
        out, x, q = values(o), o.x.astype(np.float64), 1 - o.call["p"]
        x_sum, out_sum, n = x.sum(), out.sum(), x.size
        t = stats.hoeffding_halfwidth(float((x**2).sum()) / q**2, stats.ALPHA / 2)
        if abs(out_sum - x_sum) <= t:
            continue
        ratio = out_sum / x_sum
        message = (f"{o.seen}: the output's mean is {out_sum / n:.3f} but the input's is {x_sum / n:.3f} (ratio "
                   f"{ratio:.2f}; a correct dropout stays within ±{t / n:.3f} with probability > 1 - 1e-6)")
        if near(ratio, q, 0.1):
            message += ": the kept values need scaling by 1/(1-p) so the expectation is unchanged"
        elif near(ratio, o.call["p"] / q, 0.1):
            message += ": is p used as the keep probability? p is the probability to drop"
        elif near(ratio, q / o.call["p"], 0.1):
            message += ": did you divide by p instead of 1-p?"
        raise CheckFailed(message)


def check_fresh_mask(outcomes: list[Outcome]) -> None:
    """Do two calls on the same input draw different masks?

    Bound: at p=0.5 two independent masks agree on each of 4096 entries with probability 1/2,
    so the agreement count is Binomial(4096, 1/2); the check fails above its exact one-sided
    1e-6 quantile, so a correct dropout fails with probability <= 1e-6.
    """
    first, second = role(outcomes, "fresh")
    a, b = kept(first), kept(second)
    n, agree = a.size, int((a == b).sum())
    if agree <= stats.binomial_upper(n, 0.5):
        return
    if agree == n:
        raise CheckFailed("two calls on the same input dropped exactly the same entries: draw a new mask inside "
                          "the function on every call (don't store it between calls, and don't call "
                          "torch.manual_seed inside)")
    raise CheckFailed(f"the masks of two calls agree on {agree / n:.1%} of the entries, independent masks agree on "
                      "about 50%: draw a new mask on every call")


def _pairs_agreement(keep: np.ndarray, dim: int) -> tuple[int, int]:
    """Agreements between slices 0-1, 2-3, ... along ``dim``: disjoint pairs, so independent."""
    m = np.moveaxis(keep, dim, 0)
    half = m.shape[0] // 2
    even, odd = m[0:2 * half:2], m[1:2 * half:2]
    return int((even == odd).sum()), even.size


def _shared_hint(ndim: int, dim: int) -> str:
    if ndim == 2 and dim == 0:
        return ("every example in the batch gets the same mask (e.g. a mask of shape (1, n) or x.shape[1:] "
                "broadcast over the batch)")
    if ndim == 2 and dim == 1:
        return "each row is kept or dropped as a whole (one mask value per row)"
    if ndim == 4 and dim in (2, 3):
        return ("whole feature maps are kept or dropped together (that is nn.Dropout2d's channel-wise dropout, "
                "not nn.Dropout)")
    return f"entries along dim {dim} share their mask value"


def check_independence(outcomes: list[Outcome]) -> None:
    """Do neighbouring entries along every dim of a 2-D and a 4-D input have independent masks?

    Bound: at p=0.5, 2048 disjoint pairs of neighbours per dim agree each with probability 1/2
    when independent, so their agreement count is Binomial(2048, 1/2). Six dims are tested, each
    above its exact one-sided quantile of level 1e-6/6, so a correct dropout fails with
    probability <= 1e-6. A mask shared along a dim agrees in 100% of pairs.
    """
    for o in role(outcomes, "independence"):
        keep = kept(o)
        failing = []
        for dim in range(keep.ndim):
            agree, pairs = _pairs_agreement(keep, dim)
            if agree > stats.binomial_upper(pairs, 0.5, stats.ALPHA / 6):
                failing.append((agree / pairs, dim))
        if failing:
            # A mask shared along one dim also upsets the counts along the others; the dim that
            # agrees most is where the sharing is.
            share, dim = max(failing)
            raise CheckFailed(f"{o.seen}: neighbours along dim {dim} agree (both kept or both dropped) in "
                              f"{share:.0%} of pairs, independent entries agree in about 50%: "
                              f"{_shared_hint(keep.ndim, dim)}. Draw one value per entry with x's full shape, "
                              "e.g. torch.rand_like(x)")
