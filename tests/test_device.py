"""dropout_kit.device: which device "auto" picks, the errors for devices a machine lacks, and
that every function that trains gives on "auto" exactly what it gives on "cpu" when no
accelerator is present.

Accelerators are simulated only where a test checks the choice (monkeypatched
``torch.cuda.is_available`` and ``torch.backends.mps.is_available``); nothing here runs on them.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dropout_kit import device as device_module
from dropout_kit import tuning, uncertainty
from dropout_kit.data import Splits
from dropout_kit.device import describe_device, expected_time, placed, private_rng, resolve_device
from dropout_kit.errors import DeviceError
from dropout_kit.models import DropoutMLP, build_mlp
from dropout_kit.runs import train_runs
from dropout_kit.seeding import seed_everything
from dropout_kit.train import evaluate, fit
from tests.conftest import blobs

pytestmark = pytest.mark.usefixtures("one_thread")

FIT = {"epochs": 2, "batch_size": 32, "progress": False}


@pytest.fixture(scope="module")
def tiny():
    return Splits(train=blobs(150, 0), val=blobs(60, 1), test=blobs(60, 2))


def machine(monkeypatch, *, cuda=0, mps=False, name="NVIDIA H200"):
    """Pretend this machine has ``cuda`` CUDA devices and (or) MPS, for the choice only."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=None: name)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


@pytest.fixture
def cpu_only(monkeypatch):
    """This machine as a learner's laptop without an accelerator, whatever the test machine has."""
    machine(monkeypatch)


# --- the choice ------------------------------------------------------------------------------


@pytest.mark.parametrize("cuda, mps, expected", [
    (0, False, torch.device("cpu")),
    (0, True, torch.device("mps", 0)),
    (1, False, torch.device("cuda", 0)),
    (2, True, torch.device("cuda", 0)),
])
def test_auto_picks_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    """Does "auto" pick CUDA when there is one, else MPS, else the CPU?"""
    machine(monkeypatch, cuda=cuda, mps=mps)
    assert resolve_device("auto") == expected
    assert resolve_device() == expected


def test_explicit_devices_resolve_to_their_full_names(monkeypatch):
    """Are "cpu", "cpu:0", "cuda", "cuda:1", "mps" and torch.device objects resolved to cpu / cuda:N / mps:0?"""
    machine(monkeypatch, cuda=2, mps=True)
    assert resolve_device("cpu") == resolve_device("cpu:0") == resolve_device(torch.device("cpu")) == \
        torch.device("cpu")
    assert resolve_device("cuda") == torch.device("cuda", 0)
    assert resolve_device("cuda:1") == resolve_device(torch.device("cuda", 1)) == torch.device("cuda", 1)
    assert resolve_device("mps") == torch.device("mps", 0)


def test_cuda_asked_for_without_one_names_what_was_found(cpu_only):
    """Does an explicit "cuda" on a machine without one say what was asked, what was found, and the remedy?"""
    with pytest.raises(DeviceError) as info:
        resolve_device("cuda")
    assert str(info.value) == (f"device='cuda' was asked for, but torch.cuda.is_available() is False on this "
                               f"machine (torch {torch.__version__}); use device='auto' or 'cpu'")


def test_mps_asked_for_without_one_names_what_was_found(cpu_only):
    """Does an explicit "mps" on a machine without it name torch.backends.mps.is_available()?"""
    with pytest.raises(DeviceError, match=r"device='mps' was asked for, but torch\.backends\.mps\.is_available\(\) "
                                          r"is False on this machine .*use device='auto' or 'cpu'"):
        resolve_device("mps")


@pytest.mark.parametrize("bad, message", [
    ("gpu", "device='gpu' is not a device torch knows; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"),
    ("cuda:x", "device='cuda:x' is not a device torch knows"),
    ("meta", "device='meta' is not supported here"),
    (0, "device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps' or a torch.device, got int 0"),
    ("cuda:7", "device='cuda:7' was asked for, but this machine has 1 CUDA device (cuda:0); use one of those"),
    ("mps:1", "a Mac has one MPS device"),
])
def test_bad_devices_are_clear_errors(monkeypatch, bad, message):
    """Are a non-device string, an unsupported type, a missing GPU index and a second MPS refused clearly?"""
    machine(monkeypatch, cuda=1, mps=True)
    with pytest.raises(DeviceError) as info:
        resolve_device(bad)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)  # callers that catch ValueError (the CLI) keep working


def test_describe_names_threads_or_the_gpu(monkeypatch):
    """Does describe_device say "cpu (N threads)", "cuda:0 (<name>)" and "mps (Apple GPU)"?"""
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert describe_device("cpu") == "cpu (1 thread)"
        torch.set_num_threads(2)
        assert describe_device("cpu") == "cpu (2 threads)"
    finally:
        torch.set_num_threads(threads)
    machine(monkeypatch, cuda=1, mps=True, name="NVIDIA H200")
    assert describe_device() == "cuda:0 (NVIDIA H200)"
    assert describe_device("mps") == "mps (Apple GPU)"


def test_expected_time_from_the_table(monkeypatch):
    """Does expected_time give the measured CPU time, say "not measured yet" for an unmeasured GPU, and refuse
    an unknown lesson?"""
    machine(monkeypatch)
    seconds, how = device_module.LESSON_TIMES["06_tuning"]["cpu"]
    sentence = expected_time("06_tuning")
    assert sentence.startswith(f"Running on {describe_device('cpu')}.")
    assert f"about {seconds / 60:.0f} minutes here (measured: {how})" in sentence
    machine(monkeypatch, cuda=1)
    monkeypatch.setitem(device_module.LESSON_TIMES, "04_overfitting", {"cpu": (300, "2 cores"), "cuda": None})
    assert expected_time("04_overfitting") == ("Running on cuda:0 (NVIDIA H200). Its run time on cuda is not "
                                               "measured yet; on the CPU it takes about 5 minutes (measured: 2 cores).")
    monkeypatch.setitem(device_module.LESSON_TIMES, "04_overfitting", {"cpu": (300, "2 cores"), "cuda": (42, "H200")})
    assert expected_time("04_overfitting").endswith("This lesson takes about 42 seconds here (measured: H200).")
    with pytest.raises(ValueError, match="no measured time for lesson '09_x'"):
        expected_time("09_x")


# --- placing models and random streams ---------------------------------------------------------


def test_placed_leaves_a_model_already_there_untouched():
    """Is a model already on the device left alone: the same parameter storage, no copy?"""
    model = DropoutMLP(0.3)
    before = [p.data_ptr() for p in model.parameters()]
    with placed(model, torch.device("cpu")):
        assert [p.data_ptr() for p in model.parameters()] == before
    assert [p.data_ptr() for p in model.parameters()] == before


def test_a_model_spread_over_two_devices_is_refused():
    """Is a model whose tensors are on two devices refused with a remedy, rather than silently moved?"""
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2, device="meta"))
    with pytest.raises(DeviceError, match=r"several devices \(\['cpu', 'meta'\]\).*model\.to"):
        with placed(model, torch.device("cpu")):
            pass


def test_private_rng_leaves_the_callers_stream_alone():
    """After draws inside private_rng, does the caller's CPU stream continue as if nothing happened?"""
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    with private_rng(torch.device("cpu")):
        torch.manual_seed(99)
        torch.rand(10)
    assert torch.equal(torch.rand(3), expected)


# --- "auto" is "cpu" bit for bit where there is no accelerator ----------------------------------


def _fit(data, device, p=0.3):
    seed_everything(3)
    model = DropoutMLP(p)
    history = fit(model, data, seed=3, device=device, **FIT)
    return model, history


def test_fit_and_evaluate_auto_equal_cpu(cpu_only, tiny):
    """Without an accelerator, do fit and evaluate give on "auto" exactly what they give on "cpu"?"""
    model_cpu, on_cpu = _fit(tiny, "cpu")
    model_auto, on_auto = _fit(tiny, "auto")
    assert on_auto.metrics() == on_cpu.metrics()
    assert on_auto.device == on_cpu.device == describe_device("cpu")
    assert all(torch.equal(a, b) for a, b in zip(model_auto.parameters(), model_cpu.parameters()))
    assert evaluate(model_auto, *tiny.test, device="auto") == evaluate(model_cpu, *tiny.test, device="cpu")
    assert next(model_auto.parameters()).device.type == "cpu"


def test_runs_and_sweeps_auto_equal_cpu(cpu_only, tiny):
    """Without an accelerator, do train_runs, sweep and cross_validate give on "auto" what they give on "cpu"?"""
    runs = {d: train_runs(lambda: build_mlp(0.3), tiny, seeds=[0, 1], test=True, device=d, **FIT)
            for d in ("cpu", "auto")}
    assert [h.metrics() for h in runs["auto"]] == [h.metrics() for h in runs["cpu"]]
    assert [h.test_acc for h in runs["auto"]] == [h.test_acc for h in runs["cpu"]]

    def without_time(table):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in table]

    sweeps = {d: tuning.sweep([0.0, 0.5], tiny, seeds=[0, 1], verbose=False, device=d, **FIT) for d in ("cpu", "auto")}
    assert without_time(sweeps["auto"]) == without_time(sweeps["cpu"])
    assert [r["device"] for r in sweeps["auto"]] == [describe_device("cpu")] * 2
    folds = {d: tuning.cross_validate([0.3], tiny.train, k=3, verbose=False, device=d, **FIT) for d in ("cpu", "auto")}
    assert folds["auto"] == folds["cpu"]


def test_uncertainty_auto_equals_cpu(cpu_only, tiny):
    """Without an accelerator, do mc_predict and ablate_units give on "auto" what they give on "cpu"?"""
    model, _ = _fit(tiny, "cpu")
    a = uncertainty.mc_predict(model, tiny.val.X, T=5, seed=1, device="auto")
    b = uncertainty.mc_predict(model, tiny.val.X, T=5, seed=1, device="cpu")
    assert torch.equal(a.probs, b.probs) and a.probs.device.type == "cpu"
    assert uncertainty.ablate_units(model, *tiny.val, repeats=2, device="auto") == \
        uncertainty.ablate_units(model, *tiny.val, repeats=2, device="cpu")


def test_every_trainer_refuses_a_missing_gpu_before_training(cpu_only, tiny):
    """Do fit, evaluate, train_runs, sweep, cross_validate and the uncertainty tools refuse "cuda" here, clearly?"""
    model = DropoutMLP(0.3)
    calls = [
        lambda: fit(model, tiny, seed=0, device="cuda", **FIT),
        lambda: evaluate(model, *tiny.val, device="cuda"),
        lambda: train_runs(lambda: build_mlp(0.3), tiny, seeds=[0], device="cuda", **FIT),
        lambda: tuning.sweep([0.3], tiny, seeds=[0], workers=2, device="cuda", **FIT),
        lambda: tuning.cross_validate([0.3], tiny.train, k=2, device="cuda", **FIT),
        lambda: tuning.fit_fresh(lambda: build_mlp(0.3), tiny, seed=0, device="cuda", **FIT),
        lambda: uncertainty.mc_predict(model, tiny.val.X, device="cuda"),
        lambda: uncertainty.ablate_units(model, *tiny.val, device="cuda"),
        lambda: uncertainty.record_activation_variance(lambda: DropoutMLP(0.3), tiny, seed=0, device="cuda", **FIT),
    ]
    for call in calls:
        with pytest.raises(DeviceError, match=r"torch\.cuda\.is_available\(\) is False"):
            call()
