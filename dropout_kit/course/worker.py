"""Autograde one learner's lesson in a child process, under a wall-clock limit.

The child runs nbgrader's autograde (whose ``TrustedExecute`` starts the learner's kernel in a
sandbox and judges the test cells in the child) and generate_feedback. The parent starts up to
``--jobs`` children at once and kills any that outlives its limit, with everything it started.
A hang, a kernel that dies or a crash in nbgrader therefore costs one learner's lesson, never
the run.

The child is never forked from the caller itself: once a process has run torch's OpenMP
threads (a test session, a notebook), a child forked from it hangs at its first parallel
torch operation (GNU libgomp is not fork-safe; lesson 05's judge trains there). Children come
from a ``forkserver`` that imported nbgrader and the course but never computed, so they
start clean without importing them again; each gets the caller's environment and working
folder as they are when it starts. Where there is no forkserver, children are spawned.

The child writes its outcome (status, reason, the judges' verdicts) as JSON into the grading
workspace's ``logs/`` folder. That folder is never visible to a learner's sandboxed kernel;
only the child, grading code the course ships, writes there.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from traitlets.config import Config

from dropout_kit.course.notebooks import METADATA_KEY, read_notebook
from dropout_kit.course.report import FAILED, OK
from dropout_kit.sandbox.policy import SECRET_ENV


@dataclass
class Job:
    """One learner's lesson being graded in a child process."""

    learner: str
    lesson: str
    process: multiprocessing.Process
    result_path: Path
    log_path: Path
    started: float
    limit: float

    def overdue(self) -> bool:
        """Has the job run past its wall-clock limit?"""
        return time.monotonic() - self.started > self.limit


def start(config: Config, lesson: str, learner: str, *, limit: float, logs: Path) -> Job:
    """Start autograding ``learner``'s ``lesson`` in a child process; the log goes to ``logs/<learner>/``."""
    logs = Path(logs) / learner
    logs.mkdir(parents=True, exist_ok=True)
    result_path, log_path = logs / f"{lesson}.json", logs / f"{lesson}.log"
    result_path.unlink(missing_ok=True)
    child = context().Process(
        target=_child,
        args=(config, lesson, learner, str(result_path), str(log_path), dict(os.environ), os.getcwd()),
        name=f"grade {learner} {lesson}",
    )
    child.start()
    return Job(learner, lesson, child, result_path, log_path, time.monotonic(), limit)


def finish(job: Job) -> tuple[str, str, dict]:
    """Wait for ``job`` (killing it past its limit); return (status, reason, verdicts by grade id)."""
    job.process.join(max(0.0, job.limit - (time.monotonic() - job.started)))
    if job.process.is_alive():
        kill_tree(job.process.pid)
        job.process.join()
        return FAILED, (f"timeout: grading ran over the {job.limit:g} s limit per lesson "
                        "(CourseLimits.notebook_timeout) and was killed"), {}
    if not job.result_path.is_file():
        return FAILED, f"the grading process crashed (exit code {job.process.exitcode}); see {job.log_path}", {}
    outcome = json.loads(job.result_path.read_text(encoding="utf-8"))
    return outcome["status"], outcome["reason"], outcome.get("verdicts", {})


def kill_tree(pid: int) -> None:
    """Kill a process and everything it started (a kernel's sandbox included)."""
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


# Imported once by the forkserver, so that every child starts with them.
PRELOAD = ["dropout_kit.course.worker", "dropout_kit.course.converters", "dropout_kit.course.execute",
           "dropout_kit.exercises"]


def context() -> multiprocessing.context.BaseContext:
    """Where grading children come from: a forkserver that never ran torch (else spawn); never a plain fork."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    server = multiprocessing.get_context("forkserver")
    server.set_forkserver_preload(PRELOAD)  # takes effect when the server starts (the first child)
    return server


def _child(config: Config, lesson: str, learner: str, result_path: str, log_path: str,
           environ: dict, cwd: str) -> None:
    # The forkserver's environment is the one it started with: take the caller's of now.
    os.environ.clear()
    os.environ.update(environ)
    os.chdir(cwd)
    stream = _redirect_output(log_path)
    logging.getLogger("traitlets").addHandler(logging.StreamHandler(stream))
    logging.getLogger("traitlets").setLevel(logging.INFO)
    for name in SECRET_ENV:  # never handed to learner code: the kernel inherits part of this environment
        os.environ.pop(name, None)
    status, reason, verdicts = _autograde(config, lesson, learner)
    Path(result_path).write_text(json.dumps({"status": status, "reason": reason, "verdicts": verdicts}),
                                 encoding="utf-8")
    stream.flush()


def _redirect_output(log_path: str):
    """Send this process's output to ``log_path`` (a sandboxed kernel's own output goes to its own log)."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    stream = open(1, "w", buffering=1, encoding="utf-8", closefd=False)
    sys.stdout = sys.stderr = stream
    return stream


def _autograde(config: Config, lesson: str, learner: str) -> tuple[str, str, dict]:
    from dropout_kit.course import converters

    try:
        converters.autograde(config, lesson, learner)
    except converters.ConversionError as exc:
        return FAILED, describe_failure(exc.cause), {}
    root = Path(config.CourseDirectory.root)
    autograded = root / "autograded" / learner / lesson / f"{lesson}.ipynb"
    record = read_notebook(autograded).metadata.get(METADATA_KEY, {})
    problems = list(record.get("findings", []))
    try:
        converters.feedback(config, lesson, learner)
    except converters.ConversionError as exc:
        problems.append(f"feedback not written: {describe_failure(exc.cause)}")
    return (FAILED if problems else OK), "; ".join(problems), record.get("verdicts", {})


def describe_failure(cause: BaseException | None) -> str:
    """A one-line reason for a failed autograde, for the grades.csv reason column."""
    name = type(cause).__name__ if cause is not None else "error"
    text = " ".join(str(cause).split())[:300] if cause is not None else "unknown"
    if isinstance(cause, RuntimeError) and "Kernel" in text and "respond" in text:
        return f"kernel did not start: {text}"
    return f"{name}: {text}"
