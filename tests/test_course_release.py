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
    stale.write_text("{}")
    release(["99_fixture"], course_root=course)
    assert stale.exists()
    release(course_root=course)
    assert not stale.parent.exists()


def test_release_of_an_unknown_lesson(course):
    """Does asking for a lesson that does not exist name the lessons that do?"""
    with pytest.raises(DropoutKitError, match="unknown lesson\\(s\\) 07_nope; lessons in solutions/: 99_fixture"):
        release(["07_nope"], course_root=course)
