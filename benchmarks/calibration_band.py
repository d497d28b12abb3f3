"""The calibration band of ``gpu_check.py``: is a device's mean within seed noise of the CPU calibration's?

Band: CPU mean ± ``BAND_SDS`` × max(the design's CPU seed std, the seed std pooled over every
calibrated design). If a device's runs are distributed like the CPU's (normal, independent seeds, one
spread for all designs), its mean of ``n_gpu`` runs leaves the band with probability at most
``t_two_sided(BAND_SDS / sqrt(1/n_gpu + 1/n_cpu), dof)``, ``dof`` being the pooled std's.
"""

from __future__ import annotations

import math
import statistics

BAND_SDS = 3.0


def t_two_sided(t: float, dof: int) -> float:
    """P(|T| > t) for Student's t with ``dof`` degrees of freedom (Simpson's rule; no scipy needed)."""
    log_c = math.lgamma((dof + 1) / 2) - math.lgamma(dof / 2) - 0.5 * math.log(dof * math.pi)

    def density(x: float) -> float:
        return math.exp(log_c - (dof + 1) / 2 * math.log1p(x * x / dof))

    steps = 20_000
    h = t / steps
    inside = density(0) + density(t) + sum((4 if i % 2 else 2) * density(i * h) for i in range(1, steps))
    return max(0.0, 1.0 - 2 * inside * h / 3)


def pooled_std(calibration: dict, metric: str) -> tuple[float, int]:
    """The seed std pooled over every calibrated design ({design: {seed: run}}), and its degrees of freedom."""
    squares, dof = 0.0, 0
    for runs in calibration.values():
        values = [r[metric] for r in runs.values()]
        if len(values) > 1:
            squares += statistics.variance(values) * (len(values) - 1)
            dof += len(values) - 1
    return math.sqrt(squares / dof), dof


def band(cpu_values: list[float], pooled: float) -> tuple[float, float]:
    """CPU mean ± BAND_SDS × max(the design's seed std, the pooled std)."""
    spread = BAND_SDS * max(statistics.stdev(cpu_values), pooled)
    mean = statistics.fmean(cpu_values)
    return mean - spread, mean + spread
