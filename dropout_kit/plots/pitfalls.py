"""Figures of lesson 12 (pitfalls): where L1 and L2 leave the first layer's weights, grid against
random search, and how optimistic a score becomes when it is also used to choose.

Each function takes tables made by ``dropout_kit.tuning`` (with measures from
``dropout_kit.regularization`` or ``dropout_kit.leakage``) and returns a matplotlib Figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure


def input_weight_maps(table: Sequence[Mapping], *, key: str = "input_map_runs") -> Figure:
    """The first layer's mean ``|w|`` from each pixel, as a 28 x 28 image per config (first seed's run).

    Args:
        table: ``tuning.sweep`` rows made with ``measure=regularization.weight_stats``.

    Returns:
        A Figure with one panel per row, all on one colour scale; dark pixels barely reach the network.
    """
    if not table or any(key not in r for r in table):
        raise ValueError(f"every row needs {key!r}: run tuning.sweep with measure=regularization.weight_stats")
    maps = [np.asarray(r[key][0], dtype=float).reshape(28, 28) for r in table]
    top = max(float(m.max()) for m in maps) or 1.0
    fig = Figure(figsize=(2.6 * len(maps) + 1, 3.2), layout="constrained")
    axes = fig.subplots(1, len(maps), squeeze=False)[0]
    for ax, row, image in zip(axes, table, maps):
        shown = ax.imshow(image, cmap="magma", vmin=0.0, vmax=top)
        ax.set_title(row["label"], fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(shown, ax=list(axes), label="mean |w| of fc1 from the pixel")
    return fig


def search_points(grid: Sequence[Mapping], random: Sequence[Mapping], *, metric: str = "val_acc") -> Figure:
    """Grid and random search side by side: where each tried (p, weight_decay), and the score against p.

    Args:
        grid, random: ``tuning.sweep`` rows (keys ``p``, ``weight_decay``, ``<metric>_mean``).

    Returns:
        A Figure with two axes: the configs in the (p, weight_decay) plane coloured by the score,
        each search's best starred; and the score against p alone.
    """
    key = f"{metric}_mean"
    rows = list(grid) + list(random)
    if not grid or not random or any(k not in r for r in rows for k in ("p", "weight_decay", key)):
        raise ValueError(f"give two non-empty tables whose rows have p, weight_decay and {key}")
    scale = 1.0 if metric.endswith("loss") else 100.0
    low, high = min(r[key] for r in rows) * scale, max(r[key] for r in rows) * scale
    fig = Figure(figsize=(12, 4.3), layout="constrained")
    ax_plane, ax_p = fig.subplots(1, 2)
    for rows_i, marker, name in ((grid, "s", "grid"), (random, "o", "random")):
        p = [r["p"] for r in rows_i]
        wd = [r["weight_decay"] for r in rows_i]
        score = [r[key] * scale for r in rows_i]
        shown = ax_plane.scatter(p, wd, c=score, cmap="viridis", vmin=low, vmax=high, marker=marker, s=80,
                                 edgecolors="black", label=f"{name} ({len(rows_i)} runs)")
        best = max(rows_i, key=lambda r: r[key] * (1 if scale != 1.0 else -1))
        ax_plane.scatter([best["p"]], [best["weight_decay"]], marker="*", s=300, facecolors="none",
                         edgecolors="red", linewidths=1.5)
        ax_p.plot(p, score, marker, linestyle="none", markersize=8, label=f"{name}")
        ax_p.plot([best["p"]], [best[key] * scale], "*", color="red", markersize=14)
    ax_plane.set(xscale="linear", yscale="log", xlabel="dropout rate p", ylabel="weight_decay (log scale)",
                 title="configs tried (red star: each search's best)")
    fig.colorbar(shown, ax=ax_plane, label=f"{metric.replace('_', ' ')}{'' if scale == 1.0 else ' (%)'}")
    ax_plane.legend(fontsize=8, loc="upper left")
    ax_p.set(xlabel="dropout rate p", ylabel=f"{metric.replace('_', ' ')}{'' if scale == 1.0 else ' (%)'}",
             title="the same runs against p alone")
    ax_p.grid(alpha=0.3)
    ax_p.legend(fontsize=8)
    return fig


def selection_optimism(table: Sequence[Mapping]) -> Figure:
    """The winner's optimism (its score on the images it was chosen on minus on others) against configs searched.

    Args:
        table: ``leakage.selection_optimism`` rows.

    Returns:
        A Figure: mean optimism in points, with the 5th-95th percentile band over splits.
    """
    if not table or any(k not in r for r in table for k in ("configs searched", "optimism")):
        raise ValueError("give leakage.selection_optimism's table")
    m = [r["configs searched"] for r in table]
    fig = Figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.subplots()
    ax.fill_between(m, [r["optimism p5"] * 100 for r in table], [r["optimism p95"] * 100 for r in table],
                    alpha=0.25, label="5th-95th percentile over splits")
    ax.plot(m, [r["optimism"] * 100 for r in table], "o-", label="mean over splits")
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_xscale("log", base=2)
    ax.set_xticks(m, [str(v) for v in m])
    ax.set(xlabel="configurations searched (chosen on half A)",
           ylabel="winner's accuracy: half A - half B (points)",
           title="choosing on the images you report on flatters the winner")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig
