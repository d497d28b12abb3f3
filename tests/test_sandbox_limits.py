"""Do the sandbox's limits hold against hostile cells, and does the grader learn which one was hit?

Each test starts its own sandboxed kernel with small limits, runs the attack, and checks the
outcome inside (the exception), outside (files, processes) and in ``findings``. Where this
machine has writable cgroups the default tests exercise them; the ``cgroups=False`` variants
exercise the watchdog that other machines fall back to.
"""

from __future__ import annotations

import errno
import os
import random
import subprocess
import time

import psutil
import pytest

from dropout_kit import sandbox
from dropout_kit.sandbox.cells import KernelDiedError, run_cell
from dropout_kit.sandbox.policy import GiB, MiB, Limits, Policy

pytestmark = pytest.mark.sandbox

# A child of the kernel becomes a fork bomb: every process forks at each of 8 steps, so the
# process count doubles each step up to 2**8 = 256 (a ceiling that spares the machine should the
# limit fail; the limit in the tests is 64). The kernel waits, then counts what it can see.
FORK_BOMB = """\
import os, time
if os.fork() == 0:
    for _ in range(8):
        try:
            os.fork()
        except OSError:
            pass
    time.sleep(60)
    os._exit(0)
time.sleep(1)
print(sum(name.isdigit() for name in os.listdir('/proc')))
"""
MEMORY_HOG = "x = b'1' * (1 << 30)  # a GiB, every page touched\nprint('survived')"


def _start(workdir, **limits) -> sandbox.SandboxedKernel:
    cgroups = limits.pop("cgroups", True)
    return sandbox.start_kernel(workdir, Policy(limits=Limits(**limits), cgroups=cgroups))


def _family(kernel) -> list[psutil.Process]:
    """Every process of the sandbox, seen from the host."""
    return psutil.Process(kernel.manager.provisioner.pid).children(recursive=True)


def _pid_namespace(kernel) -> str:
    return os.readlink(f"/proc/{kernel.manager.sandboxed_kernel.pid}/ns/pid")


def _in_namespace(namespace: str) -> list[int]:
    """The host's processes in the given PID namespace."""
    found = []
    for pid in psutil.pids():
        try:
            if os.readlink(f"/proc/{pid}/ns/pid") == namespace:
                found.append(pid)
        except OSError:
            pass
    return found


def test_fork_bomb_is_contained(bwrap_sandbox, workdir):
    """Is a fork bomb held at the process limit (forks refused by the pids cgroup, or the sandbox
    killed by the watchdog), with the finding recorded, nothing left after stop, and the host able
    to start processes?"""
    with _start(workdir, processes=64) as kernel:
        namespace = _pid_namespace(kernel)
        try:
            result = run_cell(kernel, FORK_BOMB, timeout=30)
        except KernelDiedError:
            result = None  # the watchdog killed the sandbox
        else:
            assert result.status == "ok" and int(result.stdout) <= 64
        assert kernel.findings and kernel.findings[0].startswith(
            "processes: the sandbox reached its limit of 64 processes and threads")
    assert _in_namespace(namespace) == []
    assert subprocess.run(["true"]).returncode == 0


def test_fork_bomb_without_cgroups_is_killed_by_the_watchdog(bwrap_sandbox, workdir):
    """Without cgroups, does the watchdog kill a fork-bombing sandbox and say why?"""
    with _start(workdir, processes=64, cgroups=False) as kernel:
        namespace = _pid_namespace(kernel)
        with pytest.raises(KernelDiedError):
            run_cell(kernel, FORK_BOMB, timeout=30)
        assert len(kernel.findings) == 1
        assert kernel.findings[0].startswith("processes: the sandbox reached its limit of 64 processes and threads (")
        assert kernel.findings[0].endswith("(more than 64 counted); the watchdog killed it")
        assert _in_namespace(namespace) == []


@pytest.mark.parametrize("cgroups", [True, False], ids=["cgroup-or-watchdog", "watchdog"])
def test_memory_hog_is_stopped(bwrap_sandbox, workdir, cgroups):
    """Is a cell that fills 1 GiB under a 256 MiB memory limit killed, with a memory finding?"""
    with _start(workdir, memory_bytes=256 * MiB, cgroups=cgroups) as kernel:
        with pytest.raises(KernelDiedError):
            run_cell(kernel, MEMORY_HOG, timeout=60)
        assert not kernel.is_alive()
        assert any(f.startswith("memory: the sandbox reached its limit of 256 MiB") for f in kernel.findings)


def test_address_space_limit_raises_memory_error(bwrap_sandbox, workdir):
    """Does reserving more than RLIMIT_AS raise MemoryError in the cell, the kernel surviving?"""
    with _start(workdir, address_space_bytes=4 * GiB) as kernel:
        result = run_cell(kernel, "bytearray(6 << 30)")
        assert result.ename == "MemoryError"
        assert run_cell(kernel, "print('alive')").stdout == "alive\n"


def test_file_larger_than_the_limit_cannot_be_written(bwrap_sandbox, workdir):
    """Does writing past file_bytes fail with EFBIG, leaving the file in workdir at exactly the limit?"""
    with _start(workdir, file_bytes=1 * MiB) as kernel:
        result = run_cell(kernel, "with open('big.bin', 'wb') as f:\n    f.write(b'x' * (2 << 20))")
        assert (result.ename, result.evalue) == ("OSError", f"[Errno {errno.EFBIG}] File too large")
        assert run_cell(kernel, "import os\nprint(os.path.getsize('big.bin'))").stdout == f"{1 * MiB}\n"
    assert not (workdir / "big.bin").exists()  # written inside the sandbox's own tmpfs


def test_workdir_is_full_at_its_size(bwrap_sandbox, workdir):
    """Do many files under the per-file limit fill the work folder at work_bytes (ENOSPC), not the host's disk?"""
    with _start(workdir, work_bytes=4 * MiB, file_bytes=2 * MiB) as kernel:
        result = run_cell(kernel, "for i in range(10):\n    open(f'part{i}.bin', 'wb').write(b'x' * (1 << 20))")
    assert (result.ename, result.evalue) == ("OSError", f"[Errno {errno.ENOSPC}] No space left on device")
    assert not any(p.name.startswith("part") for p in workdir.iterdir())


def test_tmp_is_full_at_its_size(bwrap_sandbox, workdir):
    """Does filling /tmp past tmp_bytes fail with ENOSPC?"""
    with _start(workdir, tmp_bytes=4 * MiB) as kernel:
        result = run_cell(kernel, "with open('/tmp/fill', 'wb') as f:\n    f.write(b'x' * (8 << 20))")
    assert (result.ename, result.evalue) == ("OSError", f"[Errno {errno.ENOSPC}] No space left on device")


def test_open_files_are_limited(bwrap_sandbox, workdir):
    """Does opening more files than open_files fail with EMFILE?"""
    with _start(workdir, open_files=64) as kernel:
        result = run_cell(kernel, "files = [open('/dev/null') for _ in range(100)]")
    assert (result.ename, result.evalue) == ("OSError", f"[Errno {errno.EMFILE}] Too many open files: '/dev/null'")


def test_flood_on_fd2_leaves_a_capped_log(bwrap_sandbox, workdir):
    """Does a flood written with os.write(2, ...) stop at file_bytes with EFBIG, the log never larger,
    a finding recorded, and log_tail bounded?"""
    flood = ("import os\nwritten, error = 0, None\ntry:\n    for _ in range(64):\n"
             "        written += os.write(2, b'x' * 65536)\nexcept OSError as e:\n    error = e.errno\n"
             "print(written, error)")
    with _start(workdir, file_bytes=1 * MiB) as kernel:
        written, error = run_cell(kernel, flood).stdout.split()
        size = kernel.log_path.stat().st_size
        assert int(error) == errno.EFBIG
        assert size == 1 * MiB and int(written) < 1 * MiB
        assert kernel.log_tail(100) == "x" * 100
        assert kernel.findings == ["output: the kernel's log reached its limit of 1 MiB; later writes failed "
                                   "(File too large)"]


def test_detached_grandchild_is_gone_after_stop(bwrap_sandbox, workdir):
    """Is a process the learner detached (setsid, then orphaned) running until stop() and gone after?"""
    seconds = f"{3600 + random.random():.6f}"  # tells our sleeper apart from any other
    cell = f"import subprocess\nsubprocess.run(['setsid', 'sh', '-c', 'sleep {seconds} &'])"
    with _start(workdir) as kernel:
        assert run_cell(kernel, cell).status == "ok"
        deadline = time.monotonic() + 10
        sleepers = []
        while not sleepers and time.monotonic() < deadline:
            sleepers = [p for p in _family(kernel) if p.cmdline() == ["sleep", seconds]]
            time.sleep(0.05)
        assert len(sleepers) == 1
        kernel_process = kernel.manager.sandboxed_kernel
        assert sleepers[0].ppid() != kernel_process.pid  # orphaned: adopted by the namespace's init
        assert psutil.Process(sleepers[0].pid).status() != psutil.STATUS_ZOMBIE
    assert not sleepers[0].is_running()
