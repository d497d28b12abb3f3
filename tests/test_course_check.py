"""dropout_kit.course.check_notebook: a learner's check, which fails (exit 1) when a test cell fails."""

import copy
import json
import shutil
from pathlib import Path

import pytest

from dropout_kit import cli
from dropout_kit.course import check_notebook, release
from dropout_kit.course.notebooks import read_notebook
from dropout_kit.errors import NotebookError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """The fixture lesson as a course of its own, released into its notebooks/."""
    root = tmp_path_factory.mktemp("check") / "course"
    shutil.copytree(REPO / "tests" / "fixtures" / "course" / "solutions", root / "solutions")
    (root / "autograder").mkdir()
    shutil.copy(REPO / "autograder" / "nbgrader_config.py", root / "autograder")
    release(course_root=root)
    return root


def learner_copy(course: Path, tmp_path: Path, change=None) -> Path:
    """A learner's copy of the released notebook, with the test cells changed by ``change``."""
    nb = json.loads((course / "notebooks" / "99_fixture" / "99_fixture.ipynb").read_text())
    for cell in nb["cells"]:
        if change and cell["metadata"].get("nbgrader", {}).get("grade"):
            change(cell)
    return save(course, tmp_path, nb)


def save(course: Path, tmp_path: Path, nb: dict) -> Path:
    """Write ``nb`` as a learner's 99_fixture.ipynb."""
    path = tmp_path / "99_fixture.ipynb"
    path.write_text(json.dumps(nb))
    return path


# --- malformed notebooks: fast, no kernel ------------------------------------------------------
@pytest.mark.parametrize("text, problem", [
    ('{"cells": [', "is not a notebook: invalid JSON at line 1, column 12"),
    ('{"cells": [], "nbformat": 4, "metadata": {}, "nbformat_minor": 5}', "has no cells"),
    ('[1, 2]', "is not a version 4 Jupyter notebook"),
])
def test_a_malformed_notebook_names_the_file_and_the_remedy(tmp_path, capsys, text, problem):
    """Does check exit 2 with one line naming the file, what is wrong, and what to do?"""
    path = tmp_path / "02_from_scratch.ipynb"
    path.write_text(text)
    with pytest.raises(NotebookError, match=problem):
        read_notebook(path)
    assert cli.main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"dropout-kit check: error: {path} {problem}")
    assert "restore it from its checkpoint (.ipynb_checkpoints/)" in err


def test_a_missing_notebook(tmp_path, capsys):
    """Does check exit 2 when the notebook does not exist?"""
    assert cli.main(["check", str(tmp_path / "nope.ipynb")]) == 2
    assert capsys.readouterr().err == f"dropout-kit check: error: {tmp_path / 'nope.ipynb'} does not exist or is not a file\n"


# --- running notebooks: slow, one kernel each --------------------------------------------------
@pytest.mark.slow
def test_the_solution_passes(course, capsys):
    """Does the solution notebook pass, with exit status 0?"""
    path = course / "solutions" / "99_fixture" / "99_fixture.ipynb"
    assert cli.main(["check", str(path), "--timeout", "60"]) == 0
    assert capsys.readouterr().out == f"{path}: passed all 2 test cell(s) (4 points)\n"


@pytest.mark.slow
def test_the_release_fails_naming_each_cell(course, capsys):
    """Does the unanswered notebook fail with exit 1, naming each failing test cell and its error?"""
    path = course / "notebooks" / "99_fixture" / "99_fixture.ipynb"
    result = check_notebook(path, timeout=60)
    assert not result.passed
    assert str(result) == (f"{path}: FAILED 2 of 2 test cell(s) (4 of 4 points)\n"
                           "  cell 4 (test_dropout_function, 3 points): NotImplementedError\n"
                           "  cell 8 (test_purpose, 1 point): NameError: name 'answer_purpose' is not defined")


@pytest.mark.slow
def test_edited_and_skipped_tests_are_checked_as_released(course, tmp_path):
    """Are test cells replaced by `pass` and tagged skip-execution checked as released, and still fail?"""
    def cheat(cell):
        cell["source"] = "pass"
        cell["metadata"]["tags"] = ["skip-execution"]

    result = check_notebook(learner_copy(course, tmp_path, cheat), timeout=60, course_root=course)
    assert not result.passed and [f.grade_id for f in result.failures] == ["test_dropout_function", "test_purpose"]
    assert result.notes == [f"test cell {g} was edited; checked with the released version"
                            for g in ("test_dropout_function", "test_purpose")]


@pytest.mark.slow
def test_deleted_tests_are_checked_at_the_end(course, tmp_path):
    """Are deleted test cells run at the end of the notebook, as the grader puts them back?"""
    nb = json.loads((course / "solutions" / "99_fixture" / "99_fixture.ipynb").read_text())
    answered = copy.deepcopy(nb)
    answered["cells"] = [c for c in nb["cells"] if not c["metadata"].get("nbgrader", {}).get("grade")]
    result = check_notebook(save(course, tmp_path, answered), timeout=60, course_root=course)
    assert result.passed and result.tests == 2
    assert result.notes[0].startswith("test cell(s) test_dropout_function, test_purpose missing from the notebook")
