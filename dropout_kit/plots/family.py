"""Figures of lesson 11 (the dropout family): masks on feature maps, moments through a SELU stack,
and attention weights with and without attention dropout.

Each function returns a matplotlib Figure built without pyplot's global state, so a notebook
shows it once when it is the last expression of a cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure


def feature_map_masks(maps: torch.Tensor, *, p: float = 0.3, channels: int = 4, seed: int = 0) -> Figure:
    """One image's feature maps, then the same maps after element dropout and after channel dropout.

    Args:
        maps: C x H x W feature maps of one image (e.g. ``SmallCNN.features(x)[0]``).
        p: the drop probability of both kinds.
        channels: how many maps to show (the first ones), one row each.
        seed: seeds both masks (a private stream).

    Returns:
        A Figure with ``channels`` rows and 3 columns: the maps, ``F.dropout(maps, p)`` (single
        pixels dropped) and ``F.dropout2d(maps, p)`` (whole maps dropped); one colour scale per row.
    """
    if maps.dim() != 3 or not 1 <= channels <= maps.shape[0]:
        raise ValueError(f"maps must be C x H x W with at least {channels} channels, got {tuple(maps.shape)}")
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        element = F.dropout(maps, p, training=True)
        channel = F.dropout2d(maps.unsqueeze(0), p, training=True)[0]  # N x C x H x W: whole maps
    fig = Figure(figsize=(7.5, 2.1 * channels + 0.6), layout="constrained")
    axes = fig.subplots(channels, 3, squeeze=False)
    titles = ("feature map", "element dropout (nn.Dropout)", "channel dropout (nn.Dropout2d)")
    for c in range(channels):
        top = float(torch.stack([maps[c], element[c], channel[c]]).max()) or 1.0
        for j, image in enumerate((maps[c], element[c], channel[c])):
            ax = axes[c][j]
            ax.imshow(image.numpy(), cmap="magma", vmin=0.0, vmax=top, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_title(titles[j], fontsize=9)
            if j == 0:
                ax.set_ylabel(f"map {c}")
            if j == 2 and not bool(channel[c].any()):
                ax.text(0.5, 0.5, "dropped", transform=ax.transAxes, ha="center", va="center", color="white")
    fig.suptitle(f"p = {p}; black = 0; kept values are scaled by 1/(1-p), hence the brighter colours")
    return fig


def layer_moments(tables: Mapping[str, Sequence[Mapping]], *, title: str | None = None) -> Figure:
    """Mean and variance of the activations block by block, one line per table (lesson 11's SELU stack).

    Args:
        tables: label -> rows with ``layer``, ``mean`` and ``variance`` (``activation_stats.layer_moments``);
            labels containing "eval" are drawn dashed.

    Returns:
        A Figure with two axes, mean (target 0) and variance (target 1) against depth.
    """
    if not tables:
        raise ValueError("give at least one table to plot")
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    ax_mean, ax_var = fig.subplots(1, 2)
    for i, (label, rows) in enumerate(tables.items()):
        style = "--" if "eval" in label else "-"  # eval-mode lines dashed
        layers = [r["layer"] for r in rows]
        ax_mean.plot(layers, [r["mean"] for r in rows], style, color=f"C{i}", label=label)
        ax_var.plot(layers, [r["variance"] for r in rows], style, color=f"C{i}", label=label)
    for ax, target, name in ((ax_mean, 0.0, "mean"), (ax_var, 1.0, "variance")):
        ax.axhline(target, color="grey", linewidth=0.8)
        ax.set(xlabel="block (Linear -> SELU -> dropout)", ylabel=f"{name} of the block's output")
        ax.grid(alpha=0.3)
    ax_var.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def attention_dropout(eval_weights: torch.Tensor, train_weights: torch.Tensor, *, head: int = 0) -> Figure:
    """One head's attention weights in eval mode and in train mode (after attention dropout), side by side.

    Args:
        eval_weights, train_weights: heads x queries x keys (``transformer.attention_weights``).

    Returns:
        A Figure with two heat maps on one colour scale, titled with the row sums' range; weights
        that are exactly 0 (dropped) carry a white cross.
    """
    if eval_weights.shape != train_weights.shape or eval_weights.dim() != 3:
        raise ValueError(f"need two heads x queries x keys tensors of one shape, got {tuple(eval_weights.shape)} "
                         f"and {tuple(train_weights.shape)}")
    fig = Figure(figsize=(9, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    top = float(torch.maximum(eval_weights[head].max(), train_weights[head].max()))
    for ax, weights, name in ((axes[0], eval_weights[head], "eval mode"), (axes[1], train_weights[head], "train mode")):
        sums = weights.sum(dim=-1)
        image = ax.imshow(weights.numpy(), cmap="viridis", vmin=0.0, vmax=top)
        rows, cols = torch.nonzero(weights == 0, as_tuple=True)
        if len(rows):  # dropped weights: a white cross, since 0 and a small weight look alike
            ax.scatter(cols.numpy(), rows.numpy(), marker="x", color="white", s=25, label="dropped (0)")
            ax.legend(loc="upper right", fontsize=8, framealpha=0.6)
        ax.set_title(f"{name}: row sums {float(sums.min()):.2f}-{float(sums.max()):.2f}", fontsize=10)
        ax.set(xlabel="key position", ylabel="query position")
    fig.colorbar(image, ax=axes, label="attention weight")
    return fig
