"""Tests of dropout_kit.bn_shift: BatchNorm's input variance with dropout on and off, recalibration, tables."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from dropout_kit import bn_shift, models
from dropout_kit.data import Split, Splits

pytestmark = pytest.mark.usefixtures("one_thread")


def net(p=0.5, order="dropout_bn_relu", seed=0):
    torch.manual_seed(seed)
    return models.build_bn_mlp(p, order)


def images(n, seed):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def test_input_variance_with_dropout_off_is_the_hooked_layers_input():
    """With dropout off, is bn1's recorded variance the per-feature variance of fc1's output?"""
    model, X = net(), images(64, 1)
    seen = bn_shift.bn_input_variance(model, X, dropout_on=False)
    with torch.no_grad():
        expected = model.fc1(X.flatten(1)).double().var(dim=0)
    assert set(seen) == {"bn1", "bn2"}
    assert torch.allclose(seen["bn1"], expected, rtol=1e-6)


def test_dropout_inflates_the_variance_as_the_formula_says():
    """Is bn1's input variance with dropout on close to var/(1-p) + mean**2 * p/(1-p) of its input, per feature?

    4,000 images and 256 features, seeded; the mean over features is checked within 3%.
    """
    p = 0.5
    model, X = net(p), images(4000, 2)
    on = bn_shift.bn_input_variance(model, X, dropout_on=True, seed=3)["bn1"]
    with torch.no_grad():
        h = model.fc1(X.flatten(1)).double()
    expected = h.var(dim=0) / (1 - p) + h.mean(dim=0) ** 2 * p / (1 - p)
    assert float(on.mean() / expected.mean()) == pytest.approx(1.0, abs=0.03)
    assert bool((on > h.var(dim=0)).float().mean() > 0.95)


def test_variance_shift_rows_and_modes_restored():
    """Does variance_shift report each BatchNorm's running and received variances, leaving every module's mode as it was?"""
    model, X = net(), images(200, 4)
    model.train()
    with torch.no_grad():  # running statistics collected with dropout on, as in training
        for _ in range(30):
            model(images(64, 5))
    table = bn_shift.variance_shift(model, X, seed=0)
    assert model.training and all(m.training for m in model.modules())
    assert [r["layer"] for r in table] == ["bn1", "bn2"]
    for row in table:
        assert row["running_var"] == pytest.approx(float(getattr(model, row["layer"]).running_var.mean()))
        assert row["var_dropout_on"] > row["var_dropout_off"]
        assert row["shift"] > 1.2  # p=0.5 straight into both BatchNorms


def test_recalibrate_takes_the_statistics_with_dropout_off_and_leaves_the_model_alone():
    """Does recalibrate give a copy whose running stats are exactly those of X with dropout off, the original untouched?"""
    model, X = net(), images(100, 6)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fresh = bn_shift.recalibrate(model, X, batch_size=len(X))  # one batch: the plain statistics of X
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert not fresh.training and fresh.bn1.momentum == model.bn1.momentum == 0.1
    with torch.no_grad():
        h = fresh.fc1(X.flatten(1))
    assert torch.allclose(fresh.bn1.running_mean, h.mean(dim=0), atol=1e-6)
    assert torch.allclose(fresh.bn1.running_var, h.var(dim=0), rtol=1e-5)
    assert all(torch.equal(fresh.state_dict()[k], before[k]) for k in before if "running" not in k and "batches" not in k)
    first, second = bn_shift.variance_shift(fresh, X)
    assert first["shift"] == pytest.approx(1.0, abs=1e-5)
    # While recalibrating, bn1 normalises with the batch's biased variance; in eval mode with the running
    # (unbiased) one, so bn2's input differs by the factor n / (n - 1) = 100 / 99.
    assert second["shift"] == pytest.approx(100 / 99, abs=1e-4)


def test_no_batchnorm_is_a_clear_error():
    """Is a model without BatchNorm refused with a message saying so?"""
    with pytest.raises(ValueError, match="no BatchNorm"):
        bn_shift.variance_shift(nn.Sequential(nn.Linear(3, 3)), torch.rand(4, 3))


def test_recalibrating_only_the_variances_keeps_the_trained_means():
    """With statistics=("var",), are the running means the trained ones and the variances the re-estimated ones?"""
    model, X = net(), images(100, 6)
    model.train()
    with torch.no_grad():
        model(images(64, 5))  # running statistics that differ from X's
    both = bn_shift.recalibrate(model, X, batch_size=len(X))
    var_only = bn_shift.recalibrate(model, X, statistics=("var",), batch_size=len(X))
    for name in ("bn1", "bn2"):
        ours, trained, exact = (getattr(m, name) for m in (var_only, model, both))
        assert torch.equal(ours.running_mean, trained.running_mean)
        assert not torch.equal(exact.running_mean, trained.running_mean)
    assert torch.equal(var_only.bn1.running_var, both.bn1.running_var)  # bn1's input does not depend on bn statistics
    with pytest.raises(ValueError, match="statistics must be some of"):
        bn_shift.recalibrate(model, X, statistics=("std",))


def test_shift_measure_and_recalibration_table():
    """Does shift_measure give one shift per BatchNorm and two recalibrated accuracies, and the table pair the gains by seed?"""
    y = torch.arange(40) % 10
    data = Splits(train=Split(images(40, 7), y), val=Split(images(40, 8), y), test=Split(images(40, 9), y))
    out = bn_shift.shift_measure(net(), data)
    assert set(out) == {"shift_bn1", "shift_bn2", "val_acc_recalibrated", "val_acc_var_recalibrated"}
    row = {"label": "x", "n": 3, "val_acc_mean": 0.8, "shift_bn1_mean": 2.0,
           "val_acc_runs": [0.80, 0.79, 0.81], "val_acc_recalibrated_runs": [0.81, 0.80, 0.82],
           "val_acc_var_recalibrated_runs": [0.80, 0.80, 0.80]}
    [r] = bn_shift.recalibration_table([row])
    assert r["gain"] == pytest.approx(0.01) and r["gain_se"] == pytest.approx(0.0, abs=1e-12) and r["gain_beyond_noise"]
    assert r["gain_var_only"] == pytest.approx(0.0, abs=1e-12)
    assert r["gain_var_only_se"] == pytest.approx(0.01 / 3 ** 0.5) and not r["gain_var_only_beyond_noise"]
    assert r["shift_bn1"] == 2.0 and not any(c.startswith("verdict") for c in bn_shift.recalibration_table([row]).columns)
    one = {**row, "n": 1, "val_acc_runs": [0.8], "val_acc_recalibrated_runs": [0.9],
           "val_acc_var_recalibrated_runs": [0.9]}
    assert math.isnan(bn_shift.recalibration_table([one])[0]["gain_se"])
    with pytest.raises(ValueError, match="shift_measure"):
        bn_shift.recalibration_table([{"label": "y"}])
