"""nbgrader's own commands, run from the course's folder with no flags, use the course's configuration.

The root ``nbgrader_config.py`` loads ``autograder/nbgrader_config.py``, so ``nbgrader
generate_assignment``, ``autograde``, ``generate_feedback`` and ``export`` run the course's
pipeline: the submission in a sandboxed kernel, test cells judged by the grader, and a submission
whose grading hit a timeout (or a dead kernel) flagged in the gradebook, as the formgrader shows it.
Each command runs as a subprocess, as an instructor types it, on a copy of the course holding
lesson 02 only.
"""

import csv
import json
import subprocess

import pytest
from nbgrader.api import Gradebook

from nbgrader_course import COURSE_ID, REPO, answer, answers_of, copy_course, nbgrader

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

LESSON = "02_from_scratch"
CELL_TIMEOUT = 10  # seconds; the course's own is 300


@pytest.fixture(scope="module")
def graded(tmp_path_factory, bwrap_sandbox):
    """generate_assignment, then autograde, generate_feedback and export of four learners, each a plain command."""
    course = copy_course(tmp_path_factory.mktemp("commands") / "course", [LESSON])
    outputs = {"generate": nbgrader("generate_assignment", LESSON, cwd=course)}
    solution = course / "solutions" / LESSON / f"{LESSON}.ipynb"
    released = course / "notebooks" / LESSON / f"{LESSON}.ipynb"
    right = answers_of(solution)
    learners = {
        "ada": right,
        "bob": {},  # hands the release in as it is
        # A loop before Part 2's class: that cell times out, so the class is never defined; Part 1 was
        # checked before and counts.
        "hangs": {**right, "dropout_module": "while True:\n    pass\n" + right["dropout_module"]},
        # os._exit in Part 1's cell: the kernel dies, and neither part can be checked.
        "exits": {**right, "dropout_function": "import os\nos._exit(1)\n" + right["dropout_function"]},
    }
    for learner, sources in learners.items():
        folder = course / "grading" / "submitted" / learner / LESSON
        folder.mkdir(parents=True)
        (folder / f"{LESSON}.ipynb").write_bytes(released.read_bytes())
        answer(folder / f"{LESSON}.ipynb", sources)
    outputs["autograde"] = nbgrader("autograde", LESSON, f"--Execute.timeout={CELL_TIMEOUT}", cwd=course)
    outputs["feedback"] = nbgrader("generate_feedback", LESSON, cwd=course)
    outputs["export"] = nbgrader("export", cwd=course)
    return course, outputs


def scores(course, learner: str) -> tuple[dict, bool]:
    """The learner's points per test cell, and whether the submission is flagged."""
    with Gradebook(f"sqlite:///{course / 'grading' / 'gradebook.db'}", COURSE_ID) as gb:
        notebook = gb.find_submission_notebook(LESSON, LESSON, learner)
        return {g.name: g.score for g in notebook.grades}, notebook.flagged


def test_the_configuration_is_found_and_its_folders_made(graded):
    """Does every command find the course's configuration without flags, and does the workspace grading/ get made?"""
    course, outputs = graded
    for step, output in outputs.items():
        assert "No nbgrader_config.py file found" not in output, step
    assert (course / "grading" / "gradebook.db").is_file()


def test_generate_assignment_writes_the_release(graded):
    """Does plain generate_assignment write notebooks/ exactly as `dropout-kit release` committed it?"""
    course, _ = graded
    written = course / "notebooks" / LESSON / f"{LESSON}.ipynb"
    assert written.read_bytes() == (REPO / "notebooks" / LESSON / f"{LESSON}.ipynb").read_bytes()


def test_autograde_scores_by_the_judges(graded):
    """Does plain autograde give the solution full marks and the untouched release 0, neither flagged?"""
    course, _ = graded
    assert scores(course, "ada") == ({"test_dropout_function": 5, "test_dropout_module": 5}, False)
    assert scores(course, "bob") == ({"test_dropout_function": 0, "test_dropout_module": 0}, False)


@pytest.mark.parametrize("learner, expected, finding", [
    ("hangs", {"test_dropout_function": 5, "test_dropout_module": 0}, f"timeout: cell 10 ran over {CELL_TIMEOUT} s"),
    ("exits", {"test_dropout_function": 0, "test_dropout_module": 0}, "kernel died: in cell 5"),
])
def test_a_timeout_or_a_dead_kernel_is_flagged(graded, learner, expected, finding):
    """After plain autograde, is a submission whose grading hit a timeout or a dead kernel flagged in the
    gradebook, with 0 on the tests it affected (and only those), and the finding recorded?"""
    course, _ = graded
    assert scores(course, learner) == (expected, True)
    autograded = course / "grading" / "autograded" / learner / LESSON / f"{LESSON}.ipynb"
    findings = json.loads(autograded.read_text())["metadata"]["dropout_course"]["findings"]
    assert any(f.startswith(finding) for f in findings), findings


def test_feedback_shows_the_verdicts(graded):
    """Does plain generate_feedback write each learner's HTML with the judges' verdicts?"""
    course, _ = graded
    feedback = {learner: (course / "grading" / "feedback" / learner / LESSON / f"{LESSON}.html").read_text()
                for learner in ("ada", "bob")}
    assert "Part 1: dropout(x, p, training, inplace): passed" in feedback["ada"]
    assert "Part 2: the Dropout layer: passed" in feedback["ada"]
    assert "Part 1: dropout(x, p, training, inplace): NOT passed" in feedback["bob"]


def test_export_writes_grades_that_git_ignores(graded):
    """Does plain export write grades.csv into the course's folder, with the scores, and does git ignore it there?"""
    course, _ = graded
    with (course / "grades.csv").open() as handle:
        rows = {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}
    assert rows == {"ada": 10, "bob": 0, "hangs": 5, "exits": 0}
    for path in ("grades.csv", "grading/gradebook.db", "autograder/grades.csv"):
        assert subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO).returncode == 0, path
