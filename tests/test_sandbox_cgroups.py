"""Tests of the sandbox's cgroups: finding a writable hierarchy (v1 or v2), limits, findings, removal.

Fake cgroup trees in tmp_path cover v1 and v2 on any machine; the last tests use this machine's
real cgroups where it has writable ones (they skip, saying so, where it has none).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dropout_kit.sandbox import cgroups, launch
from dropout_kit.sandbox.cgroups import Cgroups, Group
from dropout_kit.sandbox.policy import MiB, Limits

V1_MOUNTINFO = """\
30 25 0:26 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory
31 25 0:27 / /sys/fs/cgroup/pids rw,relatime shared:10 - cgroup cgroup rw,pids
32 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:11 - cgroup cgroup rw,cpu,cpuacct
33 25 0:29 / /sys/fs/cgroup/unified rw,relatime shared:12 - cgroup2 cgroup2 rw
"""
V1_CGROUP = "8:pids:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/\n0::/\n"


def _fake_v2(tmp_path, enabled="memory pids"):
    """A cgroup v2 tree mounted at tmp_path/cg, this process in /grader; its /proc files."""
    grader = tmp_path / "cg" / "grader"
    grader.mkdir(parents=True)
    (grader / "cgroup.subtree_control").write_text(enabled + "\n")
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "mountinfo").write_text(f"40 25 0:30 / {tmp_path / 'cg'} rw - cgroup2 cgroup2 rw,nsdelegate\n")
    (proc / "cgroup").write_text("0::/grader\n")
    return grader, proc


def test_locate_v1_finds_memory_and_pids_hierarchies():
    """Does /proc/self/cgroup + mountinfo of a v1 machine give each controller's own folder?"""
    assert cgroups.locate(V1_CGROUP, V1_MOUNTINFO) == {
        "memory": (Path("/sys/fs/cgroup/memory/process_api/abc"), 1),
        "pids": (Path("/sys/fs/cgroup/pids"), 1),
    }


def test_locate_strips_the_mount_root():
    """Is a mount of a sub-tree (root /process_api) joined with the path below that root only?"""
    mountinfo = "30 25 0:26 /process_api /mnt/memory rw - cgroup cgroup rw,memory\n"
    assert cgroups.locate("4:memory:/process_api/abc\n", mountinfo) == {"memory": (Path("/mnt/memory/abc"), 1)}


def test_locate_v2_only_where_the_parent_enables_the_controllers(tmp_path):
    """Is a v2 controller offered only when the parent's cgroup.subtree_control enables it?"""
    grader, proc = _fake_v2(tmp_path, enabled="cpu pids")
    found = cgroups.locate((proc / "cgroup").read_text(), (proc / "mountinfo").read_text())
    assert found == {"pids": (grader, 2)}


def test_locate_with_no_cgroup_mounted():
    """Does a machine with no cgroup file system give nothing (the watchdog then holds the limits)?"""
    assert cgroups.locate("0::/\n", "22 1 8:1 / / rw - ext4 /dev/vda rw\n") == {}


def test_create_on_v2_writes_the_limits_in_one_folder(tmp_path):
    """Does a v2 tree get one child cgroup holding memory.max and pids.max from the limits?"""
    grader, proc = _fake_v2(tmp_path)
    made = Cgroups.create(Limits(memory_bytes=300 * MiB, processes=42), proc=proc)
    assert [(g.path.parent, g.version, g.controllers) for g in made.groups] == [(grader, 2, ("memory", "pids"))]
    folder = made.groups[0].path
    assert folder.name.startswith(f"dropout-sandbox-{os.getpid()}-")
    assert (folder / "memory.max").read_text() == str(300 * MiB)
    assert (folder / "pids.max").read_text() == "42"
    assert made.has("memory") and made.has("pids")
    assert made.folders() == [str(folder)]


def test_create_where_nothing_is_writable_gives_no_cgroups(tmp_path):
    """Does a hierarchy whose folder cannot be made give no cgroup, so has() says to watch instead?"""
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "mountinfo").write_text(f"30 25 0:26 / {tmp_path / 'absent'} rw - cgroup cgroup rw,pids\n")
    (proc / "cgroup").write_text("8:pids:/\n")
    made = Cgroups.create(Limits(), proc=proc)
    assert made.groups == [] and not made.has("pids") and made.findings() == []


def test_findings_read_the_kernels_counters(tmp_path):
    """Are refused forks (pids.events) and OOM kills (memory.events / memory.oom_control) reported?"""
    v2, v1 = tmp_path / "v2", tmp_path / "v1"
    v2.mkdir()
    v1.mkdir()
    (v2 / "pids.events").write_text("max 7\n")
    (v2 / "memory.events").write_text("low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n")
    (v1 / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    limits = Limits(memory_bytes=512 * MiB, processes=64)
    made = Cgroups([Group(v2, 2, ("memory", "pids")), Group(v1, 1, ("memory",))], limits)
    assert made.findings() == [
        "processes: the sandbox reached its limit of 64 processes and threads (forks refused: 7)",
        "memory: the sandbox reached its limit of 512 MiB (out-of-memory kills: 1)",
        "memory: the sandbox reached its limit of 512 MiB (out-of-memory kills: 2)",
    ]


def test_peaks_read_the_kernels_records(tmp_path):
    """Are peak memory (v1 max_usage_in_bytes, v2 memory.peak) and pids.peak read, absent ones left out?"""
    v1_memory, v1_pids, v2 = tmp_path / "m", tmp_path / "p", tmp_path / "v2"
    for folder in (v1_memory, v1_pids, v2):
        folder.mkdir()
    (v1_memory / "memory.max_usage_in_bytes").write_text("1048576\n")
    (v1_pids / "pids.peak").write_text("14\n")
    (v2 / "memory.peak").write_text("2097152\n")
    limits = Limits()
    assert Cgroups([Group(v1_memory, 1, ("memory",)), Group(v1_pids, 1, ("pids",))], limits).peaks() == {
        "memory_bytes": 1048576, "processes": 14}
    assert Cgroups([Group(v2, 2, ("memory", "pids"))], limits).peaks() == {"memory_bytes": 2097152}


def test_stale_cgroups_of_dead_graders_are_removed(tmp_path):
    """Are leftover sandbox cgroups of a grader that died removed, and a live grader's kept?"""
    grader, proc = _fake_v2(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    (grader / f"dropout-sandbox-{dead}-00").mkdir()
    (grader / f"dropout-sandbox-{os.getppid()}-00").mkdir()
    Cgroups.create(Limits(), proc=proc)
    assert not (grader / f"dropout-sandbox-{dead}-00").exists()
    assert (grader / f"dropout-sandbox-{os.getppid()}-00").exists()


@pytest.fixture
def real_cgroups():
    """Cgroups made on this machine with small limits; skips where no hierarchy is writable."""
    made = Cgroups.create(Limits(memory_bytes=200 * MiB, processes=20))
    if not made.groups:
        pytest.skip("no writable memory or pids cgroup on this machine (the watchdog holds the limits)")
    yield made
    made.remove()


def test_real_cgroups_hold_the_limits(real_cgroups):
    """Does the kernel read back the limits written into this machine's cgroups?"""
    for group in real_cgroups.groups:
        if "pids" in group.controllers:
            assert (group.path / "pids.max").read_text().strip() == "20"
        if "memory" in group.controllers:
            name = "memory.max" if group.version == 2 else "memory.limit_in_bytes"
            assert int((group.path / name).read_text()) == 200 * MiB


def test_remove_kills_what_is_inside_and_removes_the_folders(real_cgroups):
    """Does remove() kill a process that joined the cgroups through the launcher, then rmdir them?"""
    sleeper = subprocess.Popen(launch.command(["/bin/sleep", "60"], rlimits={}, cgroups=real_cgroups.folders()))
    deadline = time.monotonic() + 5
    while sleeper.pid not in real_cgroups.pids() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sleeper.pid in real_cgroups.pids()
    reaper = threading.Thread(target=sleeper.wait)  # reap it, as a parent does
    reaper.start()
    assert real_cgroups.remove() == []
    reaper.join(5)
    assert sleeper.returncode == -9
    assert not any(g.path.exists() for g in real_cgroups.groups)
