"""Reading lesson 09's probe replies on the judge's side: every field validated, or ``ReplyError``.

The reply is data from the learner's kernel, so nothing in it is taken on trust: each field
must have exactly the type, size and shape the probe writes (``backward_probe``), and fields
that must agree do (values have the reported shape; a call either raised or returned; a
gradient has x's shape; a backward that raised reports no return value). What the learner's
code did, however wrong, is data for the checks; a reply that could not have come from the
probe is malformed, and the verdict fails closed naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dropout_kit.exercises import wire
from dropout_kit.exercises.backward_probe import MAX_KINDS
# Exceptions and forward's output are recorded as lesson 02's probe records them.
from dropout_kit.exercises.from_scratch_reply import Output, Raised, read_output, read_raised
from dropout_kit.exercises.wire import ReplyError

MAX_TEXT = 600


@dataclass(frozen=True)
class Returned:
    """What the learner's ``backward(ctx, grad_output)`` returned when called directly."""

    raised: Raised | None
    type: str
    count: int | None
    kinds: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Backward:
    """What autograd's backward with the judge's upstream gradient gave."""

    raised: Raised | None
    grad: np.ndarray | None
    grad_output_changed: bool
    returned: Returned | None


@dataclass(frozen=True, eq=False)  # compared by identity: it holds arrays
class Outcome:
    """One call: the judge's own request, how messages name it, its group, and what the probe recorded."""

    call: dict
    seen: str
    group: int
    raised: Raised | None
    out: Output | None
    backward: Backward | None

    @property
    def x(self) -> np.ndarray:
        """The input the judge chose for this call."""
        return self.call["x"]


def _text(value, name: str, optional: bool = False) -> str | None:
    return wire.text(value, name, max_len=MAX_TEXT, optional=optional)


def _values(value, name: str, x: np.ndarray) -> np.ndarray | None:
    """A float array of x's shape, or None."""
    if value is None:
        return None
    return wire.array(value, name, shape=x.shape, kind="f")


def read_returned(value, name: str) -> Returned | None:
    """The record of backward's direct call, or None."""
    if value is None:
        return None
    value = wire.mapping(value, name, ["raised", "type", "count", "kinds"])
    raised = read_raised(value["raised"], f"{name}.raised")
    count = value["count"]
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or not 0 <= count < 2**31):
        raise ReplyError(f"{name}.count must be a whole number >= 0 or null")
    kinds = wire.sequence(value["kinds"], f"{name}.kinds")
    listed = 0 if count is None else min(count, MAX_KINDS)
    if len(kinds) > MAX_KINDS or len(kinds) != listed:
        raise ReplyError(f"{name}.kinds must list the type of each returned item (at most {MAX_KINDS})")
    returned = Returned(raised, _text(value["type"], f"{name}.type"), count,
                        tuple(_text(k, f"{name}.kinds[{i}]") for i, k in enumerate(kinds)))
    if raised is not None and (returned.type or count is not None):
        raise ReplyError(f"{name} both raised and returned")
    return returned


def read_backward(value, name: str, x: np.ndarray) -> Backward:
    """A backward record; the gradient, when sent, is a float array of x's shape."""
    value = wire.mapping(value, name, ["raised", "grad", "grad_output_changed", "returned"])
    return Backward(read_raised(value["raised"], f"{name}.raised"), _values(value["grad"], f"{name}.grad", x),
                    wire.flag(value["grad_output_changed"], f"{name}.grad_output_changed"),
                    read_returned(value["returned"], f"{name}.returned"))


def read_call(value, name: str, call: dict, seen: str, group: int) -> Outcome:
    """One call's record, checked against the judge's own request ``call``."""
    value = wire.mapping(value, name, ["raised", "out", "backward"])
    raised = read_raised(value["raised"], f"{name}.raised")
    out = None if value["out"] is None else read_output(value["out"], f"{name}.out")
    if (raised is None) == (out is None):
        raise ReplyError(f"{name} must either have raised or have returned, not {'both' if out else 'neither'}")
    backward = None if value["backward"] is None else read_backward(value["backward"], f"{name}.backward", call["x"])
    if backward is not None and not (out is not None and out.tensor and out.requires_grad):
        raise ReplyError(f"{name} has a backward record, but its output was no tensor that requires grad")
    return Outcome(call, seen, group, raised, out, backward)


def read_groups(reply: dict, groups: list[list[dict]], describe) -> list[Outcome]:
    """Every call's record, in the order of the judge's requests; ``describe(call)`` names each."""
    records = wire.sequence(reply["groups"], "groups", len(groups))
    outcomes = []
    for g, (group_records, calls) in enumerate(zip(records, groups)):
        group_records = wire.sequence(group_records, f"groups[{g}]", len(calls))
        outcomes += [read_call(r, f"groups[{g}][{i}]", c, describe(c), g)
                     for i, (r, c) in enumerate(zip(group_records, calls))]
    return outcomes


def read_class(value) -> dict:
    """The class record: is it a class, a subclass of torch.autograd.Function, and its type's name."""
    value = wire.mapping(value, "class", ["is_type", "is_function", "type"])
    record = {"is_type": wire.flag(value["is_type"], "class.is_type"),
              "is_function": wire.flag(value["is_function"], "class.is_function"),
              "type": _text(value["type"], "class.type")}
    if record["is_function"] and not record["is_type"]:
        raise ReplyError("class says it is a Function subclass but not a class")
    return record
