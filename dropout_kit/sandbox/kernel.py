"""Start a learner's kernel in its sandbox, and stop it with everything it started."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import psutil
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.utils import run_sync

from dropout_kit.errors import SandboxError
from dropout_kit.sandbox import launch, support
from dropout_kit.sandbox import policy as sandbox_policy
from dropout_kit.sandbox.cgroups import Cgroups
from dropout_kit.sandbox.policy import MiB, Policy
from dropout_kit.sandbox.watchdog import Watchdog, namespace_of

KERNEL_ARGS = ["-m", "ipykernel_launcher", "-f", "{connection_file}",
               # C-level output (os.write(2, ...), extension modules) goes to the capped log
               # file, not into the notebook's outputs.
               "--IPKernelApp.capture_fd_output=False", "--HistoryManager.enabled=False"]
TAIL_KEPT = 64 * 1024  # bytes of the log kept in memory when stop() removes the private folder


class _Manager(KernelManager):
    """A KernelManager whose interrupt reaches the kernel inside the sandbox.

    bwrap starts the kernel in a session of its own, so jupyter_client's signal to the launched
    process group would stop at bwrap; nbclient's timeout handling calls ``interrupt_kernel``.
    """

    sandboxed_kernel: psutil.Process | None = None

    async def _async_signal_kernel(self, signum: int) -> None:
        if self.sandboxed_kernel is None:
            await super()._async_signal_kernel(signum)
            return
        try:
            self.sandboxed_kernel.send_signal(signum)
        except psutil.NoSuchProcess:
            pass

    signal_kernel = run_sync(_async_signal_kernel)

    async def _async_restart_kernel(self, now: bool = False, newports: bool = False, **kw) -> None:
        # A restart would start a second sandbox behind this object's back (its cgroups, its watchdog).
        raise SandboxError("a learner's kernel is not restarted in place: stop it and start a new one")

    restart_kernel = run_sync(_async_restart_kernel)


class SandboxedKernel:
    """A learner's kernel started by ``start_kernel``; as a context manager it stops on exit.

    ``client`` is a started ``BlockingKernelClient``; ``manager`` the ``KernelManager`` (hand it to
    nbclient); ``log_path`` the kernel's own stdout/stderr (until ``stop``).
    """

    def __init__(self, workdir: Path, policy: Policy):
        self.workdir, self.policy = workdir, policy
        # Connection file, sockets, log: a private folder the learner's folder cannot reach.
        self.private = Path(tempfile.mkdtemp(prefix="dropout-sandbox-")).resolve()
        self.log_path = self.private / "kernel.log"
        self.manager: _Manager | None = None
        self.client = None
        self._cgroups = Cgroups([], policy.limits)
        self._watchdog: Watchdog | None = None
        self._init: psutil.Process | None = None  # the sandbox's PID namespace's init (bwrap)
        self._findings: list[str] = []
        self._tail = b""
        self._stopped = False

    def _start(self, timeout: float) -> None:
        ipc = self.private / "ipc"
        ipc.mkdir()
        if self.policy.isolate:
            found = support.require()
            if self.policy.cgroups:
                self._cgroups = Cgroups.create(self.policy.limits)
            inner = sandbox_policy.bwrap_argv(
                found.bwrap, [sys.executable, *KERNEL_ARGS], workdir=self.workdir, ipc_dir=ipc,
                identity=sandbox_policy.write_identity(self.private / "etc"), policy=self.policy,
                disable_userns=found.disable_userns)
            argv = launch.command(inner, rlimits=self.policy.limits.rlimits(), cgroups=self._cgroups.folders())
            # Over IPC socket files: the kernel has a network namespace of its own.
            manager = _Manager(transport="ipc", ip=str(ipc / "kernel"), connection_file=str(ipc / "kernel.json"))
            env = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8"}  # bwrap's only
        else:
            argv = [sys.executable, *KERNEL_ARGS]
            manager = _Manager(connection_file=str(ipc / "kernel.json"))
            env = sandbox_policy.host_env(self.policy)
        manager._kernel_spec = KernelSpec(argv=argv, display_name="Python 3 (dropout_kit sandbox)",
                                          language="python", interrupt_mode="signal")
        self.manager = manager
        with open(self.log_path, "wb") as log:
            manager.start_kernel(cwd=str(self.workdir), env=env, stdout=log, stderr=log)
        self.client = manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=timeout)
        if self.policy.isolate:
            self._watch()

    def _watch(self) -> None:
        """Find the kernel inside (for interrupts); start the watchdog for limits no cgroup holds."""
        outer = psutil.Process(self.manager.provisioner.pid)
        inits = outer.children()  # bwrap -> bwrap, the PID namespace's init -> the kernel
        kernels = inits[0].children() if inits else []
        if not kernels:
            raise SandboxError("the sandbox's kernel process ended right after it started")
        self._init = inits[0]
        self.manager.sandboxed_kernel = min(kernels, key=lambda p: p.create_time())
        limits = self.policy.limits
        processes = None if self._cgroups.has("pids") else limits.processes
        memory = None if self._cgroups.has("memory") else limits.memory_bytes
        if processes or memory:
            self._watchdog = Watchdog(namespace_of(self._init.pid), self._kill, processes=processes,
                                      memory_bytes=memory)
            self._watchdog.start()

    def _kill(self) -> None:
        """SIGKILL the whole sandbox, and wait until it is gone.

        Killing the PID namespace's init first makes the kernel end every process in the
        namespace and refuse new forks there: one signal, however many processes a bomb made.
        """
        if self._init is not None:
            try:
                self._init.kill()
            except psutil.NoSuchProcess:
                pass
        pid = self.manager.provisioner.pid if self.manager and self.manager.provisioner else None
        if pid is not None:
            _kill_tree(pid, sandboxed=self.policy.isolate)
        self._cgroups.kill()

    def is_alive(self) -> bool:
        """Whether the kernel process is still running."""
        return bool(self.manager and not self._stopped and self.manager.is_alive())

    def interrupt(self) -> None:
        """Send SIGINT to the kernel process (a running cell raises KeyboardInterrupt)."""
        if self.is_alive():
            self.manager.interrupt_kernel()

    @property
    def findings(self) -> list[str]:
        """The limits the sandbox reached so far, one sentence each (kept after ``stop``)."""
        if self._stopped:
            return list(self._findings)
        found = [*(self._watchdog.findings if self._watchdog else []), *self._cgroups.findings()]
        try:
            log_size = self.log_path.stat().st_size
        except OSError:
            log_size = 0
        if self.policy.isolate and log_size >= self.policy.limits.file_bytes:
            found.append(f"output: the kernel's log reached its limit of "
                         f"{self.policy.limits.file_bytes / MiB:g} MiB; later writes failed (File too large)")
        return found

    def peaks(self) -> dict[str, int]:
        """Peak memory (``memory_bytes``) and tasks (``processes``) so far, where cgroups record them."""
        return {} if self._stopped else self._cgroups.peaks()

    def log_tail(self, max_bytes: int = 4096) -> str:
        """The last ``max_bytes`` of the kernel's own stdout/stderr (at most 64 KiB after ``stop``)."""
        if self._stopped:
            data = self._tail[-max_bytes:] if max_bytes > 0 else b""
        else:
            data = _read_tail(self.log_path, max_bytes)
        return data.decode("utf-8", errors="replace")

    def stop(self) -> None:
        """Kill the kernel and every process of its sandbox; remove its cgroups and files. Idempotent."""
        if self._stopped:
            return
        if self._watchdog is not None:
            self._watchdog.stop()
        if self.client is not None:
            self.client.stop_channels()
        self._kill()
        if self.manager is not None and self.manager.has_kernel:
            self.manager.shutdown_kernel(now=True)  # reaps it, removes connection and socket files
        self._findings = self.findings
        self._stopped = True
        busy = self._cgroups.remove()
        if busy:
            self._findings.append(f"cleanup: cgroups still busy after stop, left in place: {busy}")
        self._tail = _read_tail(self.log_path, TAIL_KEPT)
        shutil.rmtree(self.private, ignore_errors=True)

    def __enter__(self) -> SandboxedKernel:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def start_kernel(workdir: Path, policy: Policy = Policy(), startup_timeout: float = 60.0) -> SandboxedKernel:
    """Start a kernel whose cwd is ``workdir``, under ``policy``; it is ready when this returns.

    Raises ``SandboxUnavailable`` if the policy isolates and bwrap cannot, and ``SandboxError``
    (with the end of the kernel's log) if the kernel does not start; nothing is left running.
    """
    workdir = Path(workdir).resolve()
    if not workdir.is_dir():
        raise SandboxError(f"the kernel's folder {workdir} does not exist: create it and put the "
                           "learner's notebook in it")
    if policy.isolate:
        support.require()
    kernel = SandboxedKernel(workdir, policy)
    try:
        kernel._start(startup_timeout)
    except BaseException as exc:
        kernel.stop()
        if not isinstance(exc, Exception):
            raise
        where = "in its sandbox " if policy.isolate else ""
        raise SandboxError(f"the learner's kernel did not start {where}({type(exc).__name__}: {exc}); "
                           f"the end of its log:\n{kernel.log_tail()}") from exc
    return kernel


def _kill_tree(pid: int, *, sandboxed: bool) -> None:
    """SIGKILL a process and everything below it, and wait for them to be gone.

    In a sandbox the root is bwrap, which exits once its child, the PID namespace's init, is
    killed: it reaps that child at once, where an orphan would wait for the host's init.
    """
    try:
        root = psutil.Process(pid)
        below = root.children(recursive=True)
    except psutil.NoSuchProcess:
        return
    for process in below if sandboxed else [root, *below]:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    try:
        root.wait(timeout=2)
    except psutil.TimeoutExpired:
        root.kill()
    psutil.wait_procs([root, *below], timeout=5)


def _read_tail(path: Path, max_bytes: int) -> bytes:
    try:
        with open(path, "rb") as file:
            size = file.seek(0, os.SEEK_END)
            file.seek(max(0, size - max(0, max_bytes)))
            return file.read(max(0, max_bytes))
    except OSError:
        return b""
