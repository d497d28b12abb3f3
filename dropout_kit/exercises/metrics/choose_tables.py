"""The made-up sweep tables of lesson 07's ``choose_p`` exercise, drawn by the judge.

The rule (``tuning.pick_rate``, the classic one-standard-error rule): best = the highest
``val_acc_mean``; SE = its ``val_acc_std / sqrt(n)`` (0 when n = 1); return the **largest** p
whose ``val_acc_mean >= best - SE``.

Each kind of table is built so that a common mistake gives a different answer from the rule.
Distances below the best are drawn in units of the best row's SE. A row whose side of a line
decides the answer (of the rule, or of a mistake the table separates: one SE, one std, std / n,
a row's own SE) stays at least 0.1 SE from that line, far more than rounding the means to 5
decimals can move it (SE >= 0.002); ``tests/test_exercise_metrics_choose.py`` checks the
separation on 300 draws. Only the ``boundary`` table puts a row exactly on the line, in numbers
that are exact in binary floating point.

| kind | built so that | mistakes it separates from the rule |
|---|---|---|
| ``columns`` | one rate clearly best on val; train, eval-mode train and test accuracy peak at other rates, val loss is lowest at another | choosing with a column other than val_acc_mean |
| ``within`` | rows within std/n, within SE (the answer) and within one std but not SE, right of the best; one within SE left of it | plain max, smallest p within, std or std/n as the margin |
| ``std`` | a larger rate within one std of the best but not one SE | std as the margin |
| ``own_bars`` | a larger rate whose own wide error bar reaches the best mean | each row's own SE |
| ``unsorted`` | a ``within`` table shuffled: the answer is neither the first nor the last candidate in table order | assuming rows sorted by p |
| ``tie`` | two rates share the best mean exactly | plain max (first of the tie), smallest p |
| ``boundary`` | a larger rate exactly one SE below the best | ``>`` instead of ``>=`` |
| ``single_run`` | n = 1, std NaN (as ``runs.summarize`` writes it); the best is not the largest p | NaN not treated as SE = 0 |
| ``one_row`` | a single row | nothing to choose |
"""

from __future__ import annotations

import math

import numpy as np

GRID = tuple(round(0.05 * i, 2) for i in range(17))  # candidate rates 0.0 ... 0.8
KINDS = ("columns", "within", "within", "std", "own_bars", "unsorted", "tie", "boundary", "single_run", "one_row")


def row(p: float, mean: float, std: float, n: int) -> dict:
    """A sweep-table row; distractor columns follow the rate harmlessly (``columns`` tables override them)."""
    return {"p": p, "n": n, "train_acc_mean": round(0.985 - 0.25 * p, 4),
            "train_eval_acc_mean": round(0.998 - 0.12 * p, 4), "val_loss_mean": round(1.3 - mean, 4),
            "val_acc_mean": mean, "val_acc_std": std, "test_acc_mean": round(mean - 0.004, 5)}


def _rates(rng: np.random.Generator, m: int) -> list[float]:
    return [GRID[i] for i in np.sort(rng.choice(len(GRID), size=m, replace=False))]


def _far(rng: np.random.Generator, n: int) -> float:
    """A distance (in SE) beyond one std, so no margin of any rule reaches it."""
    return float(rng.uniform(1.3, 2.5)) * math.sqrt(n)


def _layout(rng: np.random.Generator, n: int, m: int, b: int, near: dict) -> list[dict]:
    """``m`` rows sharing std and n, the best at index ``b``; row ``b + k`` lies ``uniform(*near[k])`` SE below
    the best, every other row beyond one std."""
    std = round(float(rng.uniform(0.005, 0.012)), 4)
    se = std / math.sqrt(n)
    u = [_far(rng, n) for _ in range(m)]
    u[b] = 0.0
    for offset, (low, high) in near.items():
        u[b + offset] = float(rng.uniform(low, high))
    best = round(float(rng.uniform(0.83, 0.88)), 4)
    return [row(p, round(best - d * se, 5), std, n) for p, d in zip(_rates(rng, m), u)]


def within(rng: np.random.Generator) -> list[dict]:
    """Best at index b; b-1 within SE; b+1 within std/n; b+2 within SE (the answer); b+3 within std only."""
    n, m = int(rng.integers(3, 6)), int(rng.integers(6, 8))
    near = {-1: (0.2, 0.5), 1: (0.1, 0.3), 2: (0.7, 0.88), 3: (1.2, min(1.5, 0.85 * math.sqrt(n)))}
    return _layout(rng, n, m, int(rng.integers(1, m - 3)), near)


def columns(rng: np.random.Generator) -> list[dict]:
    """One rate far ahead on val; each distractor column favours another rate."""
    m = 6
    b = int(rng.integers(m))
    rows = _layout(rng, 3, m, b, {})
    others = [i for i in range(m) if i != b]
    for r in rows:
        r["train_acc_mean"] = round(float(rng.uniform(0.90, 0.97)), 4)
        r["train_eval_acc_mean"] = round(float(rng.uniform(0.95, 0.99)), 4)
        r["val_loss_mean"] = round(float(rng.uniform(0.44, 0.55)), 4)
    rows[int(rng.choice(others))]["train_acc_mean"] = 0.985
    rows[int(rng.choice(others))]["train_eval_acc_mean"] = 0.998
    rows[int(rng.choice(others))]["test_acc_mean"] = round(rows[b]["val_acc_mean"] + 0.01, 5)
    rows[int(rng.choice(others))]["val_loss_mean"] = 0.41
    return rows


def std_only(rng: np.random.Generator) -> list[dict]:
    """Best at b; b-1 within SE; b+1 within one std but not one SE; the rest beyond one std."""
    m = int(rng.integers(4, 7))
    return _layout(rng, int(rng.integers(4, 6)), m, int(rng.integers(1, m - 1)), {-1: (0.2, 0.8), 1: (1.25, 1.6)})


def own_bars(rng: np.random.Generator) -> list[dict]:
    """Best at b (n = 4); b+1 beyond one std of it, but its own wide error bar reaches the best mean."""
    m = int(rng.integers(4, 7))
    b = int(rng.integers(1, m - 1))
    rows = _layout(rng, 4, m, b, {-1: (0.2, 0.8), 1: (2.6, 3.4)})
    wide_n = int(rng.integers(2, 4))
    wide_se = (rows[b]["val_acc_mean"] - rows[b + 1]["val_acc_mean"]) * float(rng.uniform(1.25, 1.6))
    rows[b + 1].update(n=wide_n, val_acc_std=round(wide_se * math.sqrt(wide_n), 4))
    return rows


def unsorted(rng: np.random.Generator) -> list[dict]:
    """A ``within`` table in an order where the answer is neither the first nor the last candidate."""
    rows = within(rng)
    best = max(r["val_acc_mean"] for r in rows)
    line = best - rows[0]["val_acc_std"] / math.sqrt(rows[0]["n"])
    candidates = [r for r in rows if r["val_acc_mean"] >= line]
    answer = max(candidates, key=lambda r: r["p"])
    rest = [candidates[i] for i in rng.permutation(len(candidates)) if candidates[i] is not answer]
    ordered = [rest[0], answer, *rest[1:]]
    for other in (r for r in rows if r["val_acc_mean"] < line):
        ordered.insert(int(rng.integers(len(ordered) + 1)), other)
    return ordered


def tie(rng: np.random.Generator) -> list[dict]:
    """Rows a < c share the best mean exactly; every other row is beyond one std."""
    m = int(rng.integers(5, 7))
    a, c = sorted(int(i) for i in rng.choice(m, size=2, replace=False))
    return _layout(rng, 3, m, a, {c - a: (0.0, 0.0)})


def boundary(rng: np.random.Generator) -> list[dict]:
    """A larger rate exactly one SE below the best, in multiples of 1/2048 (exact in binary floats)."""
    n, m = 4, int(rng.integers(4, 7))
    b = int(rng.integers(0, m - 2))
    on_line = int(rng.integers(b + 1, m))
    # Means in ticks of 1/2048; std = 2s ticks, so with n = 4 the SE is exactly s ticks.
    best, s = int(rng.integers(1700, 1820)), 2 * int(rng.integers(3, 9))
    ticks = [best - s - int(rng.integers(s // 2 + 2, 3 * s)) for _ in range(m)]  # > 1.5 SE below
    ticks[b], ticks[on_line] = best, best - s
    if b > 0:
        ticks[b - 1] = best - int(rng.integers(1, s))  # within, left of the best
    return [row(p, t / 2048, 2 * s / 2048, n) for p, t in zip(_rates(rng, m), ticks)]


def single_run(rng: np.random.Generator) -> list[dict]:
    """One run per rate (std NaN); the best is not the largest rate."""
    m = int(rng.integers(4, 7))
    b = int(rng.integers(0, m - 1))
    best = round(float(rng.uniform(0.83, 0.88)), 4)
    means = [round(best - float(rng.uniform(0.005, 0.03)), 4) for _ in range(m)]
    means[b] = best
    return [row(p, mean, math.nan, 1) for p, mean in zip(_rates(rng, m), means)]


def one_row(rng: np.random.Generator) -> list[dict]:
    """A single rate."""
    n = int(rng.integers(2, 6))
    return [row(GRID[int(rng.integers(len(GRID)))], round(float(rng.uniform(0.83, 0.88)), 4),
                round(float(rng.uniform(0.005, 0.012)), 4), n)]


BUILDERS = {"columns": columns, "within": within, "std": std_only, "own_bars": own_bars, "unsorted": unsorted,
            "tie": tie, "boundary": boundary, "single_run": single_run, "one_row": one_row}


def challenge(rng: np.random.Generator) -> dict:
    """One table of each kind (two ``within``), from the judge's generator."""
    return {"tables": [{"kind": kind, "rows": BUILDERS[kind](rng)} for kind in KINDS]}
