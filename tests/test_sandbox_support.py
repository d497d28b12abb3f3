"""Tests of ``available`` and ``require``: what the grader hears when the sandbox cannot run."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from dropout_kit import sandbox
from dropout_kit.errors import DropoutKitError, SandboxUnavailable


@pytest.fixture
def no_bwrap(tmp_path, monkeypatch):
    """A PATH on which no bwrap is found."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_missing_bwrap_names_the_package_and_the_escape_hatch(no_bwrap):
    """Without bwrap, does require() raise SandboxUnavailable naming apt-get install bubblewrap and
    --no-sandbox, and available() say False?"""
    with pytest.raises(SandboxUnavailable) as caught:
        sandbox.require()
    assert isinstance(caught.value, DropoutKitError)
    assert str(caught.value) == (
        "bubblewrap (bwrap) is not installed or not on PATH, and grading starts every learner's kernel "
        "in a bubblewrap sandbox: install it with `apt-get install bubblewrap` (the Debian/Ubuntu "
        "package bubblewrap), or grade without the sandbox with --no-sandbox (the learners' code then "
        "runs with the grader's rights and sees the whole course: only for submissions you trust).")
    assert sandbox.available() is False


def test_start_kernel_without_bwrap_fails_before_making_anything(no_bwrap, workdir):
    """Does start_kernel refuse at once without bwrap, leaving no private folder behind?"""
    before = set(Path(tempfile.gettempdir()).glob("dropout-sandbox-*"))
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        sandbox.start_kernel(workdir, sandbox.Policy())
    assert set(Path(tempfile.gettempdir()).glob("dropout-sandbox-*")) == before


def test_bwrap_that_cannot_make_namespaces_is_reported_with_its_words(tmp_path, monkeypatch):
    """When bwrap exists but fails (as in a container without user namespaces), does the error say so,
    quote bwrap, and give the remedies?"""
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    with pytest.raises(SandboxUnavailable) as caught:
        sandbox.require()
    message = str(caught.value)
    assert message.startswith(f"bubblewrap ({fake}) is installed but cannot create the sandbox's "
                              "namespaces on this machine; bwrap said: bwrap: No permissions to create "
                              "new namespace. ")
    assert "unprivileged_userns_clone" in message and "--no-sandbox" in message
    assert sandbox.available() is False


def test_this_machine_runs_the_sandbox(bwrap_sandbox):
    """Where bwrap works, is the sandbox available, forbidding nested user namespaces where bwrap can?"""
    assert sandbox.available() is True
    assert sandbox.require() == bwrap_sandbox
    assert Path(bwrap_sandbox.bwrap).name == "bwrap"
