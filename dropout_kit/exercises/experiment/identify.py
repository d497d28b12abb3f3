"""The rules, judged from the probe's data: is ``Net`` the baseline plus dropout, and where, at which rates?

Each check reads plain arrays (validated with ``dropout_kit.exercises.wire``) and stops the
verdict at the first failure, with a message naming what was seen:

1. ``parameters``: the baseline's parameter shapes in its order, and no buffers.
2. ``eval_function``: loaded with random parameters, two eval-mode passes are identical and
   equal the judge's own baseline computation (tolerance for float order only); so are the
   routed outputs (``routing.Routing.eval_levels``).
3. ``dropout_active``: two train-mode passes differ.
4. ``only_dropout``: every routed train-mode value is 0 or a whole number of its logit's
   unit, and each site's scale s = 1/(1-p) is one fixed number: the rates are measured here.
5. ``masks``: the masks are independent Bernoulli(1-p) draws, one per image and unit,
   fresh in every call: ``masks.py`` compares counts with exact binomial bounds (a correct
   dropout fails with probability at most 1e-6).

Checks 1-4 are exact (float tolerances only), with one limit: a rate is read from values that
were kept, so a design that keeps fewer than about 1 in 2,000 values along the input's path
(0.9 at three sites, say) may show none in the probe's 16,384 images and is reported as
unmeasurable; no such design comes near the target (hidden 0.9 alone: val loss 1.07). The
checks see the Net only on the judge's parameters; the grade never depends on what it does
elsewhere, because the judge trains its own network with the measured rates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dropout_kit.exercises import wire
from dropout_kit.exercises.experiment import masks
from dropout_kit.exercises.experiment.routing import CHAINS, PARAM_SHAPES, SITE_NAMES, SITES, routing
from dropout_kit.exercises.experiment.probing import random_case
from dropout_kit.verdict import Check

EVAL_RTOL, EVAL_ATOL = 1e-4, 1e-5  # float order (F.linear vs x @ W.T + b), far below any change of function
LEVEL_TOL = 1e-4                   # a routed value's distance from a whole number of units, relative
SCALE_RTOL = 1e-5                  # float32 rounding of a product of up to four scales
SUMMARIES = {
    "parameters": "the baseline's parameter shapes, in its order, and no buffers: only dropout added",
    "eval_function": "in eval mode, exactly the baseline's function, the same on every pass",
    "dropout_active": "random in train mode: dropout is on",
    "only_dropout": "in train mode every value is 0 or x/(1-p), with one fixed p per place: nothing but dropout",
    "masks": "a fresh mask per image and unit, kept with probability 1-p (false-failure probability <= 1e-6)",
}


@dataclass(frozen=True)
class Design:
    """The drop rates measured at the four sites (0 where there is no dropout)."""

    input: float = 0.0
    hidden1: float = 0.0
    hidden2: float = 0.0
    logits: float = 0.0

    @property
    def rates(self) -> tuple[float, float, float, float]:
        """The rates in site order: input, hidden 1, hidden 2, logits."""
        return (self.input, self.hidden1, self.hidden2, self.logits)

    def __str__(self) -> str:
        return ", ".join(f"{site} p={p:g}" if p else f"{site} none" for site, p in zip(SITES, self.rates))


def _check(name: str, problem: str | None) -> Check:
    return Check(name, problem is None, problem or "", SUMMARIES[name])


def baseline_logits(params: list[np.ndarray], X: np.ndarray) -> np.ndarray:
    """The baseline MLP's logits, computed by the judge in float64."""
    W1, b1, W2, b2, W3, b3 = (p.astype(np.float64) for p in params)
    h = np.maximum(X.reshape(len(X), -1).astype(np.float64) @ W1.T + b1, 0.0)
    h = np.maximum(h @ W2.T + b2, 0.0)
    return h @ W3.T + b3


def _shapes(reply: dict) -> list[tuple[int, ...]]:
    shapes = wire.sequence(reply["shapes"], "shapes")
    if len(shapes) > 1000:
        raise wire.ReplyError(f"shapes has {len(shapes)} entries; at most 1000 are accepted")
    out = []
    for i, shape in enumerate(shapes):
        shape = wire.sequence(shape, f"shapes[{i}]")
        out.append(tuple(int(wire.number(n, f"shapes[{i}]", lo=0, hi=2**40)) for n in shape[:8]))
    return out


def _outputs(reply: dict, key: str, shape: tuple, count: int | None = None) -> np.ndarray:
    if count is None:
        return wire.array(reply[key], key, shape=shape, kind="f", finite=True)
    items = wire.sequence(reply[key], key, count)
    return np.stack([wire.array(v, f"{key}[{i}]", shape=shape, kind="f", finite=True) for i, v in enumerate(items)])


def _snap(p: float) -> float:
    """A measured rate as the shortest decimal within float32's error (0.3 stays 0.3)."""
    for digits in range(1, 7):
        if abs(p - round(p, digits)) <= 2e-6:
            return round(p, digits)
    return round(p, 6)


def _scale_problem(values: np.ndarray, site: str) -> str | None:
    """Why the kept values of one routed logit (per call) are not one fixed scale, if they are not."""
    kept = [v[v != 0] for v in values]
    flat = np.concatenate(kept)
    centre = np.median(flat)
    if np.all(np.abs(flat - centre) <= SCALE_RTOL * abs(centre)):
        return None
    per_call = [k for k in kept if len(k)]
    if all(np.all(np.abs(k - np.median(k)) <= SCALE_RTOL * abs(np.median(k))) for k in per_call):
        seen = ", ".join(f"{np.median(k):.5g}" for k in per_call)
        return (f"at {SITE_NAMES[site]} the kept values change from call to call ({seen}): a rate that "
                "varies between calls (a rate schedule?) or noise drawn once per call (on the weights?), "
                "not dropout with one fixed p")
    return (f"at {SITE_NAMES[site]} the non-zero train-mode values vary from image to image "
            f"({flat.min():.4g} to {flat.max():.4g}): that is noise (Gaussian? uniform?), not dropout, "
            "whose kept values are all exactly x/(1-p)")


def measure(routed: np.ndarray, routes) -> tuple[str | None, Design | None, np.ndarray | None]:
    """Each site's rate from the routed train-mode logits (C x N x 10), and each logit's unit."""
    index = {r.name: k for k, r in enumerate(routes)}
    scales: dict[str, float] = {}
    downstream = 1.0
    for site in reversed(SITES):  # logits first: each chain adds one site to the previous one
        values = routed[:, :, index[CHAINS[site]]].astype(np.float64) / downstream
        if not np.any(values):
            return (f"no value passed {SITE_NAMES[site]} in {values.size} train-mode images: a rate of "
                    "(nearly) 1 there drops everything", None, None)
        problem = _scale_problem(values, site)
        if problem:
            return problem, None, None
        scale = float(np.median(values[values != 0]))
        if scale < 1 - SCALE_RTOL:
            return (f"at {SITE_NAMES[site]} the kept values are multiplied by {scale:.4g}, less than 1: "
                    "dropout scales kept values up, by 1/(1-p)", None, None)
        scales[site] = max(scale, 1.0)
        downstream *= scales[site]
    design = Design(*(_snap(1.0 - 1.0 / scales[s]) for s in SITES))
    units = np.array([np.prod([scales[SITES[s]] for s in r.sites]) for r in routes])
    levels = routed / units
    for k, route in enumerate(routes):
        allowed = np.array(route.levels, dtype=np.float64)
        nearest = allowed[np.abs(levels[:, :, k, None] - allowed).argmin(axis=-1)]
        off = np.abs(levels[:, :, k] - nearest) > LEVEL_TOL * np.maximum(nearest, 1.0)
        if off.any():
            bad = float(levels[:, :, k][off][0])
            return (f"checking {route.purpose}: a train-mode value was {bad:.5g} kept values, not one of "
                    f"{list(route.levels)}: noise that is not dropout (on the inputs, activations or "
                    "weights?)", None, None)
    return None, design, np.rint(levels).astype(np.int64)


def rules(requests: dict, reply) -> tuple[list[Check], Design | None]:
    """The rule checks in order, stopping at the first failure; the measured design if all pass."""
    reply = wire.mapping(reply, "reply", ["shapes", "buffers"])
    shapes = _shapes(reply)
    buffers = [wire.text(b, "buffers[]", max_len=200) for b in wire.sequence(reply["buffers"], "buffers")[:100]]
    if shapes != list(PARAM_SHAPES):
        return [_check("parameters", f"your model's parameter shapes are {shapes}, the baseline's are "
                       f"{list(PARAM_SHAPES)}: only dropout may be added (an extra or wider Linear, "
                       "BatchNorm or LayerNorm adds parameters)")], None
    if buffers:
        return [_check("parameters", f"your model has buffers {buffers} that the baseline lacks "
                       "(BatchNorm?): only dropout may be added")], None
    checks = [_check("parameters", None)]
    seed, rows, calls = int(requests["seed"]), int(requests["rows"]), int(requests["calls"])
    params, X = random_case(seed, int(requests["random_rows"]))
    shape = (len(X), 10)
    wire.mapping(reply, "reply", ["random_eval", "random_train", "routed_eval", "routed_train"])
    first, second = _outputs(reply, "random_eval", shape, 2)
    routed_model = routing(seed)
    routed_eval = _outputs(reply, "routed_eval", (int(requests["eval_rows"]), 10))
    if not np.array_equal(first, second):
        problem = ("two eval-mode passes differ: dropout stays on after model.eval(). Did you call "
                   "F.dropout without training=self.training?")
    elif not (np.allclose(first, baseline_logits(params, X), rtol=EVAL_RTOL, atol=EVAL_ATOL)
              and np.allclose(routed_eval, routed_model.eval_levels, rtol=EVAL_RTOL, atol=EVAL_ATOL)):
        problem = ("with the same parameters your model computes a different function from the baseline's "
                   "in eval mode: only dropout may be added (another activation, a changed flatten, a "
                   "normalisation layer, or scaling in eval mode changes it)")
    else:
        problem = None
    checks.append(_check("eval_function", problem))
    if problem:
        return checks, None
    train_a, train_b = _outputs(reply, "random_train", shape, 2)
    checks.append(_check("dropout_active", None if not np.array_equal(train_a, train_b) else
                         "two train-mode passes are identical: no dropout is active (p=0 everywhere, or "
                         "dropout never called in forward?)"))
    if not checks[-1].passed:
        return checks, None
    routed = wire.array(reply["routed_train"], "routed_train", shape=(calls, rows, 10), kind="f", finite=True)
    problem, design, levels = measure(routed, routed_model.routes)
    if problem is None and not any(design.rates) and np.all(routed != 0):
        problem = ("train mode is random, but no routed unit was ever dropped: the randomness is not "
                   "dropout at the input, the hidden layers or the logits")
    checks.append(_check("only_dropout", problem))
    if problem:
        return checks, None
    problem = masks.problem(levels, routed_model.routes, design)
    checks.append(_check("masks", problem))
    return checks, (design if problem is None else None)
