"""``grade``: autograde learners' notebooks into ``grades.csv`` and feedback HTML.

Each run regenerates the graded lessons into the gradebook from ``solutions/`` (autograde reads
the test cells from the gradebook, not from the files, so edited tests would otherwise be
ignored), then grades each learner's lesson in a child process of its own (worker.py).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import time
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


def grade(submissions: Path, out: Path = Path("grading"), lessons: list[str] | None = None,
          timeout: int | None = None, *, notebook_timeout: int | None = None, db_url: str | None = None,
          course_root: Path | None = None) -> GradeReport:
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

    Returns:
        A ``GradeReport``; its ``ok`` is False when any learner's lesson failed to grade.
    """
    require("nbgrader", "instructor", "grading")
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
    limit = notebook_timeout or course_config.notebook_timeout(config)
    learners = sorted({learner for learner, _ in found})
    results: list[LessonResult] = []
    with course_config.tools_on_path():
        _prepare_gradebook(config, [lesson.name for lesson in selected], learners)
        for learner in learners:
            for lesson in selected:
                results.append(_grade_lesson(config, out, learner, lesson, found.get((learner, lesson.name)), limit))
        results = _with_scores(config, results)
    report = GradeReport(results, out, notes)
    report.write_csv()
    return report


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
    """Put the current solutions into the gradebook, dropping this run's learners' old results."""
    from nbgrader.api import Gradebook, MissingEntry

    from dropout_kit.course import converters

    url, course_id = config.CourseDirectory.db_url, config.CourseDirectory.course_id
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


def _grade_lesson(config, out: Path, learner: str, lesson, path: Path | None, limit: float) -> LessonResult:
    def result(status: str, reason: str = "") -> LessonResult:
        return LessonResult(learner, lesson.name, None, lesson.max_score, status, reason)

    for step in ("submitted", "autograded", "feedback"):
        shutil.rmtree(out / step / learner / lesson.name, ignore_errors=True)
    if path is None:
        return LessonResult(learner, lesson.name, 0.0, lesson.max_score, MISSING, "no notebook submitted")
    if not _LEARNER_ID.match(learner):
        return result(FAILED, "learner folder name must be letters, digits and . _ - @ only; rename it")
    try:
        read_notebook(path)
    except NotebookError as exc:
        return result(FAILED, f"corrupt notebook: {exc}")
    dest = out / "submitted" / learner / lesson.name
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, dest / f"{lesson.name}.ipynb")
    start = time.monotonic()
    status, reason = worker.grade_one(config, lesson.name, learner, limit=limit, logs=out / "logs")
    return dataclasses.replace(result(status, reason), seconds=time.monotonic() - start)


def _with_scores(config, results: list[LessonResult]) -> list[LessonResult]:
    """Fill in the gradebook's scores; a test cell left without a score fails the lesson."""
    from nbgrader.api import Gradebook, MissingEntry

    scored = []
    with Gradebook(config.CourseDirectory.db_url, config.CourseDirectory.course_id) as gb:
        for r in results:
            if r.status != OK:
                scored.append(r)
                continue
            try:
                notebook = gb.find_submission_notebook(r.lesson, r.lesson, r.learner)
            except MissingEntry:
                scored.append(_failed(r, "no grades were recorded"))
                continue
            unscored = sorted(g.name for g in notebook.grades if g.auto_score is None and g.manual_score is None)
            if unscored:
                scored.append(_failed(r, f"no score for {', '.join(unscored)}"))
            else:
                scored.append(dataclasses.replace(r, score=float(notebook.score), max_score=float(notebook.max_score)))
    return scored


def _failed(r: LessonResult, reason: str) -> LessonResult:
    return dataclasses.replace(r, score=None, status=FAILED, reason=reason)
