"""Tests of dropout_kit.leakage: an overlapping val split, its accuracy, and the optimism of choosing on the reported set."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dropout_kit import leakage
from dropout_kit.data import Split, Splits


def coded(n, start):
    """Images whose first pixel holds a unique code (start + index), labels cycling through 10 classes."""
    X = torch.zeros(n, 1, 28, 28)
    X[:, 0, 0, 0] = torch.arange(start, start + n, dtype=torch.float32)
    return Split(X, torch.arange(n) % 10)


@pytest.fixture
def data():
    return Splits(train=coded(30, 0), val=coded(50, 1000), test=coded(10, 5000))


class Memoriser(nn.Module):
    """Right on every training image (by its code), wrong on every other image: a perfect overfitter."""

    def __init__(self, train):
        super().__init__()
        self.known = {int(code): int(label) for code, label in zip(train.X[:, 0, 0, 0], train.y)}

    def forward(self, X):
        logits = torch.zeros(len(X), 10)
        for i, code in enumerate(X[:, 0, 0, 0].tolist()):
            logits[i, self.known.get(int(code), (int(code) + 1) % 10)] = 1.0  # unknown: a wrong class
        return logits


def test_overlapping_val_mixes_the_stated_share_of_training_images(data):
    """Does the split keep len(val) images, round(fraction * n) of them training images (marked), the rest val, seeded?"""
    split, from_train = leakage.overlapping_val(data, 0.2, seed=0)
    codes = split.X[:, 0, 0, 0]
    assert len(split.y) == 50 and int(from_train.sum()) == 10
    assert bool((codes[from_train] < 30).all()) and bool((codes[~from_train] >= 1000).all())
    assert len(set(codes.tolist())) == 50  # no image twice
    assert torch.equal(split.y, (codes.long() % 1000) % 10)  # every image keeps its own label
    again, _ = leakage.overlapping_val(data, 0.2, seed=0)
    other, _ = leakage.overlapping_val(data, 0.2, seed=1)
    assert torch.equal(again.X, split.X) and not torch.equal(other.X, split.X)


def test_overlapping_val_refuses_impossible_fractions(data):
    """Are a fraction needing more training images than exist, and one outside [0, 1], refused with a remedy?"""
    with pytest.raises(ValueError, match="lower fraction"):
        leakage.overlapping_val(data, 0.8)
    with pytest.raises(ValueError, match="between 0 and 1"):
        leakage.overlapping_val(data, 1.5)


def test_a_memoriser_scores_exactly_the_leaked_share(data):
    """Does a model right only on training images score 0 on the clean val and exactly the leaked share on the leaky one?"""
    model = Memoriser(data.train)
    assert leakage.leaky_val_accuracy(model, data, fraction=0.4) == {"leaky_val_acc": pytest.approx(0.4)}
    assert leakage.val_correct(model, data) == {"val_correct": [0] * 50}


def test_val_correct_marks_each_image():
    """Is val_correct 1 exactly where the model's argmax equals the label?"""
    train, val = coded(20, 0), coded(20, 100)
    both = Splits(train=train, val=val, test=val)
    model = Memoriser(Split(val.X[:7], val.y[:7]))  # knows the first 7 val images
    assert leakage.val_correct(model, both)["val_correct"] == [1] * 7 + [0] * 13


def test_searching_identical_configs_adds_no_optimism():
    """When all configs are identical, is the optimism the same for every number searched as for one?"""
    correct = (torch.rand(500, generator=torch.Generator().manual_seed(0)) < 0.8).long().tolist()
    rows = [{"val_correct_runs": [correct]} for _ in range(4)]
    table = leakage.selection_optimism(rows, splits=20)
    assert [r["configs searched"] for r in table] == [1, 2, 4]
    for row in table:
        # One split's A - B is not 0, but with identical configs every winner has the same scores.
        assert row["optimism"] == pytest.approx(table[0]["optimism"], abs=1e-12)


def test_selection_optimism_grows_with_the_number_of_noisy_configs_searched():
    """With 16 configs of equal true accuracy and independent errors, does the winner's optimism grow from ~0 to clearly > 0?

    Seeded. Each half has 1,000 images: one config's A - B difference has a std of about 1.8 points, so the
    mean over 300 splits for m = 1 is within 0.5 points of 0 (about 5 standard errors), while the best of 16
    is expected about 2.5 points ahead.
    """
    g = torch.Generator().manual_seed(1)
    rows = [{"val_correct_runs": [(torch.rand(2000, generator=g) < 0.8).long().tolist()]} for _ in range(16)]
    table = {r["configs searched"]: r for r in leakage.selection_optimism(rows, splits=300, seed=0)}
    assert list(table) == [1, 2, 4, 8, 16]
    assert abs(table[1]["optimism"]) < 0.005
    assert table[16]["optimism"] > 0.015
    assert table[1]["optimism"] < table[4]["optimism"] < table[16]["optimism"]
    assert table[16]["optimism p5"] <= table[16]["optimism"] <= table[16]["optimism p95"]


def test_selection_optimism_refuses_rows_without_correctness_and_bad_sizes():
    """Are rows lacking val_correct_runs and sizes beyond the number of configs refused?"""
    with pytest.raises(ValueError, match="measure=leakage.val_correct"):
        leakage.selection_optimism([{"label": "x"}])
    with pytest.raises(ValueError, match="between 1 and the number of configs"):
        leakage.selection_optimism([{"val_correct_runs": [[1, 0]]}], sizes=[2])
