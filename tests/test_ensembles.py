"""Tests of dropout_kit.ensembles: dropout's ensemble of thinned networks, averaged (lesson 10)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from dropout_kit import ensembles
from dropout_kit.uncertainty import mc_predict


@pytest.fixture
def model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 4))


@pytest.fixture
def data():
    generator = torch.Generator().manual_seed(1)
    return torch.randn(50, 6, generator=generator), torch.randint(0, 4, (50,), generator=generator)


def test_metrics_of_are_accuracy_and_mean_negative_log_probability():
    """Are accuracy and log-loss computed by hand from a small table of probabilities?"""
    probs = torch.tensor([[0.7, 0.3], [0.4, 0.6], [0.9, 0.1]])
    result = ensembles.metrics_of(probs, torch.tensor([0, 0, 1]))
    assert result["accuracy"] == pytest.approx(1 / 3)
    assert result["log_loss"] == pytest.approx(-(math.log(0.7) + math.log(0.4) + math.log(0.1)) / 3)


def test_weight_scaling_is_eval_mode_and_restores_the_mode(model, data):
    """Are weight_scaling's probabilities the eval-mode softmax, and is the model left in the mode it was in?"""
    X, y = data
    model.train()
    result = ensembles.weight_scaling(model, X, y)
    assert model.training
    expected = torch.softmax(model.eval()(X).double(), dim=1)
    assert torch.allclose(result["probs"], expected)
    assert result["accuracy"] == ensembles.metrics_of(expected, y)["accuracy"]


def test_mc_samples_are_thinned_networks_seeded_privately(model, data):
    """Does mc_samples give T different thinned networks, the same for the same seed, leaving the caller's RNG alone?"""
    X, _ = data
    state = torch.get_rng_state()
    a = ensembles.mc_samples(model, X, T=4, seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    assert a.shape == (4, 50, 4) and torch.allclose(a.sum(dim=2), torch.ones(4, 50, dtype=torch.float64))
    assert torch.equal(a, ensembles.mc_samples(model, X, T=4, seed=3))
    assert not torch.equal(a[0], a[1])
    # The mean of T samples is what lesson 08's MC prediction computes from the same masks.
    assert torch.allclose(a.mean(dim=0), mc_predict(model, X, T=4, seed=3).probs)


def test_mc_curve_groups_the_samples_and_scores_each_group(model, data):
    """Are the rows one per K, the groups disjoint (T // K of them), and K=T the mean of all the samples?"""
    X, y = data
    table = ensembles.mc_curve(model, X, y, Ks=(10, 1, 5), seed=2)
    assert [r["K"] for r in table] == [1, 5, 10] and [r["groups"] for r in table] == [10, 2, 1]
    samples = ensembles.mc_samples(model, X, T=10, seed=2)
    singles = [ensembles.metrics_of(s, y)["accuracy"] for s in samples]
    assert table[0]["accuracy_mean"] == pytest.approx(sum(singles) / 10)
    whole = samples.mean(dim=0)
    assert table[2]["log_loss_mean"] == pytest.approx(ensembles.metrics_of(whole, y)["log_loss"])
    assert math.isnan(table[2]["accuracy_std"])  # one group: no spread
    scaled = ensembles.weight_scaling(model, X, y)["probs"]
    assert table[2]["agree_mean"] == pytest.approx(float((whole.argmax(1) == scaled.argmax(1)).double().mean()))
    assert table[2]["distance_mean"] == pytest.approx(float(0.5 * (whole - scaled).abs().sum(1).mean()))


def test_without_dropout_every_k_is_eval_mode(data):
    """With no dropout layer, does every K give eval mode's prediction (distance 0, full agreement)?"""
    X, y = data
    torch.manual_seed(0)
    plain = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 4))
    table = ensembles.mc_curve(plain, X, y, Ks=(1, 4), seed=0)
    scaled = ensembles.weight_scaling(plain, X, y)
    for row in table:
        assert row["agree_mean"] == 1.0 and row["distance_mean"] < 1e-12
        assert row["accuracy_mean"] == scaled["accuracy"]


def test_the_geometric_mean_of_one_layer_is_eval_mode_exactly():
    """For one softmax layer, does the renormalised geometric mean of all 2^n thinned layers equal eval mode,
    while the arithmetic mean does not?"""
    generator = torch.Generator().manual_seed(0)
    weight, bias = torch.randn(3, 10, generator=generator), torch.randn(3, generator=generator)
    x = torch.randn(10, generator=generator)
    exact = ensembles.exact_ensemble(weight, bias, x, p=0.3)
    assert exact["masks"] == 1024
    assert torch.allclose(exact["geometric"], exact["weight_scaling"], atol=1e-12, rtol=0)
    assert (exact["arithmetic"] - exact["weight_scaling"]).abs().max() > 1e-3
    assert exact["arithmetic"].sum().item() == pytest.approx(1.0)


def test_exact_ensemble_matches_a_brute_force_average():
    """Is the arithmetic mean the probability-weighted mean over every mask, computed one mask at a time?"""
    import itertools

    weight, bias = torch.tensor([[1.0, -2.0, 0.5], [-1.0, 2.0, -0.5]]), torch.tensor([0.1, -0.1])
    x, p = torch.tensor([0.3, 1.2, -0.7]), 0.4
    total = torch.zeros(2, dtype=torch.float64)
    for mask in itertools.product((0.0, 1.0), repeat=3):
        m = torch.tensor(mask, dtype=torch.float64)
        chance = math.prod(1 - p if k else p for k in mask)
        total += chance * torch.softmax(weight.double() @ (x.double() * m / (1 - p)) + bias.double(), dim=0)
    assert torch.allclose(ensembles.exact_ensemble(weight, bias, x, p)["arithmetic"], total, atol=1e-14)


@pytest.mark.parametrize("call, message", [
    (lambda: ensembles.exact_ensemble(torch.ones(2, 17), torch.ones(2), torch.ones(17), 0.5), "1 to 16 entries"),
    (lambda: ensembles.exact_ensemble(torch.ones(2, 3), torch.ones(2), torch.ones(3), 1.0), "strictly between 0 and 1"),
    (lambda: ensembles.mc_samples(nn.Linear(2, 2), torch.ones(1, 2), T=0), "T must be a whole number >= 1"),
    (lambda: ensembles.mc_curve(nn.Linear(2, 2), torch.ones(1, 2), torch.zeros(1, dtype=torch.long), Ks=(0, 2)),
     "Ks must be whole numbers >= 1"),
])
def test_bad_arguments_are_refused(call, message):
    """Are too many inputs, p outside (0, 1), T < 1 and K < 1 refused with what was wrong?"""
    with pytest.raises(ValueError, match=message):
        call()


def test_describe_row_reads_mean_and_spread():
    """Does describe_row put accuracy in percent and log-loss in nats, with the spread over groups?"""
    row = {"K": 5, "accuracy_mean": 0.8312, "accuracy_std": 0.004, "log_loss_mean": 0.4781, "log_loss_std": 0.0044}
    assert ensembles.describe_row(row) == "K=5: accuracy 83.1 ± 0.4%, log-loss 0.478 ± 0.004"


def test_the_device_is_chosen_as_everywhere_in_the_course(model, data):
    """Does device='cpu' give the default's numbers here, the model stay where it was, and a bad device fail clearly?"""
    from dropout_kit.errors import DeviceError

    X, y = data
    if not torch.cuda.is_available():  # on a CPU-only machine "auto" is the CPU: the same masks and numbers
        assert ensembles.mc_curve(model, X, y, Ks=(1, 2), device="cpu") == ensembles.mc_curve(model, X, y, Ks=(1, 2))
    assert next(model.parameters()).device.type == "cpu"
    with pytest.raises(DeviceError, match="'tpu'"):
        ensembles.mc_samples(model, X, T=1, device="tpu")
