"""Tests of dropout_kit.metrics, with scikit-learn as the reference (tolerance 1e-12)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn import metrics as skm
from torch import nn

from dropout_kit import metrics
from dropout_kit.models import DropoutMLP
from dropout_kit.seeding import seed_everything


def _random_predictions(seed: int, n: int = 500, k: int = 10, drop_classes=()):
    """Random labels and predictions; classes in ``drop_classes`` are never predicted."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    # Mostly right, so precision and recall differ between classes.
    y_hat = np.where(rng.random(n) < 0.6, y, rng.integers(0, k, n))
    keep = next(c for c in range(k) if c not in drop_classes)
    y_hat[np.isin(y_hat, drop_classes)] = keep
    return y, y_hat


@pytest.mark.parametrize("seed", range(5))
def test_confusion_matrix_matches_sklearn(seed):
    """Is confusion_matrix(y, y_hat) sklearn's confusion_matrix (rows true, columns predicted)?"""
    y, y_hat = _random_predictions(seed)
    ours = metrics.confusion_matrix(torch.tensor(y), torch.tensor(y_hat), num_classes=10)
    assert ours.dtype == torch.int64
    np.testing.assert_array_equal(ours.numpy(), skm.confusion_matrix(y, y_hat, labels=range(10)))


@pytest.mark.parametrize("seed, dropped", [(0, ()), (1, (3,)), (2, (0, 9)), (3, (4, 5, 6))])
def test_precision_recall_f1_match_sklearn(seed, dropped):
    """Do per-class precision, recall and F1 equal sklearn's (zero_division=0), never-predicted classes included?"""
    y, y_hat = _random_predictions(seed, drop_classes=dropped)
    cm = metrics.confusion_matrix(y, y_hat, num_classes=10)
    precision, recall, f1 = metrics.precision_recall_f1(cm)
    p_ref, r_ref, f_ref, support = skm.precision_recall_fscore_support(
        y, y_hat, labels=range(10), zero_division=0)
    for ours, ref in ((precision, p_ref), (recall, r_ref), (f1, f_ref)):
        assert ours.dtype == torch.float64 and ours.shape == (10,)
        np.testing.assert_allclose(ours.numpy(), ref, rtol=0, atol=1e-12)
    for c in dropped:
        assert precision[c] == 0 and f1[c] == 0


def test_absent_class_gives_zeros_not_nan():
    """Does a class that is neither a label nor a prediction get 0, 0, 0 rather than NaN?"""
    cm = torch.tensor([[5, 1, 0], [2, 3, 0], [0, 0, 0]])
    precision, recall, f1 = metrics.precision_recall_f1(cm)
    assert precision[2] == recall[2] == f1[2] == 0
    assert not any(torch.isnan(t).any() for t in (precision, recall, f1))


def test_accuracy_matches_sklearn_from_both_routes():
    """Does accuracy agree with sklearn, from predictions and from the confusion matrix?"""
    y, y_hat = _random_predictions(7)
    ref = skm.accuracy_score(y, y_hat)
    assert metrics.accuracy(y, y_hat) == pytest.approx(ref, abs=1e-12)
    assert metrics.accuracy_from_confusion(metrics.confusion_matrix(y, y_hat)) == pytest.approx(ref, abs=1e-12)


def test_tutorial_binary_example():
    """Does the tutorial's TP 85 / FP 10 / TN 90 / FN 15 give precision 85/95, recall 0.85, accuracy 0.875?"""
    cm = metrics.binary_confusion(tp=85, fp=10, tn=90, fn=15)
    precision, recall, f1 = metrics.precision_recall_f1(cm)
    assert precision[0].item() == pytest.approx(85 / 95)
    assert recall[0].item() == pytest.approx(0.85)
    assert f1[0].item() == pytest.approx(2 * 85 / (2 * 85 + 10 + 15))
    assert metrics.accuracy_from_confusion(cm) == 0.875
    # The same numbers as sklearn with "positive" = label 1 in its usual 0/1 coding.
    y = [1] * 100 + [0] * 100
    y_hat = [1] * 85 + [0] * 15 + [1] * 10 + [0] * 90
    assert skm.precision_score(y, y_hat) == pytest.approx(precision[0].item())
    assert skm.recall_score(y, y_hat) == pytest.approx(recall[0].item())


def test_bad_inputs_say_what_is_wrong():
    """Are float predictions, mismatched lengths, out-of-range labels and non-square matrices refused with a hint?"""
    with pytest.raises(TypeError, match="argmax"):
        metrics.confusion_matrix([0, 1], torch.tensor([0.2, 0.8]))
    with pytest.raises(ValueError, match="must match"):
        metrics.confusion_matrix([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        metrics.confusion_matrix([0, 1, 3], [0, 1, 2], num_classes=3)
    with pytest.raises(ValueError, match="square"):
        metrics.precision_recall_f1(torch.zeros(2, 3))


def test_per_class_table_rows():
    """Does per_class_table give one row per class with the metrics and the support?"""
    cm = torch.tensor([[3, 1], [0, 2]])
    table = metrics.per_class_table(cm, ["a", "b"])
    assert [r["class"] for r in table] == ["a", "b"]
    assert table[0] == {"class": "a", "precision": 1.0, "recall": 0.75, "f1": pytest.approx(6 / 7),
                        "support": 4}
    assert "precision (%)" in str(table)


def test_most_confused_lists_the_largest_errors_first():
    """Are the largest off-diagonal cells listed first, with their share of the true class, the diagonal ignored?"""
    cm = torch.tensor([[50, 3, 7], [0, 60, 1], [9, 0, 40]])
    table = metrics.most_confused(cm, ["a", "b", "c"], k=2)
    assert [(r["true"], r["predicted"], r["count"]) for r in table] == [("c", "a", 9), ("a", "c", 7)]
    assert table[0]["share"] == pytest.approx(9 / 49)
    assert torch.equal(cm, torch.tensor([[50, 3, 7], [0, 60, 1], [9, 0, 40]]))  # input untouched


def _model_and_data():
    seed_everything(0)
    model = DropoutMLP(0.5)
    X = torch.rand(300, 1, 28, 28)
    y = model.eval()(X).argmax(dim=1)  # labels the model gets all right in eval mode
    return model, X, y


def test_predict_uses_eval_mode_and_restores_the_mode():
    """Does predict use eval mode (deterministic) and leave the model in the mode it found?"""
    model, X, y = _model_and_data()
    model.train()
    assert torch.equal(metrics.predict(model, X, batch_size=128), y)
    assert model.training


def test_train_vs_eval_accuracy_measures_the_pitfall():
    """Is eval-mode accuracy exact, train-mode accuracy noisy and lower, and the caller's RNG untouched?"""
    model, X, y = _model_and_data()
    model.eval()
    before = torch.random.get_rng_state()
    result = metrics.train_vs_eval_accuracy(model, X, y, repeats=5, seed=1)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert not model.training
    assert result["eval_acc"] == 1.0
    assert len(result["train_mode_accs"]) == 5
    assert result["train_mode_mean"] < 1.0 and result["train_mode_std"] > 0
    assert metrics.train_vs_eval_accuracy(model, X, y, repeats=5, seed=1) == result  # seeded
    assert math.isnan(metrics.train_vs_eval_accuracy(model, X, y, repeats=1)["train_mode_std"])


def test_train_vs_eval_without_dropout_is_identical():
    """Without dropout layers, do both modes give the same accuracy (the gap is dropout's alone)?"""
    seed_everything(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    X, y = torch.rand(50, 1, 28, 28), torch.randint(0, 10, (50,))
    result = metrics.train_vs_eval_accuracy(model, X, y, repeats=3)
    assert result["train_mode_accs"] == [result["eval_acc"]] * 3
