"""Tests of dropout_kit.tuning.search: random configurations for sweep, beside the grid."""

from __future__ import annotations

import math

import pytest

from dropout_kit import tuning


def test_random_configs_lie_in_the_ranges_and_are_seeded():
    """Are there n configs, p in [low, high], weight_decay in [low, high], the same for one seed and new for another?"""
    configs = tuning.random_configs(50, p=(0.1, 0.5), weight_decay=(1e-5, 1e-3), seed=3)
    assert len(configs) == 50 and all(set(c) == {"p", "weight_decay"} for c in configs)
    assert all(0.1 <= c["p"] <= 0.5 and 1e-5 * 0.99 <= c["weight_decay"] <= 1e-3 * 1.01 for c in configs)
    assert configs == tuning.random_configs(50, p=(0.1, 0.5), weight_decay=(1e-5, 1e-3), seed=3)
    assert configs != tuning.random_configs(50, p=(0.1, 0.5), weight_decay=(1e-5, 1e-3), seed=4)
    assert all(c["p"] == round(c["p"], 3) and float(f"{c['weight_decay']:.2g}") == c["weight_decay"] for c in configs)


def test_random_configs_try_as_many_rates_as_runs_where_a_grid_tries_few():
    """With the budget of a 3 x 2 grid, do 6 random configs try 6 distinct rates and 6 distinct weight decays?"""
    grid = tuning.grid([0.0, 0.3, 0.6], [1e-5, 1e-3])
    drawn = tuning.random_configs(len(grid), seed=0)
    assert len({c["p"] for c in grid}) == 3 and len({c["weight_decay"] for c in grid}) == 2
    assert len({c["p"] for c in drawn}) == 6 and len({c["weight_decay"] for c in drawn}) == 6


def test_weight_decay_is_log_uniform():
    """Is about half of weight_decay below the geometric middle of its range (log-uniform), and p uniform?

    4,000 draws, seeded: each share is within 0.05 of 1/2 (about 6 binomial standard deviations).
    """
    configs = tuning.random_configs(4000, p=(0.0, 0.6), weight_decay=(1e-6, 1e-2), seed=0)
    assert abs(sum(c["weight_decay"] < 1e-4 for c in configs) / 4000 - 0.5) < 0.05
    assert abs(sum(c["p"] < 0.3 for c in configs) / 4000 - 0.5) < 0.05


@pytest.mark.parametrize("kwargs, message", [
    ({"n": 0}, "n must be"), ({"p": (0.5, 0.1)}, "low <= high"), ({"p": (0.0, 1.0)}, r"lie in \[0, 1\)"),
    ({"weight_decay": (0.0, 1e-3)}, "log scale"), ({"weight_decay": (1e-5, math.inf)}, "finite"),
    ({"p": 0.3}, "pair of numbers"),
])
def test_bad_ranges_are_refused(kwargs, message):
    """Are empty counts, reversed or out-of-range bounds, zero on a log scale and non-pairs refused with a reason?"""
    with pytest.raises(ValueError, match=message):
        tuning.random_configs(**{"n": 3, **kwargs})
