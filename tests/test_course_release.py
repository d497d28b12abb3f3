"""dropout_kit.course.release: notebooks/ is what nbgrader makes of solutions/, byte for byte."""

import difflib
import json
import shutil
from pathlib import Path

import pytest

from dropout_kit.course import release
from dropout_kit.errors import DropoutKitError

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "course"


@pytest.fixture
def course(tmp_path) -> Path:
    """A course of its own: the fixture lesson and the real nbgrader configuration."""
    root = tmp_path / "course"
    shutil.copytree(FIXTURE / "solutions", root / "solutions")
    (root / "autograder").mkdir()
    shutil.copy(REPO / "autograder" / "nbgrader_config.py", root / "autograder")
    return root


def notebook(cells: list) -> dict:
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts}


def test_committed_notebooks_are_the_release_of_solutions(tmp_path):
    """Is notebooks/ exactly what release makes from solutions/ (run `dropout-kit release` if not)?"""
    expected = tmp_path / "notebooks"
    release(course_root=REPO, into=expected)
    want, have = tree(expected), tree(REPO / "notebooks")
    problems = [f"missing from notebooks/: {name}" for name in sorted(set(want) - set(have))]
    problems += [f"not made by release, remove: notebooks/{name}" for name in sorted(set(have) - set(want))]
    for name in sorted(set(want) & set(have)):
        if want[name] != have[name]:
            diff = difflib.unified_diff(have[name].decode(errors="replace").splitlines(),
                                        want[name].decode(errors="replace").splitlines(),
                                        f"notebooks/{name}", "release", lineterm="", n=1)
            problems.append("differs: notebooks/" + name + "\n    " + "\n    ".join(list(diff)[:12]))
    assert not problems, "notebooks/ is out of sync with solutions/; run `dropout-kit release`:\n" + "\n".join(problems)


@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
def test_notebooks_in_git_carry_no_outputs(folder):
    """Do the notebooks of solutions/ and notebooks/ have no outputs and no execution counts?"""
    dirty = []
    for path in sorted((REPO / folder).glob("*/*.ipynb")):
        for index, cell in enumerate(json.loads(path.read_text())["cells"]):
            if cell["cell_type"] == "code" and (cell["outputs"] or cell["execution_count"] is not None):
                dirty.append(f"{path.relative_to(REPO)} cell {index}")
    assert dirty == []


def test_release_twice_writes_the_same_bytes(course, tmp_path):
    """Does a second release change nothing, and does a release elsewhere give the same files?"""
    first = release(course_root=course)
    before = tree(course / "notebooks")
    second = release(course_root=course)
    release(course_root=course, into=tmp_path / "elsewhere")
    assert first == second == [course / "notebooks" / "99_fixture" / "99_fixture.ipynb"]
    assert tree(course / "notebooks") == before == tree(tmp_path / "elsewhere")


def test_release_removes_answers_and_hidden_tests(course):
    """Are answers and hidden tests gone, test cells locked, outputs cleared, helper files copied?"""
    [path] = release(course_root=course)
    text = path.read_text()
    nb = json.loads(text)
    assert "BEGIN SOLUTION" not in text and "bernoulli_" not in text and '"B"' not in text
    assert "SECRET-HIDDEN-MARKER" not in text and "HIDDEN TESTS" not in text
    assert "raise NotImplementedError()" in text
    tests = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")]
    assert [c["metadata"]["nbgrader"]["grade_id"] for c in tests] == ["test_dropout_function", "test_purpose"]
    assert all(c["metadata"]["editable"] is False and c["metadata"]["deletable"] is False for c in tests)
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in nb["cells"] if c["cell_type"] == "code")
    assert (path.parent / "fixture_data.txt").read_bytes() == \
        (course / "solutions" / "99_fixture" / "fixture_data.txt").read_bytes()


def test_release_removes_lessons_gone_from_solutions(course):
    """Does a full release remove the folder of a lesson no longer in solutions/, and a partial one not?"""
    stale = course / "notebooks" / "00_gone" / "00_gone.ipynb"
    stale.parent.mkdir(parents=True)
    stale.write_text(json.dumps(notebook([])))
    release(["99_fixture"], course_root=course)
    assert stale.exists()
    release(course_root=course)
    assert not stale.parent.exists()


def test_release_of_an_unknown_lesson(course):
    """Does asking for a lesson that does not exist name the lessons that do?"""
    with pytest.raises(DropoutKitError, match="unknown lesson\\(s\\) 07_nope; lessons in solutions/: 99_fixture"):
        release(["07_nope"], course_root=course)


def rewrite(path: Path, change) -> str:
    """Apply ``change`` to the notebook at ``path``; return the new text."""
    nb = json.loads(path.read_text())
    change(nb)
    path.write_text(json.dumps(nb, indent=1) + "\n")
    return path.read_text()


def test_release_overwrites_an_older_release(course):
    """Is an earlier release (texts since changed in solutions/, a cell since added) replaced without --force?"""
    [path] = release(course_root=course)
    fresh = path.read_text()

    def older(nb):
        nb["cells"][0]["source"] = "# Fixture lesson, as it was worded before"
        del nb["cells"][2]
    rewrite(path, older)
    assert release(course_root=course) == [path]
    assert path.read_text() == fresh


@pytest.mark.parametrize("change, reason", [
    (lambda nb: nb["cells"][1].update(execution_count=1), "it was run (outputs or execution counts)"),
    (lambda nb: nb["cells"].append({"cell_type": "code", "execution_count": None, "id": "9d0e", "metadata": {},
                                    "outputs": [], "source": "dropout(torch.ones(2), 0.5)"}),
     "1 cell(s) not in the release were added"),
    (lambda nb: nb["cells"][3].update(source="def dropout(x, p=0.5, training=True, inplace=False):\n    return x"),
     "answers were written in cell(s) dropout"),
])
def test_release_refuses_to_overwrite_work_unless_forced(course, change, reason):
    """Does release refuse, writing nothing, to overwrite a notebook with work in it, and --force overwrite it?"""
    [path] = release(course_root=course)
    fresh = path.read_text()
    stale = course / "notebooks" / "00_gone" / "00_gone.ipynb"
    stale.parent.mkdir()
    stale.write_text(json.dumps(notebook([])))
    worked = rewrite(path, change)
    with pytest.raises(DropoutKitError) as info:
        release(course_root=course)
    assert str(info.value).startswith(f"release would overwrite work in these notebooks:\n  {path}: {reason}\n")
    assert "`dropout-kit start` copies them into workspace/" in str(info.value)
    assert "`dropout-kit release --force` replaces them" in str(info.value)
    assert path.read_text() == worked and stale.exists()  # nothing written, nothing removed
    assert release(course_root=course, force=True) == [path]
    assert path.read_text() == fresh and not stale.exists()


def test_release_refuses_to_remove_a_gone_lesson_that_was_run(course):
    """Is the folder of a lesson gone from solutions/ kept when its notebook was run?"""
    stale = course / "notebooks" / "00_gone" / "00_gone.ipynb"
    stale.parent.mkdir(parents=True)
    ran = {"cell_type": "code", "execution_count": 4, "id": "a", "metadata": {}, "outputs": [], "source": "1"}
    stale.write_text(json.dumps(notebook([ran])))
    with pytest.raises(DropoutKitError, match=f"  {stale}: it was run"):
        release(course_root=course)
    assert stale.exists() and not (course / "notebooks" / "99_fixture").exists()


def test_release_keeps_files_it_does_not_make(course):
    """Are files in a lesson folder that the release does not make (a learner's scratch file) left alone?"""
    [path] = release(course_root=course)
    scratch = path.parent / "my_notes.txt"
    scratch.write_text("mine")
    release(course_root=course)
    assert scratch.read_text() == "mine"


def test_release_command_force(capsys, course, monkeypatch):
    """Does `dropout-kit release` exit 2 on work in notebooks/, and `release --force` exit 0?"""
    from dropout_kit import cli

    monkeypatch.chdir(course)
    [path] = release(course_root=course)
    rewrite(path, lambda nb: nb["cells"][1].update(execution_count=1))
    assert cli.main(["release"]) == 2
    assert capsys.readouterr().err.startswith("dropout-kit release: error: release would overwrite work")
    assert cli.main(["release", "--force"]) == 0
    assert json.loads(path.read_text())["cells"][1]["execution_count"] is None
