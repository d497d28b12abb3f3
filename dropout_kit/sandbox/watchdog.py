"""The host-side watchdog: measures a sandbox's processes, threads and memory; kills it over a limit.

Used for a limit no cgroup enforces (no writable cgroup on this machine, or ``Policy.cgroups``
False). Every ``interval`` seconds it counts the tasks (processes and threads) in the sandbox's
PID namespace, stopping as soon as the count passes the limit, so one count costs at most a scan
of /proc and ``limit`` small reads however fast a fork bomb grows; then it kills the namespace's
init, and the kernel ends every process in the namespace and refuses new forks there. Memory is
measured by a second thread. A sandbox can exceed a limit for up to one interval (plus one
measurement) before it dies; a cgroup, where available, refuses the fork or the page itself.
"""

from __future__ import annotations

import os
import threading
from typing import Callable

from dropout_kit.sandbox.policy import MiB

PAGE = os.sysconf("SC_PAGE_SIZE")


def namespace_of(pid: int) -> str:
    """The PID namespace of process ``pid``, as /proc names it (e.g. "pid:[4026532301]")."""
    return os.readlink(f"/proc/{pid}/ns/pid")


def count(namespace: str, *, stop_above: int | None = None) -> tuple[int, list[int]]:
    """(processes + threads, pids of the processes) in PID namespace ``namespace``.

    Counting stops once it passes ``stop_above``. It reads nothing that a forking process
    locks (not its memory maps), so a fork bomb cannot stall it.
    """
    tasks, members = 0, []
    with os.scandir("/proc") as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                if os.readlink(f"/proc/{entry.name}/ns/pid") != namespace:
                    continue
                tasks += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                continue  # ended meanwhile
            members.append(int(entry.name))
            if stop_above is not None and tasks > stop_above:
                break
    return tasks, members


def memory(pids: list[int]) -> int:
    """Bytes of memory the processes use, as the sum of their proportional set sizes.

    A page that forked processes share counts once in the sum, where resident sizes would count
    it in each (and kill a forking kernel for memory it does not use). Reading it takes each
    process's memory-map lock, so it can wait on a process that forks: hence its own thread.
    """
    return sum(_memory(pid) for pid in pids)


def _memory(pid: int) -> int:
    """Proportional set size (Linux 4.14+), else resident size, of one process; 0 if it ended."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


class Watchdog:
    """Watch PID namespace ``namespace``; over a limit, record why and call ``kill`` once.

    Processes and memory are watched by a thread each, so that a slow memory reading never
    delays the count that stops a fork bomb.
    """

    def __init__(self, namespace: str, kill: Callable[[], None], *, processes: int | None = None,
                 memory_bytes: int | None = None, interval: float = 0.1):
        self.namespace, self.kill = namespace, kill
        self.processes, self.memory_bytes, self.interval = processes, memory_bytes, interval
        self.findings: list[str] = []
        self._done = threading.Event()
        self._lock = threading.Lock()
        checks = [c for c, limit in ((self._processes_over, processes), (self._memory_over, memory_bytes))
                  if limit is not None]
        self._threads = [threading.Thread(target=self._watch, args=(check,), daemon=True,
                                          name=f"sandbox watchdog {namespace}") for check in checks]

    def start(self) -> None:
        """Start watching."""
        for thread in self._threads:
            thread.start()

    def is_alive(self) -> bool:
        """Whether any of the watching threads still runs."""
        return any(thread.is_alive() for thread in self._threads)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the watching threads to end (each at most ``timeout`` s)."""
        for thread in self._threads:
            thread.join(timeout)

    def stop(self) -> None:
        """Stop watching (idempotent) and wait for the threads to end."""
        self._done.set()
        self.join()

    def _watch(self, check: Callable[[], str | None]) -> None:
        """Run ``check`` every interval until stopped, the namespace is empty, or a limit is passed."""
        while not self._done.wait(self.interval):
            try:
                finding = check()
            except _Empty:
                return
            if finding:
                with self._lock:
                    if self._done.is_set():
                        return
                    self.findings.append(finding)
                    self._done.set()
                self.kill()
                return

    def _processes_over(self) -> str | None:
        tasks, members = count(self.namespace, stop_above=self.processes)
        if not members:
            raise _Empty
        if tasks > self.processes:
            return (f"processes: the sandbox reached its limit of {self.processes} processes and "
                    f"threads (more than {self.processes} counted); the watchdog killed it")
        return None

    def _memory_over(self) -> str | None:
        members = count(self.namespace)[1]
        if not members:
            raise _Empty
        used = memory(members)
        if used > self.memory_bytes:
            return (f"memory: the sandbox reached its limit of {self.memory_bytes / MiB:.0f} MiB "
                    f"({used / MiB:.0f} MiB in use); the watchdog killed it")
        return None


class _Empty(Exception):
    """The namespace has no process left: nothing to watch."""
