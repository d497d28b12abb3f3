"""Lesson 09's probe: run the learner's ``DropoutFunction`` forward and backward on the judge's calls, as data.

Runs in the learner's kernel and decides nothing. The judge's requests come in groups of
calls (``backward.challenge``). For each group the probe

1. calls ``DropoutFunction.apply(x, p, training)`` for every call of the group, on a fresh leaf
   ``x`` that requires grad, and records the output;
2. then, for each output, runs autograd's backward with the judge's upstream gradient
   (``y.backward(upstream, retain_graph=True)``) and records ``x.grad`` and whether the
   gradient handed to the Function's backward was changed in place (seen by a tensor hook);
3. and calls the learner's ``backward(ctx, grad_output)`` once more directly, with the node
   autograd made for the call as ``ctx`` (for an ``autograd.Function`` the node *is* the ctx),
   to record what it returns: autograd accepts extra trailing ``None``s silently, the
   contract does not.

All forwards of a group run before any backward, so a mask kept where the next call
overwrites it (a class attribute) shows. Every call of the learner's code runs inside
``detect.watch``, which lists the calls of PyTorch's dropout family it saw (the direct call
of ``backward`` too: autograd's own backward runs beyond the detector's reach). The probe
never draws random numbers and never seeds anything.
"""

from __future__ import annotations

import numpy as np
import torch

from dropout_kit.exercises import detect, from_scratch_probe
from dropout_kit.exercises.from_scratch_probe import output_record, raised

# Lesson 02's list of PyTorch's dropout functions, and the backward of its kernel.
TORCH_DROPOUT = (*from_scratch_probe.TORCH_DROPOUT, "native_dropout_backward", "_fused_dropout")
MAX_VALUES = 2**16  # a larger gradient is not sent (the judge's inputs have at most 4096 entries)
MAX_KINDS = 8


def values(t) -> np.ndarray | None:
    """A gradient's values as a sendable float32/float64 array, or None when they cannot be read."""
    try:
        t = t.detach().cpu()
        if t.numel() > MAX_VALUES or t.is_complex():
            return None
        if str(t.dtype).replace("torch.", "") not in ("float32", "float64"):
            t = t.to(torch.float64)
        return np.array(t.numpy())
    except Exception:  # a meta, sparse or otherwise strange tensor
        return None


def _returned(function, node, upstream: np.ndarray, seen: list[str]) -> dict:
    """What ``backward(ctx, grad_output)`` returns when called directly: its type, length and item types."""
    record = {"raised": None, "type": "", "count": None, "kinds": []}
    with detect.watch(torch_names=TORCH_DROPOUT) as log:
        try:
            result = function.backward(node, torch.tensor(np.array(upstream)))
        except Exception as exc:
            record["raised"] = raised(exc)
            result = None
    seen.extend(name for name in log.names if name not in seen)
    if record["raised"] is None:
        record["type"] = type(result).__name__[:100]
        if isinstance(result, (tuple, list)):
            record["count"] = len(result)
            record["kinds"] = [type(item).__name__[:100] for item in result[:MAX_KINDS]]
    return record


def backward_record(function, x: torch.Tensor, y: torch.Tensor, upstream: np.ndarray, seen: list[str]) -> dict:
    """Run backward from ``y`` with ``upstream``; what ``x.grad`` became and whether the gradient was changed."""
    record = {"raised": None, "grad": None, "grad_output_changed": False, "returned": None}
    handed = []  # (gradient autograd hands to the Function's backward, a copy of it)
    try:
        y.register_hook(lambda g: handed.append((g, g.detach().clone())))
    except Exception:  # a tensor that takes no hooks: the in-place check then sees the upstream only
        pass
    u = torch.tensor(np.array(upstream))
    before = u.clone()
    with detect.watch(torch_names=TORCH_DROPOUT) as log:
        try:
            y.backward(u, retain_graph=True)
        except Exception as exc:
            record["raised"] = raised(exc)
    seen.extend(name for name in log.names if name not in seen)
    record["grad_output_changed"] = not torch.equal(u, before) or any(not torch.equal(g, copy) for g, copy in handed)
    if x.grad is not None:
        record["grad"] = values(x.grad)
    if y.grad_fn is not None:
        record["returned"] = _returned(function, y.grad_fn, upstream, seen)
    return record


def run_group(function, calls: list[dict], seen: list[str]) -> list[dict]:
    """Forward every call of a group, then backward each; one record per call."""
    records, tensors = [], []
    for call in calls:
        x = torch.tensor(np.array(call["x"])).requires_grad_(True)
        record = {"raised": None, "out": None, "backward": None}
        y = None
        with detect.watch(torch_names=TORCH_DROPOUT) as log:
            try:
                y = function.apply(x, call["p"], call["training"])
                record["out"] = output_record(y, x)
            except Exception as exc:
                record["raised"] = raised(exc)
        seen.extend(name for name in log.names if name not in seen)
        records.append(record)
        tensors.append((x, y))
    for call, record, (x, y) in zip(calls, records, tensors):
        if record["out"] is not None and record["out"]["tensor"] and record["out"]["requires_grad"]:
            record["backward"] = backward_record(function, x, y, call["upstream"], seen)
    return records


def class_record(obj) -> dict:
    """Is the target a class, and a subclass of ``torch.autograd.Function``?"""
    is_type = isinstance(obj, type)
    return {"is_type": is_type, "is_function": is_type and issubclass(obj, torch.autograd.Function),
            "type": type(obj).__name__[:100]}


def probe(function, requests: dict) -> dict:
    """Run the learner's ``DropoutFunction`` on every group of calls; the library dropout calls seen."""
    reply = {"class": class_record(function), "groups": [], "library_calls": []}
    if not reply["class"]["is_function"]:
        return reply  # an instance, a function or anything else: there is no .apply to call
    seen: list[str] = []
    reply["groups"] = [run_group(function, group, seen) for group in requests["groups"]]
    reply["library_calls"] = seen[:detect.MAX_RECORDED]
    return reply
