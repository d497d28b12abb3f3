"""Lesson 02's checks of the learner's ``Dropout`` class: construction, attributes, repr, invalid p, train/eval.

They read the instance records of the probe's reply (``from_scratch_reply.read_instance``)
and the train/eval calls. The value, mask and gradient checks of the function apply to the
module's forward calls unchanged (see ``from_scratch.judge_module``). All of these are
deterministic except that training mode must drop one of 1024 entries, twice (a correct
module fails that with probability 2 * 2^-1024).
"""

from __future__ import annotations

import math
import re

from dropout_kit.exercises.from_scratch_checks import CheckFailed, role, values
from dropout_kit.exercises.from_scratch_reply import Outcome

NAME = "Dropout"


def shown(spec: dict) -> str:
    """How a construction reads in a message, e.g. ``Dropout(0.3)`` or ``Dropout(p=0.3, inplace=False)``."""
    parts = [*map(repr, spec["args"]), *(f"{k}={v!r}" for k, v in spec["kwargs"].items())]
    return f"{NAME}({', '.join(parts)})"


def built(requests: dict, instances: dict, name: str) -> dict:
    """The record of a construction that must succeed; fails the check when it raised or skipped set-up."""
    spec, record = requests["instances"][name], instances[name]
    if record["raised"] is not None:
        raise CheckFailed(f"{shown(spec)} raised {record['raised']}")
    if not record["is_module"]:
        raise CheckFailed(f"{shown(spec)} is not an nn.Module: subclass torch.nn.Module and call "
                          "super().__init__() first")
    if not record["super_init"]:
        raise CheckFailed(f"{shown(spec)} skipped nn.Module's own set-up: call super().__init__() first thing "
                          "in __init__")
    return record


def check_module_init(requests: dict, instances: dict) -> None:
    """Can the class be built with keywords, positionally and with its defaults? Deterministic."""
    for name in ("keywords", "positional", "defaults"):
        built(requests, instances, name)


def check_module_attributes(requests: dict, instances: dict) -> None:
    """Are ``p`` and ``inplace`` stored as given, and the defaults 0.5 and False? Deterministic."""
    for name in ("keywords", "inplace", "defaults"):
        record, spec = built(requests, instances, name), requests["instances"][name]
        p, inplace = spec["kwargs"].get("p", 0.5), spec["kwargs"].get("inplace", False)
        if not record["has_p"]:
            raise CheckFailed(f"{shown(spec)} has no attribute p: store it in __init__ with self.p = p, as "
                              "nn.Dropout does (code that inspects layers reads .p)")
        if record["p"] != p:
            stored = record["p"] if record["p"] is not None else f"a {record['p_type']}"
            raise CheckFailed(f"{shown(spec)}.p is {stored}, expected {p}"
                              + (": the default is p=0.5, as in nn.Dropout" if name == "defaults" else ""))
        if not record["has_inplace"]:
            raise CheckFailed(f"{shown(spec)} has no attribute inplace: store it with self.inplace = inplace")
        if record["inplace"] is not inplace:
            stored = record["inplace"] if record["inplace"] is not None else f"a {record['inplace_type']}"
            raise CheckFailed(f"{shown(spec)}.inplace is {stored}, expected {inplace}")


def check_module_repr(requests: dict, instances: dict) -> None:
    """Does the repr of a module built with p show ``p=<p>``, via ``extra_repr``? Deterministic."""
    record, spec = built(requests, instances, "repr"), requests["instances"]["repr"]
    if record["repr_raised"] is not None:
        raise CheckFailed(f"repr({shown(spec)}) raised {record['repr_raised']}")
    p = spec["kwargs"]["p"]
    if not re.search(rf"\bp\s*=\s*{re.escape(repr(p))}\b", record["repr"]):
        raise CheckFailed(f"repr of a module built with p={p} is {record['repr']!r}: define extra_repr(self) "
                          "returning f'p={self.p}, inplace={self.inplace}'")


def check_module_invalid_p(requests: dict, instances: dict, outcomes: list[Outcome]) -> None:
    """Do a negative p and a p above 1 raise ValueError at construction, and p=nan raise? Deterministic.

    For NaN, as for the function, ValueError or RuntimeError is accepted, at construction or at
    the first forward in training mode: nn.Dropout builds without complaint and raises
    RuntimeError at its first forward.
    """
    for name in ("negative", "above_one", "nan"):
        spec, record = requests["instances"][name], instances[name]
        p, error = spec["kwargs"]["p"], record["raised"]
        if error is not None and (error.value_error or (math.isnan(p) and error.runtime_error)):
            continue
        if error is not None:
            raise CheckFailed(f"{shown(spec)} raised {error}; expected ValueError (raise it in __init__, like "
                              "nn.Dropout)")
        if math.isnan(p):
            [forward] = role(outcomes, "invalid")
            if forward.raised is not None and (forward.raised.value_error or forward.raised.runtime_error):
                continue
            if forward.raised is not None:
                raise CheckFailed(f"{NAME}(p=nan)(x) raised {forward.raised}; expected ValueError from __init__")
            raise CheckFailed(f"{NAME}(p=nan) was accepted: `p < 0 or p > 1` is False for NaN; test "
                              "`not 0 <= p <= 1` in __init__ and raise ValueError")
        raise CheckFailed(f"{shown(spec)} was built without error: check p in __init__ and raise ValueError when "
                          "it is not in [0, 1], like nn.Dropout")


def check_module_train_eval(requests: dict, instances: dict, outcomes: list[Outcome]) -> None:
    """Does the module drop in training mode (the default) and pass x through after eval()?"""
    record = built(requests, instances, "train_eval")
    if record["training"] is not True:
        raise CheckFailed("a new module is not in training mode: call super().__init__() and don't change "
                          "self.training in __init__")
    for step, o in enumerate(role(outcomes, "train_eval")):
        out = values(o)
        if o.call["training"] and not (out == 0).any():
            again = " after eval() then train()" if step else ""
            raise CheckFailed(f"nothing was dropped in training mode{again}: forward must drop entries when "
                              "self.training is True")
        if not o.call["training"] and not (out == o.x).all():
            if (out == 0).any():
                raise CheckFailed("the output still has zeros after .eval(): read self.training in forward (e.g. "
                                  "dropout(x, self.p, self.training, self.inplace)); calling F.dropout(x, self.p) "
                                  "without training=self.training always drops")
            raise CheckFailed("the output differs from x after .eval(): in eval mode dropout is the identity, "
                              "with no scaling")
