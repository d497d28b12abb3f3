"""Tests of dropout_kit.gradcheck: the numerical gradient check of lesson 09, with dropout in the network."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from dropout_kit import gradcheck


def dropout(x, p, training):
    """Inverted dropout written with tensor operations (autograd's gradient is the reference)."""
    if not training:
        return x
    return x * (torch.rand_like(x) >= p).to(x.dtype) / (1 - p)


@pytest.fixture
def setup():
    torch.manual_seed(0)
    X, y = torch.randn(5, 8, dtype=torch.float64), torch.tensor([0, 1, 2, 0, 1])
    model = gradcheck.TwoLayerNet(dropout, p=0.5, sizes=(8, 16, 3), seed=0)
    return model, gradcheck.loss_function(model, X, y), dict(model.named_parameters())


def test_relative_error_is_cs231ns():
    """Is the relative error |a-b| / max(|a|, |b|), and 0 when both are 0?"""
    assert gradcheck.relative_error(1.0, 1.1) == pytest.approx(0.1 / 1.1)
    assert gradcheck.relative_error(-2.0, 2.0) == 2.0
    assert gradcheck.relative_error(0.0, 0.0) == 0.0


def test_numeric_gradient_matches_a_known_derivative_and_restores_the_entry():
    """Is the central difference of sum(w**3) 3 w**2 at the entry, and the entry put back?"""
    w = torch.tensor([[0.5, -1.5], [2.0, 0.25]], dtype=torch.float64)
    slope = gradcheck.numeric_gradient(lambda: (w ** 3).sum(), w, (1, 0), eps=1e-5)
    assert slope == pytest.approx(3 * 2.0 ** 2, rel=1e-9)
    assert w[1, 0].item() == 2.0


def test_the_net_is_float64_seeded_and_keeps_the_dropout_activations(setup):
    """Is TwoLayerNet float64, the same for the same seed, and are before/after the dropout's input and output?"""
    model, _, params = setup
    assert all(p.dtype == torch.float64 for p in params.values())
    twin = gradcheck.TwoLayerNet(dropout, p=0.5, sizes=(8, 16, 3), seed=0)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), twin.parameters()))
    model.eval()
    X = torch.randn(3, 8, dtype=torch.float64)
    out = model(X)
    assert torch.equal(model.before, torch.relu(model.fc1(X))) and torch.equal(model.after, model.before)
    assert torch.equal(out, model.fc2(model.before))


def test_fixed_masks_repeat_the_masks_and_leave_the_callers_rng_alone(setup):
    """Does every call under fixed_masks draw the same masks, without changing the caller's random state?"""
    model, loss, _ = setup
    model.train()
    fixed = gradcheck.fixed_masks(loss, seed=3)
    state = torch.get_rng_state()
    first, second = fixed(), fixed()
    assert torch.equal(torch.get_rng_state(), state)
    assert first.item() == second.item()
    assert loss().item() != loss().item()  # fresh masks: two different thinned networks


@pytest.mark.parametrize("training, fix, passes", [(False, False, True), (True, True, True), (True, False, False)])
def test_the_check_passes_off_or_fixed_and_fails_with_fresh_masks(setup, training, fix, passes):
    """Does the hand loop agree with autograd to 1e-6 with dropout off or the mask fixed, and fail with fresh masks?"""
    model, loss, params = setup
    model.train(training)
    table = gradcheck.check_gradients(gradcheck.fixed_masks(loss, 1) if fix else loss, params, per_param=3)
    assert len(table) == 12 and {r["parameter"] for r in table} == set(params)
    worst = max(r["relative_error"] for r in table)
    assert (worst < 1e-6) is passes, worst
    if not passes:
        assert worst > 0.5


def test_a_wrong_backward_is_caught_with_the_mask_fixed():
    """Does the check find a backward without the 1/(1-p), which a fixed mask makes testable?"""
    class NoScale(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, p, training):
            mask = (torch.rand_like(x) >= p).to(x.dtype)
            ctx.save_for_backward(mask)
            return x * mask / (1 - p)

        @staticmethod
        def backward(ctx, grad_output):
            mask, = ctx.saved_tensors
            return grad_output * mask, None, None

    torch.manual_seed(1)
    X, y = torch.randn(5, 8, dtype=torch.float64), torch.tensor([0, 1, 2, 0, 1])
    model = gradcheck.TwoLayerNet(NoScale.apply, p=0.5, seed=0)
    table = gradcheck.check_gradients(gradcheck.fixed_masks(gradcheck.loss_function(model, X, y), 2),
                                      dict(model.named_parameters()), per_param=4)
    fc1 = [r for r in table if r["parameter"].startswith("fc1") and r["numeric"] != 0]
    assert fc1 and all(math.isclose(r["analytic"], r["numeric"] / 2, rel_tol=1e-5) for r in fc1)


def test_check_gradients_refuses_a_parameter_without_grad(setup):
    """Is a tensor that does not require grad refused with its name?"""
    _, loss, params = setup
    with pytest.raises(ValueError, match="parameter frozen does not require grad"):
        gradcheck.check_gradients(loss, {**params, "frozen": torch.zeros(2)})


def test_a_bad_rate_is_refused():
    """Is p outside [0, 1] refused when the net is built?"""
    with pytest.raises(ValueError, match="p must be between 0 and 1, got 1.5"):
        gradcheck.TwoLayerNet(dropout, p=1.5)


def test_loss_function_is_the_cross_entropy(setup):
    """Is loss_function's value F.cross_entropy of the model on the data?"""
    model, loss, _ = setup
    model.eval()
    torch.manual_seed(0)
    X, y = torch.randn(5, 8, dtype=torch.float64), torch.tensor([0, 1, 2, 0, 1])
    assert loss().item() == F.cross_entropy(model(X), y).item()
