"""Tests of dropout_kit.memory: what a forward pass allocates and what autograd keeps for backward."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dropout_kit import memory

pytestmark = pytest.mark.usefixtures("one_thread")

BATCH, IN, HIDDEN, OUT = 8, 6, 16, 3
MIB = 2**20


def mib(*shape) -> float:
    """The size of a float32 tensor of this shape, in MiB."""
    return torch.Size(shape).numel() * 4 / MIB


def mlp(inplace: bool) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(IN, HIDDEN), nn.Dropout(0.5, inplace=inplace), nn.Linear(HIDDEN, OUT))


def rows(trace, layer: str) -> list[dict]:
    """The allocations a trace attributes to one layer."""
    return [r for r in trace.allocated if r["layer"] == layer]


@pytest.fixture
def X():
    return torch.randn(BATCH, IN, generator=torch.Generator().manual_seed(1))


def test_a_lone_linear_allocates_its_output_and_saves_only_its_input(X):
    """Does a Linear whose input needs no gradient allocate only its output and save only its input?

    PyTorch's own bookkeeping is the reference: the weight gradient needs the input, and the
    input's gradient (which would need the weight) is not asked for.
    """
    linear = nn.Linear(IN, HIDDEN)
    trace = memory.trace_forward(linear, X)
    assert [(r["op"], r["shape"], r["kept_for_backward"]) for r in trace.allocated] == [("addmm", "8×16", False)]
    assert [(r["shape"], r["what"]) for r in trace.saved] == [("8×6", "input or other")]
    assert trace.saved_total() == (1, pytest.approx(mib(BATCH, IN)))
    grad_fn = linear(X).grad_fn
    assert torch.equal(grad_fn._saved_mat1, X)  # addmm saved exactly the input


def test_dropout_keeps_the_same_tensors_for_backward_in_place_or_not(X):
    """Do inplace=False and inplace=True save the same number and sizes of tensors for backward?

    Both keep the scaled mask (dropout's backward multiplies by it) and the next Linear keeps
    its input; only which storage holds that input differs.
    """
    plain, inplace = memory.trace_forward(mlp(False), X), memory.trace_forward(mlp(True), X)
    shapes = [(r["layer"], r["shape"]) for r in plain.saved]
    assert shapes == [(r["layer"], r["shape"]) for r in inplace.saved]
    assert shapes == [("0 (Linear)", "8×6"), ("1 (Dropout)", "8×16"), ("2 (Linear)", "8×16"), ("2 (Linear)", "16×3")]
    assert plain.saved_total() == inplace.saved_total()
    assert plain.saved_total()[1] == pytest.approx(mib(BATCH, IN) + 2 * mib(BATCH, HIDDEN) + mib(HIDDEN, OUT))
    assert [r["what"] for r in inplace.saved] == ["input or other", "allocated in this pass",
                                                  "allocated in this pass", "parameter"]


def test_in_place_dropout_allocates_one_input_sized_tensor_less(X):
    """Does in-place dropout skip exactly the output tensor, while both modes allocate the mask?"""
    plain, inplace = memory.trace_forward(mlp(False), X), memory.trace_forward(mlp(True), X)
    assert [(r["op"], r["shape"]) for r in rows(plain, "1 (Dropout)")] == [("empty_like", "8×16"), ("mul", "8×16")]
    assert [(r["op"], r["shape"]) for r in rows(inplace, "1 (Dropout)")] == [("empty_like", "8×16")]
    (n_plain, mib_plain), (n_inplace, mib_inplace) = plain.allocated_total(), inplace.allocated_total()
    assert n_plain - n_inplace == 1
    assert mib_plain - mib_inplace == pytest.approx(mib(BATCH, HIDDEN))


def test_without_in_place_the_dropout_input_is_not_kept_for_backward(X):
    """Is the Linear's output kept by nobody without in-place (so it is freed), and kept with it, as the next input?"""
    plain, inplace = memory.trace_forward(mlp(False), X), memory.trace_forward(mlp(True), X)
    assert [r["kept_for_backward"] for r in rows(plain, "0 (Linear)")] == [False]
    assert [r["kept_for_backward"] for r in rows(inplace, "0 (Linear)")] == [True]
    kept_plain = sum(r["MiB"] for r in plain.allocated if r["kept_for_backward"])
    kept_inplace = sum(r["MiB"] for r in inplace.allocated if r["kept_for_backward"])
    assert kept_plain == pytest.approx(kept_inplace) == pytest.approx(2 * mib(BATCH, HIDDEN))


def test_views_are_not_allocations(X):
    """Are views (Flatten of a contiguous tensor, a Linear's transposed weight) left out of the allocations?"""
    model = nn.Sequential(nn.Flatten(), nn.Linear(IN, OUT))
    trace = memory.trace_forward(model, X.reshape(BATCH, 2, 3))
    assert [(r["layer"], r["op"]) for r in trace.allocated] == [("1 (Linear)", "addmm")]


def test_tracing_leaves_no_hooks_and_does_not_change_the_output(X):
    """Are the tracing hooks removed afterwards, and does a traced model still compute the same thing?"""
    model = nn.Sequential(nn.Linear(IN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, OUT))
    before = model(X)
    memory.trace_forward(model, X)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert torch.equal(model(X), before)


def test_refuses_to_trace_without_gradients(X):
    """Is a trace under torch.no_grad() refused with a message saying how to fix it?"""
    with torch.no_grad(), pytest.raises(RuntimeError, match="outside torch.no_grad"):
        memory.trace_forward(nn.Linear(IN, OUT), X)
