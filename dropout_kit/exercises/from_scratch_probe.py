"""Lesson 02's probes: run the learner's dropout on the judge's calls and record what happened, as data.

Runs in the learner's kernel and decides nothing. For each call it builds the input from the
request, calls the learner's code and records the outcome (see ``call_record``). It never
draws random numbers and never seeds anything: the learner's masks come from whatever state
their RNG is in, as in their own notebook. Every call of learner code runs inside
``detect.watch``, which lists the calls of PyTorch's dropout family it saw.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from dropout_kit.exercises import detect, wire

# PyTorch's dropout functions, as the run-time detector sees their names (in-place variants too).
TORCH_DROPOUT = ("dropout", "dropout1d", "dropout2d", "dropout3d", "feature_dropout", "native_dropout",
                 "alpha_dropout", "feature_alpha_dropout", "dropout_", "feature_dropout_", "alpha_dropout_",
                 "feature_alpha_dropout_")
MAX_VALUES = 2**16     # an output with more entries is described, not sent (inputs have at most 4096)
MAX_MESSAGE = 500
MAX_REPR = 500


def raised(exc: BaseException) -> dict:
    """An exception as data: its type, whether it is a ValueError / RuntimeError, its message."""
    return {"type": type(exc).__name__[:100], "value_error": isinstance(exc, ValueError),
            "runtime_error": isinstance(exc, RuntimeError), "message": str(exc)[:MAX_MESSAGE]}


def _values(t: torch.Tensor) -> tuple[np.ndarray | None, str]:
    """A tensor's values as a sendable array (floats other than float32/64 as float64), or a note why not."""
    try:
        t = t.detach().cpu()
        if t.numel() > MAX_VALUES:
            return None, f"{t.numel()} entries, more than the {MAX_VALUES} sent"
        if t.is_complex():
            return None, "complex values are not sent"
        name = str(t.dtype).replace("torch.", "")
        if name not in wire.DTYPES:
            t = t.to(torch.float64 if t.is_floating_point() else torch.int64)
        return np.array(t.numpy()), ""
    except Exception as exc:  # a meta tensor, a sparse tensor, a subclass that refuses
        return None, f"values unreadable ({type(exc).__name__}: {str(exc)[:200]})"


def output_record(out, x: torch.Tensor) -> dict:
    """What came back: its type, and for a tensor its dtype, shape, values and relation to ``x``."""
    record = {"type": type(out).__name__[:100], "tensor": isinstance(out, torch.Tensor), "dtype": None,
              "shape": None, "values": None, "note": "", "is_input": out is x, "same_storage": False,
              "requires_grad": False}
    if record["tensor"]:
        try:
            record.update(dtype=str(out.dtype), shape=[int(n) for n in out.shape][:8],
                          requires_grad=bool(out.requires_grad),
                          same_storage=bool(out.data_ptr() == x.data_ptr() and out.shape == x.shape))
        except Exception as exc:  # a strange tensor subclass
            record["note"] = f"unreadable tensor ({type(exc).__name__})"
        record["values"], note = _values(out)
        record["note"] = record["note"] or note
    return record


def call_record(run: Callable[[torch.Tensor], object], call: dict, seen: list[str]) -> dict:
    """Call ``run(x)`` on the request's input and record the outcome.

    Returns ``{"raised", "out", "input_changed", "input_after", "grad"}``: the exception as data
    (or None), the output's record (or None), whether ``x`` was changed and its values after,
    and, when the request has an upstream gradient, what backward gave for x.
    """
    original = torch.tensor(np.array(call["x"]))
    leaf = original.clone()
    record = {"raised": None, "out": None, "input_changed": False, "input_after": None, "grad": None}
    upstream = call.get("upstream")
    if upstream is not None:
        leaf.requires_grad_(True)
    x = leaf * 1.0 if call.get("nonleaf") else leaf
    out = None
    with detect.watch(torch_names=TORCH_DROPOUT) as log:
        try:
            out = run(x)
            record["out"] = output_record(out, x)
        except Exception as exc:
            record["raised"] = raised(exc)
        if upstream is not None:
            record["grad"] = _backward(out, leaf, upstream)
    seen.extend(name for name in log.names if name not in seen)
    try:
        after = x.detach()
        record["input_changed"] = not (after.shape == original.shape and after.dtype == original.dtype
                                       and torch.equal(after, original))
    except Exception:  # the input was turned into something torch cannot compare
        record["input_changed"] = True
    if record["input_changed"]:
        record["input_after"], _ = _values(x)
    return record


def _backward(out, leaf: torch.Tensor, upstream: np.ndarray) -> dict:
    grad = {"attempted": False, "raised": None, "values": None}
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        return grad
    grad["attempted"] = True
    try:
        out.backward(torch.tensor(np.array(upstream)))
    except Exception as exc:
        grad["raised"] = raised(exc)
        return grad
    if leaf.grad is not None:
        grad["values"], _ = _values(leaf.grad)
    return grad


def probe_function(dropout, requests: dict) -> dict:
    """Run the learner's ``dropout`` on every call of ``requests``; the library dropout calls seen."""
    seen: list[str] = []
    calls = [call_record(lambda x, c=call: dropout(x, p=c["p"], training=c["training"], inplace=c["inplace"]),
                         call, seen) for call in requests["calls"]]
    return {"calls": calls, "library_calls": seen[:detect.MAX_RECORDED]}


def _qualname(cls) -> str:
    return f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', '?')}"[:200]


def class_record(cls) -> dict:
    """Is it a class, an nn.Module subclass, and what are its bases (qualified names, MRO order)?"""
    is_type = isinstance(cls, type)
    return {"is_type": is_type, "is_module_class": is_type and issubclass(cls, torch.nn.Module),
            "type": type(cls).__name__[:100],
            "mro": [_qualname(c) for c in cls.__mro__][:30] if is_type else []}


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _attribute(module, name: str) -> tuple[bool, object, str]:
    """Whether ``module`` has the attribute, its value and the value's type name."""
    try:
        value = getattr(module, name)
    except AttributeError:
        return False, None, ""
    except Exception as exc:  # a property of the learner's that raises
        return True, None, f"{type(exc).__name__} raised"
    return True, value, type(value).__name__[:100]


def instance_record(module) -> dict:
    """A built instance: is it a Module, did nn.Module.__init__ run, training, p, inplace and repr."""
    record = {"raised": None, "is_module": isinstance(module, torch.nn.Module), "super_init": False,
              "training": None, "repr": None, "repr_raised": None}
    try:
        record["super_init"] = "_parameters" in vars(module)
    except TypeError:  # an object without __dict__
        pass
    training = _attribute(module, "training")[1]
    record["training"] = training if isinstance(training, bool) else None
    for name, keep in (("p", _number), ("inplace", lambda v: v if isinstance(v, bool) else None)):
        has, value, kind = _attribute(module, name)
        record.update({f"has_{name}": has, name: keep(value), f"{name}_type": kind})
    try:
        record["repr"] = str(repr(module))[:MAX_REPR]
    except Exception as exc:
        record["repr_raised"] = raised(exc)
    return record


def probe_module(cls, requests: dict) -> dict:
    """Build the learner's class as asked, run the forward calls, and record all of it."""
    reply = {"class": class_record(cls), "instances": {}, "calls": [], "library_calls": []}
    if not reply["class"]["is_type"]:
        return reply  # an instance was passed, not the class: nothing to build
    seen: list[str] = []
    built = {}
    for name, spec in requests["instances"].items():
        with detect.watch(torch_names=TORCH_DROPOUT) as log:
            try:
                built[name] = cls(*spec["args"], **spec["kwargs"])
                reply["instances"][name] = instance_record(built[name])
            except Exception as exc:
                built[name] = exc
                reply["instances"][name] = {"raised": raised(exc)}
        seen.extend(n for n in log.names if n not in seen)

    def forward(x, call):
        module = built[call["instance"]]
        if isinstance(module, Exception):
            raise module  # the constructor's exception: this call could not be made
        module.train(call["training"])
        return module(x)

    reply["calls"] = [call_record(lambda x, c=call: forward(x, c), call, seen) for call in requests["calls"]]
    reply["library_calls"] = seen[:detect.MAX_RECORDED]
    return reply
