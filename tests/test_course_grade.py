"""dropout_kit.course.grade, end to end: solutions get full marks, the release gets 0, and planted
faults get the outcome each test states while the other learners of the same run are graded as usual.

Slow: each learner's lesson starts a (sandboxed) kernel. Most runs use the fixture course
(tests/fixtures/course: lesson 02's dropout exercise and one quiz question), graded by the real
judges; one run grades every lesson of the repository. Attacks live in test_attacks.py.
"""

import copy
import importlib
import csv
import glob
import json
import os
import shutil
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path

import psutil
import pytest
from nbgrader.api import Gradebook

from dropout_kit import cli
from dropout_kit.course import config, grade, release
from dropout_kit.course.report import FAILED, MISSING, OK
from dropout_kit.errors import DropoutKitError

grading = importlib.import_module("dropout_kit.course.grade")  # the module, which `grade` shadows

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "course"
LESSON = "99_fixture"
CELL_TIMEOUT, LESSON_TIMEOUT = 30, 90  # seconds; the course's own are 300 and 900


# --- building submissions ------------------------------------------------------------------
def load(path: Path) -> dict:
    nb = json.loads(Path(path).read_text())
    for cell in nb["cells"]:
        cell["source"] = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    return nb


def nbgrader_meta(cell: dict) -> dict:
    return cell["metadata"].get("nbgrader", {})


def with_first_answer_prefixed(nb: dict, code: str) -> dict:
    nb = copy.deepcopy(nb)
    answer = next(c for c in nb["cells"] if nbgrader_meta(c).get("solution"))
    answer["source"] = code + "\n" + answer["source"]
    return nb


def without_tests(nb: dict) -> dict:
    nb = copy.deepcopy(nb)
    nb["cells"] = [c for c in nb["cells"] if not nbgrader_meta(c).get("grade")]
    return nb


def with_tests(nb: dict, source: str | None = None, tags: list | None = None) -> dict:
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if nbgrader_meta(cell).get("grade"):
            cell["source"] = cell["source"] if source is None else source
            if tags is not None:
                cell["metadata"]["tags"] = tags
    return nb


def stripped(nb: dict) -> dict:
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        for key in ("nbgrader", "deletable", "editable"):
            cell["metadata"].pop(key, None)
    return nb


def submit(folder: Path, learner: str, lesson: str, nb: dict | str) -> None:
    (folder / learner).mkdir(parents=True, exist_ok=True)
    text = nb if isinstance(nb, str) else json.dumps(nb, indent=1)
    (folder / learner / f"{lesson}.ipynb").write_text(text)


def cell_scores(out: Path, learner: str, lesson: str) -> dict:
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}", "dropout-course") as gb:
        return {g.name: g.auto_score for g in gb.find_submission_notebook(lesson, lesson, learner).grades}


def result(report, learner: str, lesson: str):
    [row] = [r for r in report.results if r.learner == learner and r.lesson == lesson]
    return row


def fixture_course(root: Path) -> Path:
    shutil.copytree(FIXTURE / "solutions", root / "solutions")
    (root / "autograder").mkdir(parents=True)
    shutil.copy(REPO / "autograder" / "nbgrader_config.py", root / "autograder")
    return root


def marker_processes(marker: str) -> list:
    """Processes whose command line holds ``marker`` (what a learner's kernel started)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if marker in " ".join(process.info["cmdline"] or []):
                found.append(process)
        except psutil.Error:
            pass
    return found


# --- the fault run -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fault_run(tmp_path_factory):
    """One grading run (2 jobs at once): a good learner, a blank one, and one learner per planted fault."""
    tmp = tmp_path_factory.mktemp("faults")
    root = fixture_course(tmp / "course")
    [released] = release(course_root=root, into=tmp / "release")
    S, R = load(root / "solutions" / LESSON / f"{LESSON}.ipynb"), load(released)
    subs = tmp / "submissions"
    faults = {
        "good": S,
        "blank": R,
        "infinite_loop": with_first_answer_prefixed(S, "while True:\n    pass"),
        "ignores_interrupt": with_first_answer_prefixed(
            S, "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"),
        "exits_python": with_first_answer_prefixed(S, "import os\nos._exit(1)"),
        "corrupt_json": json.dumps(S)[: len(json.dumps(S)) // 2],
        "deleted_tests": without_tests(R),
        "deleted_tests_solved": without_tests(S),
        "edited_tests": with_tests(R, source="pass"),
        "edited_tests_to_print_ok": with_tests(R, source="print('all checks passed')"),
        "skip_tagged_tests": with_tests(R, tags=["skip-execution"]),
        "stripped_metadata": stripped(R),
        "stripped_metadata_solved": stripped(S),
    }
    for learner, nb in faults.items():
        submit(subs, learner, LESSON, nb)
    out = tmp / "grading"
    report = grade(subs, out=out, timeout=CELL_TIMEOUT, notebook_timeout=LESSON_TIMEOUT, course_root=root, jobs=2)
    return report, out


def test_good_learner_gets_full_marks(fault_run):
    """Is the solution, graded among faulty submissions, given full marks with every cell scored?"""
    report, out = fault_run
    row = result(report, "good", LESSON)
    assert (row.status, row.score, row.max_score, row.sandbox) == (OK, 4, 4, "yes")
    assert cell_scores(out, "good", LESSON) == {"test_dropout_function": 3, "test_purpose": 1}


@pytest.mark.parametrize("learner", ["blank", "deleted_tests", "edited_tests", "edited_tests_to_print_ok",
                                     "skip_tagged_tests", "stripped_metadata"])
def test_untouched_or_cheating_release_gets_zero(fault_run, learner):
    """Does an unanswered notebook get 0 on every test, with tests deleted, edited, tagged or stripped?"""
    report, out = fault_run
    row = result(report, learner, LESSON)
    assert (row.status, row.score, row.max_score) == (OK, 0, 4), row.reason
    assert cell_scores(out, learner, LESSON) == {"test_dropout_function": 0, "test_purpose": 0}


@pytest.mark.parametrize("learner", ["deleted_tests_solved", "stripped_metadata_solved"])
def test_restored_tests_still_count(fault_run, learner):
    """Are deleted test cells put back, and stripped metadata restored, so right answers still score?"""
    report, _ = fault_run
    row = result(report, learner, LESSON)
    assert (row.status, row.score) == (OK, 4), row.reason


@pytest.mark.parametrize("learner", ["infinite_loop", "ignores_interrupt"])
def test_a_hang_fails_with_timeout(fault_run, learner):
    """Is a hanging answer, interruptible or not, reported as failed: timeout, with no score?"""
    report, _ = fault_run
    row = result(report, learner, LESSON)
    assert (row.status, row.score) == (FAILED, None)
    assert row.reason.startswith("timeout: cell 3 ran over 30 s"), row.reason


def test_a_dead_kernel_fails_with_the_reason(fault_run):
    """Is os._exit in an answer reported as failed because the kernel died?"""
    report, _ = fault_run
    row = result(report, "exits_python", LESSON)
    assert (row.status, row.score) == (FAILED, None)
    assert row.reason.startswith("kernel died: in cell 3"), row.reason


def test_corrupt_json_fails_with_the_reason(fault_run):
    """Is a notebook that is not JSON reported as a corrupt notebook, naming the problem?"""
    report, _ = fault_run
    row = result(report, "corrupt_json", LESSON)
    assert (row.status, row.score) == (FAILED, None)
    assert row.reason.startswith("corrupt notebook: ") and "invalid JSON at line" in row.reason


def test_grades_csv_has_a_row_per_learner_and_lesson_and_a_total(fault_run):
    """Does grades.csv hold every learner's lesson and total, with status, reason, sandbox and device?"""
    report, out = fault_run
    with (out / "grades.csv").open() as handle:
        header = handle.readline().strip()
        rows = {(r["learner"], r["lesson"]): r for r in csv.DictReader(handle, header.split(","))}
    assert header == "learner,lesson,score,max_score,status,reason,sandbox,device"
    assert len(rows) == 2 * len(report.learners)
    short = {key: (r["score"], r["max_score"], r["status"]) for key, r in rows.items()}
    assert short["good", LESSON] == short["good", "total"] == ("4", "4", "ok")
    assert short["blank", LESSON] == short["blank", "total"] == ("0", "4", "ok")
    assert short["exits_python", LESSON] == ("", "4", "failed")
    assert short["exits_python", "total"] == ("0", "4", "failed")
    assert rows["exits_python", "total"]["reason"] == f"{LESSON} failed: " + rows["exits_python", LESSON]["reason"]
    assert {r["sandbox"] for r in rows.values()} == {"yes"} and all(r["device"] for r in rows.values())
    assert report.ok is False


def test_feedback_shows_verdicts_and_no_hidden_tests(fault_run):
    """Does the feedback show each test cell's verdict, and neither hidden tests nor their marker?"""
    report, out = fault_run
    for learner in ("good", "blank"):
        html = (out / "feedback" / learner / LESSON / f"{LESSON}.html").read_text()
        assert "SECRET-HIDDEN-MARKER" not in html and "HIDDEN TESTS" not in html
        assert "Read-only test cell: run it to check your dropout" in html
    assert "Dropout function: passed" in (out / "feedback" / "good" / LESSON / f"{LESSON}.html").read_text() or \
        "passed (" in (out / "feedback" / "good" / LESSON / f"{LESSON}.html").read_text()
    assert "NOT passed" in (out / "feedback" / "blank" / LESSON / f"{LESSON}.html").read_text()


# --- layouts, limits, the gradebook ---------------------------------------------------------------
def test_nbgrader_layout_is_accepted(tmp_path):
    """Are submissions in nbgrader's submitted/<learner>/<lesson>/ layout graded (given its parent folder)?"""
    root = fixture_course(tmp_path / "course")
    S = load(root / "solutions" / LESSON / f"{LESSON}.ipynb")
    (tmp_path / "submitted" / "ada" / LESSON).mkdir(parents=True)
    (tmp_path / "submitted" / "ada" / LESSON / f"{LESSON}.ipynb").write_text(json.dumps(S))
    report = grade(tmp_path, out=tmp_path / "out", timeout=CELL_TIMEOUT, course_root=root)
    assert [(r.learner, r.score, r.status) for r in report.results] == [("ada", 4.0, OK)]


def test_a_hang_past_the_lesson_limit_is_stopped_with_every_process(tmp_path):
    """Past the lesson's wall-clock limit, is the kernel stopped, a detached child included, and reported?"""
    root = fixture_course(tmp_path / "course")
    marker = f"{os.getpid()}.{tmp_path.name}"  # an argument no other process has
    hang = (f"import subprocess, os\nsubprocess.Popen(['sleep', '{marker}'.split('.')[0] + '1'], start_new_session=True)\n"
            f"subprocess.Popen(['python3', '-c', 'import time; time.sleep(9999)', '{marker}'], start_new_session=True)\n"
            "while True:\n    pass")
    S = load(root / "solutions" / LESSON / f"{LESSON}.ipynb")
    submit(tmp_path / "subs", "ada", LESSON, with_first_answer_prefixed(S, hang))
    report = grade(tmp_path / "subs", out=tmp_path / "out", timeout=300, notebook_timeout=25, course_root=root)
    row = result(report, "ada", LESSON)
    assert (row.status, row.score) == (FAILED, None)
    assert "timeout" in row.reason and "25" in row.reason, row.reason
    assert marker_processes(marker) == []


def test_a_gradebook_score_that_differs_from_the_judges_is_refused(tmp_path):
    """Is a lesson failed, not scored, when the gradebook holds a score its judge did not give?"""
    import importlib

    grade_module = importlib.import_module("dropout_kit.course.grade")  # the package exports the function

    class Grade:
        def __init__(self, name, max_score, auto_score, manual_score=None):
            self.name, self.max_score, self.auto_score, self.manual_score = name, max_score, auto_score, manual_score

    passed, failed = {"passed": True}, {"passed": False}
    judged = {"test_a": passed, "test_b": failed}
    assert grade_module._judged_score([Grade("test_a", 3, 3), Grade("test_b", 1, 0)], judged) == ("", 3.0)
    problem, _ = grade_module._judged_score([Grade("test_a", 3, 3), Grade("test_b", 1, 0, manual_score=1)], judged)
    assert problem == "the gradebook's score for test_b (1) differs from its judge's verdict (0): refused"
    problem, _ = grade_module._judged_score([Grade("test_a", 3, 3), Grade("test_c", 1, 1)], judged)
    assert problem == "no verdict for test cell test_c"


def test_learners_are_in_the_gradebook_before_any_lesson_is_graded(tmp_path):
    """Are this run's learners added to the gradebook before grading starts?

    Otherwise two processes grading two lessons of one new learner at once (``--jobs 2``) both add
    the learner, and one lesson fails on the gradebook's unique learner id (seen in CI).
    """
    root = fixture_course(tmp_path / "course")
    out = tmp_path / "out"
    out.mkdir()
    settings = config.course_config(root, workspace=out, release_dir=out / "release", db_url=None, timeout=None)
    with config.tools_on_path():
        grading._prepare_gradebook(settings, [LESSON], ["bo", "ada"])
    with Gradebook(settings.CourseDirectory.db_url, settings.CourseDirectory.course_id) as gb:
        assert sorted(student.id for student in gb.students) == ["ada", "bo"]
        assert [a.name for a in gb.assignments] == [LESSON]


# --- every graded lesson of the repository ------------------------------------------------------
@pytest.fixture(scope="module")
def course_run(tmp_path_factory):
    lessons = [lesson for lesson in config.discover_lessons(REPO) if lesson.graded]
    tmp = tmp_path_factory.mktemp("course")
    released = release([lesson.name for lesson in lessons], course_root=REPO, into=tmp / "release")
    for lesson, path in zip(lessons, released):
        submit(tmp / "submissions", "solutions", lesson.name, load(lesson.notebook))
        submit(tmp / "submissions", "release", lesson.name, load(path))
    out = tmp / "grading"
    return lessons, grade(tmp / "submissions", out=out, course_root=REPO, jobs=2), out


def test_solutions_get_full_marks_in_every_graded_lesson(course_run):
    """Does the solution of every graded lesson, submitted as a learner, get full marks, every cell scored?"""
    lessons, report, out = course_run
    assert lessons
    for lesson in lessons:
        row = result(report, "solutions", lesson.name)
        assert (lesson.name, row.status, row.score) == (lesson.name, OK, lesson.max_score), row.reason
        assert None not in cell_scores(out, "solutions", lesson.name).values()


def test_release_gets_zero_on_every_answer_of_every_lesson(course_run):
    """Does the untouched release of every graded lesson get 0 on every autograded test?"""
    lessons, report, out = course_run
    for lesson in lessons:
        row = result(report, "release", lesson.name)
        assert (lesson.name, row.status, row.score) == (lesson.name, OK, 0), row.reason
        assert set(cell_scores(out, "release", lesson.name).values()) == {0}


# --- the gradebook follows solutions/, and the command's exit codes ------------------------------
def test_changed_tests_are_used_and_exit_codes(tmp_path, monkeypatch, capsys):
    """Does a second run grade with test cells changed in solutions/ since the first, and exit 0, then 1?"""
    root = fixture_course(tmp_path / "course")
    source = root / "solutions" / LESSON / f"{LESSON}.ipynb"
    submit(tmp_path / "subs", "ada", LESSON, load(source))
    monkeypatch.chdir(root)  # the command finds its course from the working directory
    args = ["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--timeout", str(CELL_TIMEOUT)]
    assert cli.main(args) == 0
    assert "ada,total,4,4,ok," in (tmp_path / "out" / "grades.csv").read_text()
    nb = json.loads(source.read_text())
    [quiz_test] = [c for c in nb["cells"] if nbgrader_meta(c).get("grade_id") == "test_purpose"]
    quiz_test["metadata"]["nbgrader"]["points"] = 2
    source.write_text(json.dumps(nb, indent=1))
    submit(tmp_path / "subs", "cy", LESSON, "{ not json")
    assert cli.main(args) == 1
    rows = {(r["learner"], r["lesson"]): r for r in csv.DictReader((tmp_path / "out" / "grades.csv").open())}
    assert (rows["ada", LESSON]["score"], rows["ada", LESSON]["max_score"], rows["ada", LESSON]["status"]) == \
        ("5", "5", "ok")
    assert (rows["cy", LESSON]["score"], rows["cy", LESSON]["status"]) == ("", "failed")
    assert rows["cy", LESSON]["reason"].startswith("corrupt notebook: ")
    assert f"  ! {LESSON} failed: corrupt notebook:" in capsys.readouterr().out


def test_missing_lesson_is_reported_as_missing(tmp_path):
    """Is a lesson a learner did not hand in reported as missing with 0, not as failed?"""
    root = fixture_course(tmp_path / "course")
    shutil.copytree(root / "solutions" / LESSON, root / "solutions" / "98_other")
    (root / "solutions" / "98_other" / f"{LESSON}.ipynb").rename(root / "solutions" / "98_other" / "98_other.ipynb")
    submit(tmp_path / "subs", "ada", "98_other", "not json at all")
    report = grade(tmp_path / "subs", out=tmp_path / "out", course_root=root)
    missing = result(report, "ada", LESSON)
    assert (missing.status, missing.score, missing.reason) == (MISSING, 0, "no notebook submitted")
    total = report.total("ada")
    assert (total.status, total.score, total.max_score) == (FAILED, 0, 8)
    assert total.reason.startswith("98_other failed: corrupt notebook: ")
    assert total.reason.endswith(f"; {LESSON} missing: no notebook submitted")


def test_ungraded_lesson_cannot_be_graded(tmp_path):
    """Does asking to grade a lesson without graded cells say so?"""
    root = fixture_course(tmp_path / "course")
    (root / "solutions" / "00_intro").mkdir()
    (root / "solutions" / "00_intro" / "00_intro.ipynb").write_text('{"cells": [], "nbformat": 4}')
    (tmp_path / "subs" / "ada").mkdir(parents=True)
    with pytest.raises(DropoutKitError, match="lesson\\(s\\) 00_intro have no graded cells; nothing to grade"):
        grade(tmp_path / "subs", out=tmp_path / "out", lessons=["00_intro"], course_root=root)


def test_jobs_must_be_positive(tmp_path):
    """Is a jobs count below 1 refused with a clear message?"""
    with pytest.raises(DropoutKitError, match="jobs must be at least 1, got 0"):
        grade(tmp_path, out=tmp_path / "out", jobs=0, course_root=fixture_course(tmp_path / "course"))


# --- a PostgreSQL gradebook --------------------------------------------------------------------
@pytest.fixture
def postgres_url():
    """A throwaway PostgreSQL server on a unix socket, with an empty database; its URL."""
    initdb = shutil.which("initdb") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))), None)
    if initdb is None:
        if os.environ.get("CI"):
            pytest.fail("CI installs PostgreSQL (.ci/run); initdb was not found")
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    bin_dir = Path(initdb).resolve().parent  # /usr/local/bin may link initdb but not createdb
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []  # it refuses root
    folder = Path(tempfile.mkdtemp(prefix="dropout-pg-"))  # short: a socket path has 107 bytes at most
    if as_postgres:
        shutil.chown(folder, "postgres")

    def run(*argv):
        subprocess.run(as_postgres + [str(bin_dir / argv[0]), *argv[1:]], check=True, capture_output=True)

    try:
        run("initdb", "-D", f"{folder}/data", "-A", "trust", "-U", "postgres")
        run("pg_ctl", "-D", f"{folder}/data", "-l", f"{folder}/log", "-w", "start",
            "-o", f"-k {folder} -c listen_addresses=''")
        run("createdb", "-h", str(folder), "-U", "postgres", "dropout_course")
        yield f"postgresql://postgres@/dropout_course?host={folder}"
    finally:
        subprocess.run(as_postgres + [str(bin_dir / "pg_ctl"), "-D", f"{folder}/data", "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_a_postgresql_gradebook(tmp_path, postgres_url):
    """Does grading work with a PostgreSQL gradebook, twice in a row, leaving no gradebook.db behind?"""
    root = fixture_course(tmp_path / "course")
    [released] = release(course_root=root, into=tmp_path / "release")
    submit(tmp_path / "subs", "ada", LESSON, load(root / "solutions" / LESSON / f"{LESSON}.ipynb"))
    submit(tmp_path / "subs", "bo", LESSON, load(released))
    for _ in range(2):  # the second run replaces the first one's submissions in the gradebook
        report = grade(tmp_path / "subs", out=tmp_path / "out", timeout=CELL_TIMEOUT, db_url=postgres_url,
                       course_root=root, jobs=2)
        assert [(r.learner, r.score, r.status) for r in report.results] == [("ada", 4, OK), ("bo", 0, OK)]
    assert not (tmp_path / "out" / "gradebook.db").exists()


# --- what a submission carries into the workspace -------------------------------------------------
def test_a_collected_submission_keeps_its_timestamp_and_secret(tmp_path):
    """Does a notebook collected from nbgrader's exchange keep its timestamp.txt and submission_secret.txt
    (release_feedback reads both beside the feedback)?"""
    from dropout_kit.course.grade import hand_in

    collected = tmp_path / "submitted" / "ada" / LESSON
    collected.mkdir(parents=True)
    (collected / f"{LESSON}.ipynb").write_text('{"cells": []}')
    (collected / "timestamp.txt").write_text("2024-05-01 12:34:56.789000 UTC")
    (collected / "submission_secret.txt").write_text("f00d")
    dest = tmp_path / "out" / "submitted" / "ada" / LESSON
    hand_in(collected / f"{LESSON}.ipynb", dest, LESSON)
    assert sorted(p.name for p in dest.iterdir()) == [f"{LESSON}.ipynb", "submission_secret.txt", "timestamp.txt"]
    assert (dest / "timestamp.txt").read_text() == "2024-05-01 12:34:56.789000 UTC"
    assert (dest / "submission_secret.txt").read_text() == "f00d"


def test_links_beside_a_collected_submission_are_not_copied(tmp_path):
    """Are a timestamp.txt and a submission_secret.txt that are symbolic links (to any file the grader can
    read) left behind, the timestamp taken from the notebook's modification time instead?"""
    from dropout_kit.course.grade import hand_in

    collected = tmp_path / "submitted" / "ada" / LESSON
    collected.mkdir(parents=True)
    (collected / f"{LESSON}.ipynb").write_text('{"cells": []}')
    (tmp_path / "secret").write_text("the grader's own file")
    for name in ("timestamp.txt", "submission_secret.txt"):
        (collected / name).symlink_to(tmp_path / "secret")
    dest = tmp_path / "out" / "submitted" / "ada" / LESSON
    hand_in(collected / f"{LESSON}.ipynb", dest, LESSON)
    assert sorted(p.name for p in dest.iterdir()) == [f"{LESSON}.ipynb", "timestamp.txt"]
    assert "grader" not in (dest / "timestamp.txt").read_text()


def test_a_handed_in_notebook_gets_its_modification_time_as_timestamp(tmp_path):
    """Does a notebook of the flat layout get a timestamp.txt, in nbgrader's format, of its file's modification time?"""
    from nbgrader.utils import parse_utc

    from dropout_kit.course.grade import hand_in

    notebook = tmp_path / "subs" / "ada" / f"{LESSON}.ipynb"
    notebook.parent.mkdir(parents=True)
    notebook.write_text('{"cells": []}')
    (notebook.parent / "timestamp.txt").write_text("2000-01-01 00:00:00 UTC")  # the learner's folder: not a lesson's
    os.utime(notebook, (1714566896.5, 1714566896.5))
    dest = tmp_path / "out" / "submitted" / "ada" / LESSON
    hand_in(notebook, dest, LESSON)
    assert sorted(p.name for p in dest.iterdir()) == [f"{LESSON}.ipynb", "timestamp.txt"]
    assert (dest / "timestamp.txt").read_text() == "2024-05-01 12:34:56.500000 UTC"
    parsed = parse_utc((dest / "timestamp.txt").read_text())  # as nbgrader reads it: naive, in UTC
    assert parsed.replace(tzinfo=None) == datetime(2024, 5, 1, 12, 34, 56, 500000)
