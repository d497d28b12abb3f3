"""Tests of the probes' run-time detector of forbidden calls."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dropout_kit import metrics
from dropout_kit.exercises import detect

NAMES = {"dropout", "native_dropout", "alpha_dropout", "feature_alpha_dropout", "dropout2d"}
x = torch.randn(4, 5, requires_grad=True)


@pytest.mark.parametrize("call, name", [
    (lambda: F.dropout(x, 0.3), "torch.nn.functional.dropout"),
    (lambda: nn.Dropout(0.3)(x), "torch.nn.functional.dropout"),
    (lambda: torch.dropout(x, 0.3, True), "torch.dropout"),
    (lambda: torch._VF.dropout(x, 0.3, True), "torch.dropout"),
    (lambda: torch.ops.aten.native_dropout(x, 0.3, True), "aten.native_dropout"),
    (lambda: F.alpha_dropout(x, 0.2, True), "torch.nn.functional.alpha_dropout"),
])
def test_torch_dropout_calls_are_seen(call, name):
    """Is every route to PyTorch's dropout recorded by name?"""
    with detect.watch(torch_names=NAMES) as log:
        call()
    assert log.names[0] == name


def test_dropout_written_from_scratch_is_not_flagged():
    """Is a dropout built from rand/bernoulli and arithmetic left unflagged?"""
    with detect.watch(torch_names=NAMES) as log:
        (x * (torch.rand_like(x) >= 0.3) / 0.7).sum().backward()
        x * torch.empty_like(x).bernoulli_(0.7)
    assert log.names == []


def test_python_functions_are_seen_by_code_object_and_folder():
    """Are calls of a watched function (by code object) and of code under a watched folder recorded, once each?"""
    cm = torch.tensor([[3, 1], [2, 4]])
    with detect.watch(codes=[metrics.precision_recall_f1.__code__]) as log:
        metrics.precision_recall_f1(cm)
        metrics.precision_recall_f1(cm)
    assert log.names == ["dropout_kit.metrics.precision_recall_f1"]
    import sklearn.metrics
    from pathlib import Path
    with detect.watch(folders=[Path(sklearn.metrics.__file__).parent.parent]) as log:
        sklearn.metrics.precision_score([0, 1], [0, 1])
    assert log.names and all(n.startswith("sklearn.") for n in log.names)


def test_the_profiler_is_restored():
    """Does the detector put back whatever profiler was set before it?"""
    import sys
    marker = lambda *a: None  # noqa: E731
    sys.setprofile(marker)
    try:
        with detect.watch(codes=[metrics.accuracy_from_confusion.__code__]):
            pass
        assert sys.getprofile() is marker
    finally:
        sys.setprofile(None)
