"""Tests of dropout_kit.exercises.stats: the exact tail bounds behind the judges' statistical checks."""

import math
from fractions import Fraction

import pytest

from dropout_kit.exercises import stats


def _pmf(n, prob):
    return [math.comb(n, k) * prob**k * (1 - prob) ** (n - k) for k in range(n + 1)]


@pytest.mark.parametrize("n, prob, alpha", [(30, 0.3, 0.01), (200, 0.5, 1e-4), (57, 0.81, 0.05)])
def test_binomial_interval_is_the_exact_tight_interval(n, prob, alpha):
    """Does binomial_interval leave at most alpha/2 in each tail, and is it the tightest such range?"""
    pmf = _pmf(n, prob)
    lo, hi = stats.binomial_interval(n, prob, alpha)
    assert sum(pmf[:lo]) <= alpha / 2 < sum(pmf[: lo + 1])
    assert sum(pmf[hi + 1:]) <= alpha / 2 < sum(pmf[hi:])


def test_binomial_upper_is_the_exact_one_sided_quantile():
    """Does binomial_upper leave at most alpha above it, and no less strict bound would?"""
    pmf = _pmf(100, 0.5)
    hi = stats.binomial_upper(100, 0.5, 1e-3)
    assert sum(pmf[hi + 1:]) <= 1e-3 < sum(pmf[hi:])


def test_the_bounds_at_the_sizes_the_judge_uses():
    """At n=4096 and 2048, p=1/2, are the bounds where exact arithmetic puts them (big integers, no floats)?"""
    for n, alpha in [(4096, Fraction(1, 10**6)), (2048, Fraction(1, 6 * 10**6))]:
        hi = stats.binomial_upper(n, 0.5, float(alpha))
        above = sum(math.comb(n, k) for k in range(hi + 1, n + 1))
        assert above <= alpha * 2**n < above + math.comb(n, hi)


def test_hoeffding_halfwidth_solves_the_inequality():
    """Does hoeffding_halfwidth give the t where 2 exp(-2 t^2 / R) equals alpha?"""
    t = stats.hoeffding_halfwidth(50.0, 1e-6)
    assert 2 * math.exp(-2 * t**2 / 50.0) == pytest.approx(1e-6)


def test_a_probability_outside_zero_one_is_refused():
    """Does asking for the tails of Binomial(n, 0) or (n, 1) raise ValueError naming prob?"""
    with pytest.raises(ValueError, match="prob must be strictly between 0 and 1, got 1.0"):
        stats.binomial_upper(10, 1.0)
