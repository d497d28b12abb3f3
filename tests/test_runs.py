"""Tests of dropout_kit.runs' measures: what train_runs records about each trained model, and its summary."""

from __future__ import annotations

import functools
import math

import pytest
import torch

from dropout_kit import leakage, regularization, tuning
from dropout_kit.data import Split, Splits
from dropout_kit.models import build_mlp
from dropout_kit.runs import summarize, train_runs, trained_state
from dropout_kit.seeding import seed_everything

FIT = {"epochs": 1, "batch_size": 32, "progress": False}
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny():
    def split(n, seed):
        g = torch.Generator().manual_seed(seed)
        return Split(torch.rand(n, 1, 28, 28, generator=g), torch.arange(n) % 10)
    return Splits(train=split(96, 0), val=split(40, 1), test=split(40, 2))


def test_measure_sees_the_trained_model_and_is_kept(tiny):
    """Is each measure called on the trained model with the data, its dicts merged into history.measures?"""
    seen = []

    def probe(model, data):
        seen.append((model, data))
        return {"first_weight": float(model.fc1.weight[0, 0].detach())}

    [history] = train_runs(lambda: build_mlp(0.2), tiny, seeds=[3], measure=[probe, trained_state], **FIT)
    model, data = seen[0]
    assert data is tiny and history.measures["first_weight"] == float(model.fc1.weight[0, 0].detach())
    state = history.measures["state_dict"]
    assert state.keys() == model.state_dict().keys()
    assert all(torch.equal(v, model.state_dict()[k]) and v.data_ptr() != model.state_dict()[k].data_ptr()
               for k, v in state.items())
    seed_everything(3)
    untrained = build_mlp(0.2)
    assert not torch.equal(state["fc1.weight"], untrained.fc1.weight)  # trained, not initial, weights
    [again] = train_runs(lambda: build_mlp(0.2), tiny, seeds=[3], **FIT)
    assert again.metrics() == history.metrics() and not hasattr(again, "measures")  # measures change no run


def test_summarize_gives_mean_and_std_of_numeric_measures_only(tiny):
    """Do numeric measures get <name>_mean/_std in summarize, while lists, dicts and bools do not?"""
    histories = train_runs(lambda: build_mlp(0.0), tiny, seeds=[0, 1],
                           measure=lambda m, d: {"x": float(m.fc3.bias[0].detach()), "flag": True, "many": [1, 2]}, **FIT)
    row = summarize("p=0", histories)
    xs = [h.measures["x"] for h in histories]
    assert row["x_mean"] == pytest.approx(sum(xs) / 2) and row["x_std"] == pytest.approx(abs(xs[0] - xs[1]) / math.sqrt(2))
    assert not any(k.startswith(("flag", "many")) for k in row)


def test_a_measure_that_is_not_callable_is_refused(tiny):
    """Is a non-callable measure refused with the expected signature in the message?"""
    with pytest.raises(TypeError, match=r"function \(model, data\) -> dict"):
        train_runs(lambda: build_mlp(0.0), tiny, seeds=[0], measure=["sparsity"], **FIT)


@pytest.mark.slow  # starts worker processes: about 10 s
def test_measures_and_model_keywords_travel_to_worker_processes(tiny):
    """With 2 workers, are measures (partials included) and a config's own make_model applied exactly as in one process?"""
    configs = [{"p": 0.0, "make_model": functools.partial(regularization.build_l1_mlp, l1=1e-3)}, 0.5]
    kwargs = {"seeds": [0, 1], "verbose": False,
              "measure": [regularization.weight_stats, functools.partial(leakage.leaky_val_accuracy, fraction=0.5)]}
    one = tuning.sweep(configs, tiny, **kwargs, **FIT)
    two = tuning.sweep(configs, tiny, workers=2, **kwargs, **FIT)
    assert [{k: v for k, v in r.items() if k not in ("seconds", "make_model")} for r in two] == \
        [{k: v for k, v in r.items() if k not in ("seconds", "make_model")} for r in one]
    assert "leaky_val_acc_mean" in one[0] and one[0]["sparsity_mean"] > one[1]["sparsity_mean"]
