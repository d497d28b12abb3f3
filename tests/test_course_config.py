"""dropout_kit.course.config and autograder/nbgrader_config.py: paths, lessons, and the holes closed."""

import re
import shutil
from pathlib import Path

import pytest
from nbgrader.coursedir import CourseDirectory
from traitlets.utils.importstring import import_item

from dropout_kit.course import config
from dropout_kit.errors import DropoutKitError

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "autograder" / "README.md").read_text()


@pytest.fixture
def course(tmp_path) -> Path:
    root = tmp_path / "course"
    shutil.copytree(REPO / "tests" / "fixtures" / "course" / "solutions", root / "solutions")
    (root / "autograder").mkdir()
    shutil.copy(REPO / "autograder" / "nbgrader_config.py", root / "autograder")
    return root


def test_timeouts_are_the_ones_the_readme_states():
    """Are the per-cell and per-lesson limits of the config the values autograder/README.md gives?"""
    loaded = config.load_config(REPO)
    cell = re.search(r"`c\.Execute\.timeout = (\d+)`", README)
    lesson = re.search(r"`c\.CourseLimits\.notebook_timeout = (\d+)`", README)
    assert cell and lesson, "the README must state both limits as config lines"
    assert config.cell_timeout(loaded) == int(cell.group(1)) == 300
    assert config.notebook_timeout(loaded) == int(lesson.group(1)) == 900


def test_holes_are_closed_in_the_config():
    """Does the config skip no tagged cell, restore deleted tests, and use the course's preprocessors?"""
    loaded = config.load_config(REPO)
    assert loaded.Execute.skip_cells_with_tag not in ("skip-execution", "")
    assert loaded.OverwriteCells.add_missing_cells is True
    steps = loaded.Autograde.sanitize_preprocessors
    assert steps.index("dropout_kit.course.preprocessors.RestoreMissingCells") < \
        steps.index("nbgrader.preprocessors.OverwriteCells") < \
        steps.index("dropout_kit.course.preprocessors.StripCellTags")
    grading = loaded.Autograde.autograde_preprocessors
    # The learner's code runs only in TrustedExecute's sandbox: nbgrader's own Execute must be gone.
    assert grading[0] == "dropout_kit.course.execute.TrustedExecute"
    assert "nbgrader.preprocessors.Execute" not in grading
    assert grading.index("nbgrader.preprocessors.SaveAutoGrades") < \
        grading.index("dropout_kit.course.preprocessors.FlagFindings") == len(grading) - 1
    assert loaded.TrustedExecute.sandbox is True
    feedback = loaded.GenerateFeedback.preprocessors
    assert "nbgrader.preprocessors.ClearHiddenTests" in feedback
    for name in steps + loaded.Autograde.autograde_preprocessors + feedback:
        import_item(name)  # every step named in the config exists


def test_an_absolute_source_directory_replaces_the_root():
    """Does nbgrader keep an absolute source_directory as it is (os.path.join), under any root?"""
    coursedir = CourseDirectory(root="/somewhere/grading", source_directory="/repo/solutions",
                                release_directory="/repo/notebooks")
    assert coursedir.format_path(coursedir.source_directory, ".", "02_x") == "/repo/solutions/./02_x"
    assert coursedir.format_path(coursedir.release_directory, ".", "02_x") == "/repo/notebooks/./02_x"
    assert coursedir.format_path("submitted", "ada", "02_x") == "/somewhere/grading/submitted/ada/02_x"


def test_course_config_points_at_the_run(course, tmp_path, monkeypatch):
    """Are the workspace, the folders and the gradebook those of the run, URL first, then env, then SQLite?"""
    monkeypatch.delenv(config.DB_URL_ENV, raising=False)
    c = config.course_config(course, workspace=tmp_path / "ws", release_dir=tmp_path / "ws" / "release")
    assert c.CourseDirectory.root == str(tmp_path / "ws")
    assert c.CourseDirectory.source_directory == str(course / "solutions")
    assert c.CourseDirectory.db_url == f"sqlite:///{tmp_path / 'ws' / 'gradebook.db'}"
    assert c.CourseDirectory.course_id == "dropout-course"
    monkeypatch.setenv(config.DB_URL_ENV, "postgresql+psycopg2://grader@/course?host=/run/postgresql")
    c = config.course_config(course, workspace=tmp_path, release_dir=tmp_path, timeout=7)
    assert c.CourseDirectory.db_url == "postgresql+psycopg2://grader@/course?host=/run/postgresql"
    assert config.cell_timeout(c) == 7
    c = config.course_config(course, workspace=tmp_path, release_dir=tmp_path, db_url="sqlite:////x.db")
    assert c.CourseDirectory.db_url == "sqlite:////x.db"


def test_a_plain_postgresql_url_gets_the_installed_driver():
    """Is postgresql:// (psycopg 3 for SQLAlchemy 2.1) given psycopg2, the driver the course installs?"""
    pytest.importorskip("psycopg2")
    try:
        import psycopg  # noqa: F401
        pytest.skip("psycopg 3 is installed: SQLAlchemy's default driver works")
    except ImportError:
        pass
    assert config.driver_url("postgresql://u@/db?host=/s") == "postgresql+psycopg2://u@/db?host=/s"
    assert config.driver_url("postgres://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert config.driver_url("sqlite:////x.db") == "sqlite:////x.db"
    assert config.driver_url("postgresql+psycopg2://u@h/db") == "postgresql+psycopg2://u@h/db"


def test_a_path_nbgrader_cannot_handle_is_refused(course, tmp_path):
    """Is an output folder with regex characters refused with the reason, before nbgrader fails obscurely?"""
    with pytest.raises(DropoutKitError, match=r"contains one of .*move the course or the output folder"):
        config.course_config(course, workspace=tmp_path, release_dir=tmp_path / "a+b")


def test_lessons_are_discovered_from_solutions(course):
    """Is every solutions/<lesson>/<lesson>.ipynb a lesson, graded when it has grade cells?"""
    (course / "solutions" / "00_intro").mkdir()
    (course / "solutions" / "00_intro" / "00_intro.ipynb").write_text('{"cells": [], "nbformat": 4}')
    (course / "solutions" / "notes").mkdir()  # no notebook of its own name: not a lesson
    lessons = config.discover_lessons(course)
    assert [(l.name, l.graded, l.max_score) for l in lessons] == [("00_intro", False, 0), ("99_fixture", True, 4)]


def test_every_lesson_of_the_repository_is_discovered():
    """Does discovery find every lesson folder of the repository, graded or not?"""
    folders = sorted(p.name for p in (REPO / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file())
    assert [lesson.name for lesson in config.discover_lessons(REPO)] == folders


def test_select_lessons_keeps_order_and_names_the_unknown(course):
    """Are lessons returned in the order asked, and an unknown name reported with the known ones?"""
    lessons = config.discover_lessons(course)
    assert config.select_lessons(lessons, None) == lessons
    with pytest.raises(DropoutKitError, match="unknown lesson\\(s\\) nope; lessons in solutions/: 99_fixture"):
        config.select_lessons(lessons, ["nope"])


def test_no_course_here(tmp_path):
    """Does an explicit folder without solutions/ say so?"""
    with pytest.raises(DropoutKitError, match="is not a course: it has no solutions/ folder"):
        config.find_course_root(tmp_path)
