import pytest
import torch
from torch import nn

from dropout_kit.models import HIDDEN, BaselineMLP, DropoutMLP, SiteDropoutMLP, WideMLP, build_mlp, widened


def test_baseline_is_the_tutorials_network():
    """Is BaselineMLP Flatten, 784->256, ReLU, 256->128, ReLU, 128->10 with no dropout?"""
    model = BaselineMLP()
    shapes = [tuple(p.shape) for p in model.parameters()]
    assert shapes == [(256, 784), (256,), (128, 256), (128,), (10, 128), (10,)]
    assert not any(isinstance(m, nn.Dropout) for m in model.modules())
    x = torch.rand(5, 1, 28, 28)
    manual = model.fc3(torch.relu(model.fc2(torch.relu(model.fc1(x.view(5, -1))))))
    assert torch.equal(model(x), manual)


def test_dropout_model_has_same_parameters_and_eval_function():
    """Does DropoutMLP hold the same parameters and compute the baseline's function in eval mode?"""
    base, drop = BaselineMLP(), DropoutMLP(0.3)
    drop.load_state_dict(base.state_dict())
    x = torch.rand(8, 1, 28, 28)
    assert torch.equal(base.eval()(x), drop.eval()(x))
    drop.train()
    assert not torch.equal(drop(x), drop(x))


def test_per_layer_rates():
    """Does build_mlp put each rate after the right hidden layer?"""
    model = build_mlp((0.2, 0.5))
    assert (model.dropout1.p, model.dropout2.p) == (0.2, 0.5)
    assert isinstance(build_mlp(0.0), BaselineMLP) and not isinstance(build_mlp(0.0), DropoutMLP)
    assert build_mlp(0.4).dropout2.p == 0.4


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), (0.1, 0.2, 0.3), "0.3"])
def test_bad_rates_are_refused(bad):
    """Are rates outside [0, 1], NaN, or the wrong count refused with a clear message?"""
    with pytest.raises(ValueError, match="dropout probability|one per hidden layer"):
        build_mlp(bad)


def test_wide_mlp_has_the_widths_and_the_input_rate_asked_for():
    """Does build_mlp give a WideMLP with the given widths, a dropout on the pixels, and the hidden rates in place?"""
    model = build_mlp(0.5, hidden=(512, 256), p_input=0.2)
    assert isinstance(model, WideMLP)
    assert [tuple(p.shape) for p in model.parameters()] == [(512, 784), (512,), (256, 512), (256,), (10, 256), (10,)]
    assert (model.dropout0.p, model.dropout1.p, model.dropout2.p) == (0.2, 0.5, 0.5)
    x = torch.rand(4, 1, 28, 28)
    manual = model.fc3(torch.relu(model.fc2(torch.relu(model.fc1(x.view(4, -1))))))
    assert torch.equal(model.eval()(x), manual)
    model.train()
    torch.manual_seed(0)
    first = model.dropout0(model.flatten(x))
    assert 0.1 < (first == 0).double().mean() < 0.3  # 3136 pixels at p=0.2: 0.1 off is over 14 standard deviations


def test_wide_mlp_with_the_course_widths_starts_from_the_same_weights():
    """With the course's widths and an input rate, are the initial weights those of build_mlp for the same seed?"""
    torch.manual_seed(3)
    plain = build_mlp(0.5)
    torch.manual_seed(3)
    with_inputs = build_mlp(0.5, p_input=0.2)
    assert isinstance(with_inputs, WideMLP)
    assert all(torch.equal(a, b) for a, b in zip(plain.parameters(), with_inputs.parameters()))
    assert isinstance(build_mlp(0.5, hidden=HIDDEN), DropoutMLP)


def test_widened_keeps_the_expected_active_units():
    """Does widened make n units n/(1-p), so that (1-p) of them, n, stay active on average?"""
    assert widened((256, 128), 0.5) == (512, 256)
    assert widened((100,), 0.2) == (125,)
    assert widened((256, 128), 0.0) == (256, 128)
    with pytest.raises(ValueError, match="p must be in \\[0, 1\\) to widen a layer, got 1.0"):
        widened((4,), 1.0)


@pytest.mark.parametrize("kwargs, message", [
    ({"hidden": (256,)}, "hidden must be two layer widths"),
    ({"hidden": (256, 0)}, "hidden must be two layer widths"),
    ({"p_input": (0.2, 0.2)}, "p_input is one rate for the input pixels"),
    ({"p_input": 1.5}, "dropout probability has to be between 0 and 1"),
])
def test_wide_mlp_refuses_bad_shapes_and_rates(kwargs, message):
    """Are a wrong number of widths, a zero width, a pair of input rates and a rate above 1 refused?"""
    with pytest.raises(ValueError, match=message):
        build_mlp(0.5, **{"hidden": (8, 4), **kwargs})


def test_site_dropout_mlp_drops_at_each_site_and_nowhere_else():
    """Does SiteDropoutMLP put each rate at its site (input, hidden 1, hidden 2, logits), the baseline in eval mode?"""
    base, sites = BaselineMLP(), SiteDropoutMLP((0.1, 0.2, 0.3, 0.4))
    sites.load_state_dict(base.state_dict())
    assert [d.p for d in sites.dropout] == [0.1, 0.2, 0.3, 0.4] and sites.rates == (0.1, 0.2, 0.3, 0.4)
    x = torch.rand(8, 1, 28, 28)
    assert torch.equal(base.eval()(x), sites.eval()(x))
    torch.manual_seed(0)
    logits_only = SiteDropoutMLP((0, 0, 0, 0.5)).train()(torch.zeros(4000, 1, 28, 28))
    kept = logits_only != 0  # with zero input only the logits' mask can zero an output
    assert 0.45 < kept.float().mean() < 0.55  # Binomial(40000, 0.5): 5 points is > 20 standard deviations


@pytest.mark.parametrize("bad", [(0.1, 0.2), (0, 0, 0, 1.5), (0, 0, 0, float("nan")), (0, 0, 0, True)])
def test_site_rates_are_refused_when_malformed(bad):
    """Are a wrong number of site rates, or a rate outside [0, 1], refused with a clear message?"""
    with pytest.raises(ValueError, match="one rate per site|dropout probability"):
        SiteDropoutMLP(bad)
