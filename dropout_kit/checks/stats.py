"""The tail bounds behind the statistical checks, computed exactly (no scipy).

Every statistical check is built so that a *correct* dropout fails it with
probability at most ``ALPHA`` = 1e-6. A check that makes several tests splits
``ALPHA`` between them (union bound), so the whole check still stays under 1e-6.

Two kinds of bound are used:

- counts of kept entries, or of agreeing entries, are binomial: their tails
  are summed exactly from the binomial probabilities (``lgamma`` in float64);
- sums of scaled outputs are bounded with Hoeffding's inequality, which needs
  nothing but the range of each term and holds for any sample size.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

ALPHA = 1e-6
"""The most a correct dropout may fail any one check, by construction of the bounds."""


@lru_cache(maxsize=64)
def _tails(n: int, prob: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``P(K <= k)`` and ``P(K >= k)`` for k = 0..n, where K ~ Binomial(n, prob)."""
    if not 0.0 < prob < 1.0:
        raise ValueError(f"prob must be strictly between 0 and 1, got {prob}")
    k = torch.arange(n + 1, dtype=torch.float64)
    log_pmf = (
        math.lgamma(n + 1)
        - torch.lgamma(k + 1)
        - torch.lgamma(n - k + 1)
        + k * math.log(prob)
        + (n - k) * math.log1p(-prob)
    )
    pmf = torch.exp(log_pmf)
    # Each tail is summed from its own end, so tiny tail masses keep full precision.
    lower = torch.cumsum(pmf, 0)
    upper = torch.flip(torch.cumsum(torch.flip(pmf, [0]), 0), [0])
    return lower, upper


@lru_cache(maxsize=256)
def binomial_interval(n: int, prob: float, alpha: float = ALPHA) -> tuple[int, int]:
    """The range ``[lo, hi]`` that Binomial(n, prob) leaves with probability <= ``alpha``.

    Exact two-sided bound: ``P(K < lo) <= alpha/2`` and ``P(K > hi) <= alpha/2``.
    """
    lower, upper = _tails(n, float(prob))
    # lo: the largest k with P(K <= k-1) <= alpha/2.
    below = torch.nonzero(lower <= alpha / 2)
    lo = int(below[-1]) + 1 if len(below) else 0
    # hi: the smallest k with P(K >= k+1) <= alpha/2.
    above = torch.nonzero(upper <= alpha / 2)
    hi = int(above[0]) - 1 if len(above) else n
    return lo, hi


@lru_cache(maxsize=256)
def binomial_upper(n: int, prob: float, alpha: float = ALPHA) -> int:
    """The count ``hi`` that Binomial(n, prob) exceeds with probability <= ``alpha`` (one-sided)."""
    _, upper = _tails(n, float(prob))
    above = torch.nonzero(upper <= alpha)
    return int(above[0]) - 1 if len(above) else n


def hoeffding_halfwidth(range_sq_sum: float, alpha: float = ALPHA) -> float:
    """Half-width ``t`` with ``P(|S - E S| >= t) <= alpha`` for a sum S of independent bounded terms.

    Hoeffding: ``P(|S - E S| >= t) <= 2 exp(-2 t^2 / sum_i (b_i - a_i)^2)``, where term i
    lies in ``[a_i, b_i]``; ``range_sq_sum`` is that sum of squared ranges.
    """
    return math.sqrt(range_sq_sum * math.log(2.0 / alpha) / 2.0)
