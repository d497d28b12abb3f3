import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dropout_kit import models
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


# --- lesson 11: the dropout family ------------------------------------------------------------


@pytest.mark.parametrize("kind, layer, reference", [("element", nn.Dropout, F.dropout),
                                                    ("channel", nn.Dropout2d, F.dropout2d)])
def test_cnn_dropout_kinds_draw_pytorchs_masks(kind, layer, reference):
    """Does each CNN kind put the right layer after both convs, drawing exactly F.dropout's / F.dropout2d's mask?"""
    model = models.build_cnn(0.3, kind)
    assert isinstance(model.drop1, layer) and isinstance(model.drop2, layer) and model.drop1.p == 0.3
    maps = torch.rand(4, 8, 28, 28) + 0.1
    torch.manual_seed(5)
    ours = model.drop1(maps)
    torch.manual_seed(5)
    assert torch.equal(ours, reference(maps, 0.3, training=True))
    zero = (ours == 0).reshape(4, 8, -1)
    if kind == "channel":  # whole maps: every pixel of a map dropped or kept together
        assert torch.equal(zero.all(dim=-1), zero.any(dim=-1))
    else:
        assert (zero.any(dim=-1) & ~zero.all(dim=-1)).any()


def test_cnn_kinds_share_weights_and_eval_function():
    """With one seed, do no-dropout, element and channel CNNs start from the same weights and agree in eval mode?"""
    built = []
    for p, kind in [(0.0, "element"), (0.3, "element"), (0.3, "channel")]:
        torch.manual_seed(0)
        built.append(models.build_cnn(p, kind))
    x = torch.rand(3, 1, 28, 28)
    for model in built:
        assert model.state_dict().keys() == built[0].state_dict().keys()
        assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), built[0].state_dict().values()))
        assert torch.equal(model.eval()(x), built[0].eval()(x))
        assert model(x).shape == (3, 10) and model.features(x).shape == (3, 8, 28, 28)
    assert not any(isinstance(m, nn.modules.dropout._DropoutNd) for m in built[0].modules())


@pytest.mark.parametrize("kwargs, message", [({"kind": "pixel"}, "kind must be one of"),
                                             ({"p": 1.0}, "dropout probability"), ({"p": "0.3"}, "dropout probability")])
def test_cnn_bad_arguments(kwargs, message):
    """Are an unknown kind and a rate outside [0, 1) refused with a message naming the choices?"""
    with pytest.raises(ValueError, match=message):
        models.SmallCNN(**{"p": 0.3, **kwargs})


@pytest.mark.parametrize("order, names", [
    ("bn_relu_dropout", ["flatten", "fc1", "bn1", "relu1", "dropout1", "fc2", "bn2", "relu2", "dropout2", "fc3"]),
    ("dropout_bn_relu", ["flatten", "fc1", "dropout1", "bn1", "relu1", "fc2", "dropout2", "bn2", "relu2", "fc3"]),
    ("dropout_after_bn", ["flatten", "fc1", "bn1", "relu1", "fc2", "bn2", "relu2", "dropout", "fc3"]),
])
def test_bn_mlp_orders(order, names):
    """Does each order put Linear, BatchNorm, ReLU and Dropout in the documented sequence, computing them in turn?"""
    model = models.build_bn_mlp(0.5, order)
    assert [name for name, _ in model.named_children()] == names
    assert [tuple(p.shape) for name, p in model.named_parameters() if name.startswith("fc")] == [
        (256, 784), (256,), (128, 256), (128,), (10, 128), (10,)]
    x = torch.rand(6, 1, 28, 28)
    manual = x
    model.eval()
    for layer in model:
        manual = layer(manual)
    assert torch.equal(model(x), manual) and manual.shape == (6, 10)
    with pytest.raises(ValueError, match="order must be one of"):
        models.build_bn_mlp(0.5, "bn_dropout")


def test_selu_stack_is_lecun_normal_and_self_normalising():
    """Are the weights N(0, 1/width) with zero biases, and do 32 SELU blocks keep N(0, 1) inputs near mean 0, var 1?

    Seeded; the std is checked within 5% (65,536 draws: its own sampling error is about 0.3%).
    """
    torch.manual_seed(0)
    stack = models.build_selu_stack(32, 256)
    assert len(stack) == 32
    weights = torch.cat([block[0].weight.detach().flatten() for block in stack])
    assert abs(float(weights.std()) * 16 - 1) < 0.05  # std 1/sqrt(256) = 1/16
    assert all(not block[0].bias.any() for block in stack)
    assert all(isinstance(block[1], nn.SELU) and isinstance(block[2], nn.Identity) for block in stack)
    x = torch.randn(2000, 256, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = stack(x)
    assert abs(float(out.mean())) < 0.1 and abs(float(out.var()) - 1) < 0.15


def test_selu_stack_dropout_variants_and_errors():
    """Do 'dropout' and 'alpha' put nn.Dropout / nn.AlphaDropout of rate p in every block, and bad input fail?"""
    plain = models.build_selu_stack(3, 8, dropout="dropout", p=0.2)
    alpha = models.build_selu_stack(3, 8, dropout="alpha", p=0.2)
    assert all(type(b[2]) is nn.Dropout and b[2].p == 0.2 for b in plain)
    assert all(type(b[2]) is nn.AlphaDropout and b[2].p == 0.2 for b in alpha)
    with pytest.raises(ValueError, match="dropout must be one of"):
        models.build_selu_stack(3, 8, dropout="gaussian")
    with pytest.raises(ValueError, match="depth must be"):
        models.build_selu_stack(0, 8)
