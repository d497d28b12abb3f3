"""Pictures of what dropout removes (lesson 10): thinned networks, and images with dropped pixels.

``thinned_networks`` draws a small fully connected network and a few of its thinned
versions: units as circles, dropped units greyed and crossed out, and only the edges between
kept units. Every artist carries a ``gid`` (``"unit"``, ``"dropped"``, ``"cross"``, ``"edge"``)
so that tests, and curious learners, can count what was drawn. Figures are built with
``matplotlib.figure.Figure`` (no pyplot), as in ``plots.masks``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle

RADIUS = 0.16
GAP_X, GAP_Y = 1.4, 0.5  # between layers, between units of a layer


def sample_masks(sizes: Sequence[int], *, p_input: float = 0.2, p_hidden: float = 0.5,
                 generator: torch.Generator | None = None) -> list[np.ndarray]:
    """One thinned network: a boolean keep-mask per layer (input rate, hidden rate, output layer always kept)."""
    masks = []
    for i, n in enumerate(sizes):
        p = 0.0 if i == len(sizes) - 1 else (p_input if i == 0 else p_hidden)
        masks.append((torch.rand(n, generator=generator) >= p).numpy())
    return masks


def _positions(sizes: Sequence[int]) -> list[np.ndarray]:
    """Unit centres: layer i at x = i * GAP_X, its units GAP_Y apart, centred on y = 0."""
    return [np.stack([np.full(n, i * GAP_X), (np.arange(n) - (n - 1) / 2) * GAP_Y], axis=1)
            for i, n in enumerate(sizes)]


def draw_network(ax, sizes: Sequence[int], masks: Sequence[np.ndarray] | None = None, *, title: str = "") -> None:
    """Draw one network on ``ax``: edges between kept units, kept units white, dropped ones grey and crossed."""
    masks = [np.ones(n, dtype=bool) for n in sizes] if masks is None else [np.asarray(m, dtype=bool) for m in masks]
    if [len(m) for m in masks] != list(sizes):
        raise ValueError(f"one mask per layer, of the layer's size: sizes {list(sizes)}, "
                         f"masks {[len(m) for m in masks]}")
    where = _positions(sizes)
    for layer in range(len(sizes) - 1):
        for a in np.flatnonzero(masks[layer]):
            for b in np.flatnonzero(masks[layer + 1]):
                (x0, y0), (x1, y1) = where[layer][a], where[layer + 1][b]
                ax.add_line(Line2D([x0, x1], [y0, y1], color="0.45", linewidth=0.7, zorder=1, gid="edge"))
    for layer, (centres, kept) in enumerate(zip(where, masks)):
        for (x, y), keep in zip(centres, kept):
            ax.add_patch(Circle((x, y), RADIUS, facecolor="white" if keep else "0.85", edgecolor="black" if keep
                                else "0.6", linewidth=1.2, zorder=2, gid="unit" if keep else "dropped"))
            if not keep:
                d = RADIUS * 0.75
                for sign in (1, -1):
                    ax.add_line(Line2D([x - d, x + d], [y - sign * d, y + sign * d], color="C3", linewidth=1.5,
                                       zorder=3, gid="cross"))
    half = (max(sizes) - 1) / 2 * GAP_Y + 2 * RADIUS
    ax.set_xlim(-2 * RADIUS, (len(sizes) - 1) * GAP_X + 2 * RADIUS)
    ax.set_ylim(-half, half)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)


def thinned_networks(sizes: Sequence[int] = (5, 6, 6, 3), *, count: int = 3, p_input: float = 0.2,
                     p_hidden: float = 0.5, seed: int = 0) -> Figure:
    """The full network and ``count`` thinned networks sampled from it (lesson 10).

    Args:
        sizes: units per layer, input first; the last (output) layer is never dropped.
        count: how many thinned networks to sample.
        p_input, p_hidden: the drop rates of the input layer and of the hidden layers.
        seed: seeds the masks (a private generator).

    Returns:
        The figure: ``fig.axes[0]`` is the full network (what ``model.eval()`` uses, every unit
        on), ``fig.axes[1:]`` the thinned ones, titled with how many units each kept.
    """
    if count < 1 or len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"need count >= 1 and at least two layers of >= 1 unit, got count={count}, sizes={sizes}")
    generator = torch.Generator().manual_seed(seed)
    fig = Figure(figsize=(2.6 * (count + 1), 2.9), layout="constrained")
    axes = fig.subplots(1, count + 1)
    draw_network(axes[0], sizes, title="full network\n(eval mode: every unit)")
    droppable = sum(sizes[:-1])
    for i, ax in enumerate(axes[1:], start=1):
        masks = sample_masks(sizes, p_input=p_input, p_hidden=p_hidden, generator=generator)
        kept = int(sum(m.sum() for m in masks[:-1]))
        draw_network(ax, sizes, masks, title=f"thinned network {i}\n({kept} of {droppable} units kept)")
    fig.suptitle(f"Dropout trains one of 2^{droppable} thinned networks per step, all sharing weights "
                 f"(p={p_input} on inputs, {p_hidden} on hidden units)", fontsize=10)
    return fig


def dropped_pixels(X: torch.Tensor, p: float, *, seed: int = 0) -> Figure:
    """Images (N x 1 x 28 x 28) as they are, and as input dropout with rate ``p`` shows them to the network.

    The dropped images are ``x * mask / (1 - p)``: dropped pixels are 0, kept pixels brighter.
    ``fig.axes[:N]`` show the originals, ``fig.axes[N:]`` the dropped versions (lesson 10).
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"p must be in [0, 1), got {p!r}")
    generator = torch.Generator().manual_seed(seed)
    images = X[:, 0].double()
    mask = (torch.rand(images.shape, generator=generator, dtype=torch.float64) >= p).double()
    dropped = images * mask / (1.0 - p)
    n = len(images)
    fig = Figure(figsize=(1.6 * n, 3.6), layout="constrained")
    axes = fig.subplots(2, n, squeeze=False)
    top = float(dropped.max()) if n else 1.0
    for j in range(n):
        for row, picture, label in ((0, images[j], "as it is"), (1, dropped[j], f"input dropout p={p}")):
            ax = axes[row][j]
            ax.imshow(picture.numpy(), cmap="gray", vmin=0.0, vmax=top, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(label, fontsize=9)
    fig.suptitle(f"Input dropout: each pixel is deleted with probability {p}, the others scaled by 1/(1-p)",
                 fontsize=10)
    return fig
