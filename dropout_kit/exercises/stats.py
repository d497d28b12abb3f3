"""Exact tail bounds for judges' statistical checks (numpy only, no scipy).

A statistical check is built so that a *correct* answer fails it with probability at most
``ALPHA`` = 1e-6. A check that makes several tests splits ``ALPHA`` between them (union
bound), so the whole check still stays under its budget.

Two kinds of bound:

- counts (kept entries, agreeing entries) are binomial: their tails are summed exactly from
  the binomial probabilities, computed in log space in float64;
- sums of bounded independent terms use Hoeffding's inequality, which needs only the range
  of each term and holds for any sample size.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

ALPHA = 1e-6
"""The most a correct answer may fail any one statistical check, by construction of the bounds."""


@lru_cache(maxsize=64)
def _tails(n: int, prob: float) -> tuple[np.ndarray, np.ndarray]:
    """``P(K <= k)`` and ``P(K >= k)`` for k = 0..n, where K ~ Binomial(n, prob)."""
    if not 0.0 < prob < 1.0:
        raise ValueError(f"prob must be strictly between 0 and 1, got {prob}")
    log_factorial = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1, dtype=np.float64)))])
    k = np.arange(n + 1, dtype=np.float64)
    log_pmf = (log_factorial[n] - log_factorial - log_factorial[::-1]
               + k * math.log(prob) + (n - k) * math.log1p(-prob))
    pmf = np.exp(log_pmf)
    # Each tail is summed from its own end, so tiny tail masses keep full precision.
    return np.cumsum(pmf), np.cumsum(pmf[::-1])[::-1]


@lru_cache(maxsize=256)
def binomial_interval(n: int, prob: float, alpha: float = ALPHA) -> tuple[int, int]:
    """The range ``[lo, hi]`` that Binomial(n, prob) leaves with probability <= ``alpha``.

    Exact two-sided bound: ``P(K < lo) <= alpha/2`` and ``P(K > hi) <= alpha/2``.
    """
    lower, upper = _tails(n, float(prob))
    below = np.flatnonzero(lower <= alpha / 2)  # lo: the largest k with P(K <= k-1) <= alpha/2
    above = np.flatnonzero(upper <= alpha / 2)  # hi: the smallest k with P(K >= k+1) <= alpha/2
    return (int(below[-1]) + 1 if len(below) else 0), (int(above[0]) - 1 if len(above) else n)


@lru_cache(maxsize=256)
def binomial_upper(n: int, prob: float, alpha: float = ALPHA) -> int:
    """The count ``hi`` that Binomial(n, prob) exceeds with probability <= ``alpha`` (one-sided)."""
    _, upper = _tails(n, float(prob))
    above = np.flatnonzero(upper <= alpha)
    return int(above[0]) - 1 if len(above) else n


def hoeffding_halfwidth(range_sq_sum: float, alpha: float = ALPHA) -> float:
    """Half-width ``t`` with ``P(|S - E S| >= t) <= alpha`` for a sum S of independent bounded terms.

    Hoeffding: ``P(|S - E S| >= t) <= 2 exp(-2 t^2 / sum_i (b_i - a_i)^2)``, where term i
    lies in ``[a_i, b_i]``; ``range_sq_sum`` is that sum of squared ranges.
    """
    return math.sqrt(range_sq_sum * math.log(2.0 / alpha) / 2.0)
