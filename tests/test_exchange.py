"""A class through nbgrader's exchange, end to end, as autograder/README.md ("Deploying for a class") describes it.

The instructor releases lesson 03 into a temporary exchange; two learners, simulated as nbgrader's
own tests do (each with a home folder, a cache and ``--CourseDirectory.student_id``), fetch it,
answer and submit. The instructor collects and grades twice: with plain nbgrader (autograde,
generate_feedback), then with ``dropout-kit grade`` on the collected submissions. Each time the
feedback is released and the learners fetch it; the HTML they get holds the judges' verdicts.
"""

import csv
import shutil
import subprocess
import sys

import pytest

from nbgrader_course import COURSE_ID, answer, answers_of, copy_course, nbgrader, tools_env
from quiz_answers import CHOICE_KEY

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

LESSON = "03_quiz"
LEARNERS = ("ada", "bob")
RIGHT = "Question purpose: passed (1 of 1 checks)"
WRONG = "Question purpose: NOT passed"
BOBS_ANSWER = next(letter for letter in "ABCD" if letter != CHOICE_KEY["purpose"][0])  # a wrong one


class Class:
    """The course's folder, the exchange, and each learner's home folder."""

    def __init__(self, root):
        self.course = copy_course(root / "course", [LESSON])
        self.exchange = root / "exchange"
        self.exchange.mkdir()
        self.exchange.chmod(0o777)  # as on a shared server: every learner writes into inbound/
        self.homes = {learner: root / "home" / learner for learner in LEARNERS}

    def instructor(self, *args, **env):
        """An nbgrader command of the instructor's, in the course's folder, on the exchange."""
        return nbgrader(*args, f"--Exchange.root={self.exchange}", cwd=self.course, env=tools_env(**env))

    def learner(self, learner, *args):
        """An nbgrader command of a learner's, in their home folder (no course configuration there)."""
        home = self.homes[learner]
        home.mkdir(parents=True, exist_ok=True)
        return nbgrader(*args, f"--Exchange.root={self.exchange}", f"--Exchange.cache={home / '.cache'}",
                        f"--CourseDirectory.course_id={COURSE_ID}", f"--CourseDirectory.student_id={learner}",
                        cwd=home, env=tools_env(HOME=str(home)))

    def fetched_feedback(self, learner) -> str:
        """The feedback HTML the learner fetched (the only one)."""
        [page] = (self.homes[learner] / LESSON / "feedback").glob(f"*/{LESSON}.html")
        return page.read_text()

    def forget_feedback(self) -> None:
        """Remove released and fetched feedback, so that the next release is seen alone."""
        shutil.rmtree(self.exchange / COURSE_ID / "feedback")
        for home in self.homes.values():
            shutil.rmtree(home / LESSON / "feedback", ignore_errors=True)


@pytest.fixture(scope="module")
def cycle(tmp_path_factory, bwrap_sandbox):
    """The whole cycle; returns the class and what was seen at each step."""
    c = Class(tmp_path_factory.mktemp("exchange"))
    seen = {}
    nbgrader("generate_assignment", LESSON, cwd=c.course)
    c.instructor("release_assignment", LESSON)
    seen["released"] = sorted(p.name for p in (c.exchange / COURSE_ID / "outbound" / LESSON).iterdir())

    right = answers_of(c.course / "solutions" / LESSON / f"{LESSON}.ipynb")
    sources = {"ada": right, "bob": {"answer_purpose": f'answer_purpose = "{BOBS_ANSWER}"'}}
    for learner in LEARNERS:
        c.learner(learner, "fetch_assignment", LESSON)
        notebook = c.homes[learner] / LESSON / f"{LESSON}.ipynb"
        seen[f"fetched {learner}"] = notebook.is_file()
        answer(notebook, sources[learner])
        c.learner(learner, "submit", LESSON)
    seen["inbound"] = sorted(p.name.split("+")[0] for p in (c.exchange / COURSE_ID / "inbound").iterdir())

    # Plain nbgrader: collect into grading/, autograde, feedback, release.
    c.instructor("collect", LESSON)
    seen["collected"] = {learner: sorted(p.name for p in (c.course / "grading" / "submitted" / learner / LESSON).iterdir())
                         for learner in LEARNERS}
    nbgrader("autograde", LESSON, cwd=c.course)
    nbgrader("generate_feedback", LESSON, cwd=c.course)
    c.instructor("release_feedback", LESSON)
    for learner in LEARNERS:
        c.learner(learner, "fetch_feedback", LESSON)
    seen["plain"] = {learner: c.fetched_feedback(learner) for learner in LEARNERS}

    # dropout-kit grade on the submissions collected into a folder of their own, grading into grading/.
    c.forget_feedback()
    c.instructor("collect", LESSON, DROPOUT_COURSE_WORKSPACE=str(c.course / "inbox"))
    seen["grade"] = _dropout_kit_grade(c)
    c.instructor("release_feedback", LESSON)
    for learner in LEARNERS:
        c.learner(learner, "fetch_feedback", LESSON)
    seen["kit"] = {learner: c.fetched_feedback(learner) for learner in LEARNERS}
    return c, seen


def _dropout_kit_grade(c: Class) -> str:
    """`dropout-kit grade inbox/submitted --lessons 03_quiz`, in the course's folder; its output."""
    done = subprocess.run([sys.executable, "-m", "dropout_kit", "grade", "inbox/submitted", "--lessons", LESSON],
                          cwd=c.course, env=tools_env(), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_release_fetch_and_submit(cycle):
    """Does the lesson reach the exchange, each learner fetch it, and each submission arrive in inbound/?"""
    c, seen = cycle
    assert seen["released"] == [f"{LESSON}.ipynb"]
    assert all(seen[f"fetched {learner}"] for learner in LEARNERS)
    assert seen["inbound"] == list(LEARNERS)


def test_collect_keeps_the_submission_with_its_timestamp_and_secret(cycle):
    """Does collect put each notebook into grading/submitted/<learner>/<lesson>/ with timestamp.txt and
    submission_secret.txt, which release_feedback needs?"""
    c, seen = cycle
    for learner in LEARNERS:
        assert seen["collected"][learner] == [f"{LESSON}.ipynb", "submission_secret.txt", "timestamp.txt"]


def test_plain_nbgrader_feedback_reaches_the_learners(cycle):
    """After plain autograde, generate_feedback and release_feedback, does each learner fetch feedback HTML
    with their verdicts: passed for the right answer, why-not for the wrong one?"""
    c, seen = cycle
    assert RIGHT in seen["plain"]["ada"] and WRONG not in seen["plain"]["ada"]
    assert WRONG in seen["plain"]["bob"] and CHOICE_KEY["purpose"][1][BOBS_ANSWER] in seen["plain"]["bob"]


def test_dropout_kit_grade_keeps_the_collected_timestamps(cycle):
    """Does `dropout-kit grade` on collected submissions keep each timestamp.txt and submission secret,
    through to the feedback folder that release_feedback reads?"""
    c, seen = cycle
    for learner in LEARNERS:
        collected = c.course / "inbox" / "submitted" / learner / LESSON
        for step in ("submitted", "feedback"):
            folder = c.course / "grading" / step / learner / LESSON
            for name in ("timestamp.txt", "submission_secret.txt"):
                assert (folder / name).read_text() == (collected / name).read_text(), (step, name)


def test_dropout_kit_grade_feedback_reaches_the_learners(cycle):
    """After `dropout-kit grade` and release_feedback, does each learner fetch exactly the feedback it wrote,
    with their verdicts, and does grades.csv hold their scores?"""
    c, seen = cycle
    for learner in LEARNERS:
        written = (c.course / "grading" / "feedback" / learner / LESSON / f"{LESSON}.html").read_text()
        assert seen["kit"][learner] == written
    assert RIGHT in seen["kit"]["ada"] and WRONG in seen["kit"]["bob"]
    with (c.course / "grading" / "grades.csv").open() as handle:
        totals = {row["learner"]: (row["score"], row["status"]) for row in csv.DictReader(handle)
                  if row["lesson"] == LESSON}
    assert totals == {"ada": ("17", "ok"), "bob": ("0", "ok")}
