"""Figures of lesson 06 (tuning): rate sweeps, config comparisons, the L2 grid, cross-validation folds.

Each function takes a table made by ``dropout_kit.tuning`` and returns a matplotlib Figure.
Error bars are ± one standard deviation over seeds (or folds), as the labels say.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np


def _std(value: float) -> float:
    return 0.0 if value is None or math.isnan(value) else value


def _need(table: Sequence[Mapping], *keys: str) -> None:
    if not table:
        raise ValueError("the table is empty: nothing to plot")
    missing = [k for k in keys if k not in table[0]]
    if missing:
        raise KeyError(f"the table lacks {missing}; make it with dropout_kit.tuning (sweep, cross_validate)")


def rate_sweep(table: Sequence[Mapping], *, chosen: float | None = None, title: str | None = None):
    """Val accuracy and val loss against the rate p, mean ± std over seeds (lesson 06's sweep).

    Args:
        table: ``tuning.sweep`` rows with single rates ``p``.
        chosen: a rate to mark with a vertical line (lesson 06: the highest mean val accuracy).
        title: a title for the figure.

    Returns:
        A Figure with two axes: accuracy (val with error bars; eval-mode train accuracy,
        dashed, for the gap) and val loss with error bars.
    """
    _need(table, "p", "val_acc_mean", "val_acc_std", "val_loss_mean", "val_loss_std", "n")
    rows = sorted(table, key=lambda r: r["p"])
    p = np.array([r["p"] for r in rows], dtype=float)
    n = rows[0]["n"]
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
    ax_acc.errorbar(p, [r["val_acc_mean"] * 100 for r in rows], yerr=[_std(r["val_acc_std"]) * 100 for r in rows],
                    marker="o", capsize=4, label=f"val (mean ± std, n={n})")
    if "train_eval_acc_mean" in rows[0]:
        ax_acc.plot(p, [r["train_eval_acc_mean"] * 100 for r in rows], "--", marker=".", color="grey",
                    label="train (eval mode)")
    ax_loss.errorbar(p, [r["val_loss_mean"] for r in rows], yerr=[_std(r["val_loss_std"]) for r in rows],
                     marker="o", capsize=4, color="C1", label=f"val loss (mean ± std, n={n})")
    for ax in (ax_acc, ax_loss):
        if chosen is not None:
            ax.axvline(chosen, color="green", linestyle=":", label=f"chosen p={chosen}")
        ax.set_xlabel("dropout rate p (drop probability)")
        ax.set_xticks(p)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    ax_acc.set(ylabel="accuracy (%)", title="accuracy against p")
    ax_loss.set(ylabel="cross-entropy", title="val loss against p")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def compare_configs(table: Sequence[Mapping], *, metric: str = "val_acc", title: str | None = None):
    """One row per config: mean ± std of ``metric`` as a horizontal error bar (per-layer rates, L2).

    Args:
        table: summary rows with ``label``, ``n``, ``<metric>_mean`` and ``<metric>_std``.
        metric: ``val_acc`` (shown in %), ``val_loss``, ``gap`` or ``train_eval_acc``.

    Returns:
        A Figure with one axis; configs top to bottom in table order.
    """
    _need(table, "label", f"{metric}_mean", f"{metric}_std")
    scale = 1.0 if metric.endswith("loss") else 100.0
    y = np.arange(len(table))[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(table) + 1.5))
    ax.errorbar([r[f"{metric}_mean"] * scale for r in table], y,
                xerr=[_std(r[f"{metric}_std"]) * scale for r in table], fmt="o", capsize=4)
    ax.set_yticks(y, [f"{r['label']} (n={r.get('n', '?')})" for r in table])
    unit = "" if scale == 1.0 else " (%)"
    ax.set_xlabel(f"{metric.replace('_', ' ')}{unit}: mean ± std")
    ax.grid(axis="x", alpha=0.3)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def l2_grid(table: Sequence[Mapping], *, metric: str = "val_acc", title: str | None = None):
    """Heat map of mean ``metric`` over dropout rate x weight decay, each cell annotated mean ± std (lesson 06).

    Args:
        table: ``tuning.sweep`` rows over ``tuning.grid(...)`` configs (keys ``p``, ``weight_decay``).

    Returns:
        A Figure: rows are rates, columns weight decays; empty cells are configs not run.
    """
    _need(table, "p", "weight_decay", f"{metric}_mean", f"{metric}_std")
    rates = sorted({r["p"] for r in table})
    decays = sorted({r["weight_decay"] for r in table})
    scale = 1.0 if metric.endswith("loss") else 100.0
    grid = np.full((len(rates), len(decays)), np.nan)
    fig, ax = plt.subplots(figsize=(1.8 * len(decays) + 2.5, 0.9 * len(rates) + 1.8))
    for r in table:
        i, j = rates.index(r["p"]), decays.index(r["weight_decay"])
        grid[i, j] = r[f"{metric}_mean"] * scale
    image = ax.imshow(grid, cmap="viridis" if scale != 1.0 else "viridis_r", aspect="auto")
    for r in table:
        i, j = rates.index(r["p"]), decays.index(r["weight_decay"])
        digits = 1 if scale != 1.0 else 3
        red, green, blue, _ = image.cmap(image.norm(grid[i, j]))
        light = 0.299 * red + 0.587 * green + 0.114 * blue > 0.5  # dark text on light cells
        ax.text(j, i, f"{r[f'{metric}_mean'] * scale:.{digits}f}\n± {_std(r[f'{metric}_std']) * scale:.{digits}f}",
                ha="center", va="center", color="black" if light else "white", fontsize=9)
    ax.set_xticks(range(len(decays)), [f"{d:g}" for d in decays])
    ax.set_yticks(range(len(rates)), [str(p) for p in rates])
    ax.set(xlabel="weight_decay (L2)", ylabel="dropout rate p")
    fig.colorbar(image, ax=ax, label=f"{metric.replace('_', ' ')}{'' if scale == 1.0 else ' (%)'}")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def cv_folds(fold_table: Sequence[Mapping], *, metric: str = "val_acc", title: str | None = None):
    """Each fold's ``metric`` per config, folds joined across configs (paired comparison, lesson 06).

    Args:
        fold_table: ``tuning.cross_validate`` rows (``label``, ``fold``, ``<metric>``).

    Returns:
        A Figure: x = config, one grey line per fold, and the mean over folds in black.
    """
    _need(fold_table, "label", "fold", metric)
    labels = list(dict.fromkeys(r["label"] for r in fold_table))
    folds = sorted({r["fold"] for r in fold_table})
    scale = 1.0 if metric.endswith("loss") else 100.0
    value = {(r["label"], r["fold"]): r[metric] * scale for r in fold_table}
    fig, ax = plt.subplots(figsize=(2 * len(labels) + 2, 4))
    x = np.arange(len(labels))
    for fold in folds:
        ax.plot(x, [value.get((lab, fold), np.nan) for lab in labels], "o-", color="grey", alpha=0.6,
                label="one fold" if fold == folds[0] else None)
    means = [np.nanmean([value.get((lab, f), np.nan) for f in folds]) for lab in labels]
    ax.plot(x, means, "s-", color="black", linewidth=2, label=f"mean over {len(folds)} folds")
    ax.set_xticks(x, labels)
    ax.set_xlim(-0.5, len(labels) - 0.5)
    ax.set_ylabel(f"{metric.replace('_', ' ')}{'' if scale == 1.0 else ' (%)'}")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
