"""Lesson 02's challenges: every call the judge wants made of the learner's dropout, from its own rng.

A request is a plain dict (it crosses the wire to the kernel). A *call* asks for
``dropout(x, p=p, training=training, inplace=inplace)``, or for the module, for the
instance ``instance`` in train or eval mode applied to ``x``:

- ``role``: which check reads it (``"scale"``, ``"fresh"``, ...); the probe ignores it;
- ``x``: the input (float32 or float64 array). Entries are never 0 (|x| in [0.5, 2)), so a 0
  in the output means dropped. They lie on a grid of step 1/64, which changes nothing for
  dropout and lets recorded replies (golden files) compress;
- ``p``, ``training``, ``inplace``;
- ``upstream``: the gradient to send back through the output (None: no backward), with
  ``nonleaf``: call on ``leaf * 1`` (in-place ops on a leaf that requires grad are refused).

The rates are drawn from short menus, so a function tuned to a few known rates gains
nothing, while every rate keeps the likely mistakes apart (1/p, 1/(1-p), 1-p and p differ).
Sizes: about 45,000 input entries in all (a probe runs in tens of milliseconds; the reply
is about 0.5 MB of JSON).
"""

from __future__ import annotations

import numpy as np

P_LOW = (0.2, 0.25, 0.3, 0.35, 0.4)
P_HIGH = (0.7, 0.75, 0.8)
P_NEGATIVE = (-0.1, -0.5, -1.0)
P_ABOVE_ONE = (1.1, 1.5, 2.0)
P_REPR = (0.3, 0.35, 0.45, 0.65)


def make_input(rng: np.random.Generator, shape, dtype: str = "float32", *, positive: bool = False) -> np.ndarray:
    """An input whose entries are never 0: +-(0.5 + k/64) for k in 0..95, so |x| in [0.5, 2)."""
    size = 0.5 + rng.integers(0, 96, size=shape) / 64
    sign = 1 if positive else rng.choice(np.array([-1.0, 1.0]), size=shape)
    return np.asarray(size * sign, dtype=dtype)


def make_upstream(rng: np.random.Generator, shape, dtype: str = "float32") -> np.ndarray:
    """An upstream gradient with no zero entry: +-k/16 for k in 1..32."""
    return np.asarray(rng.integers(1, 33, size=shape) / 16 * rng.choice(np.array([-1.0, 1.0]), size=shape), dtype=dtype)


def _call(role: str, x: np.ndarray, p: float, training: bool = True, inplace: bool = False,
          upstream: np.ndarray | None = None, nonleaf: bool = False) -> dict:
    return {"role": role, "x": x, "p": float(p), "training": training, "inplace": inplace,
            "upstream": upstream, "nonleaf": nonleaf}


def pick(rng: np.random.Generator, menu: tuple, k: int = 1) -> list[float]:
    """``k`` different rates from ``menu``, drawn with the judge's ``rng``."""
    return [float(v) for v in rng.choice(np.array(menu), size=k, replace=False)]


def _shape_calls(rng: np.random.Generator) -> list[dict]:
    """1-D to 4-D inputs of random sizes, in float32 and float64, at p=0.5."""
    calls = []
    for rank, (lo, hi) in enumerate([(5, 21), (3, 9), (2, 6), (2, 5)], start=1):
        for dtype in ("float32", "float64"):
            shape = tuple(int(n) for n in rng.integers(lo, hi, size=rank))
            calls.append(_call("shape", make_input(rng, shape, dtype), 0.5))
    return calls


def _value_calls(rng: np.random.Generator) -> list[dict]:
    """The calls whose values, masks and gradients every dropout (function or module) must get right."""
    keep_lo, scale_lo, mean_lo, grad_p = (*pick(rng, P_LOW, 3), pick(rng, P_LOW)[0])
    keep_hi, scale_hi, mean_hi = pick(rng, P_HIGH, 3)
    fresh = make_input(rng, (64, 64))
    calls = _shape_calls(rng) + [
        # 12 float32 and 5 float64 entries: see the p_zero check for why so few.
        _call("p_zero", make_input(rng, (3, 4)), 0.0), _call("p_zero", make_input(rng, (5,), "float64"), 0.0),
        _call("p_one", make_input(rng, (6, 7)), 1.0), _call("p_one", make_input(rng, (3,), "float64"), 1.0),
        _call("keep", make_input(rng, (64, 64)), keep_lo), _call("keep", make_input(rng, (64, 64)), keep_hi),
        _call("scale", make_input(rng, (64, 64)), scale_lo),
        _call("scale", make_input(rng, (32, 32), "float64"), scale_hi),
        _call("mean", make_input(rng, (64, 64), positive=True), mean_lo),
        _call("mean", make_input(rng, (64, 64), positive=True), mean_hi),
        _call("fresh", fresh, 0.5), _call("fresh", fresh.copy(), 0.5),
        _call("independence", make_input(rng, (64, 64)), 0.5),
        _call("independence", make_input(rng, (8, 8, 8, 8)), 0.5),
    ]
    for p, training in [(0.5, True), (0.5, False), (0.0, True), (1.0, True)]:
        calls.append(_call("no_mutation", make_input(rng, (16, 16)), p, training))
    for p in (0.5, 1.0):
        calls.append(_call("inplace", make_input(rng, (16, 16)), p, inplace=True))
    for inplace in (False, True):
        calls.append(_call("gradient", make_input(rng, (32, 32)), grad_p, inplace=inplace,
                           upstream=make_upstream(rng, (32, 32)), nonleaf=inplace))
    return calls


def function_requests(rng: np.random.Generator) -> dict:
    """The calls of ``dropout(x, p, training, inplace)`` that the function's judge reads."""
    eval_lo, = pick(rng, P_LOW)
    eval_hi, = pick(rng, P_HIGH)
    calls = _value_calls(rng) + [
        _call("eval", make_input(rng, (32, 32)), eval_lo, training=False),
        _call("eval", make_input(rng, (5, 6), "float64"), eval_hi, training=False),
        _call("invalid", make_input(rng, (4, 5)), pick(rng, P_NEGATIVE)[0]),
        _call("invalid", make_input(rng, (4, 5)), pick(rng, P_ABOVE_ONE)[0]),
        _call("invalid", make_input(rng, (4, 5)), float("nan")),
    ]
    return {"calls": calls}


def instance_name(p: float, inplace: bool) -> str:
    """The name of the module instance that serves the value calls at ``p`` and ``inplace``."""
    return f"p={p!r}, inplace={inplace}"


def module_requests(rng: np.random.Generator) -> dict:
    """Constructions of the learner's class, and the forward calls the module's judge reads.

    ``instances`` maps a name to constructor ``args`` and ``kwargs``; each call names the
    instance it runs on. One instance serves every value call with the same (p, inplace), as
    a layer in a network does, so a module that keeps its mask between calls is caught.
    """
    kw_p, positional_p = pick(rng, P_LOW, 2)
    inplace_p, = pick(rng, P_HIGH)
    instances = {
        "keywords": {"args": [], "kwargs": {"p": kw_p, "inplace": False}},
        "positional": {"args": [positional_p], "kwargs": {}},
        "defaults": {"args": [], "kwargs": {}},
        "inplace": {"args": [], "kwargs": {"p": inplace_p, "inplace": True}},
        "repr": {"args": [], "kwargs": {"p": pick(rng, P_REPR)[0]}},
        "negative": {"args": [], "kwargs": {"p": pick(rng, P_NEGATIVE)[0]}},
        "above_one": {"args": [], "kwargs": {"p": pick(rng, P_ABOVE_ONE)[0]}},
        "nan": {"args": [], "kwargs": {"p": float("nan")}},
        "train_eval": {"args": [], "kwargs": {"p": 0.5}},
    }
    calls = []
    for call in _value_calls(rng):
        name = instance_name(call["p"], call["inplace"])
        instances.setdefault(name, {"args": [], "kwargs": {"p": call["p"], "inplace": call["inplace"]}})
        calls.append({**call, "instance": name})
    for training in (True, False, True):
        calls.append({**_call("train_eval", make_input(rng, (32, 32)), 0.5, training), "instance": "train_eval"})
    calls.append({**_call("invalid", make_input(rng, (4, 5)), float("nan")), "instance": "nan"})
    return {"instances": instances, "calls": calls}
