"""Run one piece of code in a started kernel and collect what it printed and raised."""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass

from dropout_kit.errors import SandboxError


class KernelDiedError(SandboxError):
    """The kernel process ended while a cell ran (killed at a limit, or the code ended Python)."""


@dataclass(frozen=True)
class CellResult:
    """What a cell did: "ok" or "error", its streams, and the exception's name and value if any."""

    status: str
    stdout: str
    stderr: str
    ename: str | None = None
    evalue: str | None = None


def run_cell(kernel, code: str, timeout: float = 30.0) -> CellResult:
    """Execute ``code`` in ``kernel`` (a ``SandboxedKernel``) and wait for its outcome.

    Raises ``TimeoutError`` after ``timeout`` s (the cell keeps running: interrupt or stop the
    kernel) and ``KernelDiedError`` if the kernel dies meanwhile.
    """
    client = kernel.client
    msg_id = client.execute(code, store_history=False, allow_stdin=False)
    deadline = time.monotonic() + timeout
    streams = {"stdout": [], "stderr": []}
    # The kernel's "idle" status on IOPub follows all the cell's output; then comes the reply.
    for channel in (client.get_iopub_msg, client.get_shell_msg):
        while True:
            message = _next(kernel, channel, deadline, timeout)
            if message is None or message["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                streams.setdefault(content["name"], []).append(content["text"])
            elif (kind == "status" and content["execution_state"] == "idle") or kind == "execute_reply":
                break
    return CellResult(content["status"], "".join(streams["stdout"]), "".join(streams["stderr"]),
                      content.get("ename"), content.get("evalue"))


def _next(kernel, channel, deadline: float, timeout: float) -> dict | None:
    """The next message on ``channel``, or None after 0.1 s; raises if the time is up or the kernel died."""
    if time.monotonic() > deadline:
        raise TimeoutError(f"the cell ran past {timeout:g} s")
    try:
        return channel(timeout=0.1)
    except queue.Empty:
        if not kernel.is_alive():
            raise KernelDiedError("the kernel died while running the cell; findings: "
                                  f"{kernel.findings or 'none'}") from None
        return None
