"""Running code in a learner's kernel and keeping its outputs safe and small.

Every message from a learner's kernel is untrusted: the kernel holds the connection's HMAC
key, so learner code can forge any message. ``run_code`` therefore treats messages as data:
it keeps only the outputs of the request it sent (by parent message id), only safe output
types (plain text, PNG and JPEG images, streams, error texts), caps what it stores per cell
and counts every byte received, so that a flood ends the lesson instead of filling memory,
logs, notebooks and feedback. Probe replies (``exercises.kernel.MIME``) are set aside for
the judge, never stored as outputs. HTML, JavaScript, Markdown, SVG and widget outputs are
dropped: feedback is HTML, and a learner's ``<script>`` must never reach it.
"""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass, field

from nbformat import v4

from dropout_kit.exercises.kernel import MIME as PROBE_MIME

SAFE_DATA = ("text/plain", "image/png", "image/jpeg")
CELL_TEXT_CHARS = 20_000         # stored per cell, streams and text together
CELL_IMAGE_BYTES = 2 * 2**20     # stored per cell, base64 images together
FLOOD_BYTES = 64 * 2**20         # received over a whole lesson: past it the kernel is stopped
MAX_ERROR_CHARS = 2_000


@dataclass
class Budget:
    """What a lesson's kernel has sent so far; ``flooded`` once over ``limit`` bytes."""

    limit: int = FLOOD_BYTES
    received: int = 0

    @property
    def flooded(self) -> bool:
        return self.received > self.limit


@dataclass
class RunResult:
    """What one request to the kernel produced."""

    outputs: list = field(default_factory=list)   # sanitized nbformat outputs
    replies: list = field(default_factory=list)   # probe reply texts, in order
    error: str = ""                               # "ename: evalue" of an error the kernel reported
    finished: bool = False                        # the kernel said it was idle again
    timed_out: bool = False
    died: bool = False                            # the kernel stopped answering for good
    truncated: bool = False


def _size(msg) -> int:
    content = msg.get("content", {})
    total = 0
    for value in (content.get("text"), content.get("evalue")):
        total += len(value) if isinstance(value, str) else 0
    for value in (content.get("data") or {}).values() if isinstance(content.get("data"), dict) else ():
        total += len(value) if isinstance(value, str) else len(str(value))
    tb = content.get("traceback")
    if isinstance(tb, list):
        total += sum(len(line) if isinstance(line, str) else 0 for line in tb)
    return total


class _Keeper:
    """Collects one cell's outputs under the per-cell caps."""

    def __init__(self, result: RunResult):
        self.result, self.text, self.images = result, 0, 0

    def text_room(self, text: str) -> str:
        room = max(0, CELL_TEXT_CHARS - self.text)
        if len(text) > room:
            self.result.truncated = True
            text = text[:room] + ("\n[output truncated by the grader]\n" if room or not self.text else "")
        self.text += len(text)
        return text

    def stream(self, name: str, text: str) -> None:
        if self.text >= CELL_TEXT_CHARS:
            self.result.truncated = True
            return
        last = self.result.outputs[-1] if self.result.outputs else None
        text = self.text_room(text)
        if last is not None and last.output_type == "stream" and last.name == name:
            last.text += text
        else:
            self.result.outputs.append(v4.new_output("stream", name=name, text=text))

    def data(self, kind: str, data: dict, count=None) -> None:
        kept = {}
        for mime in SAFE_DATA:
            value = data.get(mime)
            if not isinstance(value, str):
                continue
            if mime == "text/plain":
                kept[mime] = self.text_room(value)
            elif self.images + len(value) <= CELL_IMAGE_BYTES:
                kept[mime] = value
                self.images += len(value)
            else:
                self.result.truncated = True
        if not kept:
            dropped = sorted(m for m in data if m != PROBE_MIME)[:3]
            if not dropped:
                return
            kept["text/plain"] = self.text_room(f"[{', '.join(dropped)} output not kept by the grader]")
        if kind == "execute_result":
            self.result.outputs.append(v4.new_output("execute_result", data=kept, execution_count=count))
        else:
            self.result.outputs.append(v4.new_output("display_data", data=kept))

    def error(self, content: dict) -> None:
        ename = str(content.get("ename", "Error"))[:200]
        evalue = str(content.get("evalue", ""))[:MAX_ERROR_CHARS]
        tb = content.get("traceback") if isinstance(content.get("traceback"), list) else []
        lines = [self.text_room(str(line)[:MAX_ERROR_CHARS]) for line in tb[-20:]]
        self.result.error = f"{ename}: {evalue}".strip()
        self.result.outputs.append(v4.new_output("error", ename=ename, evalue=evalue, traceback=lines))


def run_code(client, code: str, timeout: float, budget: Budget, alive=None) -> RunResult:
    """Execute ``code`` in the kernel behind ``client`` and collect what it sends, under the caps.

    Waits until the kernel reports idle for this request, ``timeout`` seconds pass, the
    lesson's byte budget is spent, or ``alive()`` (default: the client's heartbeat) says the
    kernel is gone. Never raises on what the kernel sends.
    """
    alive = alive or client.is_alive
    result = RunResult()
    keeper = _Keeper(result)
    msg_id = client.execute(code, store_history=True, allow_stdin=False, stop_on_error=False)
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            result.timed_out = True
            return result
        try:
            msg = client.get_iopub_msg(timeout=min(left, 0.5))
        except queue.Empty:
            if not alive():
                result.died = True
                return result
            continue
        except Exception:  # a message that does not even deserialize: skip it
            continue
        if not isinstance(msg, dict) or msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        budget.received += _size(msg)
        if budget.flooded:
            result.truncated = True
            return result
        kind, content = msg.get("msg_type") or msg.get("header", {}).get("msg_type"), msg.get("content") or {}
        try:
            if kind == "status" and content.get("execution_state") == "idle":
                result.finished = True
                return result
            if kind == "stream":
                keeper.stream("stderr" if content.get("name") == "stderr" else "stdout", str(content.get("text", "")))
            elif kind in ("display_data", "execute_result") and isinstance(content.get("data"), dict):
                reply = content["data"].get(PROBE_MIME)
                if isinstance(reply, str):
                    result.replies.append(reply)
                else:
                    keeper.data(kind, content["data"], content.get("execution_count"))
            elif kind == "error":
                keeper.error(content)
        except Exception:  # a malformed message: ignore it rather than crash grading
            continue
