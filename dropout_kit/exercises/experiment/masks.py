"""Do the measured masks behave like dropout? Counts of routed outcomes against exact binomial bounds.

Given the rates that ``identify.measure`` read off the scales, dropout fixes the exact
probability of every outcome of every routed logit (``routing.outcome_probabilities``):
each mask is an independent Bernoulli(1-p) draw per image and unit, fresh in every call.
Three families of counts are compared with it:

- per logit, over all C x N routed images: how often it took each of its levels. A keep
  frequency that does not match the scale, masks shared between units (fan-in routes) or
  a mask per weight instead of per unit (DropConnect, fan-out routes) move these counts;
- the joint levels of the two logits fed by one hidden-2 unit (fan-out at the last layer);
- per call, how many of the N images kept each of the four logits that measure one site's
  scale (``routing.CHAINS``): a mask shared by the whole batch keeps all or none, and a rate
  that changes between calls moves one call's count.

Each count gets a two-sided exact binomial interval (``dropout_kit.exercises.stats``) of level
ALPHA / (number of tests), so by the union bound a correct dropout fails this check with
probability at most 1e-6, whatever the seed.
"""

from __future__ import annotations

import numpy as np

from dropout_kit.exercises.stats import ALPHA, binomial_interval
from dropout_kit.exercises.experiment.routing import CHAINS, FANOUT_PAIR, outcome_probabilities

HINTS = {  # by the kind of route, the end of its name
    "fanin": "a mask shared by several units (one draw per image, or Dropout2d) does this",
    "fanout": "DropConnect (a mask per weight instead of per unit) does this",
}
CHAIN_HINT = "dropout keeps each value with probability 1-p and scales kept values by exactly 1/(1-p)"


def _hint(name: str) -> str:
    return HINTS.get(name.rsplit("_", 1)[-1], CHAIN_HINT)


def _percent(dist: dict) -> str:
    return ", ".join(f"{'/'.join(map(str, k))}: {v:.1%}" for k, v in sorted(dist.items()))


def problem(levels: np.ndarray, routes, design) -> str | None:
    """Why the routed levels (C x N x 10 whole numbers) are not dropout at ``design``'s rates, or None."""
    calls, rows, _ = levels.shape
    keep = {site: 1.0 - p for site, p in enumerate(design.rates)}
    index = {r.name: k for k, r in enumerate(routes)}
    groups = [(r.purpose, r.name, (k,)) for k, r in enumerate(routes)]
    a, b = index[FANOUT_PAIR[0]], index[FANOUT_PAIR[1]]
    groups.append((f"{routes[b].purpose} (two logits fed by one unit)", routes[b].name, (a, b)))
    tests = []  # (what, count, n, prob); per-call counts first: their messages are the most specific
    for name in CHAINS.values():
        route = routes[index[name]]
        kept_prob = 1.0 - outcome_probabilities([route.terms], keep).get((0,), 0.0)
        for call in range(calls):
            kept = int(np.count_nonzero(levels[call, :, index[name]]))
            tests.append((("call", route, call, kept_prob), kept, rows, kept_prob))
    for purpose, name, ks in groups:
        dist = outcome_probabilities([routes[k].terms for k in ks], keep)
        seen = levels[:, :, ks].reshape(-1, len(ks))
        observed = {}
        for outcome in {tuple(int(v) for v in row) for row in np.unique(seen, axis=0)} | set(dist):
            observed[outcome] = int(np.all(seen == np.array(outcome), axis=1).sum())
        for outcome, count in observed.items():
            tests.append(((purpose, name, dist, observed), count, len(seen), dist.get(outcome, 0.0)))
    random_tests = sum(0.0 < prob < 1.0 for *_, prob in tests)
    alpha = ALPHA / max(random_tests, 1)
    for what, count, n, prob in tests:
        lo, hi = _bounds(n, prob, alpha)
        if lo <= count <= hi:
            continue
        if what[0] == "call":
            return _call_message(what, count, n, lo, hi)
        purpose, name, dist, observed = what
        total = sum(observed.values())
        return (f"checking {purpose}: the routed values (in kept values) were "
                f"{_percent({k: v / total for k, v in observed.items()})} of {total} train-mode images, but "
                f"dropout at the measured rates gives {_percent(dist)}: {_hint(name)}")
    return None


def _bounds(n: int, prob: float, alpha: float) -> tuple[int, int]:
    if prob <= 0.0:
        return 0, 0
    if prob >= 1.0:
        return n, n
    return binomial_interval(n, prob, alpha)


def _call_message(what, count: int, n: int, lo: int, hi: int) -> str:
    _, route, call, prob = what
    if count in (0, n):
        return (f"checking {route.purpose}: in train-mode call {call + 1} the routed value was "
                f"{'kept' if count else 'dropped'} for all {n} images, where dropout keeps it with probability "
                f"{prob:.1%} per image: a mask shared by the whole batch (drawn once per call, as DropConnect's "
                "weight masks usually are)? Dropout draws one mask per image and unit")
    if prob >= 1.0:
        return (f"checking {route.purpose}: {n - count} of {n} values were dropped in call {call + 1}, but "
                "the kept values are not scaled (1/(1-p) = 1): dropout must scale kept values by 1/(1-p)")
    return (f"checking {route.purpose}: call {call + 1} kept {count / n:.1%} of {n} images, but the measured "
            f"rates keep {prob:.1%} (a correct dropout keeps between {lo / n:.1%} and {hi / n:.1%} with "
            "probability > 1 - 1e-6): the rate changes between calls?")
