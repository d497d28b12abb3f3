"""Autograde one learner's lesson in a child process, under a wall-clock limit.

The child runs nbgrader's autograde and generate_feedback; the parent waits at most
``CourseLimits.notebook_timeout`` seconds, then kills the child and its kernel. A hang, a
kernel that dies or a crash in nbgrader therefore costs one learner's lesson, never the run.
The child is forked where possible, so it starts with nbgrader already imported (importing it
afresh takes seconds per learner).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import sys
from pathlib import Path

import psutil
from traitlets.config import Config

from dropout_kit.course import config as course_config
from dropout_kit.course.notebooks import read_notebook
from dropout_kit.course.notebooks import METADATA_KEY
from dropout_kit.course.report import FAILED, OK

# Never hand these to learner code: the kernel inherits the grader's environment.
_SECRET_ENV = (course_config.DB_URL_ENV, "PGPASSWORD", "PGPASSFILE", "DATABASE_URL")


def grade_one(config: Config, lesson: str, learner: str, *, limit: float, logs: Path) -> tuple[str, str]:
    """Autograde ``learner``'s ``lesson`` in a child process; return (status, reason).

    The child's log goes to ``logs/<learner>/<lesson>.log``.
    """
    logs = Path(logs) / learner
    logs.mkdir(parents=True, exist_ok=True)
    result_path, log_path = logs / f"{lesson}.json", logs / f"{lesson}.log"
    result_path.unlink(missing_ok=True)
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    child = multiprocessing.get_context(method).Process(
        target=_child, args=(config, lesson, learner, str(result_path), str(log_path)),
        name=f"grade {learner} {lesson}",
    )
    child.start()
    child.join(limit)
    if child.is_alive():
        _kill_tree(child.pid)
        child.join()
        return FAILED, (f"timeout: grading ran over the {limit:g} s limit per lesson "
                        "(CourseLimits.notebook_timeout) and was killed")
    if not result_path.is_file():
        return FAILED, f"the grading process crashed (exit code {child.exitcode}); see {log_path}"
    outcome = json.loads(result_path.read_text(encoding="utf-8"))
    return outcome["status"], outcome["reason"]


def _kill_tree(pid: int) -> None:
    """Kill a process and everything it started (the kernel runs in a session of its own)."""
    try:
        parent = psutil.Process(pid)
        family = parent.children(recursive=True) + [parent]
    except psutil.NoSuchProcess:
        return
    for process in family:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(family, timeout=10)


def _child(config: Config, lesson: str, learner: str, result_path: str, log_path: str) -> None:
    stream = _redirect_output(log_path)
    logging.getLogger("traitlets").addHandler(logging.StreamHandler(stream))
    logging.getLogger("traitlets").setLevel(logging.INFO)
    for name in _SECRET_ENV:
        os.environ.pop(name, None)
    status, reason = _autograde(config, lesson, learner)
    Path(result_path).write_text(json.dumps({"status": status, "reason": reason}), encoding="utf-8")
    stream.flush()


def _redirect_output(log_path: str):
    """Send this process's output, and the kernel's, which inherits it, to ``log_path``."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    stream = open(1, "w", buffering=1, encoding="utf-8", closefd=False)
    sys.stdout = sys.stderr = stream
    return stream


def _autograde(config: Config, lesson: str, learner: str) -> tuple[str, str]:
    from dropout_kit.course import converters

    try:
        converters.autograde(config, lesson, learner)
    except converters.ConversionError as exc:
        return FAILED, describe_failure(exc.cause)
    root = Path(config.CourseDirectory.root)
    autograded = root / "autograded" / learner / lesson / f"{lesson}.ipynb"
    found = read_notebook(autograded).metadata.get(METADATA_KEY, {})
    problems = []
    if found.get("timeouts"):
        seconds = course_config.cell_timeout(config)
        problems.append(f"timeout: {', '.join(found['timeouts'])} ran over {seconds} s (Execute.timeout)")
    if found.get("tampering"):
        problems.append("tampering suspected: " + "; ".join(found["tampering"][:3])
                        + (f" (+{len(found['tampering']) - 3} more)" if len(found["tampering"]) > 3 else ""))
    try:
        converters.feedback(config, lesson, learner)
    except converters.ConversionError as exc:
        problems.append(f"feedback not written: {describe_failure(exc.cause)}")
    return (FAILED if problems else OK), "; ".join(problems)


def describe_failure(cause: BaseException | None) -> str:
    """A one-line reason for a failed autograde, for the grades.csv reason column."""
    name = type(cause).__name__ if cause is not None else "error"
    text = " ".join(str(cause).split())[:300] if cause is not None else "unknown"
    if name == "DeadKernelError":
        return "kernel died: the submission crashed or ended Python (os._exit, a segfault, out of memory)"
    if name == "CellTimeoutError":
        # nbclient raises this when a cell went on after the interrupt that Execute.timeout sent.
        return "timeout: a cell ran past Execute.timeout and did not stop when interrupted"
    if isinstance(cause, RuntimeError) and "Kernel" in text and "respond" in text:
        return f"kernel did not start: {text}"
    return f"{name}: {text}"
