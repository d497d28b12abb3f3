"""benchmarks/gpu_check.py and its calibration_band: does --smoke exercise every section on the CPU, and are
the band, the t-tail and the verdict right?"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("t, dof", [(4.74, 28), (4.74, 4), (2.0, 10), (0.5, 3)])
def test_t_tail_matches_scipy(gpu_check, t, dof):
    """Is the script's own two-sided t tail (it must run without scipy) scipy's, to 1e-9?"""
    stats = pytest.importorskip("scipy.stats")  # a test dependency (scikit-learn needs it)
    assert gpu_check.t_two_sided(t, dof) == pytest.approx(2 * stats.t.sf(t, dof), abs=1e-9)


def test_band_is_three_of_the_larger_std(gpu_check):
    """Is the band the CPU mean ± 3 × max(the rate's std, the pooled std)?"""
    low, high = gpu_check.band([0.80, 0.82, 0.84], pooled=0.001)  # the rate's std, 0.02, is larger
    assert (low, high) == pytest.approx((0.82 - 0.06, 0.82 + 0.06))
    low, high = gpu_check.band([0.80, 0.80, 0.80001], pooled=0.01)
    assert high - low == pytest.approx(0.06)


def test_pooled_std_weights_rates_by_their_degrees_of_freedom(gpu_check):
    """Is the pooled std the root of the dof-weighted mean variance, with the dof summed over rates?"""
    calibration = {0.0: {0: {"v": 1.0}, 1: {"v": 3.0}}, 0.5: {0: {"v": 0.0}, 1: {"v": 0.0}, 2: {"v": 3.0}}}
    std, dof = gpu_check.pooled_std(calibration, "v")
    assert dof == 3 and std == pytest.approx(((2.0 * 1 + 3.0 * 2) / 3) ** 0.5)


def test_summary_fails_on_a_missed_target_only(gpu_check, tmp_path):
    """Does the summary return 1 when a checked row missed, and 0 when rows are met or only information?"""
    log = gpu_check.Log(tmp_path / "out.txt")
    met = [gpu_check.row("a", "1", "1", True), gpu_check.row("b", "2", "information", None)]
    assert gpu_check.summary(met, log) == 0
    assert gpu_check.summary(met + [gpu_check.row("c", "9x", ">= 10x", False)], log) == 1
    text = (tmp_path / "out.txt").read_text()
    assert "| c | 9x | >= 10x | MISSED |" in text and "1 check(s) missed: c" in text


def test_without_a_gpu_it_refuses_unless_smoke(gpu_check, tmp_path, monkeypatch, capsys):
    """On a machine without a GPU, does the full check exit 2 saying so and pointing to --smoke?"""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert gpu_check.main(["--out", str(tmp_path / "out.txt")]) == 2
    assert "no GPU here" in capsys.readouterr().out and "--smoke" in (tmp_path / "out.txt").read_text()


@pytest.mark.slow  # about a minute on 2 cores: two recipe runs, tiny speed runs, two notebook starts
@pytest.mark.realdata
def test_smoke_run_covers_every_section(real_data, tmp_path):
    """Does `gpu_check.py --smoke` run every section on the CPU, meet its enforced checks, and write its file?"""
    out = tmp_path / "smoke.txt"
    done = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--out", str(out)], capture_output=True,
                          text=True, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = out.read_text()
    assert text == done.stdout
    for needed in ("| AdamStep | fused, bit-identical to torch.optim.Adam(fused=True) over 25 steps",
                   "| fit vs tutorial loop, same device |", "| lesson 04_overfitting (nbmake, first cells) | passed",
                   "| lesson 06_tuning (nbmake, first cells) | passed",
                   "| calibration hidden 0.3 (the tutorial's): mean val loss |",
                   "| calibration hidden 0.3 (the tutorial's): verdict on seeds [0, 1] | fail",
                   "false-failure probability", "every check met its target"):
        assert needed in text
