"""Figures of dropout masks for lesson 01_concepts: what masks look like, and why the
1/(1-p) scaling of inverted dropout keeps the expected output equal to the input.

Both functions take the dropout function to draw from as an argument, so the lesson can
show ``torch.nn.functional.dropout`` and a learner's own function side by side. They
build a ``matplotlib.figure.Figure`` directly (no pyplot), so nothing is shown twice in
a notebook and no global figure state is left behind; a notebook displays the returned
figure when it is the last expression of a cell (with ``%matplotlib inline``).
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from matplotlib.figure import Figure


def plot_masks(
    dropout: Callable,
    ps: Sequence[float] = (0.2, 0.5, 0.8),
    draws: int = 3,
    shape: tuple[int, int] = (8, 16),
) -> Figure:
    """Heatmaps of dropout masks: one row per drop probability p, one column per draw.

    Each mask is read off ``dropout(torch.ones(shape), p=p, training=True)``: white where
    the entry was kept, black where it was dropped. Used in lesson 01_concepts.

    Args:
        dropout: a function ``dropout(x, p=..., training=...)``, e.g. ``F.dropout``.
        ps: the drop probabilities, one row each.
        draws: how many masks to draw for each p (columns); each call draws a fresh mask.
        shape: the (rows, columns) of each mask, e.g. (batch, features).

    Returns:
        The figure; ``fig.axes[i * draws + j]`` shows draw j at ``ps[i]``.
    """
    if draws < 1 or not ps:
        raise ValueError(f"need at least one p and one draw, got ps={list(ps)}, draws={draws}")
    fig = Figure(figsize=(2.6 * draws + 0.6, 1.3 * len(ps) + 0.9), layout="constrained")
    axes = fig.subplots(len(ps), draws, squeeze=False)
    ones = torch.ones(shape)
    for row, p in enumerate(ps):
        for col in range(draws):
            with torch.no_grad():
                kept = (dropout(ones.clone(), p=p, training=True) != 0).float()
            ax = axes[row][col]
            ax.imshow(kept.numpy(), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            ax.set_title(f"p={p}, draw {col + 1}: {kept.mean().item():.0%} kept", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(f"p = {p}")
    fig.suptitle("Dropout masks: white = kept (and scaled by 1/(1-p)), black = dropped")
    return fig


def plot_expectation(
    dropout: Callable,
    x: torch.Tensor,
    p: float = 0.5,
    draws: int = 2000,
) -> Figure:
    """Show that the mean of dropout's outputs over many draws converges to the input.

    Left: the running mean over draws of each entry of ``x``, with the input values as
    dashed lines. Right: a histogram of the outputs of the first entry (only two values
    occur, 0 and x/(1-p)) with its input value and its mean over draws marked. Used in
    lesson 01_concepts.

    Args:
        dropout: a function ``dropout(x, p=..., training=...)``, e.g. ``F.dropout``.
        x: a 1-D tensor of a few values (say 3 to 6).
        p: the drop probability.
        draws: how many times dropout is applied to ``x``.

    Returns:
        The figure: ``fig.axes[0]`` holds one running-mean line per entry of ``x`` (then the
        dashed input lines), ``fig.axes[1]`` the histogram.
    """
    if x.dim() != 1:
        raise ValueError(f"x must be a 1-D tensor of a few values, got shape {tuple(x.shape)}")
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    with torch.no_grad():
        outs = torch.stack([dropout(x.clone(), p=p, training=True) for _ in range(draws)])
    outs = outs.double()
    running = outs.cumsum(0) / torch.arange(1, draws + 1, dtype=torch.float64).unsqueeze(1)
    steps = torch.arange(1, draws + 1).numpy()

    fig = Figure(figsize=(11, 4), layout="constrained")
    left, right = fig.subplots(1, 2)
    colours = [f"C{i % 10}" for i in range(len(x))]
    for i, value in enumerate(x.tolist()):
        left.plot(steps, running[:, i].numpy(), color=colours[i], label=f"x[{i}] = {value:g}")
    for i, value in enumerate(x.tolist()):
        left.axhline(value, color=colours[i], linestyle="--", linewidth=1)
    left.set_xscale("log")
    left.set_xlabel("number of draws")
    left.set_ylabel("mean of dropout(x) so far")
    left.set_title(f"The running mean converges to x (p={p}; dashed: x)")
    left.legend(fontsize=8)

    first = outs[:, 0].numpy()
    right.hist(first, bins=30, color=colours[0])
    right.axvline(x[0].item(), color="black", linestyle="--", label=f"input x[0] = {x[0].item():g}")
    right.axvline(first.mean(), color="C3", label=f"mean over draws = {first.mean():.3f}")
    right.set_xlabel("dropout(x)[0]")
    right.set_ylabel("draws")
    right.set_title(f"Only 0 and x/(1-p) = {x[0].item() / (1 - p):g} occur" if p < 1 else "All 0 at p=1")
    right.legend(fontsize=8, loc="upper center")
    fig.suptitle(f"Inverted dropout keeps the expectation: E[dropout(x)] = x ({draws} draws)")
    return fig
