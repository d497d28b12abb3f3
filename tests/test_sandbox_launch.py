"""Tests of the sandbox's launcher: it joins cgroups, sets rlimits, then becomes the command."""

from __future__ import annotations

import errno
import signal
import subprocess
import sys

import pytest

from dropout_kit.sandbox import launch

SHOW_LIMITS = ("import resource; print([resource.getrlimit(getattr(resource, 'RLIMIT_' + n)) "
               "for n in ('AS', 'FSIZE', 'NOFILE', 'CORE')])")


def test_command_round_trips_through_parse():
    """Does the launcher read back exactly the cgroups, rlimits and command it was given?"""
    argv = launch.command(["bwrap", "--", "python"], rlimits={"AS": 5, "CORE": 0}, cgroups=["/a", "/b"])
    assert argv[:4] == [sys.executable, "-I", "-S", launch.__file__]
    assert launch.parse(argv[4:]) == (["/a", "/b"], {"AS": 5, "CORE": 0}, ["bwrap", "--", "python"])


@pytest.mark.parametrize("argv, message", [
    (["--cgroup", "/a"], "usage: launch.py"),
    (["--rlimit", "AS=5", "--"], "usage: launch.py"),
    (["--rlimit", "NPROC=5", "--", "x"], "NAME=BYTES with NAME in"),
    (["--rlimit", "AS=-5", "--", "x"], "NAME=BYTES with NAME in"),
    (["--colour", "red", "--", "x"], "unknown option '--colour'"),
    (["--cgroup", "--", "x"], "options come in pairs"),
])
def test_bad_arguments_are_named(argv, message):
    """Does a malformed launcher command line raise ValueError saying what is wrong?"""
    with pytest.raises(ValueError, match=message):
        launch.parse(argv)


def test_limits_hold_in_the_launched_command():
    """Does the command run with soft = hard rlimits as given?"""
    rlimits = {"AS": 8 << 30, "FSIZE": 1 << 20, "NOFILE": 100, "CORE": 0}
    done = subprocess.run(launch.command([sys.executable, "-c", SHOW_LIMITS], rlimits=rlimits, cgroups=[]),
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == str([(v, v) for v in rlimits.values()])


def test_any_program_launched_ignores_sigxfsz():
    """Does a program that is not Python (cat) start with SIGXFSZ ignored, so an over-size write fails
    with EFBIG rather than killing it?"""
    done = subprocess.run(launch.command(["/bin/cat", "/proc/self/status"], rlimits={}, cgroups=[]),
                          capture_output=True, text=True, check=True)
    ignored = int(next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("SigIgn:")), 16)
    assert ignored & (1 << (signal.SIGXFSZ - 1))


def test_a_write_past_the_file_limit_fails_with_efbig(tmp_path):
    """Does a write past RLIMIT_FSIZE fail with EFBIG (not kill the writer), leaving the file at the limit?"""
    code = ("import os\nfd = os.open('big', os.O_WRONLY | os.O_CREAT)\nn = 0\n"
            "try:\n    while True: n += os.write(fd, b'x' * 4096)\nexcept OSError as e: print(e.errno, n)")
    done = subprocess.run(launch.command([sys.executable, "-c", code], rlimits={"FSIZE": 10_000}, cgroups=[]),
                          capture_output=True, text=True, cwd=tmp_path, check=True)
    assert done.stdout.split() == [str(errno.EFBIG), "10000"]
    assert (tmp_path / "big").stat().st_size == 10_000


def test_launcher_joins_cgroups_with_the_pid_the_command_keeps(tmp_path):
    """Is the pid written to each cgroup.procs the command's own (the launcher execs, it does not fork)?"""
    groups = [tmp_path / "memory", tmp_path / "pids"]
    for group in groups:
        group.mkdir()
    done = subprocess.run(launch.command([sys.executable, "-c", "import os; print(os.getpid())"], rlimits={},
                                         cgroups=[str(g) for g in groups]),
                          capture_output=True, text=True, check=True)
    assert [(g / "cgroup.procs").read_text() for g in groups] == [done.stdout.strip()] * 2


def test_launcher_failure_exits_127_and_says_why(tmp_path):
    """Does a launcher that cannot join a cgroup exit 127 with its reason on stderr (the kernel's log)?"""
    done = subprocess.run(launch.command(["/bin/true"], rlimits={}, cgroups=[str(tmp_path / "missing")]),
                          capture_output=True, text=True)
    assert done.returncode == 127
    assert done.stderr.startswith("dropout_kit sandbox launcher: FileNotFoundError")

