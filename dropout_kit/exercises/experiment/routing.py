"""The judge's routing network: parameters that wire single units to single logits.

Under the rules (only dropout added), the learner's network in train mode is the
baseline with its activations multiplied by masks of 0 or 1/(1-p) at up to four *sites*:
the input pixels, after each hidden ReLU, and on the logits (dropout before a ReLU is the
same as after it, because a mask times 1/(1-p) >= 0 commutes with ReLU). ``routing(seed)``
builds parameters for the baseline's shapes whose weights are all zero except a few 1s
and 2s, and an input image that is 1 on a few pixels: every logit then depends on a
handful of units only, through positive paths (ReLU is the identity on them). In train
mode each logit is therefore ``unit * sum(coef * product of 0/1 masks)``, where ``unit`` is
the product of the sites' scales 1/(1-p) on its paths: a whole number of units. The
routes are chosen so that, between them, they measure each site's scale (``CHAINS``), test
that masks of different units are independent (fan-in: two units into one) and that a
unit's mask is shared by all its outgoing weights (fan-out: unit dropout zeroes both
paths, DropConnect each one separately), see ``ROUTES``.

The unit indices are drawn from ``seed`` so that a network cannot single out the routed
units; the judge and the probe both call ``routing(seed)``, and the judge checks the
learner's eval-mode outputs against ``Routing.eval_levels`` (all masks kept).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

SITES = ("input", "hidden1", "hidden2", "logits")
SITE_NAMES = {"input": "the input pixels", "hidden1": "hidden layer 1 (after its ReLU)",
              "hidden2": "hidden layer 2 (after its ReLU)", "logits": "the logits (the output layer)"}
SIZES = (784, 256, 128, 10)  # units at each site
PARAM_SHAPES = ((256, 784), (256,), (128, 256), (128,), (10, 128), (10,))


@dataclass(frozen=True)
class Route:
    """One logit's wiring: ``terms`` are (coef, masks) with masks as (site index, unit) pairs."""

    name: str
    purpose: str  # what this logit tests, for failure messages
    terms: tuple

    @property
    def sites(self) -> tuple[int, ...]:
        """The site indices on every path of this logit (all its terms pass the same sites)."""
        return tuple(sorted({s for s, _ in self.terms[0][1]}))

    @property
    def levels(self) -> tuple[int, ...]:
        """The values (in units) the logit can take: sums of coefficients of kept terms."""
        coefs = [c for c, _ in self.terms]
        sums = {sum(c for c, keep in zip(coefs, kept) if keep)
                for kept in itertools.product((0, 1), repeat=len(coefs))}
        return tuple(sorted(sums))

    def variables(self) -> tuple:
        """The distinct masks this logit depends on."""
        return tuple(sorted({m for _, masks in self.terms for m in masks}))


@dataclass(frozen=True)
class Routing:
    """The routing parameters (in the baseline's parameter order) and the routed input image."""

    params: tuple  # six float32 arrays, PARAM_SHAPES
    x: np.ndarray  # float32 (784,): 1 on the routed pixels, 0 elsewhere
    routes: tuple  # one Route per logit

    @property
    def eval_levels(self) -> np.ndarray:
        """Each logit in eval mode (every mask kept, no scaling): the sum of its coefficients."""
        return np.array([sum(c for c, _ in r.terms) for r in self.routes], dtype=np.float32)


# The logits that measure one site's scale each, from the output inwards: the logits alone,
# then hidden 2, hidden 1 and the input, so each site's scale is one ratio of two of them.
CHAINS = {"logits": "logit_bias", "hidden2": "hidden2_bias", "hidden1": "hidden1_bias", "input": "input_pixel"}
# The one pair of logits that share a mask (a hidden-2 unit feeding two logits): fan-out at hidden 2.
FANOUT_PAIR = ("hidden2_bias", "hidden2_fanout")


def routing(seed: int) -> Routing:
    """The routing parameters and input for ``seed`` (the same on the judge's and the probe's side)."""
    rng = np.random.default_rng(seed)
    pix, h1, h2 = (iter(rng.permutation(n)[:12].tolist()) for n in SIZES[:3])
    W1, b1 = np.zeros(PARAM_SHAPES[0], np.float32), np.zeros(PARAM_SHAPES[1], np.float32)
    W2, b2 = np.zeros(PARAM_SHAPES[2], np.float32), np.zeros(PARAM_SHAPES[3], np.float32)
    W3, b3 = np.zeros(PARAM_SHAPES[4], np.float32), np.zeros(PARAM_SHAPES[5], np.float32)
    x = np.zeros(SIZES[0], np.float32)
    routes = []

    def add(name, purpose, terms):
        routes.append(Route(name, purpose, tuple((c, tuple(sorted(m))) for c, m in terms)))

    # 0: the bias of logit 0 alone, so its train-mode value is 0 or 1/(1-p) of the logits.
    k = len(routes)
    b3[k] = 1
    add("logit_bias", "the logits' mask", [(1, [(3, k)])])
    # 1 and 9: one hidden-2 unit (its bias) feeds two logits, which share its mask.
    j, k = next(h2), len(routes)
    b2[j], W3[k, j], W3[9, j] = 1, 1, 1
    add("hidden2_bias", "hidden layer 2's mask", [(1, [(2, j), (3, k)])])
    shared_h2 = j
    # 2: a hidden-1 unit's bias through one hidden-2 unit.
    i, j, k = next(h1), next(h2), len(routes)
    b1[i], W2[j, i], W3[k, j] = 1, 1, 1
    add("hidden1_bias", "hidden layer 1's mask", [(1, [(1, i), (2, j), (3, k)])])
    # 3: one input pixel through one unit of each hidden layer.
    q, i, j, k = next(pix), next(h1), next(h2), len(routes)
    x[q], W1[i, q], W2[j, i], W3[k, j] = 1, 1, 1, 1
    add("input_pixel", "the input's mask", [(1, [(0, q), (1, i), (2, j), (3, k)])])
    # 4-6 (fan-in): two units of one site, weighted 1 and 2, into one unit: independent masks
    # give every level 0-3; a mask shared by the units gives only 0 and 3.
    qa, qb, i, j, k = next(pix), next(pix), next(h1), next(h2), len(routes)
    x[qa] = x[qb] = 1
    W1[i, qa], W1[i, qb], W2[j, i], W3[k, j] = 1, 2, 1, 1
    add("input_fanin", "independent masks for different pixels",
        [(1, [(0, qa), (1, i), (2, j), (3, k)]), (2, [(0, qb), (1, i), (2, j), (3, k)])])
    ia, ib, j, k = next(h1), next(h1), next(h2), len(routes)
    b1[ia] = b1[ib] = 1
    W2[j, ia], W2[j, ib], W3[k, j] = 1, 2, 1
    add("hidden1_fanin", "independent masks for different units of hidden layer 1",
        [(1, [(1, ia), (2, j), (3, k)]), (2, [(1, ib), (2, j), (3, k)])])
    ja, jb, k = next(h2), next(h2), len(routes)
    b2[ja] = b2[jb] = 1
    W3[k, ja], W3[k, jb] = 1, 2
    add("hidden2_fanin", "independent masks for different units of hidden layer 2",
        [(1, [(2, ja), (3, k)]), (2, [(2, jb), (3, k)])])
    # 7-8 (fan-out): one unit feeds two units of the next layer (weights 1 and 2) that meet
    # again; dropping the unit drops both paths, DropConnect would drop each separately.
    q, ia, ib, j, k = next(pix), next(h1), next(h1), next(h2), len(routes)
    x[q] = 1
    W1[ia, q], W1[ib, q], W2[j, ia], W2[j, ib], W3[k, j] = 1, 2, 1, 1, 1
    add("input_fanout", "one mask per pixel, shared by all of its weights",
        [(1, [(0, q), (1, ia), (2, j), (3, k)]), (2, [(0, q), (1, ib), (2, j), (3, k)])])
    i, ja, jb, k = next(h1), next(h2), next(h2), len(routes)
    b1[i] = 1
    W2[ja, i], W2[jb, i], W3[k, ja], W3[k, jb] = 1, 2, 1, 1
    add("hidden1_fanout", "one mask per unit of hidden layer 1, shared by all of its weights",
        [(1, [(1, i), (2, ja), (3, k)]), (2, [(1, i), (2, jb), (3, k)])])
    # 9: the second logit of the hidden-2 unit of logit 1 (wired above).
    add("hidden2_fanout", "one mask per unit of hidden layer 2, shared by all of its weights",
        [(1, [(2, shared_h2), (3, 9)])])
    return Routing((W1, b1, W2, b2, W3, b3), x, tuple(routes))


def outcome_probabilities(terms_of: list, keep: dict) -> dict:
    """Exact distribution of the joint levels of one or more logits under independent masks.

    Args:
        terms_of: the ``terms`` of each logit observed together.
        keep: keep probability 1-p per site index.

    Returns:
        ``{(level, ...): probability}`` over every combination of kept and dropped masks.
    """
    variables = sorted({m for terms in terms_of for _, masks in terms for m in masks})
    probs: dict = {}
    for kept in itertools.product((0, 1), repeat=len(variables)):
        state = dict(zip(variables, kept))
        prob = 1.0
        for (site, _), on in state.items():
            prob *= keep[site] if on else 1.0 - keep[site]
        if prob == 0.0:
            continue
        outcome = tuple(sum(c for c, masks in terms if all(state[m] for m in masks)) for terms in terms_of)
        probs[outcome] = probs.get(outcome, 0.0) + prob
    return probs
