import pytest
import torch
from torch import nn

import torch.nn.functional as F

from dropout_kit import models
from dropout_kit.models import BaselineMLP, DropoutMLP, build_mlp


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
