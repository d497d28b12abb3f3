"""dropout_kit.integrity: does grading notice functions replaced by a submission?"""

import builtins
import importlib
import math
from pathlib import Path

import pytest
import torch

import dropout_kit.exercises.metrics.choose as choose
import dropout_kit.exercises.metrics.choose_hints as choose_hints
import dropout_kit.exercises.metrics.prf as prf
import dropout_kit.integrity as integrity_module
import dropout_kit.tuning as tuning
import dropout_kit.tuning.stats as stats


@pytest.fixture
def integrity():
    """A freshly imported integrity module: what it captures is this process as it is now."""
    return importlib.reload(integrity_module)


def message(name: str) -> str:
    return f"{name} was replaced by the submission; grading refuses tampered functions"


def test_nothing_replaced(integrity):
    """Does verify() pass when nothing was replaced, after the work a lesson does?"""
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 2))
    optimizer = torch.optim.Adam(model.parameters())  # torch re-wraps torch.manual_seed here
    torch.manual_seed(0)
    loss = model(torch.randn(5, 4)).sum()
    loss.backward()
    optimizer.step()
    torch.testing.assert_close(torch.ones(2), torch.ones(2))
    assert integrity.tampered() == []
    integrity.verify()


@pytest.mark.parametrize("target, name, replacement", [
    (torch, "allclose", lambda *a, **k: True),
    (torch, "equal", lambda *a, **k: True),
    (torch, "isclose", torch.eq),
    (torch.nn.functional, "dropout", lambda x, *a, **k: x),
    (torch.Tensor, "sum", lambda self, *a, **k: 0),  # shadows the inherited method
    (torch.nn.Module, "train", lambda self, mode=True: self),
    (math, "isclose", lambda *a, **k: True),
])
def test_replaced_function_is_refused(integrity, monkeypatch, target, name, replacement):
    """Does verify() name a replaced function in its error, with the course's wording?"""
    label = {torch: "torch", torch.nn.functional: "torch.nn.functional", torch.Tensor: "torch.Tensor",
             torch.nn.Module: "torch.nn.Module", math: "math"}[target]
    monkeypatch.setattr(target, name, replacement)
    expected = message(f"{label}.{name}")
    assert expected in integrity.tampered()
    with pytest.raises(integrity.TamperingError, match=expected.replace(".", r"\.")):
        integrity.verify()


@pytest.mark.parametrize("name, replacement", [("isinstance", lambda *a: True), ("len", lambda x: 0)])
def test_replaced_builtin_is_refused(integrity, name, replacement):
    """Is a replaced builtin refused, and does replacing isinstance not blind the check itself?"""
    original = getattr(builtins, name)
    setattr(builtins, name, replacement)  # not monkeypatch: pytest itself needs the real one
    try:
        found = integrity.tampered()
    finally:
        setattr(builtins, name, original)
    assert message(name) in found


def test_replaced_judge_is_refused(integrity, monkeypatch):
    """Is a replaced package function (a judge, exercises.metrics.prf) refused, though its module was imported
    first?"""
    monkeypatch.setattr(prf, "judge", lambda requests, reply, *, source=None: None)
    assert message("dropout_kit.exercises.metrics.prf.judge") in integrity.tampered()


def test_replaced_reexport_is_refused(integrity, monkeypatch):
    """Is a function replaced where a package re-exports it (tuning.pick_rate, from tuning.stats) refused?"""
    monkeypatch.setattr(tuning, "pick_rate", lambda table, **kwargs: 0.3)
    assert message("dropout_kit.tuning.pick_rate") in integrity.tampered()


def test_replaced_reference_import_is_refused(integrity, monkeypatch):
    """Is a function a package module imported (choose_hints.standard_error) refused when replaced, and is a
    fake put in both places caught at the module it came from?"""
    def fake(row, metric="val_acc"):
        return 0.0

    monkeypatch.setattr(choose_hints, "standard_error", fake)
    assert message("dropout_kit.exercises.metrics.choose_hints.standard_error") in integrity.tampered()
    monkeypatch.setattr(stats, "standard_error", fake)
    found = integrity.tampered()
    assert message("dropout_kit.tuning.stats.standard_error") in found
    assert message("dropout_kit.exercises.metrics.choose_hints.standard_error") not in found


def test_package_imports_are_read_from_the_file(integrity):
    """Does the import reader find the top-level `from dropout_kit... import` names, aliases included?"""
    imports = integrity._package_imports(Path(choose.__file__))
    assert imports["challenge"] == ("dropout_kit.exercises.metrics.choose_tables", "challenge")
    assert imports["hints"] == ("dropout_kit.exercises.metrics", "choose_hints")
    assert "np" not in imports  # not from the package


def test_swapped_code_is_refused(integrity, monkeypatch):
    """Is a package function whose __code__ was swapped in place refused (same object, other code)?"""
    monkeypatch.setattr(prf.judge, "__code__", (lambda requests, reply, *, source=None: None).__code__)
    assert message("dropout_kit.exercises.metrics.prf.judge") in integrity.tampered()


def test_lesson_module_is_checked_against_its_file(integrity, tmp_path, monkeypatch):
    """Are the functions of a module passed to verify() compared with its source file?"""
    (tmp_path / "lesson_checks.py").write_text("def check(fn):\n    return fn(1) == 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import lesson_checks

    integrity.verify(lesson_checks)
    monkeypatch.setattr(lesson_checks.check, "__code__", (lambda fn: True).__code__)
    with pytest.raises(integrity.TamperingError, match=r"lesson_checks\.check was replaced"):
        integrity.verify("lesson_checks")


def test_verify_rejects_non_modules(integrity):
    """Does verify() say what it takes when given something else?"""
    with pytest.raises(TypeError, match="verify\\(\\) takes modules or names of imported modules"):
        integrity.verify(42)
