"""dropout_kit.workspace: the learner's copy of the lessons, which no course update overwrites."""

import json
from datetime import datetime
from pathlib import Path

import pytest

from dropout_kit import cli
from dropout_kit.errors import DropoutKitError
from dropout_kit.workspace import MANIFEST, find_lessons, start

NOON = datetime(2026, 3, 1, 12, 0, 0)


def lesson(text: str) -> str:
    """A small notebook whose one cell says ``text``."""
    cell = {"cell_type": "markdown", "id": "c", "metadata": {}, "source": text}
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}) + "\n"


@pytest.fixture
def course(tmp_path) -> Path:
    """A course with two released lessons, one of them with a helper file."""
    root = tmp_path / "course"
    for name in ("01_a", "02_b"):
        (root / "notebooks" / name).mkdir(parents=True)
        (root / "notebooks" / name / f"{name}.ipynb").write_text(lesson(f"course {name} v1"))
    (root / "notebooks" / "02_b" / "helper.py").write_text("X = 1\n")
    return root


def notebook(folder: Path, name: str) -> Path:
    return folder / name / f"{name}.ipynb"


def test_first_start_copies_every_lesson(course):
    """Does the first start copy every lesson, helper files included, into workspace/ beside notebooks/?"""
    report = start(course_root=course)
    work = course / "workspace"
    assert report.workspace == work.resolve() and report.added == ["01_a", "02_b"]
    assert notebook(work, "01_a").read_text() == lesson("course 01_a v1")
    assert (work / "02_b" / "helper.py").read_text() == "X = 1\n"
    assert json.loads((work / MANIFEST).read_text())["lessons"].keys() == {"01_a", "02_b"}
    assert "copied 2 lesson(s): 01_a, 02_b" in str(report)


def test_second_start_keeps_the_learners_edits(course):
    """After the learner edits a lesson and deletes a helper, does start change nothing at all?"""
    start(course_root=course)
    work = course / "workspace"
    notebook(work, "01_a").write_text(lesson("my answers"))
    (work / "02_b" / "helper.py").unlink()
    report = start(course_root=course)
    assert notebook(work, "01_a").read_text() == lesson("my answers")
    assert not (work / "02_b" / "helper.py").exists()
    assert (report.added, report.replaced, report.missing, report.changed) == ([], {}, [], [])
    assert str(report).endswith("your lessons are up to date with the course")


def test_a_workspace_that_already_has_notebooks(course, tmp_path):
    """Without a manifest (a workspace made by hand), does the first start keep the notebooks it finds?"""
    work = tmp_path / "mine"
    notebook(work, "01_a").parent.mkdir(parents=True)
    notebook(work, "01_a").write_text(lesson("mine already"))
    report = start(work, course_root=course)
    assert report.added == ["02_b"]
    assert notebook(work, "01_a").read_text() == lesson("mine already")


def test_update_adds_a_new_lesson_beside_the_learners(course):
    """Is a lesson new in the course announced by start, and copied by start --update, edits untouched?"""
    start(course_root=course)
    work = course / "workspace"
    notebook(work, "01_a").write_text(lesson("my answers"))
    notebook(course / "notebooks", "03_c").parent.mkdir()
    notebook(course / "notebooks", "03_c").write_text(lesson("course 03_c v1"))
    plain = start(course_root=course)
    assert plain.missing == ["03_c"] and not notebook(work, "03_c").exists()
    assert "in the course but not in your workspace: 03_c (copy them with `dropout-kit start --update`)" in str(plain)
    updated = start(course_root=course, update=True)
    assert updated.added == ["03_c"]
    assert notebook(work, "03_c").read_text() == lesson("course 03_c v1")
    assert notebook(work, "01_a").read_text() == lesson("my answers")


def answered_then_changed(course: Path) -> Path:
    """Start, write answers in 01_a, then change 01_a in the course; return the workspace."""
    start(course_root=course)
    work = course / "workspace"
    notebook(work, "01_a").write_text(lesson("my answers"))
    notebook(course / "notebooks", "01_a").write_text(lesson("course 01_a v2"))
    return work


def test_a_changed_lesson_is_announced_not_replaced(course):
    """When the course changes a lesson, do start and start --update say so and keep the learner's?"""
    work = answered_then_changed(course)
    for report in (start(course_root=course), start(course_root=course, update=True)):
        assert report.changed == ["01_a"]
        assert "changed in the course since you copied them: 01_a" in str(report)
        assert "`dropout-kit start --replace LESSON`" in str(report)
    assert notebook(work, "01_a").read_text() == lesson("my answers")


def test_replace_keeps_a_timestamped_backup(course):
    """Does --replace LESSON put the course's version in place and keep the learner's as a backup?"""
    work = answered_then_changed(course)
    report = start(course_root=course, replace=["01_a"], now=NOON)
    backup = work / "01_a" / "01_a.backup-20260301-120000.ipynb"
    assert report.replaced == {"01_a": backup}
    assert backup.read_text() == lesson("my answers")
    assert notebook(work, "01_a").read_text() == lesson("course 01_a v2")
    assert notebook(work, "02_b").read_text() == lesson("course 02_b v1")
    assert f"replaced 01_a; your notebook is kept as {backup}" in str(report)
    again = start(course_root=course, replace=["01_a"], now=NOON)  # the same second: a second name
    assert again.replaced == {"01_a": work / "01_a" / "01_a.backup-20260301-120000-2.ipynb"}
    assert backup.read_text() == lesson("my answers")
    assert start(course_root=course).changed == []


def test_replace_of_an_unknown_lesson(course):
    """Does --replace of a lesson the course does not have name the lessons it has, and change nothing?"""
    with pytest.raises(DropoutKitError, match=r"unknown lesson\(s\) 09_z; the course's lessons: 01_a, 02_b"):
        start(course_root=course, replace=["09_z"])
    assert not (course / "workspace").exists()


def test_no_lessons_found(tmp_path, monkeypatch):
    """Outside a course, does start say where it looked and how to get the lessons?"""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DropoutKitError, match="no lessons found: .* has no notebooks/<lesson>/<lesson>.ipynb"):
        find_lessons()


def test_the_lessons_are_found_from_a_subfolder(course, monkeypatch):
    """Run from a folder inside the course, does start find its notebooks/?"""
    monkeypatch.chdir(course / "notebooks" / "01_a")
    assert find_lessons() == (course / "notebooks").resolve()


def test_start_command_without_lab(course, tmp_path, monkeypatch, capsys):
    """Does `dropout-kit start --no-lab --workspace DIR` copy the lessons, print what it did, exit 0?"""
    monkeypatch.chdir(course)
    work = tmp_path / "elsewhere"
    assert cli.main(["start", "--no-lab", "--workspace", str(work)]) == 0
    assert f"workspace: {work}\ncopied 2 lesson(s): 01_a, 02_b\n" == capsys.readouterr().out
    assert cli.main(["start", "--no-lab", "--workspace", str(work), "--replace", "nope"]) == 2
    assert "dropout-kit start: error: unknown lesson(s) nope" in capsys.readouterr().err
