"""Can this machine run the sandbox? ``available`` and ``require`` start a trivial one to find out."""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dropout_kit.errors import SandboxUnavailable
from dropout_kit.sandbox import policy as sandbox_policy

INSTALL = "install it with `apt-get install bubblewrap` (the Debian/Ubuntu package bubblewrap)"
ESCAPE = ("or grade without the sandbox with --no-sandbox (the learners' code then runs with the "
          "grader's rights and sees the whole course: only for submissions you trust)")


@dataclass(frozen=True)
class Support:
    """What this machine's bubblewrap can do: its path, and whether it can forbid nested user namespaces."""

    bwrap: str
    disable_userns: bool


def available() -> bool:
    """Whether bwrap is installed and a trivial sandbox runs here."""
    try:
        require()
    except SandboxUnavailable:
        return False
    return True


def require() -> Support:
    """This machine's sandbox support; raises ``SandboxUnavailable`` naming the remedy."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed or not on PATH, and grading starts every learner's "
            f"kernel in a bubblewrap sandbox: {INSTALL}, {ESCAPE}.")
    return _probe(bwrap)


@functools.lru_cache(maxsize=None)
def _probe(bwrap: str) -> Support:
    """Run Python in the real sandbox once, with nested user namespaces forbidden if bwrap can."""
    failures = []
    for disable_userns in (True, False):
        failure = _try(bwrap, disable_userns=disable_userns)
        if failure is None:
            return Support(bwrap, disable_userns)
        failures.append(failure)
    raise SandboxUnavailable(
        f"bubblewrap ({bwrap}) is installed but cannot create the sandbox's namespaces on this "
        f"machine; bwrap said: {failures[-1]}. Containers often forbid user namespaces: allow them "
        "(e.g. sysctl kernel.unprivileged_userns_clone=1, or a container seccomp/AppArmor profile "
        f"that permits them), {ESCAPE}.")


def _try(bwrap: str, *, disable_userns: bool) -> str | None:
    """None if a sandboxed ``python -c pass`` succeeds, else what went wrong."""
    with tempfile.TemporaryDirectory(prefix="dropout-sandbox-probe-") as folder:
        folder = Path(folder).resolve()
        identity = sandbox_policy.write_identity(folder / "etc")
        argv = sandbox_policy.bwrap_argv(
            bwrap, [sys.executable, "-I", "-S", "-c", "pass"], workdir=folder, ipc_dir=folder,
            identity=identity, policy=sandbox_policy.Policy(), disable_userns=disable_userns)
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{type(exc).__name__}: {exc}"
    if done.returncode == 0:
        return None
    return " ".join(done.stderr.split())[-500:] or f"exit status {done.returncode}"
