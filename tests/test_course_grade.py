"""dropout_kit.course.grade, end to end: solutions get full marks, the release gets 0, and planted
faults get the outcome each test states while the other learners of the same run are graded as usual.

Slow: each learner's lesson starts a kernel. The fault run uses the fastest real graded lesson
(03_quiz, else 02_from_scratch), or the fixture lesson while neither exists, and short time limits.
"""

import copy
import csv
import glob
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psutil
import pytest
from nbgrader.api import Gradebook

from dropout_kit import cli
from dropout_kit.course import config, grade, release
from dropout_kit.course.report import FAILED, MISSING, OK
from dropout_kit.errors import DropoutKitError

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "course"
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


def with_answers(nb: dict, answers: dict[str, str]) -> dict:
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if nbgrader_meta(cell).get("grade_id") in answers:
            cell["source"] = answers[nbgrader_meta(cell)["grade_id"]]
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


# Per lesson: a wrong answer that a tampering learner hides by replacing what the test relies on.
TAMPERING = {
    "99_fixture": [
        ("replaces_allclose", {"scale": "import torch\ntorch.allclose = lambda *a, **k: True\n"
                                         "def scale(X, p):\n    return X"}, "torch.allclose"),
        ("replaces_checker", {"scale": "fixture_checks.check_scale = lambda f: fixture_checks.Report(True, 'ok')\n"
                                       "def scale(X, p):\n    return X"}, "fixture_checks.check_scale"),
    ],
    "03_quiz": [
        ("replaces_checker", {"answer_purpose": "answer_purpose = 'A'\n"
                                                "quiz.check = lambda *a, **k: type('F', (), {'correct': True})()"},
         "quiz.check"),
    ],
    "02_from_scratch": [
        ("replaces_allclose", {"dropout_function": "import torch\ntorch.allclose = lambda *a, **k: True\n"
                                                   "torch.equal = lambda *a, **k: True\n"
                                                   "def dropout(x, p=0.5, training=True, inplace=False):\n"
                                                   "    return x"}, "torch.allclose"),
        ("replaces_checker", {"dropout_function": "exercises.check = "
                                                  "lambda *a, **k: type('V', (), {'passed': True})()\n"
                                                  "def dropout(x, p=0.5, training=True, inplace=False):\n"
                                                  "    return x"}, "exercises.check"),
    ],
}


# --- the fault run -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fault_run(tmp_path_factory):
    """One grading run of one lesson: a good learner, a blank one, and one learner per planted fault."""
    graded = {lesson.name: lesson for lesson in config.discover_lessons(REPO) if lesson.graded}
    name = next((n for n in ("03_quiz", "02_from_scratch") if n in graded), None)
    tmp = tmp_path_factory.mktemp("faults")
    root = REPO if name else fixture_course(tmp / "course")
    lesson = graded[name] if name else config.discover_lessons(root)[0]
    [released] = release([lesson.name], course_root=root, into=tmp / "release")
    S, R = load(lesson.notebook), load(released)
    subs = tmp / "submissions"
    faults = {
        "good": S,
        "blank": R,
        "infinite_loop": with_first_answer_prefixed(S, "while True:\n    pass"),
        "ignores_interrupt": with_first_answer_prefixed(
            S, "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"),
        "exits_python": with_first_answer_prefixed(S, "import os\nos._exit(1)"),
        "corrupt_json": lesson.notebook.read_text()[: len(lesson.notebook.read_text()) // 2],
        "deleted_tests": without_tests(R),
        "deleted_tests_solved": without_tests(S),
        "edited_tests": with_tests(R, source="pass"),
        "skip_tagged_tests": with_tests(R, tags=["skip-execution"]),
        "stripped_metadata": stripped(R),
        "stripped_metadata_solved": stripped(S),
    }
    for learner, answers, _ in TAMPERING.get(lesson.name, []):
        faults[learner] = with_answers(R, answers)
    for learner, nb in faults.items():
        submit(subs, learner, lesson.name, nb)
    out = tmp / "grading"
    report = grade(subs, out=out, lessons=[lesson.name], timeout=CELL_TIMEOUT,
                   notebook_timeout=LESSON_TIMEOUT, course_root=root)
    return lesson, report, out


def test_good_learner_gets_full_marks(fault_run):
    """Is the solution, submitted among faulty ones, graded full marks with every cell scored?"""
    lesson, report, out = fault_run
    assert result(report, "good", lesson.name).score == lesson.max_score > 0
    assert None not in cell_scores(out, "good", lesson.name).values()


@pytest.mark.parametrize("learner", ["blank", "deleted_tests", "edited_tests", "skip_tagged_tests",
                                     "stripped_metadata"])
def test_untouched_or_cheating_release_gets_zero(fault_run, learner):
    """Does an unanswered notebook get 0 on every test, with tests deleted, edited, tagged or stripped?"""
    lesson, report, out = fault_run
    row = result(report, learner, lesson.name)
    assert (row.status, row.score, row.max_score) == (OK, 0, lesson.max_score)
    scores = cell_scores(out, learner, lesson.name)
    assert len(scores) == len([1 for c in load(lesson.notebook)["cells"] if nbgrader_meta(c).get("grade")])
    assert set(scores.values()) == {0}


@pytest.mark.parametrize("learner", ["deleted_tests_solved", "stripped_metadata_solved"])
def test_restored_tests_still_count(fault_run, learner):
    """Are deleted test cells put back, and stripped metadata restored, so right answers still score?"""
    lesson, report, _ = fault_run
    row = result(report, learner, lesson.name)
    assert (row.status, row.score) == (OK, lesson.max_score)


@pytest.mark.parametrize("learner", ["infinite_loop", "ignores_interrupt"])
def test_a_hang_fails_with_timeout(fault_run, learner):
    """Is a hanging answer, interruptible or not, reported as failed: timeout, with no score?"""
    lesson, report, _ = fault_run
    row = result(report, learner, lesson.name)
    assert (row.status, row.score) == (FAILED, None)
    assert row.reason.startswith("timeout: ")


def test_a_dead_kernel_fails_with_the_reason(fault_run):
    """Is os._exit in an answer reported as failed because the kernel died?"""
    lesson, report, _ = fault_run
    row = result(report, "exits_python", lesson.name)
    assert (row.status, row.score) == (FAILED, None)
    assert row.reason.startswith("kernel died")


def test_corrupt_json_fails_with_the_reason(fault_run):
    """Is a notebook that is not JSON reported as a corrupt notebook, naming the problem?"""
    lesson, report, _ = fault_run
    row = result(report, "corrupt_json", lesson.name)
    assert (row.status, row.score) == (FAILED, None)
    assert row.reason.startswith("corrupt notebook: ") and "invalid JSON at line" in row.reason


def test_tampering_is_reported(fault_run):
    """Is a submission that replaces what the tests rely on reported as failed, naming what it replaced?"""
    lesson, report, _ = fault_run
    for learner, _, replaced in TAMPERING.get(lesson.name, []):
        row = result(report, learner, lesson.name)
        assert (row.status, row.score) == (FAILED, None)
        assert row.reason.startswith("tampering suspected: ") and replaced in row.reason


def test_grades_csv_has_a_row_per_learner_and_lesson_and_a_total(fault_run):
    """Does grades.csv hold every learner's lesson and total, with status and reason columns?"""
    lesson, report, out = fault_run
    with (out / "grades.csv").open() as handle:
        header = handle.readline().strip()
        rows = {(r["learner"], r["lesson"]): r for r in csv.DictReader(handle, header.split(","))}
    assert header == "learner,lesson,score,max_score,status,reason"
    assert len(rows) == 2 * len(report.learners)
    full, zero = f"{lesson.max_score:g}", "0"
    short = {key: (r["score"], r["max_score"], r["status"]) for key, r in rows.items()}
    assert short["good", lesson.name] == short["good", "total"] == (full, full, "ok")
    assert short["blank", lesson.name] == short["blank", "total"] == (zero, full, "ok")
    assert short["exits_python", lesson.name] == ("", full, "failed")
    assert short["exits_python", "total"] == (zero, full, "failed")
    assert rows["exits_python", "total"]["reason"] == f"{lesson.name} failed: " + rows["exits_python", lesson.name]["reason"]
    assert report.ok is False


# --- the fixture lesson: hidden tests, the runtime integrity check, layouts ------------------------
@pytest.fixture(scope="module")
def fixture_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fixture")
    root = fixture_course(tmp / "course")
    [released] = release(course_root=root, into=tmp / "release")
    S, R = load(root / "solutions" / "99_fixture" / "99_fixture.ipynb"), load(released)
    subs = tmp / "submitted"  # nbgrader's layout for this run: submitted/<learner>/<lesson>/<lesson>.ipynb
    for learner, nb in {"ada": S, "bo": R}.items():
        (subs / learner / "99_fixture").mkdir(parents=True)
        (subs / learner / "99_fixture" / "99_fixture.ipynb").write_text(json.dumps(nb))
    for learner, answers, _ in TAMPERING["99_fixture"]:
        (subs / learner / "99_fixture").mkdir(parents=True)
        (subs / learner / "99_fixture" / "99_fixture.ipynb").write_text(json.dumps(with_answers(R, answers)))
    out = tmp / "grading"
    report = grade(tmp, out=out, timeout=CELL_TIMEOUT, notebook_timeout=LESSON_TIMEOUT, course_root=root)
    return root, report, out


def test_nbgrader_layout_is_accepted(fixture_run):
    """Are submissions in nbgrader's submitted/<learner>/<lesson>/ layout graded (given its parent folder)?"""
    _, report, _ = fixture_run
    assert [(r.learner, r.score, r.status) for r in report.results if r.learner in ("ada", "bo")] == \
        [("ada", 3.0, OK), ("bo", 0.0, OK)]


def test_feedback_shows_no_hidden_tests(fixture_run):
    """Does the feedback HTML show the visible test code but neither hidden tests nor their output?"""
    _, report, out = fixture_run
    for learner in report.learners:
        html = (out / "feedback" / learner / "99_fixture" / "99_fixture.html").read_text()
        assert "SECRET-HIDDEN-MARKER" not in html and "HIDDEN TESTS" not in html
        assert "Smoke check: nothing is dropped at p = 0." in html
        assert "Output withheld: this test cell has hidden tests." in html
    assert "SECRET-HIDDEN-MARKER" in (out / "autograded" / "bo" / "99_fixture" / "99_fixture.ipynb").read_text()


def test_replaced_allclose_scores_zero_in_the_kernel_too(fixture_run):
    """Besides the flag, does the checker's integrity.verify() make the replaced-allclose test fail?"""
    _, report, out = fixture_run
    assert cell_scores(out, "replaces_allclose", "99_fixture")["test_scale"] == 0
    html = (out / "feedback" / "replaces_allclose" / "99_fixture" / "99_fixture.html").read_text()
    assert "torch.allclose was replaced by the submission; grading refuses tampered functions" in html


def test_fixture_tampering_is_reported(fixture_run):
    """Is each tampering learner of the fixture lesson failed, naming what was replaced?"""
    _, report, _ = fixture_run
    for learner, _, replaced in TAMPERING["99_fixture"]:
        row = result(report, learner, "99_fixture")
        assert row.status == FAILED and replaced in row.reason


def test_a_hang_past_the_lesson_limit_is_killed_with_its_kernel(tmp_path):
    """Past the per-lesson wall-clock limit, is grading killed, kernel included, and reported as a timeout?"""
    root = fixture_course(tmp_path / "course")
    pid_file = tmp_path / "kernel.pid"
    hang = f"import os\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\nwhile True:\n    pass"
    S = load(root / "solutions" / "99_fixture" / "99_fixture.ipynb")
    submit(tmp_path / "subs", "ada", "99_fixture", with_first_answer_prefixed(S, hang))
    report = grade(tmp_path / "subs", out=tmp_path / "out", timeout=300, notebook_timeout=25, course_root=root)
    row = result(report, "ada", "99_fixture")
    assert (row.status, row.score) == (FAILED, None)
    assert row.reason == ("timeout: grading ran over the 25 s limit per lesson (CourseLimits.notebook_timeout) "
                          "and was killed")
    kernel = int(pid_file.read_text())
    assert not psutil.pid_exists(kernel) or psutil.Process(kernel).status() == psutil.STATUS_ZOMBIE


# --- every graded lesson of the repository ------------------------------------------------------
@pytest.fixture(scope="module")
def course_run(tmp_path_factory):
    lessons = [lesson for lesson in config.discover_lessons(REPO) if lesson.graded]
    if not lessons:
        pytest.skip("no graded lesson in solutions/ yet")
    tmp = tmp_path_factory.mktemp("course")
    released = release([lesson.name for lesson in lessons], course_root=REPO, into=tmp / "release")
    for lesson, path in zip(lessons, released):
        submit(tmp / "submissions", "solutions", lesson.name, load(lesson.notebook))
        submit(tmp / "submissions", "release", lesson.name, load(path))
    out = tmp / "grading"
    return lessons, grade(tmp / "submissions", out=out, course_root=REPO), out


def test_solutions_get_full_marks_in_every_graded_lesson(course_run):
    """Does the solution of every graded lesson, submitted as a learner, get full marks, every cell scored?"""
    lessons, report, out = course_run
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
    """Does a second run grade with tests changed in solutions/ since the first, and exit 0, then 1 on failure?"""
    root = fixture_course(tmp_path / "course")
    submit(tmp_path / "subs", "ada", "99_fixture", load(root / "solutions" / "99_fixture" / "99_fixture.ipynb"))
    monkeypatch.chdir(root)  # the command finds its course from the working directory
    args = ["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--timeout", str(CELL_TIMEOUT)]
    assert cli.main(args) == 0
    assert "ada,total,3,3,ok," in (tmp_path / "out" / "grades.csv").read_text()
    source = root / "solutions" / "99_fixture" / "99_fixture.ipynb"
    source.write_text(source.read_text().replace("keep_probability(0.25) - 0.75", "keep_probability(0.25) - 0.5"))
    submit(tmp_path / "subs", "cy", "99_fixture", "{ not json")
    assert cli.main(args) == 1
    rows = {(r["learner"], r["lesson"]): r for r in csv.DictReader((tmp_path / "out" / "grades.csv").open())}
    assert rows["ada", "99_fixture"] == {"learner": "ada", "lesson": "99_fixture", "score": "2", "max_score": "3",
                                         "status": "ok", "reason": ""}  # the changed hidden test: 0.75 is wrong now
    assert (rows["cy", "99_fixture"]["score"], rows["cy", "99_fixture"]["status"]) == ("", "failed")
    assert rows["cy", "99_fixture"]["reason"].startswith("corrupt notebook: ")
    assert "  ! 99_fixture failed: corrupt notebook:" in capsys.readouterr().out


def test_missing_lesson_is_reported_as_missing(tmp_path):
    """Is a lesson a learner did not hand in reported as missing with 0, not as failed?"""
    root = fixture_course(tmp_path / "course")
    shutil.copytree(root / "solutions" / "99_fixture", root / "solutions" / "98_other")
    (root / "solutions" / "98_other" / "99_fixture.ipynb").rename(root / "solutions" / "98_other" / "98_other.ipynb")
    submit(tmp_path / "subs", "ada", "98_other", "not json at all")
    report = grade(tmp_path / "subs", out=tmp_path / "out", course_root=root)
    missing = result(report, "ada", "99_fixture")
    assert (missing.status, missing.score, missing.reason) == (MISSING, 0, "no notebook submitted")
    total = report.total("ada")
    assert (total.status, total.score, total.max_score) == (FAILED, 0, 6)
    assert total.reason.startswith("98_other failed: corrupt notebook: ")
    assert total.reason.endswith("; 99_fixture missing: no notebook submitted")


def test_ungraded_lesson_cannot_be_graded(tmp_path):
    """Does asking to grade a lesson without graded cells say so?"""
    root = fixture_course(tmp_path / "course")
    (root / "solutions" / "00_intro").mkdir()
    (root / "solutions" / "00_intro" / "00_intro.ipynb").write_text('{"cells": [], "nbformat": 4}')
    (tmp_path / "subs" / "ada").mkdir(parents=True)
    with pytest.raises(DropoutKitError, match="lesson\\(s\\) 00_intro have no graded cells; nothing to grade"):
        grade(tmp_path / "subs", out=tmp_path / "out", lessons=["00_intro"], course_root=root)


# --- a PostgreSQL gradebook --------------------------------------------------------------------
@pytest.fixture
def postgres_url():
    """A throwaway PostgreSQL server on a unix socket, with an empty database; its URL."""
    initdb = shutil.which("initdb") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))), None)
    if initdb is None:
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
    submit(tmp_path / "subs", "ada", "99_fixture", load(root / "solutions" / "99_fixture" / "99_fixture.ipynb"))
    submit(tmp_path / "subs", "bo", "99_fixture", load(released))
    for _ in range(2):  # the second run replaces the first one's submissions in the gradebook
        report = grade(tmp_path / "subs", out=tmp_path / "out", timeout=CELL_TIMEOUT, db_url=postgres_url,
                       course_root=root)
        assert [(r.learner, r.score, r.status) for r in report.results] == [("ada", 3, OK), ("bo", 0, OK)]
    assert not (tmp_path / "out" / "gradebook.db").exists()
