"""The ensemble view of dropout, measured (lesson 10): MC averaging of K thinned networks against eval mode."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure

COLUMNS = ("K", "accuracy_mean", "accuracy_std", "log_loss_mean", "log_loss_std")


def _std(value: float) -> float:
    return 0.0 if math.isnan(value) else value  # one group (the largest K): no spread to show


def mc_curve(table: Sequence[Mapping], scaled: Mapping, *, title: str | None = None) -> Figure:
    """Accuracy and log-loss of the average of K thinned networks against K, with eval mode as a line.

    Args:
        table: ``ensembles.mc_curve`` rows (``K``, ``accuracy_mean``/``_std``, ``log_loss_mean``/``_std``).
        scaled: ``ensembles.weight_scaling``'s result (``accuracy``, ``log_loss``): eval mode.

    Returns:
        A Figure with two axes, accuracy (%) and log-loss against K (log scale). Each holds one
        error-bar series (mean ± std over disjoint groups of K samples) and one horizontal line
        at eval mode's value.
    """
    missing = [c for c in COLUMNS if not table or c not in table[0]]
    if missing:
        raise ValueError(f"the table lacks {missing}: make it with dropout_kit.ensembles.mc_curve")
    Ks = [r["K"] for r in table]
    fig = Figure(figsize=(11, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, metric, scale, label in ((axes[0], "accuracy", 100.0, "accuracy (%)"),
                                     (axes[1], "log_loss", 1.0, "log-loss (nats)")):
        ax.errorbar(Ks, [r[f"{metric}_mean"] * scale for r in table],
                    yerr=[_std(r[f"{metric}_std"]) * scale for r in table], fmt="o-", capsize=4,
                    label="MC average of K thinned networks (± std over groups)")
        ax.axhline(scaled[metric] * scale, color="C3", linestyle="--", label="eval mode (weight scaling)")
        ax.set_xscale("log")
        ax.set_xlabel("K, thinned networks averaged")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower right")
    if title:
        fig.suptitle(title)
    return fig
