"""``TrustedExecute``: run a submission in a sandboxed kernel, and judge each test cell outside it.

This preprocessor takes the place of nbgrader's ``Execute`` in autograding (both in
``dropout-kit grade`` and in plain ``nbgrader autograde`` with the course's configuration):

1. the learner's notebook is copied alone into a fresh work folder, and a kernel is started
   in a bubblewrap sandbox over it (``dropout_kit.sandbox``): no network, no course files,
   read-only system, limits on memory, processes, file sizes and output;
2. the code cells run in order, each under ``Execute.timeout`` and all under the lesson's
   wall-clock limit; what they print is kept under caps and without HTML or script
   (``outputs.py``);
3. a test cell is never run. In its place the grader draws the exercise's requests, sends
   the probe call (``exercises.kernel.call_code``), takes the reply as data, and runs the
   exercise's judge here, in the grader's process, on the learner's code as text. The
   verdict becomes the cell's output: a verdict display, plus an error when it failed, so
   that nbgrader's ``SaveAutoGrades`` gives the points exactly when the judge passed it.
   Only a probe call answered by exactly one reply, and ending normally, is judged on it: a
   second reply (a hook of the notebook publishing its own) or a reply followed by an error
   (the probe stopped after a forged reply) fails the verdict and flags the lesson for
   tampering;
4. a sandbox limit reached (processes, memory, the kernel's log) stops the lesson at the next
   cell; at the end the kernel and every process of its sandbox are ended.

The verdicts and findings (timeouts, limits hit, a dead kernel, a missing judge) go to
``FlagFindings``, which records them in the notebook's metadata under ``dropout_course`` and
flags the submission; ``grade`` reads them to cross-check the gradebook's scores.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from dropout_kit.optional import require

require("nbgrader", "instructor", "grading")

import nbformat  # noqa: E402
from nbformat import v4  # noqa: E402
from nbgrader.preprocessors import NbGraderPreprocessor  # noqa: E402
from traitlets import Bool, List, Unicode  # noqa: E402

from dropout_kit import exercises, sandbox  # noqa: E402
from dropout_kit.course import config as course_config
from dropout_kit.course.notebooks import METADATA_KEY
from dropout_kit.course.outputs import Budget, run_code
from dropout_kit.course.preprocessors import source_notebook
from dropout_kit.exercises import scan
from dropout_kit.exercises.kernel import call_code

GRACE = 10.0  # seconds a kernel gets to become idle after an interrupt


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {}) if cell.cell_type == "code" else {}


def is_test_cell(cell) -> bool:
    """A graded code cell that is not an answer: its points come from a judge."""
    meta = _meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def learner_code(nb, source_nb) -> str:
    """The code the learner wrote: answer cells, and code cells not given by the lesson as they are."""
    given = {c.source for c in source_nb.cells if c.cell_type == "code" and not _meta(c).get("solution")}
    cells = [(str(i), c.source) for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and not is_test_cell(c) and (_meta(c).get("solution") or c.source not in given)]
    return scan.join_cells(cells)


def with_explanation(exercise, verdict):
    """A failed verdict with the exercise's full explanation added, for the instructor's feedback."""
    if verdict.passed or exercise.explain is None:
        return verdict
    try:
        text = exercise.explain()
    except Exception:  # no explanation is better than a grading run that stops
        return verdict
    return dataclasses.replace(verdict, notes=(*verdict.notes, f"After grading: {text}"))


def verdict_outputs(verdict) -> list:
    """A test cell's outputs for a verdict: its display, then an error when it did not pass."""
    outputs = [v4.new_output("display_data", data={"text/plain": str(verdict), "text/html": verdict._repr_html_()})]
    if not verdict.passed:
        outputs.append(v4.new_output("error", ename="NotPassed", evalue=verdict.headline(),
                                     traceback=[f"NotPassed: {verdict.headline()}"]))
    return outputs


@dataclass
class _Run:
    """One submission's execution: its kernel, limits, and what was found so far."""

    kernel: object
    code: str
    cell_timeout: float
    lesson_timeout: float
    deadline: float
    budget: Budget = field(default_factory=Budget)
    findings: list = field(default_factory=list)
    verdicts: dict = field(default_factory=dict)
    stopped: str = ""

    def halt(self, reason: str) -> None:
        """Stop the kernel and every process of its sandbox; later cells are not run."""
        self.stopped = reason
        self.findings.append(reason)
        self.kernel.stop()


def choose_reply(replies: list[str], *, finished: bool = True, error: str = "") -> tuple[str | None, str, bool]:
    """The probe's reply to one probe call, or why none is taken: ``(reply, problem, tampering)``.

    The probe publishes exactly one reply, as the last thing it does, and catches the learner's
    exceptions itself. So a second reply (a hook publishing its own), or a reply followed by an
    error (something stopped the probe after publishing a reply of its own), is tampering, and
    a reply from a call that did not finish is not taken either.
    """
    if len(replies) > 1:
        return None, (f"{len(replies)} probe replies came for one call: something in the notebook "
                      "publishes replies of its own, so none is taken"), True
    if replies and error:
        return None, (f"a reply came, but then the probe call failed ({error[:200]}): something in the "
                      "notebook published a reply and stopped the probe, so it is not taken"), True
    if replies and not finished:
        return None, "the probe call did not finish, so its reply is not taken", False
    return (replies[0] if replies else None), "", False


class TrustedExecute(NbGraderPreprocessor):
    """Execute a submission in a sandboxed kernel; test cells are judged in this process."""

    sandbox = Bool(True, help="Run the learner's kernel in a bubblewrap sandbox. Turning it off "
                   "(dropout-kit grade --no-sandbox) leaves learner code with the grader's rights: only "
                   "for trusted notebooks; the judges still decide outside the kernel.").tag(config=True)
    data_lessons = List(Unicode(), default_value=["07_metrics"],
                        help="Lessons whose kernel may read FashionMNIST (read-only). Other lessons' "
                        "kernels see no dataset: lesson 05's never sees validation labels.").tag(config=True)

    def preprocess(self, nb, resources):
        lesson = resources["nbgrader"]["assignment"]
        code = learner_code(nb, source_notebook(self, resources))
        lesson_timeout = course_config.notebook_timeout(self.config)
        workdir = Path(tempfile.mkdtemp(prefix="dropout-grade-"))
        try:
            nbformat.write(nb, str(workdir / f"{resources['nbgrader']['notebook']}.ipynb"))
            with sandbox.start_kernel(workdir, self._policy(lesson)) as kernel:
                run = _Run(kernel, code, course_config.cell_timeout(self.config), lesson_timeout,
                           time.monotonic() + lesson_timeout)
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type == "code":
                        self._cell(run, index, cell)
                run.findings.extend(kernel.findings)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        # nbgrader's ClearMetadataPreprocessor comes next: FlagFindings writes this into the metadata.
        resources[METADATA_KEY] = {"verdicts": run.verdicts, "findings": run.findings,
                                   "sandboxed": bool(self.sandbox)}
        return nb, resources

    def _cell(self, run: _Run, index: int, cell) -> None:
        left = run.deadline - time.monotonic()
        if not run.stopped and left <= 0:
            run.halt(f"timeout: the lesson ran over its {run.lesson_timeout:g} s limit before cell {index}")
        if not run.stopped and not run.kernel.is_alive():
            run.halt(f"kernel died: before cell {index} (a crash, os._exit, or a sandbox limit)")
        if not run.stopped and run.kernel.findings:
            # The lesson fails on a limit anyway; a fork bomb or a memory hog left running would only slow
            # the other learners' grading until the lesson's time limit.
            run.halt(f"limit: the sandbox reached a limit before cell {index}, so the lesson stopped there")
        timeout = max(0.0, min(left, run.cell_timeout))
        if is_test_cell(cell):
            grade_id = _meta(cell).get("grade_id", "")
            verdict = self._judge(run, grade_id, timeout)
            run.verdicts[grade_id] = verdict.to_dict()
            cell.outputs = verdict_outputs(verdict)
            return
        cell.outputs = []
        if run.stopped:
            return
        result = run_code(run.kernel.client, cell.source, timeout, run.budget, run.kernel.is_alive)
        cell.outputs = result.outputs
        if result.died:
            run.halt(f"kernel died: in cell {index} (a crash, os._exit, or a sandbox limit)")
        elif result.timed_out:
            run.findings.append(f"timeout: cell {index} ran over {timeout:.0f} s")
            cell.outputs.append(v4.new_output("error", ename="CellTimeoutError", evalue="",
                                              traceback=["CellTimeoutError: stopped by the grader"]))
            if not self._recover(run):
                run.halt(f"timeout: the kernel did not stop after cell {index} timed out")
        if run.budget.flooded and not run.stopped:
            run.halt(f"output: the kernel sent more than {run.budget.limit} bytes by cell {index}")

    @staticmethod
    def _recover(run: _Run) -> bool:
        """After a timeout: interrupt, and give the kernel a moment; True when it answers again."""
        run.kernel.interrupt()
        return run_code(run.kernel.client, "pass", GRACE, run.budget, run.kernel.is_alive).finished

    def _judge(self, run: _Run, grade_id: str, timeout: float):
        exercise = exercises.for_grade_id(grade_id)
        if exercise is None:
            run.findings.append(f"no judge: the course has no exercise for test cell {grade_id}")
            return exercises.Verdict.fail(grade_id, "judge", f"the course has no judge for test cell {grade_id}")
        if run.stopped:
            return with_explanation(exercise, exercise.decide(None, None, missing=f"not checked: {run.stopped}"))
        requests = exercise.new_requests()
        timeout = min(timeout, exercise.timeout)
        result = run_code(run.kernel.client, call_code(exercise.key, exercise.target, requests), timeout, run.budget,
                          run.kernel.is_alive)
        if result.died:
            missing = f"the kernel died while checking `{exercise.target}`"
            run.halt(f"kernel died: while checking {grade_id}")
        elif result.timed_out:
            missing = f"checking `{exercise.target}` ran over {timeout:.0f} s"
            if not self._recover(run):
                run.halt(f"timeout: the kernel did not stop after checking {grade_id} timed out")
        elif result.error:
            missing = f"checking `{exercise.target}` failed in your notebook: {result.error[:500]}"
        else:
            missing = f"no reply came from the probe of `{exercise.target}`"
        reply, problem, tampering = choose_reply(result.replies, finished=result.finished, error=result.error)
        if problem:
            missing = f"checking `{exercise.target}`: {problem}"
        if tampering:
            run.findings.append(f"tampering: {problem} (test cell {grade_id})")
        return with_explanation(exercise, exercise.decide(requests, reply, source=run.code, missing=missing))

    def _policy(self, lesson: str):
        read_only, env = [], {}
        if lesson in self.data_lessons:
            from dropout_kit import data

            # The grader unpacks the files (trusted); the kernel reads them, and caches into its own /tmp.
            raw = data.find(download=False)[0] / "FashionMNIST" / "raw"
            read_only.append(raw)
            env.update({data.ENV_VAR: str(raw), data.CACHE_ENV_VAR: "/tmp/dropout_kit_cache"})
        hidden = tuple(path for exercise in exercises.all_exercises().values() for path in exercise.hidden)
        return sandbox.Policy(isolate=bool(self.sandbox), read_only=tuple(read_only), env=env, hidden=hidden)
