"""Comparing tuning results against seed noise: standard errors, the choice of p, differences.

A difference is "larger than seed noise" when it exceeds ``NOISE_SE`` standard errors; see
the package docstring for what that screen can and cannot say. ``std_ratio_band`` applies the
same screen to two standard deviations (how far apart two spreads can be by chance).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

import torch

from dropout_kit.tables import Table

NOISE_SE = 2.0  # a difference above this many standard errors is called "larger than seed noise"


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample std of the non-NaN values (NaN when there are none; std NaN for one value)."""
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else math.nan


def standard_error(row: Mapping, metric: str = "val_acc") -> float:
    """``std / sqrt(n)`` of a summary row's metric; 0 when n < 2 or the std is NaN (one run).

    Used by ``pick_rate`` and ``difference`` (lessons 06-07).
    """
    std = row[f"{metric}_std"]
    return 0.0 if row["n"] < 2 or math.isnan(std) else std / math.sqrt(row["n"])


def std_ratio_band(n: int, *, z: float = NOISE_SE) -> float:
    """The upper end ``b`` of the band ``[1/b, b]`` within which the ratio of two sample stds of ``n`` values falls by chance.

    For ``n`` independent normal values, ``log(s**2)`` has variance ``trigamma((n - 1) / 2)``
    (exact), so the log of the ratio of two such stds has standard error
    ``sqrt(trigamma((n - 1) / 2) / 2)``; ``b`` is ``z`` of those on a log scale. Treating that
    log ratio as normal is the approximation: with ``z = 2`` a ratio of two stds of the same
    true spread falls outside the band 4.5-5.5% of the time for any ``n >= 2`` (the exact F
    distribution). Lesson 08 uses it for the batch-to-batch std of activations (one epoch's
    batches) and for the spread of accuracies over random choices of units.

    Args:
        n: how many values each standard deviation was computed from (at least 2).
        z: how many standard errors count as "beyond the noise" (``NOISE_SE``).

    Returns:
        ``b`` > 1: two stds are told apart when their ratio is above ``b`` or below ``1 / b``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"a standard deviation needs at least 2 values: n must be a whole number >= 2, got {n!r}")
    trigamma = float(torch.special.polygamma(1, torch.tensor((n - 1) / 2, dtype=torch.float64)))
    return math.exp(z * math.sqrt(trigamma / 2))


def pick_rate(table: Sequence[Mapping], *, metric: str = "val_acc"):
    """The largest ``p`` whose mean is within one standard error of the best mean (the one-SE rule).

    The classic one-standard-error rule, as lesson 07 teaches it (and the reference of its
    ``choose_p`` exercise, ``dropout_kit.exercises.metrics.choose``): best = the highest
    ``<metric>_mean`` (higher is better; among equal bests the one with the smallest p gives
    the SE); SE = ``standard_error(best)``, 0 with one run; return the largest ``p`` among the
    rows with ``<metric>_mean >= best - SE`` (ties and rows exactly on the line count as
    within). Rates whose difference from the best is within one SE cannot be told apart with
    this many seeds; among them the rule takes the most regularised network, the largest p.

    Args:
        table: rows with ``p`` (a single rate), ``n``, ``<metric>_mean``, ``<metric>_std``.
        metric: which metric (default val accuracy). Never a test metric.

    Returns:
        The chosen rate, as it appears in the table.
    """
    if metric.startswith("test"):
        raise ValueError("choose with validation metrics; the test split is for the final report only")
    rows = list(table)
    if not rows:
        raise ValueError("the table is empty: nothing to choose from")
    if not all(isinstance(r["p"], (int, float)) for r in rows):
        raise TypeError("pick_rate compares single rates; per-layer pairs have no 'largest'")
    mean = f"{metric}_mean"
    best = min(rows, key=lambda r: (-r[mean], r["p"]))
    threshold = best[mean] - standard_error(best, metric)
    return max(r["p"] for r in rows if r[mean] >= threshold)


def _find(table: Sequence[Mapping], key) -> Mapping:
    for row in table:
        if row["label"] == key or row.get("p") == key:
            return row
    raise KeyError(f"no row with label or p {key!r}; labels: {[r['label'] for r in table]}")


def verdict(diff: float, se: float, metric: str) -> dict:
    """A difference and its standard error as ``difference``/``se``/``z``/``beyond_noise`` and a sentence."""
    if math.isnan(se):
        return {"difference": diff, "se": se, "z": math.nan, "beyond_noise": False,
                "verdict": f"{metric} differs by {diff * 100:+.2f} points; with one run a side there is "
                           "no estimate of seed noise, so this cannot be judged"}
    z = diff / se if se > 0 else (math.inf if diff else 0.0)
    return {"difference": diff, "se": se, "z": z,
            "beyond_noise": abs(z) > NOISE_SE,
            "verdict": (f"{metric} differs by {diff * 100:+.2f} points, {abs(z):.1f} standard errors: "
                        + ("larger than seed noise" if abs(z) > NOISE_SE else "within seed noise")
                        + f" (threshold {NOISE_SE:g} SE)")}


def paired(differences: Sequence[float], metric: str) -> dict:
    """The mean of paired differences (seed by seed, fold by fold) with its standard error, as ``verdict`` words it.

    The SE is the std of the differences over sqrt(their number), NaN for a single pair. Used by
    ``paired_by_seed``, ``crossval.paired_difference`` and ``bn_shift.recalibration_table``.
    """
    mean, std = mean_std(differences)
    se = std / math.sqrt(len(differences)) if len(differences) > 1 else math.nan
    return verdict(mean, se, metric)


def difference(table: Sequence[Mapping], a, b, *, metric: str = "val_acc") -> dict:
    """Mean of ``b`` minus mean of ``a`` and its standard error, from two summary rows.

    Used in lesson 06 (per-layer swap, L2, neighbouring rates). Rows are found by
    ``label`` or ``p``. The seeds of both rows are treated as independent samples
    (Welch's standard error ``sqrt(std_a**2/n_a + std_b**2/n_b)``).

    Returns:
        ``{"a", "b", "difference", "se", "z", "beyond_noise", "verdict"}``; ``verdict`` is a
        sentence, ``beyond_noise`` is ``|z| > NOISE_SE``.
    """
    ra, rb = _find(table, a), _find(table, b)
    diff = rb[f"{metric}_mean"] - ra[f"{metric}_mean"]
    if min(ra["n"], rb["n"]) < 2:
        se = math.nan
    else:
        se = math.hypot(standard_error(ra, metric), standard_error(rb, metric))
    return {"a": ra["label"], "b": rb["label"], **verdict(diff, se, metric)}


def paired_by_seed(table: Sequence[Mapping], a, b, *, metric: str = "val_acc") -> dict:
    """``b`` minus ``a`` seed by seed, from two ``sweep`` rows run on the same seeds (lesson 06).

    With the course's models the same seed gives two configs the same initial weights and
    the same shuffling (dropout layers have no parameters), so only the dropout masks and
    the config differ. Pairing by seed removes the initialisation's share of the noise.

    Returns:
        ``{"a", "b", "per_seed", "difference", "se", "z", "beyond_noise", "verdict"}``; the SE
        is the std of the per-seed differences over sqrt(number of seeds).
    """
    ra, rb = _find(table, a), _find(table, b)
    if ra["seeds"] != rb["seeds"]:
        raise ValueError(f"{ra['label']} and {rb['label']} were run on different seeds; pairing needs the same")
    per_seed = [y - x for x, y in zip(ra[f"{metric}_runs"], rb[f"{metric}_runs"])]
    return {"a": ra["label"], "b": rb["label"], "per_seed": per_seed, **paired(per_seed, metric)}


def neighbours(table: Sequence[Mapping], *, metric: str = "val_acc") -> Table:
    """Each rate against the next larger one: difference and standard error (lesson 06).

    Returns:
        A ``Table`` with one row per adjacent pair of rates (sorted by ``p``).
    """
    rows = sorted(table, key=lambda r: r["p"])
    out = []
    for ra, rb in zip(rows, rows[1:]):
        d = difference(rows, ra["label"], rb["label"], metric=metric)
        out.append({"from": ra["label"], "to": rb["label"], "difference": d["difference"], "se": d["se"],
                    "z": d["z"], "beyond_noise": d["beyond_noise"]})
    return Table(out, percent=["difference", "se"])
