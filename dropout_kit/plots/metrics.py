"""Figures of lessons 07-08: confusion matrix, per-class metrics, the train/eval pitfall,
uncertainty deciles, activation variance over training, and unit ablation.

Each function returns a matplotlib Figure; accuracies are shown in percent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch


def confusion_matrix(cm, classes: Sequence[str], *, normalize: bool = False, title: str | None = None):
    """Heat map of a confusion matrix, rows = true class, columns = predicted (lesson 07).

    Args:
        cm: K x K counts (``dropout_kit.metrics.confusion_matrix``).
        classes: K class names (``dropout_kit.data.CLASSES``).
        normalize: show each row as fractions of the true class (the diagonal is then recall).

    Returns:
        A Figure with every cell annotated (counts, or percent of the row).
    """
    cm = torch.as_tensor(cm).double().numpy()
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] != len(classes):
        raise ValueError(f"need a K x K matrix and K class names, got {cm.shape} and {len(classes)} names")
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) * 100 if normalize else cm
    k = len(classes)
    fig, ax = plt.subplots(figsize=(0.75 * k + 3, 0.7 * k + 2))
    image = ax.imshow(shown, cmap="Blues")
    threshold = shown.max() / 2
    for i in range(k):
        for j in range(k):
            text = f"{shown[i, j]:.0f}" if not normalize else f"{shown[i, j]:.0f}%"
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if shown[i, j] > threshold else "black")
    ax.set_xticks(range(k), classes, rotation=45, ha="right")
    ax.set_yticks(range(k), classes)
    ax.set(xlabel="predicted class", ylabel="true class",
           title=title or ("confusion matrix (% of each true class)" if normalize else "confusion matrix (counts)"))
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return fig


def per_class_bars(precision, recall, f1, classes: Sequence[str], *, title: str | None = None):
    """Grouped bars of per-class precision, recall and F1 (lesson 07)."""
    values = [np.asarray(torch.as_tensor(v).double()) * 100 for v in (precision, recall, f1)]
    if any(len(v) != len(classes) for v in values):
        raise ValueError(f"need one value per class ({len(classes)}) for each metric")
    x = np.arange(len(classes))
    fig, ax = plt.subplots(figsize=(1.0 * len(classes) + 2, 4))
    for offset, v, name in zip((-0.27, 0, 0.27), values, ("precision", "recall", "F1")):
        ax.bar(x + offset, v, width=0.27, label=name)
    ax.set_xticks(x, classes, rotation=45, ha="right")
    ax.set_ylabel("%")
    ax.set_ylim(max(0, min(v.min() for v in values) - 10), 100)
    ax.legend(fontsize=8, ncols=3)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title or "per-class precision, recall and F1")
    fig.tight_layout()
    return fig


def train_vs_eval(result: Mapping, *, title: str | None = None):
    """The pitfall of lesson 07: each train-mode (dropout on) accuracy as a dot, eval mode as a line.

    Args:
        result: ``dropout_kit.metrics.train_vs_eval_accuracy``'s dict.
    """
    accs = np.array(result["train_mode_accs"]) * 100
    fig, ax = plt.subplots(figsize=(6, 2.6))
    ax.plot(accs, np.zeros_like(accs), "o", alpha=0.6, label=f"model.train(): {len(accs)} evaluations")
    ax.axvline(result["eval_acc"] * 100, color="green", label="model.eval()")
    ax.set_yticks([])
    ax.set_xlabel("val accuracy (%)")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title or "the same trained model, evaluated with dropout on and off")
    fig.tight_layout()
    return fig


def uncertainty_deciles(table: Sequence[Mapping], *, title: str | None = None):
    """Accuracy of each uncertainty bin, least uncertain first (lesson 08's MC dropout).

    Args:
        table: ``dropout_kit.uncertainty.accuracy_by_uncertainty`` rows.
    """
    if not table:
        raise ValueError("the table is empty: nothing to plot")
    bins = [r["bin"] for r in table]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    bars = ax.bar(bins, [r["accuracy"] * 100 for r in table], color="C0")
    for bar, r in zip(bars, table):
        ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height() + 1, f"{r['accuracy'] * 100:.0f}",
                ha="center", fontsize=8)
    ax.set_xticks(bins)
    ax.set(xlabel="uncertainty bin (1 = least uncertain, predictive entropy)", ylabel="accuracy (%)",
           ylim=(0, 105), title=title or "accuracy by uncertainty")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def entropy_histogram(entropy, correct, *, title: str | None = None):
    """Histograms of predictive entropy for right and wrong predictions (lesson 08)."""
    entropy = torch.as_tensor(entropy).double().numpy()
    correct = torch.as_tensor(correct).bool().numpy()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    edges = np.linspace(0, max(float(entropy.max()), 1e-6), 31)
    ax.hist(entropy[correct], bins=edges, density=True, alpha=0.6, label=f"right ({correct.sum()})")
    ax.hist(entropy[~correct], bins=edges, density=True, alpha=0.6, label=f"wrong ({(~correct).sum()})")
    ax.set(xlabel="predictive entropy (nats)", ylabel="density", title=title or "uncertainty of right and wrong answers")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def activation_variance(table: Sequence[Mapping], *, title: str | None = None):
    """Hidden-activation variance per epoch, one axis per layer, one line per model (lesson 08).

    Args:
        table: rows of ``uncertainty.record_activation_variance`` (several models stacked);
            the band is ± one std over the epoch's training batches.
    """
    if not table:
        raise ValueError("the table is empty: nothing to plot")
    layers = list(dict.fromkeys(r["layer"] for r in table))
    models = list(dict.fromkeys(r["model"] for r in table))
    fig, axes = plt.subplots(1, len(layers), figsize=(5.5 * len(layers), 3.8), squeeze=False)
    for ax, layer in zip(axes[0], layers):
        for i, model in enumerate(models):
            rows = [r for r in table if r["layer"] == layer and r["model"] == model]
            epochs = np.array([r["epoch"] for r in rows])
            mean = np.array([r["variance_mean"] for r in rows])
            std = np.array([0.0 if math.isnan(r["variance_std"]) else r["variance_std"] for r in rows])
            ax.plot(epochs, mean, color=f"C{i}", label=model or "model")
            ax.fill_between(epochs, mean - std, mean + std, color=f"C{i}", alpha=0.2)
        ax.set(xlabel="epoch", ylabel="activation variance", title=layer)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def ablation(table: Sequence[Mapping], *, title: str | None = None):
    """Accuracy against the fraction of hidden units switched off, one line per model (lesson 08)."""
    if not table:
        raise ValueError("the table is empty: nothing to plot")
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for model in dict.fromkeys(r["model"] for r in table):
        rows = [r for r in table if r["model"] == model]
        ax.errorbar([r["fraction"] * 100 for r in rows], [r["accuracy_mean"] * 100 for r in rows],
                    yerr=[0.0 if math.isnan(r["accuracy_std"]) else r["accuracy_std"] * 100 for r in rows],
                    marker="o", capsize=3, label=model or "model")
    ax.set(xlabel="hidden units switched off (%)", ylabel="val accuracy (%)",
           title=title or "how much the network relies on particular units")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
