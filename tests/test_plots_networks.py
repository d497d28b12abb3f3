"""Tests of dropout_kit.plots.networks: lesson 10's thinned networks and dropped pixels draw what they say."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from dropout_kit.plots import networks  # noqa: E402


def artists(ax, gid: str) -> list:
    """The patches and lines of ``ax`` with this gid."""
    return [a for a in [*ax.patches, *ax.lines] if a.get_gid() == gid]


def test_one_network_is_drawn_unit_by_unit_and_edge_by_edge():
    """With given masks, are there a circle per unit, two crossing lines per dropped unit, and edges only
    between kept units of consecutive layers?"""
    fig = Figure()
    ax = fig.subplots()
    masks = [np.array([1, 0, 1], bool), np.array([1, 1, 0, 0], bool), np.array([1, 1], bool)]
    networks.draw_network(ax, (3, 4, 2), masks, title="t")
    assert len(artists(ax, "unit")) == 2 + 2 + 2 and len(artists(ax, "dropped")) == 1 + 2
    assert len(artists(ax, "cross")) == 2 * 3
    edges = artists(ax, "edge")
    assert len(edges) == 2 * 2 + 2 * 2
    dropped = {tuple(np.round(c.center, 6)) for c in artists(ax, "dropped")}
    for edge in edges:  # no edge touches a dropped unit
        ends = {(round(x, 6), round(y, 6)) for x, y in zip(edge.get_xdata(), edge.get_ydata())}
        assert not ends & dropped
    assert ax.get_title() == "t"


def test_the_full_network_is_fully_connected():
    """Without masks, is every unit kept and every pair of consecutive layers fully connected?"""
    fig = Figure()
    ax = fig.subplots()
    networks.draw_network(ax, (2, 3, 1))
    assert len(artists(ax, "unit")) == 6 and not artists(ax, "dropped") and not artists(ax, "cross")
    assert len(artists(ax, "edge")) == 2 * 3 + 3 * 1


def test_thinned_networks_sample_masks_and_say_how_many_units_they_kept():
    """Has the figure the full network, then `count` thinned ones with outputs kept and titles counting kept units?"""
    fig = networks.thinned_networks((4, 5, 3), count=2, p_input=0.2, p_hidden=0.5, seed=3)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert not artists(fig.axes[0], "dropped") and fig.axes[0].get_title().startswith("full network")
    for i, ax in enumerate(fig.axes[1:], start=1):
        kept, dropped = artists(ax, "unit"), artists(ax, "dropped")
        assert len(kept) + len(dropped) == 12
        outputs = [c for c in [*kept, *dropped] if c.center[0] == pytest.approx(2 * networks.GAP_X)]
        assert len(outputs) == 3 and all(c.get_gid() == "unit" for c in outputs)
        assert ax.get_title() == f"thinned network {i}\n({len(kept) - 3} of 9 units kept)"
    same = networks.thinned_networks((4, 5, 3), count=2, seed=3)
    assert [len(artists(a, "edge")) for a in same.axes] == [len(artists(a, "edge")) for a in fig.axes]


def test_sample_masks_follow_the_rates():
    """Over many draws, is the input layer kept about 80% of the time, hidden layers 50%, outputs always?"""
    generator = torch.Generator().manual_seed(0)
    draws = [networks.sample_masks((100, 100, 10), generator=generator) for _ in range(50)]
    kept = [np.mean([d[i].mean() for d in draws]) for i in range(3)]
    # 5000 Bernoulli draws per layer: a 0.03 tolerance is more than 7 standard deviations (~0.006).
    assert kept[0] == pytest.approx(0.8, abs=0.03) and kept[1] == pytest.approx(0.5, abs=0.03) and kept[2] == 1.0


def test_dropped_pixels_show_the_image_and_its_dropped_version():
    """Are the top images the originals, and the bottom ones 0 or the pixel / (1-p), about p of them dropped?"""
    X = torch.rand(3, 1, 28, 28) * 0.9 + 0.1  # no black pixel, so that 0 means dropped
    fig = networks.dropped_pixels(X, p=0.25, seed=1)
    assert len(fig.axes) == 6
    for j in range(3):
        original = np.asarray(fig.axes[j].images[0].get_array())
        shown = np.asarray(fig.axes[3 + j].images[0].get_array())
        np.testing.assert_allclose(original, X[j, 0].double().numpy())
        kept = shown != 0
        np.testing.assert_allclose(shown[kept], original[kept] / 0.75)
        assert 0.15 < 1 - kept.mean() < 0.35  # 784 pixels at p=0.25: 0.10 off is over 6 standard deviations


@pytest.mark.parametrize("call, message", [
    (lambda: networks.thinned_networks((3,), count=1), "at least two layers"),
    (lambda: networks.thinned_networks((3, 2), count=0), "count >= 1"),
    (lambda: networks.draw_network(Figure().subplots(), (2, 2), [np.ones(2, bool)]), "one mask per layer"),
    (lambda: networks.dropped_pixels(torch.rand(1, 1, 28, 28), p=1.0), "p must be in \\[0, 1\\)"),
])
def test_bad_arguments_are_refused(call, message):
    """Are a single layer, no sample, masks that do not fit and p=1 refused with what was wrong?"""
    with pytest.raises(ValueError, match=message):
        call()
