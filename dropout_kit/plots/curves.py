"""Learning curves: accuracy and loss per epoch, for one or several runs."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np


def _stack(histories: Sequence, name: str) -> np.ndarray:
    return np.array([getattr(h, name) for h in histories], dtype=float)


def learning_curves(runs: Mapping[str, Sequence], *, title: str | None = None, axes=None):
    """Accuracy and loss against epoch for each labelled group of runs (mean ± std over seeds).

    Args:
        runs: ``{"no dropout": [history_seed0, history_seed1, ...], "p=0.3": [...]}``;
            each value is a list of ``History`` objects of equal length (one per seed).
        title: a title for the figure (for the two axes' titles, when ``axes`` are given).
        axes: two existing axes (accuracy, loss) to draw into, e.g. one row of a larger figure.

    Returns:
        A Figure with two axes: accuracy (train running with dropout on, dashed;
        val, solid) and loss (train, dashed; val, solid). Bands show ± one std over seeds.
    """
    if axes is None:
        fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
    else:
        ax_acc, ax_loss = axes
        fig = ax_acc.figure
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, histories) in enumerate(runs.items()):
        if not histories:
            raise ValueError(f"no runs given for {label!r}")
        color = colors[i % len(colors)]
        epochs = np.arange(1, len(histories[0]) + 1)
        for ax, train_name, val_name, scale in (
            (ax_acc, "train_acc", "val_acc", 100.0),
            (ax_loss, "train_loss", "val_loss", 1.0),
        ):
            for name, style, what in ((train_name, "--", "train"), (val_name, "-", "val")):
                values = _stack(histories, name) * scale
                with warnings.catch_warnings():  # epochs skipped by eval_every are all-NaN columns
                    warnings.simplefilter("ignore", RuntimeWarning)
                    mean = np.nanmean(values, axis=0)
                    std = np.nanstd(values, axis=0, ddof=1) if len(histories) > 1 else None
                ok = ~np.isnan(mean)
                n = f" (n={len(histories)})" if len(histories) > 1 else ""
                ax.plot(epochs[ok], mean[ok], style, color=color, label=f"{label} {what}{n}")
                if std is not None:
                    ax.fill_between(epochs[ok], (mean - std)[ok], (mean + std)[ok], color=color, alpha=0.15)
    prefix = f"{title}\n" if title and axes is not None else ""
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title=f"{prefix}accuracy (train: dropout on)")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title=f"{prefix}loss")
    for ax in (ax_acc, ax_loss):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if axes is None:
        if title:
            fig.suptitle(title)
        fig.tight_layout()
    return fig


def gap_bars(table: Sequence[Mapping], *, label: str = "setup"):
    """Bars of mean train (eval mode) and val accuracy per row of a results table, with std.

    ``table`` rows need ``label``, ``train_eval_acc_mean``/``_std`` and ``val_acc_mean``/``_std``
    (as made by ``dropout_kit.experiment.summarize``).
    """
    fig, ax = plt.subplots(figsize=(1.6 * len(table) + 2, 3.5))
    x = np.arange(len(table))
    for offset, key, name in ((-0.2, "train_eval_acc", "train (eval mode)"), (0.2, "val_acc", "val")):
        means = [row[f"{key}_mean"] * 100 for row in table]
        stds = [0.0 if math.isnan(row[f"{key}_std"]) else row[f"{key}_std"] * 100 for row in table]
        ax.bar(x + offset, means, width=0.4, yerr=stds, capsize=4, label=name)
    ax.set_xticks(x, [str(row[label]) for row in table])
    ax.set_ylabel("accuracy (%)")
    low = min(row["val_acc_mean"] for row in table) * 100
    ax.set_ylim(max(0.0, low - 10), 100)
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
