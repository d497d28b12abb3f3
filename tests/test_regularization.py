"""Tests of dropout_kit.regularization: the L1 hook against autograd, sparsity measures, L1 in fit."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dropout_kit import regularization
from dropout_kit.data import Split, Splits
from dropout_kit.models import build_mlp
from dropout_kit.train import fit

pytestmark = pytest.mark.usefixtures("one_thread")


def batch(n=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)


def grads(model):
    return {name: p.grad.clone() for name, p in model.named_parameters()}


@pytest.mark.parametrize("make", [lambda: build_mlp(0.0),
                                  lambda: nn.Sequential(nn.Conv2d(1, 3, 3), nn.Flatten(), nn.Linear(3 * 26 * 26, 10))])
def test_l1_hook_gives_autograds_gradient_of_the_explicit_penalty(make):
    """Is the hooked gradient exactly autograd's gradient of loss + l1 * sum|w| (weights and kernels, not biases)?"""
    X, y = batch()
    l1 = 3e-3
    torch.manual_seed(0)
    explicit = make()
    (F.cross_entropy(explicit(X), y) + l1 * regularization.l1_penalty(explicit)).backward()
    torch.manual_seed(0)
    hooked = regularization.add_l1(make(), l1)
    F.cross_entropy(hooked(X), y).backward()
    torch.manual_seed(0)
    plain = make()
    F.cross_entropy(plain(X), y).backward()
    for (name, a), b, c, param in zip(grads(explicit).items(), grads(hooked).values(), grads(plain).values(),
                                      plain.parameters()):
        assert torch.allclose(b, a, rtol=0, atol=1e-7), name
        expected = l1 * torch.sign(param.detach()) if param.dim() >= 2 else torch.zeros_like(param)
        assert torch.allclose(b - c, expected, rtol=0, atol=1e-7), name


def test_zero_l1_adds_no_hook_and_fit_is_unchanged():
    """With l1=0, is build_l1_mlp exactly build_mlp under fit (no hook, the same History)?"""
    y = torch.arange(80) % 10
    data = Splits(train=Split(batch(80, 1)[0], y), val=Split(batch(40, 2)[0], y[:40]), test=Split(batch(40, 3)[0], y[:40]))
    torch.manual_seed(0)
    a = regularization.build_l1_mlp(0.3, 0.0)
    assert all(not p._backward_hooks for p in a.parameters())
    torch.manual_seed(0)
    b = build_mlp(0.3)
    kw = {"epochs": 2, "batch_size": 16, "progress": False}
    assert fit(a, data, seed=0, **kw).metrics() == fit(b, data, seed=0, **kw).metrics()


def test_l1_in_fit_makes_weights_sparser():
    """Does training with L1 leave many more near-zero weights and a smaller mean |w| than without?"""
    y = torch.arange(100) % 10
    data = Splits(train=Split(batch(100, 4)[0], y), val=Split(batch(50, 5)[0], y[:50]), test=Split(batch(50, 6)[0], y[:50]))
    stats = {}
    for l1 in (0.0, 1e-3):
        torch.manual_seed(0)
        model = regularization.build_l1_mlp(0.0, l1)
        fit(model, data, seed=0, epochs=5, batch_size=20, progress=False)
        stats[l1] = regularization.weight_stats(model)
    assert stats[1e-3]["sparsity"] > stats[0.0]["sparsity"] + 0.2
    assert stats[1e-3]["mean_abs_weight"] < stats[0.0]["mean_abs_weight"]


def test_sparsity_and_input_map_on_hand_made_weights():
    """Are sparsity, mean |w|, inputs cut off and the input map computed from the weights as documented?"""
    model = nn.Sequential(nn.Linear(4, 2), nn.Linear(2, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.0, 0.5, 1e-4, -2.0], [0.0, -0.5, 0.1, 0.0]]))
        model[1].weight.copy_(torch.tensor([[1e-5, 3.0]]))
    assert regularization.weight_sparsity(model) == pytest.approx(5 / 10)
    stats = regularization.weight_stats(model)
    assert stats["sparsity"] == pytest.approx(0.5)
    assert stats["inputs_cut"] == pytest.approx(1 / 4)  # input 0 only: both its weights are 0
    assert stats["mean_abs_weight"] == pytest.approx((0.5 + 1e-4 + 2.0 + 0.5 + 0.1 + 1e-5 + 3.0) / 10)
    assert stats["input_map"] == pytest.approx([0.0, 0.5, (1e-4 + 0.1) / 2, 1.0])


@pytest.mark.parametrize("l1", [-1e-4, float("nan"), float("inf"), True, "1e-4"])
def test_bad_strengths_and_models_are_refused(l1):
    """Are negative, non-finite and non-numeric strengths refused, and a model without weights?"""
    with pytest.raises(ValueError, match="l1 must be a number >= 0"):
        regularization.add_l1(build_mlp(0.0), l1)
    with pytest.raises(ValueError, match="no weight matrices"):
        regularization.weight_sparsity(nn.Sequential(nn.ReLU()))
