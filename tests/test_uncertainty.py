"""Tests of dropout_kit.uncertainty: MC dropout, uncertainty deciles, activation hooks, ablation."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dropout_kit import uncertainty
from dropout_kit.data import Split, Splits
from dropout_kit.models import BaselineMLP, DropoutMLP
from dropout_kit.seeding import seed_everything
from dropout_kit.train import evaluate


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def model():
    seed_everything(0)
    return DropoutMLP(0.5)


def blobs(n, seed):
    y = torch.arange(n) % 10
    centres = torch.rand(10, 1, 28, 28, generator=torch.Generator().manual_seed(99))
    return Split((centres[y] + 0.3 * torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)))
                 .clamp(0, 1), y)


def test_dropout_only_train_sets_and_restores_modes():
    """Inside the block, are dropout layers in train mode and the rest (BatchNorm) in eval, all restored after?"""
    net = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Dropout(0.5), nn.Sequential(nn.Dropout(0.2)))
    net.train()
    net[1].eval()  # a mixed state, to see it restored exactly
    before = [m.training for m in net.modules()]
    with uncertainty.dropout_only_train(net):
        assert not net.training and not net[0].training and not net[1].training
        assert net[2].training and net[3][0].training
    assert [m.training for m in net.modules()] == before


def test_entropy_matches_the_formula_and_its_extremes():
    """Is entropy -Σ p log p (nats), log K for uniform and 0 for one-hot, without NaN at p=0?"""
    probs = torch.tensor([[0.1] * 10, [1.0] + [0.0] * 9, [0.5, 0.5] + [0.0] * 8])
    h = uncertainty.entropy(probs)
    assert h[0].item() == pytest.approx(math.log(10))
    assert h[1].item() == 0.0
    assert h[2].item() == pytest.approx(math.log(2))
    p = torch.softmax(torch.randn(5, 10, dtype=torch.float64), dim=1)
    torch.testing.assert_close(uncertainty.entropy(p), torch.distributions.Categorical(probs=p).entropy())


def test_mc_predict_averages_T_dropout_passes(model):
    """Is mc_predict the mean softmax of T train-mode passes drawn from torch.manual_seed(seed)?"""
    X = torch.rand(20, 1, 28, 28)
    state = torch.random.get_rng_state()
    result = uncertainty.mc_predict(model, X, T=4, seed=3, batch_size=8)
    assert torch.equal(torch.random.get_rng_state(), state)  # caller's RNG untouched
    assert model.training and model.dropout1.training  # the fresh model's mode, restored
    torch.manual_seed(3)
    model.train()
    # batch_size=8 means passes run batch by batch: reproduce that order.
    expected = torch.cat([sum(torch.softmax(model(X[i:i + 8]).double(), dim=1) for _ in range(4)) / 4
                          for i in range(0, 20, 8)])
    model.eval()
    torch.testing.assert_close(result.probs, expected)
    torch.testing.assert_close(result.probs.sum(dim=1), torch.ones(20, dtype=torch.float64))
    assert torch.equal(result.y_hat, expected.argmax(dim=1))
    torch.testing.assert_close(result.entropy, uncertainty.entropy(expected))
    again = uncertainty.mc_predict(model, X, T=4, seed=3, batch_size=8)
    assert torch.equal(again.probs, result.probs)
    assert not torch.equal(uncertainty.mc_predict(model, X, T=4, seed=4).probs, result.probs)


def test_mc_predict_without_dropout_is_the_eval_softmax():
    """Without dropout layers, is every pass the same, so MC dropout is the plain eval-mode softmax?"""
    seed_everything(0)
    net = BaselineMLP()
    X = torch.rand(6, 1, 28, 28)
    result = uncertainty.mc_predict(net, X, T=3)
    torch.testing.assert_close(result.probs, torch.softmax(net.eval()(X).double(), dim=1))
    with pytest.raises(ValueError, match="T must be"):
        uncertainty.mc_predict(net, X, T=0)


def test_accuracy_by_uncertainty_bins_sorted_groups():
    """Are examples sorted by uncertainty and cut into equal bins, bin 1 the least uncertain?"""
    u = torch.tensor([0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 0.0])
    correct = u < 0.45  # the 5 least uncertain are right
    table = uncertainty.accuracy_by_uncertainty(u, correct, bins=5)
    assert [r["n"] for r in table] == [2] * 5
    assert [r["accuracy"] for r in table] == [1.0, 1.0, 0.5, 0.0, 0.0]
    assert table[0]["uncertainty_mean"] == pytest.approx(0.05)
    assert table[-1]["uncertainty_max"] == pytest.approx(0.9)
    uneven = uncertainty.accuracy_by_uncertainty(torch.arange(7.0), torch.ones(7), bins=3)
    assert [r["n"] for r in uneven] == [3, 2, 2]
    with pytest.raises(ValueError, match="bins"):
        uncertainty.accuracy_by_uncertainty(u, correct, bins=11)
    with pytest.raises(ValueError, match="1-D"):
        uncertainty.accuracy_by_uncertainty(u, correct[:5])


def test_activation_recorder_matches_a_manual_computation(model):
    """Does the hook store relu(fc1(x)).var(0).mean() for train-mode passes only, and leave no hook behind?"""
    X = torch.rand(16, 1, 28, 28)
    with uncertainty.ActivationRecorder(model, {"h1": model.fc1, "h2": model.fc2}) as recorder:
        model.train()
        model(X)
        model.eval()
        model(X)  # eval passes are not recorded
    assert [len(v) for v in recorder.values.values()] == [1, 1]
    expected = torch.relu(model.fc1(model.flatten(X))).var(dim=0).mean()
    torch.testing.assert_close(recorder.values["h1"][0], expected)
    assert not model.fc1._forward_hooks and not model.fc2._forward_hooks
    table = recorder.per_epoch(1)
    assert [(r["epoch"], r["layer"]) for r in table] == [(1, "h1"), (1, "h2")]
    assert math.isnan(table[0]["variance_std"])


def test_record_activation_variance_rows_per_epoch_and_layer():
    """Does a 2-epoch run give one row per epoch and layer, averaging that epoch's batches (4 of 32 on 120 images)?"""
    data = Splits(train=blobs(120, 0), val=blobs(40, 1), test=blobs(40, 2))
    model, history, table = uncertainty.record_activation_variance(
        lambda: DropoutMLP(0.3), data, seed=0, label="p=0.3", epochs=2, batch_size=32)
    assert len(history) == 2
    assert [(r["model"], r["epoch"], r["layer"]) for r in table] == [
        ("p=0.3", 1, "hidden 1"), ("p=0.3", 2, "hidden 1"), ("p=0.3", 1, "hidden 2"), ("p=0.3", 2, "hidden 2")]
    assert all(r["variance_mean"] > 0 and r["variance_std"] >= 0 for r in table)
    assert not model.fc1._forward_hooks


def test_ablate_units_zero_fraction_is_plain_accuracy_and_all_off_is_constant():
    """Does fraction 0 give evaluate's accuracy, fraction 1 a constant prediction, and the hook vanish after?"""
    seed_everything(0)
    net = BaselineMLP()
    X, y = torch.rand(200, 1, 28, 28), torch.randint(0, 10, (200,))
    table = uncertainty.ablate_units(net, X, y, fractions=(0.0, 0.5, 1.0), repeats=3, seed=1, label="base")
    assert table[0]["accuracy_mean"] == pytest.approx(evaluate(net, X, y).accuracy)
    assert table[0]["accuracy_std"] == pytest.approx(0.0, abs=1e-12)
    constant = F.linear(torch.relu(net.fc2.bias), net.fc3.weight, net.fc3.bias).argmax().item()
    assert table[2]["accuracy_mean"] == pytest.approx(float((y == constant).double().mean()))
    assert [r["model"] for r in table] == ["base"] * 3
    assert not net.fc1._forward_hooks
    again = uncertainty.ablate_units(net, X, y, fractions=(0.0, 0.5, 1.0), repeats=3, seed=1, label="base")
    assert again == table  # seeded
