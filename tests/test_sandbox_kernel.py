"""Tests of ``start_kernel``'s API: a ready client, interrupts, stop, and failures that leave nothing behind."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import psutil
import pytest

from dropout_kit import sandbox
from dropout_kit.errors import SandboxError
from dropout_kit.sandbox import cgroups, policy
from dropout_kit.sandbox.cells import KernelDiedError, run_cell


def _leftovers() -> tuple[set, list, list]:
    """Private folders in the temp dir, child processes and sandbox cgroups of this test process."""
    where = cgroups.locate(Path("/proc/self/cgroup").read_text(), Path("/proc/self/mountinfo").read_text())
    groups = [p for folder, _ in where.values() for p in folder.glob(f"dropout-sandbox-{os.getpid()}-*")]
    return (set(Path(tempfile.gettempdir()).glob("dropout-sandbox-*")), psutil.Process().children(recursive=True),
            groups)


def _sandbox_processes(kernel) -> list[psutil.Process]:
    return psutil.Process(kernel.manager.provisioner.pid).children(recursive=True)


def test_plain_kernel_runs_without_bwrap(workdir, tmp_path, monkeypatch):
    """Does isolate=False start a plain local kernel, even with no bwrap on PATH, in workdir, importing
    the grader's dropout_kit and without the grader's secrets?"""
    empty = tmp_path / "no-bwrap"
    empty.mkdir()
    monkeypatch.setenv("PATH", f"{empty}:/usr/bin:/bin")
    monkeypatch.setenv("PGPASSWORD", "pw")
    with sandbox.start_kernel(workdir, sandbox.Policy(isolate=False)) as kernel:
        result = run_cell(kernel, "import os, dropout_kit\nprint(os.getcwd(), dropout_kit.__file__, "
                                  "'PGPASSWORD' in os.environ, os.getppid() == int(os.environ['JPY_PARENT_PID']))")
        assert kernel.is_alive()
    assert result.stdout.split() == [str(workdir), str(policy.package_dir() / "__init__.py"), "False", "True"]
    assert not kernel.is_alive()


def test_restart_is_refused(workdir):
    """Does the manager refuse restart_kernel (which would start a second sandbox unseen)?"""
    with sandbox.start_kernel(workdir, sandbox.Policy(isolate=False)) as kernel:
        with pytest.raises(SandboxError, match="not restarted in place: stop it and start a new one"):
            kernel.manager.restart_kernel()
        assert kernel.is_alive()


@pytest.mark.sandbox
@pytest.mark.parametrize("how", ["interrupt", "manager"])
def test_interrupt_reaches_the_kernel_inside(bwrap_sandbox, workdir, how):
    """Does k.interrupt(), and the manager's interrupt_kernel() that nbclient calls on a timeout,
    raise KeyboardInterrupt in a sandboxed cell, leaving the kernel alive?"""
    with sandbox.start_kernel(workdir) as kernel:
        send = kernel.interrupt if how == "interrupt" else kernel.manager.interrupt_kernel
        threading.Timer(0.5, send).start()
        result = run_cell(kernel, "import time\ntime.sleep(30)", timeout=20)
        assert result.ename == "KeyboardInterrupt"
        assert run_cell(kernel, "print(6 * 7)").stdout == "42\n"


@pytest.mark.sandbox
def test_stop_ends_everything_and_is_idempotent(bwrap_sandbox, workdir):
    """After stop(), twice, are the kernel, its sandbox's processes, cgroups and private folder gone,
    while findings and the log's tail can still be read?"""
    kernel = sandbox.start_kernel(workdir)
    processes, groups, private = _sandbox_processes(kernel), kernel._cgroups.groups, kernel.private
    assert private.is_dir() and processes
    run_cell(kernel, "import os\nos.write(1, b'said on fd 1\\n')")
    kernel.stop()
    kernel.stop()
    assert not kernel.is_alive()
    assert not any(p.is_running() for p in processes)
    assert not any(g.path.exists() for g in groups)
    assert not private.exists()
    assert kernel.findings == []
    assert kernel.log_tail().endswith("said on fd 1\n")
    assert kernel.log_tail(5) == "fd 1\n"


@pytest.mark.sandbox
def test_peaks_report_the_cgroups_records(bwrap_sandbox, workdir):
    """Does peaks() give the memory and tasks the sandbox's cgroups recorded, and nothing after stop?"""
    with sandbox.start_kernel(workdir) as kernel:
        if not kernel._cgroups.groups:
            pytest.skip("no writable cgroup on this machine: no peaks recorded")
        run_cell(kernel, "x = bytearray(50 << 20)\nx[::4096] = b'1' * len(x[::4096])")
        peaks = kernel.peaks()
    if kernel._cgroups.has("memory"):
        assert peaks["memory_bytes"] > 50 << 20
    assert kernel.peaks() == {}


@pytest.mark.sandbox
def test_log_tail_is_bounded(bwrap_sandbox, workdir):
    """Does log_tail(n) return the last n bytes of the kernel's own output?"""
    with sandbox.start_kernel(workdir) as kernel:
        run_cell(kernel, "import os\nos.write(2, b'abcdefghij')")
        assert kernel.log_tail(4) == "ghij"
        assert kernel.log_tail(0) == ""


@pytest.mark.sandbox
def test_a_kernel_that_crashes_at_start_is_reported_with_its_log(bwrap_sandbox, workdir):
    """Does a kernel that cannot start (a broken PYTHONHOME) raise SandboxError quoting its log, and
    leave no process, private folder or cgroup behind?"""
    before = _leftovers()
    with pytest.raises(SandboxError) as caught:
        sandbox.start_kernel(workdir, sandbox.Policy(env={"PYTHONHOME": "/nonexistent"}), startup_timeout=30)
    message = str(caught.value)
    assert message.startswith("the learner's kernel did not start in its sandbox (RuntimeError: Kernel died")
    assert "Fatal Python error" in message
    assert _leftovers() == before


@pytest.mark.sandbox
def test_a_kernel_that_is_not_ready_in_time_is_stopped(bwrap_sandbox, workdir, tmp_path):
    """Does a startup timeout raise SandboxError and leave nothing running? (The kernel is made slow by
    a sitecustomize in an extra read-only folder, which also shows such folders are visible.)"""
    slow = tmp_path / "slow"
    slow.mkdir()
    (slow / "sitecustomize.py").write_text("import time\ntime.sleep(20)\n")
    before = _leftovers()
    with pytest.raises(SandboxError, match=r"did not start in its sandbox \(RuntimeError: Kernel didn't respond"):
        sandbox.start_kernel(workdir, sandbox.Policy(read_only=(slow,), env={"PYTHONPATH": str(slow)}),
                             startup_timeout=2)
    assert _leftovers() == before


def test_missing_workdir_is_a_clear_error(tmp_path):
    """Does a workdir that does not exist raise SandboxError telling the caller to create it?"""
    with pytest.raises(SandboxError, match=r"does not exist: create it and put the learner's notebook in it"):
        sandbox.start_kernel(tmp_path / "absent", sandbox.Policy(isolate=False))


@pytest.mark.sandbox
def test_run_cell_reports_a_dead_kernel(bwrap_sandbox, workdir):
    """When the learner's code ends the kernel process, does run_cell raise KernelDiedError?"""
    with sandbox.start_kernel(workdir) as kernel:
        with pytest.raises(KernelDiedError, match="the kernel died while running the cell"):
            run_cell(kernel, "import os\nos._exit(3)", timeout=20)
        assert not kernel.is_alive()
