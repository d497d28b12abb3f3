"""dropout_kit.optional: a missing optional dependency names the extra that installs it.

The install variants are simulated in a child Python whose import system refuses the packages
an install without that extra lacks (a meta-path blocker), so one venv tests them all.
"""

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import dropout_kit
from dropout_kit.errors import DropoutKitError
from dropout_kit.optional import MissingExtraError, install_command, require

REPO = Path(__file__).resolve().parents[1]

# What `pip install dropout-kit` (no extra) lacks, and what the course extra adds over it.
COURSE_ONLY = ["nbformat", "nbclient", "traitlets", "psutil", "jupyter_client", "jupyter_core", "jupyterlab",
               "jupyter_server", "ipykernel", "IPython", "ipywidgets", "nbconvert", "zmq", "tornado"]
INSTRUCTOR_ONLY = ["nbgrader", "sqlalchemy", "alembic"]
POSTGRES_ONLY = ["psycopg2", "psycopg"]
TEST_ONLY = ["sklearn", "pytest", "nbmake"]
CORE_INSTALL = COURSE_ONLY + INSTRUCTOR_ONLY + POSTGRES_ONLY + TEST_ONLY
COURSE_INSTALL = INSTRUCTOR_ONLY + POSTGRES_ONLY + TEST_ONLY

BLOCKER = """
import sys

class Blocker:
    '''Pretend that these top-level packages are not installed.'''
    def __init__(self, names):
        self.names = set(names)
    def find_spec(self, name, path=None, target=None):
        if name.partition('.')[0] in self.names:
            raise ModuleNotFoundError(f'No module named {name!r}', name=name)
        return None

sys.meta_path.insert(0, Blocker(sys.argv[1].split(',')))
"""


def without(missing: list[str], code: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``code`` in a child Python where the packages ``missing`` cannot be imported."""
    return subprocess.run([sys.executable, "-c", BLOCKER + code, ",".join(missing), *args],
                          capture_output=True, text=True, timeout=300, cwd=cwd or REPO)


def cli_without(missing: list[str], *argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``dropout-kit ARGV`` in a child Python where ``missing`` cannot be imported."""
    code = "from dropout_kit.cli import main\nraise SystemExit(main(sys.argv[2:]))"
    return without(missing, code, *argv, cwd=cwd)


def test_require_returns_the_module():
    """Does require give back the module itself when it is installed?"""
    assert require("json", "course", "reading") is json


def test_require_names_the_extra(monkeypatch):
    """Is a missing module reported as the pip command of its extra, with the module's name?"""
    for name in ("nbgrader", "nbgrader.api"):  # None in sys.modules makes an import fail, even if done before
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(MissingExtraError) as info:
        require("nbgrader.api", "instructor", "grading")
    assert str(info.value) == ("grading needs the instructor tools: pip install 'dropout-kit[instructor]' "
                               "(nbgrader is not installed)")
    assert isinstance(info.value, DropoutKitError) and isinstance(info.value, ImportError)
    assert info.value.name == "nbgrader"


def test_an_unknown_extra_is_a_programming_error():
    """Does naming an extra pyproject.toml does not have fail at once, listing the real ones?"""
    with pytest.raises(ValueError, match="unknown extra 'grading'; dropout-kit's extras are course, instructor"):
        install_command("grading")


def test_every_extra_named_is_in_pyproject():
    """Is every extra that messages name an extra of pyproject.toml?"""
    import tomllib

    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    from dropout_kit.optional import EXTRAS

    assert set(EXTRAS) == set(extras)


def learner_modules() -> list[str]:
    """Every module of the package but the grading tooling (dropout_kit.course, dropout_kit.sandbox) and __main__."""
    names = [m.name for m in pkgutil.walk_packages(dropout_kit.__path__, "dropout_kit.")]
    grading = ("dropout_kit.course", "dropout_kit.sandbox")
    return sorted(n for n in names if not n.startswith(grading) and n != "dropout_kit.__main__")


def test_lessons_and_self_study_import_with_the_core_install():
    """Without any extra, does every module lessons and self-study use import (no nbgrader, no traitlets)?"""
    modules = learner_modules()
    assert {"dropout_kit.exercises", "dropout_kit.verdict", "dropout_kit.quiz", "dropout_kit.cli"} <= set(modules)
    code = "import importlib\nfor name in sys.argv[2:]:\n    importlib.import_module(name)\nprint('ok')"
    result = without(CORE_INSTALL, code, *modules)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"


GRADE_NEEDS = "grading needs the instructor tools: pip install 'dropout-kit[instructor]' (nbgrader is not installed)"
RELEASE_NEEDS = ("releasing notebooks needs the instructor tools: pip install 'dropout-kit[instructor]' "
                 "(nbgrader is not installed)")


@pytest.mark.parametrize("install, argv, message", [
    (CORE_INSTALL, ["check", "lesson.ipynb"],
     "checking a notebook needs the course tools: pip install 'dropout-kit[course]' (nbclient is not installed)"),
    (CORE_INSTALL, ["start"], "opening the lessons in JupyterLab needs the course tools: "
                              "pip install 'dropout-kit[course]' (jupyterlab is not installed)"),
    (CORE_INSTALL, ["kernel"], "registering the course's Jupyter kernel needs the course tools: "
                               "pip install 'dropout-kit[course]' (ipykernel is not installed)"),
    (CORE_INSTALL, ["grade", "submissions"], GRADE_NEEDS),
    (CORE_INSTALL, ["release"], RELEASE_NEEDS),
    (COURSE_INSTALL, ["grade", "submissions"], GRADE_NEEDS),
    (COURSE_INSTALL, ["release"], RELEASE_NEEDS),
], ids=["check", "start", "kernel", "grade", "release", "grade-course", "release-course"])
def test_commands_without_their_extra_say_what_to_install(install, argv, message):
    """Without its extra (core install; or the course extra for grade and release), does each command
    exit 2 naming the pip command that installs what it needs?"""
    result = cli_without(install, *argv)
    assert result.returncode == 2
    assert result.stderr == f"dropout-kit {argv[0]}: error: {message}\n"


@pytest.mark.parametrize("install, call, message", [
    (COURSE_INSTALL, "course.grade('submissions')", GRADE_NEEDS),
    (POSTGRES_ONLY, "course.config.driver_url('postgresql://u@/db')",
     "a PostgreSQL gradebook needs the PostgreSQL driver: pip install 'dropout-kit[postgres]' "
     "(psycopg2 is not installed)"),
], ids=["grade-without-nbgrader", "postgresql-without-psycopg"])
def test_the_course_api_names_the_extra(install, call, message):
    """Does dropout_kit.course import without nbgrader (or psycopg), and a call that needs one name its extra?"""
    code = f"from dropout_kit import course\ntry:\n    {call}\nexcept ImportError as exc:\n    print(exc)\n"
    result = without(install, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout == message + "\n"


def test_check_runs_a_notebook_without_nbgrader(tmp_path):
    """With the course extra only, does `dropout-kit check` run a notebook and report its result?"""
    notebook = tmp_path / "tiny.ipynb"
    cell = {"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [],
            "source": "raise ValueError('planted')"}
    notebook.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    result = cli_without(COURSE_INSTALL, "check", str(notebook), "--timeout", "60", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert f"{notebook}: no graded test cells; 1 cell(s) failed" in result.stdout
    assert "cell 0: ValueError: planted" in result.stdout
