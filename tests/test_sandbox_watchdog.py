"""Tests of the watchdog on bare sandboxes (bwrap running Python, no kernel): it counts a PID
namespace's threads and memory, and kills over a limit."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest

from dropout_kit.sandbox import policy
from dropout_kit.sandbox.policy import MiB, Policy
from dropout_kit.sandbox.watchdog import Watchdog, count, memory, namespace_of

pytestmark = pytest.mark.sandbox
THREADS = ("import threading, time\n"
           "for _ in range({n}): threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
           "print('ready', flush=True); time.sleep(60)")
MEMORY = "import time\nx = b'1' * ({n} << 20)\nprint('ready', flush=True); time.sleep(60)"


@pytest.fixture
def spawn(bwrap_sandbox, tmp_path):
    """Run Python code in a bare sandbox; once it printed 'ready', return (its init, its PID namespace)."""
    started = []

    def start(code: str) -> tuple[psutil.Process, str]:
        argv = policy.bwrap_argv(bwrap_sandbox.bwrap, [sys.executable, "-c", code], workdir=tmp_path,
                                 ipc_dir=tmp_path, identity=policy.write_identity(tmp_path / "etc"),
                                 policy=Policy(), disable_userns=bwrap_sandbox.disable_userns)
        outer = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        started.append(outer)
        assert outer.stdout.readline() == "ready\n"
        init = psutil.Process(outer.pid).children()[0]
        return init, namespace_of(init.pid)

    yield start
    for outer in started:
        outer.kill()
        outer.wait()


def test_count_and_memory_cover_the_whole_namespace(spawn):
    """Does count() find the init and every thread of every process in the namespace, and memory()
    count what the processes share (Python's libraries) once, below the sum of resident sizes?"""
    child = THREADS.format(n=3).replace("print('ready', flush=True); ", "")
    init, namespace = spawn("import subprocess, sys, time\n"
                            f"subprocess.Popen([sys.executable, '-c', {child!r}])\n"
                            "time.sleep(1)\n" + THREADS.format(n=4))
    family = [init, *init.children(recursive=True)]
    tasks, members = count(namespace)
    assert tasks == 1 + (1 + 4) + (1 + 3)
    assert sorted(members) == sorted(p.pid for p in family)
    assert 5 * MiB < memory(members) < sum(p.memory_info().rss for p in family)


def test_count_stops_past_the_limit(spawn):
    """Does count() stop as soon as the count passes stop_above (so a bomb cannot make it slow)?"""
    _, namespace = spawn("import subprocess, sys\n"
                         "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
                         + THREADS.format(n=20))
    tasks, members = count(namespace, stop_above=5)
    assert tasks > 5 and len(members) < 3


def _acted(watchdog: Watchdog, seconds: float = 5.0) -> bool:
    watchdog.join(seconds)
    return not watchdog.is_alive()


def test_over_the_process_limit_it_kills_and_records_why(spawn):
    """Does a sandbox over its process+thread limit get killed, with the finding recorded?"""
    init, namespace = spawn(THREADS.format(n=5))
    watchdog = Watchdog(namespace, init.kill, processes=4)
    watchdog.start()
    assert _acted(watchdog)
    assert watchdog.findings == ["processes: the sandbox reached its limit of 4 processes and threads "
                                 "(more than 4 counted); the watchdog killed it"]
    deadline = time.monotonic() + 5
    while count(namespace) != (0, []) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert count(namespace) == (0, [])


def test_over_the_memory_limit_it_kills_and_records_why(spawn):
    """Does a sandbox whose memory passes the limit get killed, with the finding recorded?"""
    init, namespace = spawn(MEMORY.format(n=64))
    watchdog = Watchdog(namespace, init.kill, memory_bytes=32 * MiB)
    watchdog.start()
    assert _acted(watchdog)
    assert len(watchdog.findings) == 1
    assert watchdog.findings[0].startswith("memory: the sandbox reached its limit of 32 MiB (")
    assert watchdog.findings[0].endswith(" MiB in use); the watchdog killed it")


def test_under_the_limits_it_leaves_the_sandbox_alone(spawn):
    """Does a sandbox within its limits keep running, and does stop() end the watchdog?"""
    init, namespace = spawn(THREADS.format(n=2))
    kills = []
    watchdog = Watchdog(namespace, lambda: kills.append(1), processes=10, memory_bytes=1024 * MiB)
    watchdog.start()
    time.sleep(0.5)
    watchdog.stop()
    assert not watchdog.is_alive() and kills == [] and watchdog.findings == []
    assert init.is_running()


def test_it_ends_quietly_when_the_sandbox_ends(spawn):
    """Does the watchdog end by itself, without a finding, when the namespace empties?"""
    init, namespace = spawn(THREADS.format(n=0))
    watchdog = Watchdog(namespace, lambda: None, processes=10)
    watchdog.start()
    init.kill()
    assert _acted(watchdog)
    assert watchdog.findings == []
