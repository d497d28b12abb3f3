"""Reading lesson 02's probe replies on the judge's side: every field validated, or ``ReplyError``.

The reply is data from the learner's kernel, so nothing in it is taken on trust: each field
must have exactly the type, size and shape the probe writes (``from_scratch_probe``), and
fields that must agree do (an output's values have the shape it reports; a call either
raised or returned; x's values after a call that claims to have changed it differ from x).
What the learner's code did, however wrong, is data for the checks; a reply that could not
have come from the probe is malformed, and the verdict fails closed naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dropout_kit.exercises import detect, wire
from dropout_kit.exercises.wire import ReplyError

MAX_TEXT = 600


@dataclass(frozen=True)
class Raised:
    """An exception the learner's code raised, as the probe recorded it."""

    type: str
    value_error: bool
    runtime_error: bool
    message: str

    def __str__(self) -> str:
        return f"{self.type}: {self.message}"


@dataclass(frozen=True)
class Output:
    """What a call returned: a tensor (dtype, shape, values when readable) or something else."""

    type: str
    tensor: bool
    dtype: str | None
    shape: tuple | None
    values: np.ndarray | None
    note: str
    is_input: bool
    same_storage: bool
    requires_grad: bool


@dataclass(frozen=True)
class Grad:
    """What backward with the judge's upstream gradient gave for x."""

    attempted: bool
    raised: Raised | None
    values: np.ndarray | None


@dataclass(frozen=True, eq=False)  # compared by identity: it holds arrays
class Outcome:
    """One call: the judge's own request, how it reads in messages, and what the probe recorded."""

    call: dict
    seen: str
    raised: Raised | None
    out: Output | None
    input_changed: bool
    input_after: np.ndarray | None
    grad: Grad | None

    @property
    def x(self) -> np.ndarray:
        """The input the judge chose for this call."""
        return self.call["x"]


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Same shape and values (NaN equal to NaN)."""
    floats = a.dtype.kind == "f" and b.dtype.kind == "f"
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=floats))


def _text(value, name: str, optional: bool = False) -> str | None:
    return wire.text(value, name, max_len=MAX_TEXT, optional=optional)


def read_raised(value, name: str) -> Raised | None:
    """An exception record, or None."""
    if value is None:
        return None
    value = wire.mapping(value, name, ["type", "value_error", "runtime_error", "message"])
    return Raised(_text(value["type"], f"{name}.type"), wire.flag(value["value_error"], f"{name}.value_error"),
                  wire.flag(value["runtime_error"], f"{name}.runtime_error"), _text(value["message"], f"{name}.message"))


def _shape(value, name: str) -> tuple:
    items = wire.sequence(value, name)
    if len(items) > 8:
        raise ReplyError(f"{name} has {len(items)} sizes; at most 8 are accepted")
    if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2**40 for n in items):
        raise ReplyError(f"{name} must be a list of sizes (integers >= 0), got {items!r:.100}")
    return tuple(items)


def _values_dtype_matches(dtype: str, values: np.ndarray) -> bool:
    """The probe sends float32/float64/ints/bool as they are, other floats as float64, other ints as int64."""
    name = dtype.removeprefix("torch.")
    return values.dtype.name == name if name in wire.DTYPES else values.dtype.name in ("float64", "int64")


def read_output(value, name: str) -> Output:
    """An output record; a tensor's values must have its shape and a dtype its reported dtype allows."""
    keys = ["type", "tensor", "dtype", "shape", "values", "note", "is_input", "same_storage", "requires_grad"]
    value = wire.mapping(value, name, keys)
    tensor = wire.flag(value["tensor"], f"{name}.tensor")
    out = Output(_text(value["type"], f"{name}.type"), tensor, _text(value["dtype"], f"{name}.dtype", optional=True),
                 None if value["shape"] is None else _shape(value["shape"], f"{name}.shape"),
                 None if value["values"] is None else wire.array(value["values"], f"{name}.values"),
                 _text(value["note"], f"{name}.note"), wire.flag(value["is_input"], f"{name}.is_input"),
                 wire.flag(value["same_storage"], f"{name}.same_storage"),
                 wire.flag(value["requires_grad"], f"{name}.requires_grad"))
    if not tensor and (out.dtype, out.shape, out.values) != (None, None, None):
        raise ReplyError(f"{name} is not a tensor but has a dtype, shape or values")
    if not tensor and (out.is_input or out.same_storage or out.requires_grad):
        raise ReplyError(f"{name} is not a tensor but claims to be x or to require grad")
    if out.values is not None:
        if out.dtype is None or out.shape is None:
            raise ReplyError(f"{name} has values but no dtype or shape")
        if tuple(out.values.shape) != out.shape:
            raise ReplyError(f"{name}.values has shape {out.values.shape}, but the output's shape is {out.shape}")
        if not _values_dtype_matches(out.dtype, out.values):
            raise ReplyError(f"{name}.values has dtype {out.values.dtype}, which {out.dtype} is not sent as")
    return out


def read_grad(value, name: str, x: np.ndarray) -> Grad:
    """A backward record; the gradient, when sent, has x's shape."""
    value = wire.mapping(value, name, ["attempted", "raised", "values"])
    grad = Grad(wire.flag(value["attempted"], f"{name}.attempted"), read_raised(value["raised"], f"{name}.raised"),
                None if value["values"] is None else wire.array(value["values"], f"{name}.values", shape=x.shape))
    if not grad.attempted and (grad.raised is not None or grad.values is not None):
        raise ReplyError(f"{name} reports a result of a backward it did not attempt")
    if grad.raised is not None and grad.values is not None:
        raise ReplyError(f"{name} both raised and gave a gradient")
    return grad


def read_call(value, name: str, call: dict, seen: str) -> Outcome:
    """One call's record, checked against the judge's own request ``call``."""
    value = wire.mapping(value, name, ["raised", "out", "input_changed", "input_after", "grad"])
    raised = read_raised(value["raised"], f"{name}.raised")
    out = None if value["out"] is None else read_output(value["out"], f"{name}.out")
    if (raised is None) == (out is None):
        raise ReplyError(f"{name} must either have raised or have returned, not {'both' if out else 'neither'}")
    changed = wire.flag(value["input_changed"], f"{name}.input_changed")
    after = None if value["input_after"] is None else wire.array(value["input_after"], f"{name}.input_after")
    if after is not None and not changed:
        raise ReplyError(f"{name} sends x's values after the call but says x did not change")
    if after is not None and same(after, call["x"]):
        raise ReplyError(f"{name} says x changed but sends it unchanged")
    if out is not None and out.is_input and out.values is not None and after is not None \
            and not same(out.values, after):
        raise ReplyError(f"{name} returned x itself, but its values differ from x's after the call")
    grad = None
    if call.get("upstream") is not None:
        grad = read_grad(value["grad"], f"{name}.grad", call["x"])
    elif value["grad"] is not None:
        raise ReplyError(f"{name} has a gradient that was not asked for")
    return Outcome(call, seen, raised, out, changed, after, grad)


def read_calls(reply: dict, calls: list[dict], describe) -> list[Outcome]:
    """Every call's record, in the order of the judge's requests; ``describe(call)`` names each."""
    records = wire.sequence(reply["calls"], "calls", len(calls))
    return [read_call(r, f"calls[{i}]", c, describe(c)) for i, (r, c) in enumerate(zip(records, calls))]


def read_library_calls(reply: dict) -> list[str]:
    """The names of library dropout functions the probe's detector saw."""
    names = wire.sequence(reply["library_calls"], "library_calls")
    if len(names) > detect.MAX_RECORDED:
        raise ReplyError(f"library_calls has {len(names)} names; at most {detect.MAX_RECORDED} are recorded")
    return [_text(n, f"library_calls[{i}]") for i, n in enumerate(names)]


def read_class(value) -> dict:
    """The class record: is it a class, an nn.Module subclass, its MRO's qualified names."""
    value = wire.mapping(value, "class", ["is_type", "is_module_class", "type", "mro"])
    mro = wire.sequence(value["mro"], "class.mro")
    if len(mro) > 30:
        raise ReplyError(f"class.mro has {len(mro)} names; at most 30 are recorded")
    return {"is_type": wire.flag(value["is_type"], "class.is_type"),
            "is_module_class": wire.flag(value["is_module_class"], "class.is_module_class"),
            "type": _text(value["type"], "class.type"), "mro": [_text(n, f"class.mro[{i}]") for i, n in enumerate(mro)]}


def read_instance(value, name: str) -> dict:
    """An instance record: the constructor's exception, or what the built object holds."""
    value = wire.mapping(value, name, ["raised"])
    raised = read_raised(value["raised"], f"{name}.raised")
    if raised is not None:
        return {"raised": raised}
    keys = ["is_module", "super_init", "training", "has_p", "p", "p_type", "has_inplace", "inplace",
            "inplace_type", "repr", "repr_raised"]
    value = wire.mapping(value, name, keys)
    record = {"raised": None, "repr": _text(value["repr"], f"{name}.repr", optional=True),
              "repr_raised": read_raised(value["repr_raised"], f"{name}.repr_raised"),
              "p": None if value["p"] is None else wire.number(value["p"], f"{name}.p", finite=False),
              "p_type": _text(value["p_type"], f"{name}.p_type"),
              "inplace_type": _text(value["inplace_type"], f"{name}.inplace_type")}
    for key in ("is_module", "super_init", "has_p", "has_inplace"):
        record[key] = wire.flag(value[key], f"{name}.{key}")
    for key in ("training", "inplace"):
        record[key] = None if value[key] is None else wire.flag(value[key], f"{name}.{key}")
    if (record["repr"] is None) == (record["repr_raised"] is None):
        raise ReplyError(f"{name} must have either a repr or the exception repr raised")
    return record
