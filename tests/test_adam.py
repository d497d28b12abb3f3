"""dropout_kit.adam: is AdamStep torch's fused Adam, bit for bit, and does it fall back where it must?"""

import pytest
import torch
from torch import nn

from dropout_kit.adam import AdamStep
from dropout_kit.models import DropoutMLP


def _grads(model, step, *, skip=()):
    """Deterministic pseudo-gradients for one step; parameters named in ``skip`` get none."""
    g = torch.Generator().manual_seed(1000 + step)
    for name, p in model.named_parameters():
        p.grad = None if name in skip else torch.randn(p.shape, generator=g, dtype=p.dtype)


def _step_both(ours, theirs, step, reference, k, *, skip=()):
    """Give both models step k's pseudo-gradients, then step each optimiser."""
    _grads(ours, k, skip=skip)
    _grads(theirs, k, skip=skip)
    step.step()
    reference.step()


def _assert_falls_back_to_torch_optim(ours, theirs):
    """AdamStep on ``ours`` does not use the fused kernel and steps exactly as torch.optim.Adam."""
    step = AdamStep(ours, lr=1e-2)
    assert not step.fused
    reference = torch.optim.Adam(theirs.parameters(), lr=1e-2)
    for k in range(5):
        _step_both(ours, theirs, step, reference, k)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(p, q)


def _twins(seed=0, dtype=torch.float32):
    torch.manual_seed(seed)
    a = DropoutMLP(0.3).to(dtype)
    b = DropoutMLP(0.3).to(dtype)
    b.load_state_dict(a.state_dict())
    return a, b


@pytest.mark.parametrize("weight_decay", [0.0, 1e-3])
def test_bit_identical_to_torch_fused_adam(weight_decay):
    """Are the parameters after 25 steps exactly those of torch.optim.Adam(fused=True)?"""
    ours, theirs = _twins()
    step = AdamStep(ours, lr=1e-3, weight_decay=weight_decay)
    assert step.fused
    reference = torch.optim.Adam(theirs.parameters(), lr=1e-3, weight_decay=weight_decay, fused=True)
    for k in range(25):
        _step_both(ours, theirs, step, reference, k)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(p, q)
    assert not torch.equal(next(ours.parameters()), _twins()[0].fc1.weight)  # it did move


def test_same_maths_as_the_default_adam():
    """Does it agree with torch.optim.Adam's default (for-loop) implementation to rounding?"""
    ours, theirs = _twins(1)
    step = AdamStep(ours, lr=1e-2)
    reference = torch.optim.Adam(theirs.parameters(), lr=1e-2)
    for k in range(25):
        _step_both(ours, theirs, step, reference, k)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_parameters_without_gradient_are_skipped_like_torch():
    """A parameter with no .grad on some steps: unchanged then, and its step count not advanced?"""
    ours, theirs = _twins(2)
    step = AdamStep(ours, lr=1e-3)
    reference = torch.optim.Adam(theirs.parameters(), lr=1e-3, fused=True)
    for k in range(12):
        skip = ("fc3.weight", "fc3.bias") if k % 3 else ()
        before = ours.fc3.weight.clone()
        _step_both(ours, theirs, step, reference, k, skip=skip)
        if skip:
            assert torch.equal(ours.fc3.weight, before)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(p, q)


def test_a_step_with_no_gradients_changes_nothing():
    """Does a step with every .grad None leave the parameters as they were?"""
    ours, _ = _twins(3)
    before = [p.clone() for p in ours.parameters()]
    step = AdamStep(ours, lr=1e-3)
    step.zero_grad()
    step.step()
    assert all(torch.equal(p, q) for p, q in zip(ours.parameters(), before))


def test_mixed_dtypes_fall_back_to_torch_optim():
    """Parameters of two dtypes cannot share the fused call: is torch.optim.Adam used instead?"""
    torch.manual_seed(4)
    a = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2).double())
    b = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2).double())
    b.load_state_dict(a.state_dict())
    _assert_falls_back_to_torch_optim(a, b)


def test_a_torch_without_the_cpu_kernel_falls_back(monkeypatch):
    """PyTorch 2.2 and 2.3 have the fused kernel for CUDA only: is torch.optim.Adam used then?"""

    def cuda_only(*args, **kwargs):
        raise RuntimeError("_fused_adam_ is not implemented for CPU")

    ours, theirs = _twins(6)
    monkeypatch.setattr(torch, "_fused_adam_", cuda_only)
    _assert_falls_back_to_torch_optim(ours, theirs)


def test_zero_grad_clears_every_gradient():
    """Does zero_grad set every parameter's .grad to None?"""
    ours, _ = _twins(5)
    _grads(ours, 0)
    AdamStep(ours, lr=1e-3).zero_grad()
    assert all(p.grad is None for p in ours.parameters())


def test_a_model_without_trainable_parameters_is_refused():
    """Is a model with nothing to train refused with a message that says so?"""
    frozen = nn.Linear(2, 2).requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        AdamStep(frozen, lr=1e-3)


def test_parameters_on_two_devices_fall_back_to_torch_optim():
    """Parameters on two devices cannot share one fused call: is torch.optim.Adam used instead?"""
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2, device="meta"))
    step = AdamStep(model, lr=1e-3)
    assert not step.fused and isinstance(step._optimizer, torch.optim.Adam)


def test_step_counters_live_beside_the_parameters():
    """Are the fused path's step counters on the parameters' device, where the kernel reads them?"""
    ours, _ = _twins(7)
    step = AdamStep(ours, lr=1e-3)
    assert step.fused and step._step_counts.device == next(ours.parameters()).device
    _grads(ours, 0)
    step.step()
    assert step._steps[0].item() == 1.0
