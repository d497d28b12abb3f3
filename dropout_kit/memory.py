"""What one forward pass allocates, and what autograd keeps of it for backward (lesson 01, in-place dropout).

``trace_forward(model, X)`` runs ``model(X)`` once and watches it two ways:

- every tensor an operation creates with new storage (views such as ``.t()`` share their
  input's storage and are not allocations), seen through a ``TorchDispatchMode``, which sits
  below autograd and so sees the operations that ``F.dropout`` is made of (``empty_like`` for
  the mask, ``mul`` or ``mul_`` to apply it);
- every tensor autograd saves for the backward pass, seen through
  ``torch.autograd.graph.saved_tensors_hooks``.

Matching the two by storage says which allocations autograd keeps alive until ``backward()``.
An allocation that nobody keeps (neither autograd nor the caller) is freed as soon as the
forward pass moves on: it raises the peak memory for a moment, not the memory held until backward.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from dropout_kit.tables import Table

MIB = 2**20


def _storage(t: torch.Tensor) -> tuple[int, int]:
    storage = t.untyped_storage()
    return storage.data_ptr(), storage.nbytes()


def _shape(t: torch.Tensor) -> str:
    return "×".join(str(s) for s in t.shape) or "scalar"


class _Allocations(TorchDispatchMode):
    """Records each operation's outputs whose storage none of its inputs had."""

    def __init__(self, where):
        super().__init__()
        self.where = where  # a callable giving the current layer's name
        self.records = []
        self.keep = []  # hold every new tensor, so the allocator cannot reuse its address during the trace

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {_storage(t)[0] for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)}
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and t.untyped_storage().nbytes() and _storage(t)[0] not in inputs:
                inputs.add(_storage(t)[0])
                self.keep.append(t)
                self.records.append({"layer": self.where(), "op": func.overloadpacket.__name__,
                                     "shape": _shape(t), "ptr": _storage(t)[0], "bytes": _storage(t)[1]})
        return out


@dataclass
class ForwardTrace:
    """The allocations of one forward pass and the tensors autograd saved for backward."""

    allocated: Table
    """One row per new tensor: ``layer``, ``op``, ``shape``, ``MiB``, ``kept_for_backward``."""
    saved: Table
    """One row per distinct storage autograd saved: ``layer``, ``shape``, ``MiB``, ``what``
    (``allocated in this pass``, ``parameter`` or ``input or other``)."""

    @staticmethod
    def _total(table: Table) -> tuple[int, float]:
        return len(table), sum(r["MiB"] for r in table)

    def allocated_total(self) -> tuple[int, float]:
        """``(number of new tensors, their MiB)`` over the whole forward pass."""
        return self._total(self.allocated)

    def saved_total(self) -> tuple[int, float]:
        """``(number of distinct storages saved for backward, their MiB)``."""
        return self._total(self.saved)


def trace_forward(model: nn.Module, X: torch.Tensor) -> ForwardTrace:
    """Run ``model(X)`` once; say what it allocated and what autograd saved for backward (lesson 01).

    Args:
        model: any module; its leaf modules name the rows (``"1 (Dropout)"``), and work
            done outside a leaf module is attributed to ``"(model)"``.
        X: the input batch. Gradients must be enabled (not inside ``torch.no_grad()``),
            else autograd saves nothing and the comparison is empty.

    Returns:
        A :class:`ForwardTrace`. Sizes are storage sizes in MiB (2**20 bytes).
    """
    if not torch.is_grad_enabled():
        raise RuntimeError("trace_forward needs gradients enabled: call it outside torch.no_grad() / "
                           "torch.inference_mode(), or autograd saves nothing for backward")
    stack = ["(model)"]

    def enter(label):
        return lambda module, args: stack.append(label)  # a pre-hook returning None keeps the args

    def leave(module, args, output):
        stack.pop()  # returns None, so the output is kept

    handles = []
    for name, module in model.named_modules():
        if next(module.children(), None) is None:  # a leaf: Linear, Dropout, ReLU, ...
            handles.append(module.register_forward_pre_hook(enter(f"{name or 'model'} ({type(module).__name__})")))
            handles.append(module.register_forward_hook(leave))
    params = {_storage(p)[0] for p in model.parameters()}
    saved = {}

    def pack(t):
        ptr, nbytes = _storage(t)
        saved.setdefault(ptr, {"layer": stack[-1], "shape": _shape(t), "bytes": nbytes})
        return t

    allocations = _Allocations(lambda: stack[-1])
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), allocations:
            model(X)
    finally:
        for handle in handles:
            handle.remove()
    created = {r["ptr"] for r in allocations.records}
    allocated = Table([{"layer": r["layer"], "op": r["op"], "shape": r["shape"], "MiB": r["bytes"] / MIB,
                        "kept_for_backward": r["ptr"] in saved} for r in allocations.records])
    kept = Table([{"layer": s["layer"], "shape": s["shape"], "MiB": s["bytes"] / MIB,
                   "what": "allocated in this pass" if ptr in created else
                   "parameter" if ptr in params else "input or other"} for ptr, s in saved.items()])
    return ForwardTrace(allocated=allocated, saved=kept)
