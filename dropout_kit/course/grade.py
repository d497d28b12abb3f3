"""``grade``: autograde learners' notebooks into ``grades.csv`` and feedback HTML.

Each run regenerates the graded lessons into the gradebook from ``solutions/`` (autograde reads
the test cells from the gradebook, not from the files, so edited tests would otherwise be
ignored), then grades each learner's lesson in a child process of its own (worker.py), up to
``jobs`` at once, each learner's kernel in its own sandbox. A score is the sum of the points of
the test cells whose judge passed them; the gradebook's score must agree, or the lesson fails.
``grades.csv`` is written after every grading process, and every sandbox, has ended.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import time
import warnings
from collections import deque
from datetime import datetime, timezone
from pathlib import Path

from dropout_kit.course import config as course_config
from dropout_kit.course import worker
from dropout_kit.course.notebooks import read_notebook
from dropout_kit.course.report import FAILED, MISSING, OK, GradeReport, LessonResult
from dropout_kit.errors import DropoutKitError, NotebookError
from dropout_kit.optional import require

LAYOUTS = "SUBMISSIONS_DIR/<learner>/<lesson>.ipynb or nbgrader's submitted/<learner>/<lesson>/<lesson>.ipynb"
# nbgrader uses learner ids in file globs and regular expressions: keep them plain.
_LEARNER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")
# A handed-in notebook larger than this is refused unread: honest ones are far smaller (lesson 07 with
# its outputs and plots is about 1 MB), and the grader parses a notebook in its own memory.
MAX_NOTEBOOK_BYTES = 64 * 2**20
# A grading process may outlive its lesson's limit (CourseLimits.notebook_timeout, which bounds the
# learner's kernel) by this much, for the judges' own work (lesson 05 trains networks) and the
# feedback; past it, it is killed.
JUDGING_SLACK = 300
# nbgrader's own timestamp format (ExchangeSubmit.timestamp_format), which its collect keeps.
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"


def grade(submissions: Path, out: Path = Path("grading"), lessons: list[str] | None = None,
          timeout: int | None = None, *, notebook_timeout: int | None = None, db_url: str | None = None,
          course_root: Path | None = None, jobs: int = 1, sandbox: bool = True) -> GradeReport:
    """Autograde every learner's graded lessons; write ``out/grades.csv`` and ``out/feedback/``.

    Args:
        submissions: a folder laid out as ``<learner>/<lesson>.ipynb``, or nbgrader's
            ``submitted/<learner>/<lesson>/<lesson>.ipynb`` (the ``submitted`` folder or its parent).
        out: the grading workspace: gradebook.db, submitted/, autograded/, feedback/, logs/, grades.csv.
        lessons: only these lessons (default: every graded lesson in ``solutions/``).
        timeout: seconds per cell (default: ``Execute.timeout`` of autograder/nbgrader_config.py).
        notebook_timeout: wall-clock seconds per learner and lesson (default: the config's
            ``CourseLimits.notebook_timeout``).
        db_url: the gradebook (default: $DROPOUT_COURSE_DB_URL, else SQLite in ``out``).
        course_root: the repository (default: found from the working directory).
        jobs: how many learners' lessons to grade at once, each in its own sandbox.
        sandbox: run each learner's kernel in a bubblewrap sandbox (refused with a clear error
            when bubblewrap is missing). ``False`` warns, and grades.csv records it.

    Returns:
        A ``GradeReport``; its ``ok`` is False when any learner's lesson failed to grade.
    """
    require("nbgrader", "instructor", "grading")
    if jobs < 1:
        raise DropoutKitError(f"jobs must be at least 1, got {jobs}")
    if sandbox:
        from dropout_kit import sandbox as sandboxing

        sandboxing.require()
    else:
        warnings.warn("grading WITHOUT a sandbox: learners' code runs with your rights and can read and "
                      "change your files; use this only for notebooks you trust", stacklevel=2)
    root = course_config.find_course_root(course_root)
    graded = [lesson for lesson in course_config.discover_lessons(root) if lesson.graded]
    if lessons:
        all_names = {lesson.name for lesson in course_config.discover_lessons(root)}
        ungraded = [n for n in lessons if n in all_names and n not in {g.name for g in graded}]
        if ungraded:
            raise DropoutKitError(f"lesson(s) {', '.join(ungraded)} have no graded cells; nothing to grade")
    selected = course_config.select_lessons(graded, lessons)
    if not selected:
        raise DropoutKitError(f"no graded lessons in {root / 'solutions'}: nothing to grade")
    out = Path(out).resolve()
    if out == Path(submissions).resolve() or out in Path(submissions).resolve().parents:
        raise DropoutKitError(f"the submissions ({submissions}) are inside the grading workspace {out}, "
                              "which grade rewrites; copy them elsewhere or choose another --out")
    found, notes = collect_submissions(Path(submissions), [lesson.name for lesson in selected])
    out.mkdir(parents=True, exist_ok=True)
    config = course_config.course_config(root, workspace=out, release_dir=out / "release",
                                         db_url=db_url, timeout=timeout)
    if notebook_timeout:
        config.CourseLimits.notebook_timeout = int(notebook_timeout)
    config.TrustedExecute.sandbox = bool(sandbox)
    limit = course_config.notebook_timeout(config) + JUDGING_SLACK
    learners = sorted({learner for learner, _ in found})
    todo = [(learner, lesson) for learner in learners for lesson in selected]
    with course_config.tools_on_path():
        _prepare_gradebook(config, [lesson.name for lesson in selected], learners)
        results, verdicts = _grade_all(config, out, todo, found, limit, jobs)
        results = _with_scores(config, results, verdicts)
    context = {"sandbox": "yes" if sandbox else "NO", "device": _grading_device()}
    report = GradeReport([dataclasses.replace(r, **context) for r in results], out, notes)
    report.write_csv()
    return report


def _grading_device() -> str:
    """The device judges train on in this process (lesson 05), as grades.csv records it."""
    try:
        from dropout_kit.device import describe_device, resolve_device
    except ImportError:
        return "cpu"
    return describe_device(resolve_device("auto"))


def _grade_all(config, out: Path, todo: list, found: dict, limit: float, jobs: int):
    """Grade every (learner, lesson) of ``todo``, up to ``jobs`` grading processes at a time."""
    pending, running = deque(todo), []
    results: list[LessonResult] = []
    verdicts: dict[tuple[str, str], dict] = {}
    while pending or running:
        while pending and len(running) < jobs:
            learner, lesson = pending.popleft()
            started = _start_lesson(config, out, learner, lesson, found.get((learner, lesson.name)), limit)
            if isinstance(started, LessonResult):
                results.append(started)
            else:
                running.append((started, lesson))
        for job, lesson in [(j, l) for j, l in running if not j.process.is_alive() or j.overdue()]:
            running.remove((job, lesson))
            status, reason, found_verdicts = worker.finish(job)
            verdicts[(job.learner, lesson.name)] = found_verdicts
            results.append(LessonResult(job.learner, lesson.name, None, lesson.max_score, status, reason,
                                        seconds=time.monotonic() - job.started))
        if running:
            time.sleep(0.1)
    return results, verdicts


def collect_submissions(folder: Path, lessons: list[str]) -> tuple[dict[tuple[str, str], Path], list[str]]:
    """Map (learner, lesson) to the notebook submitted; also notes on files that were skipped."""
    if not folder.is_dir():
        raise DropoutKitError(f"submissions folder {folder} does not exist; expected {LAYOUTS}")
    if (folder / "submitted").is_dir() and not any(p.suffix == ".ipynb" for p in folder.glob("*/*.ipynb")):
        folder = folder / "submitted"
    found: dict[tuple[str, str], Path] = {}
    notes = []
    for learner_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for lesson in lessons:
            candidates = [p for p in (learner_dir / f"{lesson}.ipynb", learner_dir / lesson / f"{lesson}.ipynb")
                          if p.is_file()]
            if len(candidates) > 1:
                notes.append(f"{learner_dir.name}: both {candidates[0]} and {candidates[1]} exist; graded the first")
            if candidates:
                found[(learner_dir.name, lesson)] = candidates[0]
        known = {f"{lesson}.ipynb" for lesson in lessons}
        stray = sorted(p.name for p in learner_dir.rglob("*.ipynb")
                       if p.name not in known and ".ipynb_checkpoints" not in p.parts)
        if stray:
            notes.append(f"{learner_dir.name}: ignored {', '.join(stray)} (not named <lesson>.ipynb)")
    if not found:
        raise DropoutKitError(f"no submissions found in {folder}; expected {LAYOUTS} "
                              f"for lessons {', '.join(lessons)}")
    return found, notes


def _prepare_gradebook(config, lessons: list[str], learners: list[str]) -> None:
    """Put the current solutions and this run's learners into the gradebook, dropping their old results.

    Every learner is added here, before any grading process starts: nbgrader's autograde adds a
    learner it does not find, and two processes grading two lessons of the same new learner at
    once (``--jobs 2``) both tried, so one failed on the gradebook's unique learner id.
    """
    from nbgrader.api import Gradebook, MissingEntry

    from dropout_kit.course import converters

    url, course_id = config.CourseDirectory.db_url, config.CourseDirectory.course_id
    with Gradebook(url, course_id) as gb:
        for learner in learners:
            gb.update_or_create_student(learner)
    for lesson in lessons:
        with Gradebook(url, course_id) as gb:
            for learner in learners:
                try:
                    gb.remove_submission(lesson, learner)
                except MissingEntry:
                    pass
        try:
            converters.generate(config, lesson)
        except converters.ConversionError as exc:
            if "submissions associated" not in str(exc):
                raise DropoutKitError(f"could not put {lesson} into the gradebook: {exc}") from exc
            # Test cells were added or removed since earlier learners were graded: their results
            # no longer fit the lesson, and nbgrader refuses to change it while they exist.
            with Gradebook(url, course_id) as gb:
                for submission in list(gb.find_assignment(lesson).submissions):
                    gb.remove_submission(lesson, submission.student.id)
            converters.generate(config, lesson)


def _start_lesson(config, out: Path, learner: str, lesson, path: Path | None, limit: float):
    """A grading job for the learner's lesson, or its result at once (missing, corrupt, bad name)."""
    def result(status: str, reason: str = "") -> LessonResult:
        return LessonResult(learner, lesson.name, None, lesson.max_score, status, reason)

    for step in ("submitted", "autograded", "feedback"):
        shutil.rmtree(out / step / learner / lesson.name, ignore_errors=True)
    if path is None:
        return LessonResult(learner, lesson.name, 0.0, lesson.max_score, MISSING, "no notebook submitted")
    if not _LEARNER_ID.match(learner):
        return result(FAILED, "learner folder name must be letters, digits and . _ - @ only; rename it")
    problem = _unreadable(path, lesson.name)
    if problem:
        return result(FAILED, problem)
    try:
        read_notebook(path)
    except NotebookError as exc:
        return result(FAILED, f"corrupt notebook: {exc}")
    hand_in(path, out / "submitted" / learner / lesson.name, lesson.name)
    return worker.start(config, lesson.name, learner, limit=limit, logs=out / "logs")


def hand_in(notebook: Path, dest: Path, lesson: str) -> None:
    """Copy a learner's notebook into nbgrader's ``submitted/<learner>/<lesson>/``, with its timestamp.

    nbgrader's ``release_feedback`` reads ``timestamp.txt`` and ``submission_secret.txt`` beside
    the feedback. A notebook collected from the exchange (``<lesson>/<lesson>.ipynb``) keeps
    both; otherwise ``timestamp.txt`` is the notebook file's modification time.
    """
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(notebook, dest / f"{lesson}.ipynb")
    collected = notebook.parent if notebook.parent.name == lesson else None
    for name in ("timestamp.txt", "submission_secret.txt"):
        # Not a link: it could copy any file the grader can read into the workspace and the feedback.
        if collected is not None and (collected / name).is_file() and not (collected / name).is_symlink():
            shutil.copyfile(collected / name, dest / name)
    if not (dest / "timestamp.txt").is_file():
        modified = datetime.fromtimestamp(notebook.stat().st_mtime, timezone.utc)
        (dest / "timestamp.txt").write_text(modified.strftime(TIMESTAMP_FORMAT), encoding="utf-8")


def _unreadable(path: Path, lesson: str) -> str:
    """Why a handed-in notebook is not read at all (a symbolic link, too large), or ''."""
    # A link could hand in any file the grader can read (the solutions, another learner's notebook).
    steps = [path, path.parent] + ([path.parent.parent] if path.parent.name == lesson else [])
    link = next((p for p in steps if p.is_symlink()), None)
    if link is not None:
        return (f"{link} is a symbolic link (to {os.readlink(link)}), not a notebook handed in: "
                "put the learner's own file there")
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        return (f"the notebook has {size / 2**20:.0f} MB, more than the {MAX_NOTEBOOK_BYTES / 2**20:.0f} MB "
                "the grader reads: clear its outputs (Edit > Clear Outputs of All Cells), save, and hand it in again")
    return ""


def _with_scores(config, results: list[LessonResult], verdicts: dict) -> list[LessonResult]:
    """Score each lesson from its judges' verdicts; the gradebook must agree, cell by cell."""
    from nbgrader.api import Gradebook, MissingEntry

    scored = []
    with Gradebook(config.CourseDirectory.db_url, config.CourseDirectory.course_id) as gb:
        for r in sorted(results, key=lambda r: (r.learner, r.lesson)):
            if r.status != OK:
                scored.append(r)
                continue
            try:
                notebook = gb.find_submission_notebook(r.lesson, r.lesson, r.learner)
            except MissingEntry:
                scored.append(_failed(r, "no grades were recorded"))
                continue
            judged = verdicts.get((r.learner, r.lesson), {})
            problem, score = _judged_score(notebook.grades, judged)
            scored.append(_failed(r, problem) if problem else
                          dataclasses.replace(r, score=score, max_score=float(notebook.max_score)))
    return scored


def _judged_score(grades, judged: dict) -> tuple[str, float]:
    """The points of the test cells a judge passed, or why the gradebook cannot be trusted."""
    score = 0.0
    for g in sorted(grades, key=lambda g: g.name):
        verdict = judged.get(g.name)
        if verdict is None:
            return f"no verdict for test cell {g.name}", 0.0
        expected = float(g.max_score) if verdict.get("passed") is True else 0.0
        recorded = g.manual_score if g.manual_score is not None else g.auto_score
        if recorded is None or float(recorded) != expected:
            return (f"the gradebook's score for {g.name} ({recorded}) differs from its judge's verdict "
                    f"({expected:g}): refused"), 0.0
        score += expected
    return "", score


def _failed(r: LessonResult, reason: str) -> LessonResult:
    return dataclasses.replace(r, score=None, status=FAILED, reason=reason)
