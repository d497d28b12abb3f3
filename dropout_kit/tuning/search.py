"""Random search beside a grid (lesson 12): configurations drawn at random, for ``sweep``.

A grid of ``a x b`` runs tries only ``a`` distinct rates and ``b`` distinct weight decays. The
same number of random draws tries as many distinct values of each as there are runs, which
pays when one of the two matters much more than the other (Bergstra and Bengio, 2012).
"""

from __future__ import annotations

import math

import torch


def _range(name: str, bounds, *, positive: bool) -> tuple[float, float]:
    try:
        low, high = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (low, high) pair of numbers, got {bounds!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low <= high) or (positive and low <= 0):
        raise ValueError(f"{name} must be a finite (low, high) pair with low <= high"
                         f"{' and low > 0 (it is drawn on a log scale)' if positive else ''}; got {bounds!r}")
    return low, high


def random_configs(n: int, *, p=(0.0, 0.6), weight_decay=(1e-5, 1e-3), seed: int = 0) -> list[dict]:
    """``n`` configs for ``tuning.sweep`` with ``p`` uniform and ``weight_decay`` log-uniform in the ranges.

    Rates are rounded to 3 decimals and weight decays to 2 significant digits, so labels stay
    readable; the draws are seeded by ``seed`` (a private generator). Used in lesson 12.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a whole number >= 1, got {n!r}")
    p_low, p_high = _range("p", p, positive=False)
    if not 0.0 <= p_low <= p_high < 1.0:
        raise ValueError(f"p's range must lie in [0, 1), got {p!r}")
    wd_low, wd_high = _range("weight_decay", weight_decay, positive=True)
    generator = torch.Generator().manual_seed(seed)
    u = torch.rand(n, 2, generator=generator, dtype=torch.float64)
    rates = p_low + (p_high - p_low) * u[:, 0]
    decays = torch.exp(math.log(wd_low) + (math.log(wd_high) - math.log(wd_low)) * u[:, 1])
    return [{"p": round(float(r), 3), "weight_decay": float(f"{float(d):.2g}")} for r, d in zip(rates, decays)]
