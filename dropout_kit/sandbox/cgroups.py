"""cgroup limits of one sandbox: memory and pids, on cgroup v2 or v1, wherever this process may create them.

``Cgroups.create`` makes a child of this process's own cgroup in each hierarchy that offers
``memory`` or ``pids`` (v2: one folder for both, if the parent's ``cgroup.subtree_control``
enables them; v1: one folder per hierarchy) and writes the limits; the launcher moves itself in
before it execs bwrap. A controller that no writable hierarchy offers is just absent (``has``):
the kernel module then watches that limit with the watchdog instead.
"""

from __future__ import annotations

import errno
import os
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from dropout_kit.sandbox.policy import MiB, Limits

CONTROLLERS = ("memory", "pids")
PREFIX = "dropout-sandbox-"


@dataclass(frozen=True)
class Group:
    """One cgroup folder of the sandbox and the controllers it limits."""

    path: Path
    version: int
    controllers: tuple[str, ...]


def locate(cgroup_text: str, mountinfo_text: str) -> dict[str, tuple[Path, int]]:
    """Where this process's cgroup is, per controller: {controller: (folder, cgroup version)}.

    ``cgroup_text`` and ``mountinfo_text`` are /proc/self/cgroup and /proc/self/mountinfo.
    """
    mounts: dict[str, tuple[str, str]] = {}  # controller ("" for v2) -> (mount point, root)
    for line in mountinfo_text.splitlines():
        fields = line.split()
        if "-" not in fields:
            continue
        tail = fields[fields.index("-") + 1:]
        if tail and tail[0] == "cgroup2":
            mounts.setdefault("", (fields[4], fields[3]))
        elif tail and tail[0] == "cgroup" and len(tail) > 2:
            for option in tail[2].split(","):
                if option in CONTROLLERS:
                    mounts.setdefault(option, (fields[4], fields[3]))
    found: dict[str, tuple[Path, int]] = {}
    for line in cgroup_text.splitlines():
        number, names, path = line.split(":", 2)
        keys = [""] if number == "0" and not names else [n for n in names.split(",") if n in CONTROLLERS]
        for key in keys:
            if key not in mounts:
                continue
            mount_point, root = mounts[key]
            if root != "/" and path.startswith(root):
                path = path[len(root):]
            folder = Path(mount_point) / path.lstrip("/")
            if key:
                found[key] = (folder, 1)
                continue
            enabled = _read(folder / "cgroup.subtree_control").split()
            found.update({c: (folder, 2) for c in CONTROLLERS if c in enabled})
    return found


class Cgroups:
    """The cgroups of one sandbox (perhaps none): their limits, findings, killing and removal."""

    def __init__(self, groups: list[Group], limits: Limits):
        self.groups, self.limits = groups, limits

    @classmethod
    def create(cls, limits: Limits, *, proc: Path = Path("/proc/self")) -> Cgroups:
        """New cgroups for one sandbox with ``limits`` written; none where no hierarchy is writable."""
        try:
            where = locate((proc / "cgroup").read_text(), (proc / "mountinfo").read_text())
        except OSError:
            where = {}
        parents: dict[tuple[Path, int], list[str]] = {}
        for controller, place in where.items():
            parents.setdefault(place, []).append(controller)
        name = f"{PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        groups = []
        for (parent, version), controllers in parents.items():
            _remove_stale(parent)
            group = Group(parent / name, version, tuple(sorted(controllers)))
            try:
                group.path.mkdir()
            except OSError:
                continue  # not writable here: that limit falls to the watchdog
            try:
                _write_limits(group, limits)
            except OSError:
                group.path.rmdir()
                continue
            groups.append(group)
        return cls(groups, limits)

    def has(self, controller: str) -> bool:
        """Whether a cgroup of this sandbox enforces ``controller`` ("memory" or "pids")."""
        return any(controller in g.controllers for g in self.groups)

    def folders(self) -> list[str]:
        """The folders the launcher joins."""
        return [str(g.path) for g in self.groups]

    def findings(self) -> list[str]:
        """The limits this sandbox reached, as the kernel's counters tell."""
        found = []
        for group in self.groups:
            if "pids" in group.controllers:
                refused = _count(group.path / "pids.events", "max")
                if refused:
                    found.append(f"processes: the sandbox reached its limit of {self.limits.processes} "
                                 f"processes and threads (forks refused: {refused})")
            if "memory" in group.controllers:
                events = "memory.events" if group.version == 2 else "memory.oom_control"
                killed = _count(group.path / events, "oom_kill")
                if killed:
                    found.append(f"memory: the sandbox reached its limit of "
                                 f"{self.limits.memory_bytes / MiB:.0f} MiB (out-of-memory kills: {killed})")
        return found

    def peaks(self) -> dict[str, int]:
        """The most memory (bytes) and tasks the sandbox used so far, where its cgroups record them."""
        found = {}
        for group in self.groups:
            if "memory" in group.controllers:
                name = "memory.peak" if group.version == 2 else "memory.max_usage_in_bytes"
                found["memory_bytes"] = int(_read(group.path / name) or 0)
            if "pids" in group.controllers and (group.path / "pids.peak").exists():
                found["processes"] = int(_read(group.path / "pids.peak") or 0)
        return {k: v for k, v in found.items() if v}

    def pids(self) -> set[int]:
        """Every process still in the sandbox's cgroups."""
        return {int(p) for g in self.groups for p in _read(g.path / "cgroup.procs").split()}

    def kill(self) -> None:
        """SIGKILL every process in the sandbox's cgroups."""
        for group in self.groups:
            if (group.path / "cgroup.kill").exists():
                _write(group.path / "cgroup.kill", "1")
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def remove(self, timeout: float = 10.0) -> list[Path]:
        """Kill what is left and remove the cgroups; returns those still busy after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        left = list(self.groups)
        while left:
            self.kill()
            for group in list(left):
                try:
                    group.path.rmdir()
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    if exc.errno != errno.EBUSY:
                        raise
                    continue
                left.remove(group)
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        return [g.path for g in left]


def _write_limits(group: Group, limits: Limits) -> None:
    folder = group.path
    if "memory" in group.controllers:
        if group.version == 2:
            _write(folder / "memory.max", str(limits.memory_bytes))
            _write_optional(folder / "memory.swap.max", "0")
        else:
            _write(folder / "memory.limit_in_bytes", str(limits.memory_bytes))
            # Memory + swap no larger than memory: the sandbox cannot swap (absent without swap).
            _write_optional(folder / "memory.memsw.limit_in_bytes", str(limits.memory_bytes))
    if "pids" in group.controllers:
        _write(folder / "pids.max", str(limits.processes))


def _remove_stale(parent: Path) -> None:
    """Remove empty sandbox cgroups whose grader process is gone (it crashed before cleaning up)."""
    for folder in parent.glob(f"{PREFIX}*"):
        owner = folder.name[len(PREFIX):].split("-")[0]
        if not owner.isdigit():
            continue
        try:
            os.kill(int(owner), 0)
        except ProcessLookupError:
            try:
                folder.rmdir()
            except OSError:
                pass  # still has processes, or not ours to remove
        except PermissionError:
            pass  # alive, another user's


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _write(path: Path, text: str) -> None:
    with open(path, "w") as file:
        file.write(text)


def _write_optional(path: Path, text: str) -> None:
    if path.exists():
        try:
            _write(path, text)
        except OSError:
            pass  # e.g. swap accounting off: there is no swap to limit


def _count(path: Path, key: str) -> int:
    """The value of ``key`` in a flat-keyed cgroup file ("key value" lines); 0 when absent."""
    for line in _read(path).splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return 0
