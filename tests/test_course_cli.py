"""The course subcommands of dropout-kit: arguments and exit codes (fast: no kernel starts)."""

from pathlib import Path

import pytest

from dropout_kit import cli

REPO = Path(__file__).resolve().parents[1]


def run(capsys, *argv) -> tuple[int, str, str]:
    try:
        status = cli.main(list(argv))
    except SystemExit as exc:  # argparse's own errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def test_release_of_an_unknown_lesson(capsys):
    """Does `release 07_nope` exit 2 and name the lessons that exist?"""
    status, _, err = run(capsys, "release", "07_nope")
    assert status == 2
    assert err.startswith("dropout-kit release: error: unknown lesson(s) 07_nope; lessons in solutions/: 01_concepts")


def test_grade_a_folder_that_does_not_exist(capsys, tmp_path):
    """Does `grade` of a missing folder exit 2, saying which layouts it expects?"""
    status, _, err = run(capsys, "grade", str(tmp_path / "nope"))
    assert status == 2
    assert err == (f"dropout-kit grade: error: submissions folder {tmp_path / 'nope'} does not exist; expected "
                   "SUBMISSIONS_DIR/<learner>/<lesson>.ipynb or nbgrader's "
                   "submitted/<learner>/<lesson>/<lesson>.ipynb\n")


def test_grade_a_folder_without_submissions(capsys, tmp_path):
    """Does `grade` of a folder holding no lesson notebook exit 2 and say so?"""
    (tmp_path / "ada").mkdir()
    (tmp_path / "ada" / "homework.ipynb").write_text("{}")
    status, _, err = run(capsys, "grade", str(tmp_path), "--lessons", "02_from_scratch")
    assert status == 2
    assert err.startswith(f"dropout-kit grade: error: no submissions found in {tmp_path}; expected ")
    assert err.endswith("for lessons 02_from_scratch\n")


def test_grade_an_ungraded_lesson(capsys, tmp_path):
    """Does `grade --lessons 01_concepts` exit 2, since that lesson has nothing to grade?"""
    status, _, err = run(capsys, "grade", str(tmp_path), "--lessons", "01_concepts")
    assert status == 2
    assert err == "dropout-kit grade: error: lesson(s) 01_concepts have no graded cells; nothing to grade\n"


@pytest.mark.parametrize("argv", [["grade", "x", "--timeout", "0"], ["check", "x.ipynb", "--timeout", "-3"],
                                  ["grade"], ["check"]])
def test_bad_arguments_exit_2(capsys, argv):
    """Do a non-positive timeout and a missing path exit 2 with argparse's usage message?"""
    status, _, err = run(capsys, *argv)
    assert status == 2 and "usage: dropout-kit" in err


def test_grade_refuses_submissions_inside_its_workspace(capsys, tmp_path):
    """Does grade refuse to read submissions from the workspace it rewrites (it would delete them)?"""
    (tmp_path / "submitted" / "ada").mkdir(parents=True)
    status, _, err = run(capsys, "grade", str(tmp_path / "submitted"), "--out", str(tmp_path),
                         "--lessons", "02_from_scratch")
    assert status == 2
    assert err == (f"dropout-kit grade: error: the submissions ({tmp_path / 'submitted'}) are inside the grading "
                   f"workspace {tmp_path}, which grade rewrites; copy them elsewhere or choose another --out\n")
