"""The experiment grader: the "only dropout was added" rules, the calibration, and real grading runs."""

import csv
import functools
import statistics

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dropout_kit import grading, integrity
from dropout_kit.models import BaselineMLP, DropoutMLP, build_mlp


class Tutorial(nn.Module):
    """The tutorial's Net, parameterised by what a learner might change."""

    def __init__(self, p=0.3, width=256, act=torch.relu, extra=False, norm=None):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(784, width)
        self.norm = norm(width) if norm else None
        self.extra = nn.Linear(width, width) if extra else None
        self.fc2 = nn.Linear(width, 128)
        self.fc3 = nn.Linear(128, 10)
        self.drop = nn.Dropout(p)
        self.act = act

    def forward(self, x):
        x = self.act(self.fc1(self.flatten(x)))
        if self.norm is not None:
            x = self.norm(x)
        if self.extra is not None:
            x = self.act(self.extra(x))
        x = self.drop(x)
        x = self.drop(self.act(self.fc2(x)))
        return self.fc3(x)


class FunctionalDropout(BaselineMLP):
    def __init__(self, respect_mode=True, p=0.3):
        super().__init__()
        self.p, self.respect_mode = p, respect_mode

    def forward(self, x):
        training = self.training if self.respect_mode else True  # the classic bug when False
        x = F.dropout(torch.relu(self.fc1(self.flatten(x))), self.p, training=training)
        x = F.dropout(torch.relu(self.fc2(x)), self.p, training=training)
        return self.fc3(x)


class TransposedFlatten(DropoutMLP):
    def forward(self, x):
        x = x.transpose(2, 3).flatten(1)  # a "changed flatten": same shapes, other pixel order
        x = self.dropout1(torch.relu(self.fc1(x)))
        return self.fc3(self.dropout2(torch.relu(self.fc2(x))))


def sequential(p=0.3):
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(p),
                         nn.Linear(256, 128), nn.ReLU(), nn.Dropout(p), nn.Linear(128, 10))


def failed(grade):
    return [c.name for c in grade.checks if not c.passed]


REJECTED = {
    "unchanged baseline": (BaselineMLP, "stochastic in train mode", "no dropout is active"),
    "extra Linear layer": (functools.partial(Tutorial, extra=True), "same parameters", "parameter shapes"),
    "wider layers": (functools.partial(Tutorial, width=512), "same parameters", "parameter shapes"),
    "BatchNorm": (functools.partial(Tutorial, norm=nn.BatchNorm1d), "same parameters", "parameter shapes"),
    "LayerNorm": (functools.partial(Tutorial, norm=nn.LayerNorm), "same parameters", "parameter shapes"),
    "different activation": (functools.partial(Tutorial, act=torch.tanh), "same function in eval mode",
                             "different function"),
    "dropout p=0 everywhere": (functools.partial(DropoutMLP, 0.0), "stochastic in train mode", "p=0 everywhere"),
    "stochastic at eval": (functools.partial(FunctionalDropout, respect_mode=False),
                           "deterministic in eval mode", "training=self.training"),
    "changed flatten": (TransposedFlatten, "same function in eval mode", "changed flatten"),
}


@pytest.mark.parametrize("name", list(REJECTED))
def test_rule_breakers_are_rejected_by_the_right_rule(name):
    """Is each way of breaking "only add dropout" rejected, by the right rule, before any training?"""
    factory, rule, words = REJECTED[name]
    grade = grading.grade_experiment(factory)  # rules fail first, so nothing is trained
    assert not grade.passed and grade.runs == []
    assert failed(grade) == [rule]
    assert words in next(c.message for c in grade.checks if c.name == rule)


def test_a_batchnorm_without_affine_is_caught_by_its_buffers():
    """Is a norm layer that adds no parameters (only running stats) still caught?"""
    grade = grading.grade_experiment(functools.partial(Tutorial, norm=lambda w: nn.BatchNorm1d(w, affine=False)))
    assert failed(grade) == ["same parameters"] and "buffers" in grade.checks[0].message


@pytest.mark.parametrize("factory", [
    functools.partial(DropoutMLP, 0.2), functools.partial(DropoutMLP, 0.5), functools.partial(build_mlp, (0.2, 0.5)),
    sequential, FunctionalDropout,
], ids=["p0.2", "p0.5", "per-layer", "sequential", "F.dropout"])
def test_honest_dropout_models_follow_the_rules(factory):
    """Do honest dropout models (modules, Sequential, F.dropout with training=self.training) pass the rules?"""
    grade = grading.grade_experiment(factory, train=False)
    assert grade.passed, str(grade)


def test_model_that_raises_is_reported_not_crashed():
    """Does a model whose forward raises get a failed check naming the exception?"""
    class Broken(DropoutMLP):
        def forward(self, x):
            raise RuntimeError("oops")
    grade = grading.grade_experiment(Broken)
    assert not grade.passed and "RuntimeError" in grade.checks[-1].message


def test_factory_that_is_not_a_module():
    """Is a factory returning something other than an nn.Module refused with a clear message?"""
    grade = grading.grade_experiment(lambda: "not a model")
    assert not grade.passed and "must return an nn.Module" in grade.checks[0].message


def test_tampered_torch_functions_are_refused(monkeypatch):
    """If a submission replaces torch.allclose, does grading refuse, naming the function?"""
    monkeypatch.setattr(torch, "allclose", lambda *a, **k: True)
    with pytest.raises(integrity.TamperingError, match="torch.allclose was replaced"):
        grading.grade_experiment(DropoutMLP, train=False)


def test_rules_use_their_own_references(monkeypatch):
    """Even called directly, do the rule checks ignore a replaced torch.equal / torch.allclose?"""
    monkeypatch.setattr(torch, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(torch, "equal", lambda *a, **k: False)
    checks = grading.check_rules(functools.partial(Tutorial, act=torch.tanh))
    assert [c.name for c in checks if not c.passed] == ["same function in eval mode"]


def test_rules_do_not_touch_the_global_rng():
    """Does checking the rules leave torch's global random state as it was?"""
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    grading.check_rules(BaselineMLP)
    # Building the models draws initial weights; the probe inputs must not draw from the global stream.
    torch.manual_seed(5)
    BaselineMLP(), BaselineMLP()
    after_builds = torch.rand(3)
    torch.manual_seed(5)
    grading.check_rules(BaselineMLP)
    assert torch.equal(torch.rand(3), after_builds) and not torch.equal(expected, after_builds)


def _calibration():
    with open(grading.CALIBRATION, newline="") as handle:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def test_calibration_covers_baseline_and_rates_over_five_seeds():
    """Does the committed calibration hold the baseline and p=0.1..0.6, each over at least 5 seeds?"""
    rows = _calibration()
    for p in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6):
        assert len({r["seed"] for r in rows if r["p"] == p}) >= 5


def test_thresholds_fail_the_baseline_and_pass_dropout_03_on_every_seed():
    """Do the thresholds fail the baseline on every calibration seed and pass p=0.3 on every seed?"""
    rows = _calibration()
    assert not any(grading.run_passes(r["train_acc_eval"], r["val_acc"]) for r in rows if r["p"] == 0.0)
    assert all(grading.run_passes(r["train_acc_eval"], r["val_acc"]) for r in rows if r["p"] == 0.3)


@pytest.mark.parametrize("p", [0.2, 0.3, 0.4, 0.5])
def test_rates_02_to_05_pass_the_grading_rule_in_calibration(p):
    """Averaged over the grading seeds, as the grader does, do rates 0.2-0.5 pass in the calibration?"""
    runs = [r for r in _calibration() if r["p"] == p and r["seed"] in grading.RECIPE.seeds]
    assert len(runs) == len(grading.RECIPE.seeds)
    assert grading.run_passes(statistics.fmean(r["train_acc_eval"] for r in runs),
                              statistics.fmean(r["val_acc"] for r in runs))


def test_calibration_table_summarises_per_rate():
    """Does calibration_table give one row per rate with the passing-seed counts?"""
    table = grading.calibration_table()
    by_p = {row["p"]: row for row in table}
    assert by_p[0.0]["seeds_passing"] == 0 and by_p[0.3]["seeds_passing"] == by_p[0.3]["seeds"]
    assert "| p |" in str(table) and "<table>" in table._repr_html_()


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("factory", [
    functools.partial(DropoutMLP, 0.2), functools.partial(DropoutMLP, 0.5), sequential, FunctionalDropout,
], ids=["nn.Dropout 0.2", "nn.Dropout 0.5", "nn.Sequential 0.3", "F.dropout 0.3"])
def test_honest_dropout_models_pass_the_full_grade(real_data, factory):
    """Does the full grade (three training runs) accept dropout at 0.2-0.5, Sequential and F.dropout?"""
    grade = grading.grade_experiment(factory)
    assert grade.passed, str(grade)
    assert len(grade.runs) == len(grading.RECIPE.seeds)


@pytest.mark.slow
@pytest.mark.realdata
def test_full_grade_fails_the_baseline_metrics_too(real_data):
    """Trained despite the rules, would the baseline also fail the metric thresholds (defence in depth)?"""
    grade = grading.ExperimentGrade(passed=False)
    runs = grading.RECIPE.seeds
    from dropout_kit.runs import train_runs

    histories = train_runs(BaselineMLP, grading._grading_data(grading.RECIPE.subset, grading.RECIPE.data_seed),
                           seeds=runs, **grading.RECIPE.fit_kwargs())
    finals = [h.final for h in histories]
    assert not grading.run_passes(statistics.fmean(f["train_eval_acc"] for f in finals),
                                  statistics.fmean(f["val_acc"] for f in finals))
    assert grade.runs == []


@pytest.mark.slow
@pytest.mark.realdata
def test_rerunning_a_calibration_row_reproduces_it(real_data):
    """Does re-running calibration row p=0.3, seed 1 reproduce its committed numbers?"""
    from dropout_kit.runs import train_runs

    row = next(r for r in _calibration() if r["p"] == 0.3 and r["seed"] == 1)
    data = grading._grading_data(grading.RECIPE.subset, grading.RECIPE.data_seed)
    [history] = train_runs(functools.partial(build_mlp, 0.3), data, seeds=[1], **grading.RECIPE.fit_kwargs())
    # Same machine and library: identical to 4 decimals; another CPU's BLAS may differ a little,
    # so allow 0.5 points (about 2 standard deviations of seed noise would be far more).
    assert history.final["val_acc"] == pytest.approx(row["val_acc"], abs=0.005)
    assert history.final["train_eval_acc"] == pytest.approx(row["train_acc_eval"], abs=0.005)
