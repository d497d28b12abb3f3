"""Where the course lives, which lessons it has, and the nbgrader configuration that grades them.

The configuration itself is ``autograder/nbgrader_config.py``; this module loads it and adds
the paths of one run (the grading workspace, the gradebook URL, a timeout given by the caller),
so that defaults live once, in that file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from traitlets import Integer
from traitlets.config import Config, Configurable
from traitlets.config.loader import PyFileConfigLoader

from dropout_kit.errors import DropoutKitError
from dropout_kit.optional import require

CONFIG_FILE = Path("autograder") / "nbgrader_config.py"
DB_URL_ENV = "DROPOUT_COURSE_DB_URL"
# nbgrader builds regular expressions from its directory paths without escaping them.
_REGEX_SPECIAL = re.compile(r"[()\[\]{}+*?^$|\\]")


class CourseLimits(Configurable):
    """Limits of ``dropout-kit grade`` that nbgrader itself has no option for."""

    notebook_timeout = Integer(
        600,
        help="Wall-clock seconds allowed to autograde one learner's lesson (kernel start, every "
        "cell, feedback). Past it the grading subprocess and its kernel are killed and the lesson "
        "is reported as 'failed: timeout'. The per-cell limit is Execute.timeout.",
    ).tag(config=True)


@dataclass(frozen=True)
class Lesson:
    """One lesson: ``solutions/<name>/<name>.ipynb``, and whether any of its cells is graded."""

    name: str
    notebook: Path
    graded: bool
    max_score: float


def find_course_root(start: Path | None = None) -> Path:
    """The folder holding ``solutions/`` and ``autograder/nbgrader_config.py``.

    Looks in ``start`` (default: the working directory) and its parents, then next to the
    installed package (an editable install lives in the repository).
    """
    if start is not None:
        start = Path(start).resolve()
        if not (start / "solutions").is_dir():
            raise DropoutKitError(f"{start} is not a course: it has no solutions/ folder")
        return start
    here = Path.cwd().resolve()
    package_parent = Path(__file__).resolve().parents[2]
    for folder in [here, *here.parents, package_parent]:
        if (folder / "solutions").is_dir() and (folder / CONFIG_FILE).is_file():
            return folder
    raise DropoutKitError(
        f"no course found from {here}: run this inside the dropout-course repository "
        "(the folder holding solutions/ and autograder/nbgrader_config.py)"
    )


def discover_lessons(course_root: Path) -> list[Lesson]:
    """Every ``solutions/<lesson>/<lesson>.ipynb``, sorted by name."""
    lessons = []
    for folder in sorted((Path(course_root) / "solutions").iterdir()):
        notebook = folder / f"{folder.name}.ipynb"
        if folder.is_dir() and notebook.is_file():
            points = _graded_points(notebook)
            lessons.append(Lesson(folder.name, notebook, bool(points), sum(points)))
    return lessons


def select_lessons(lessons: list[Lesson], names: list[str] | None) -> list[Lesson]:
    """The lessons called ``names`` (all of them when ``names`` is empty or None)."""
    if not names:
        return list(lessons)
    by_name = {lesson.name: lesson for lesson in lessons}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        known = ", ".join(by_name) or "none"
        raise DropoutKitError(f"unknown lesson(s) {', '.join(unknown)}; lessons in solutions/: {known}")
    return [by_name[n] for n in dict.fromkeys(names)]


def _graded_points(notebook: Path) -> list[float]:
    # Plain JSON, not nbformat: discovery must stay cheap and must not fail on a draft notebook.
    try:
        cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError) as exc:
        raise DropoutKitError(f"{notebook} is not a readable notebook ({exc}); fix or remove it") from None
    return [
        float(meta.get("points", 0))
        for meta in (c.get("metadata", {}).get("nbgrader", {}) for c in cells)
        if meta.get("grade")
    ]


def load_config(course_root: Path) -> Config:
    """``autograder/nbgrader_config.py`` of the course, as a traitlets Config."""
    path = Path(course_root) / CONFIG_FILE
    if not path.is_file():
        raise DropoutKitError(f"{path} is missing: it holds the course's nbgrader configuration")
    return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()


def course_config(
    course_root: Path,
    *,
    workspace: Path,
    release_dir: Path,
    db_url: str | None = None,
    timeout: int | None = None,
) -> Config:
    """The course configuration, pointed at one run's folders.

    ``source_directory`` and ``release_directory`` are absolute: nbgrader joins them to
    ``root`` with ``os.path.join``, which keeps an absolute path as it is, so the gradebook
    and the learners' folders stay in ``workspace`` while the notebooks come from the repository.
    """
    course_root = Path(course_root).resolve()
    source = course_root / "solutions"
    for path in (source, Path(release_dir).resolve()):
        if _REGEX_SPECIAL.search(str(path)):
            raise DropoutKitError(
                f"{path} contains one of ()[]{{}}+*?^$|\\, which nbgrader cannot handle in a "
                "course path; move the course or the output folder to a plainer path"
            )
    config = load_config(course_root)
    config.CourseDirectory.root = str(Path(workspace).resolve())
    config.CourseDirectory.source_directory = str(source)
    config.CourseDirectory.release_directory = str(Path(release_dir).resolve())
    db_url = db_url or os.environ.get(DB_URL_ENV) or config.CourseDirectory.get("db_url")
    config.CourseDirectory.db_url = driver_url(db_url) if db_url else \
        f"sqlite:///{Path(workspace).resolve() / 'gradebook.db'}"
    if timeout is not None:
        config.Execute.timeout = int(timeout)
    return config


def driver_url(url: str) -> str:
    """``url`` with an installed PostgreSQL driver named.

    SQLAlchemy 2.1 reads a plain ``postgresql://`` as psycopg 3, but the course's ``postgres``
    extra installs psycopg2: name it, unless psycopg 3 is there.
    """
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("postgresql", "postgres"):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            require("psycopg2", "postgres", "a PostgreSQL gradebook")
            return f"postgresql+psycopg2://{rest}"
    return url


def cell_timeout(config: Config) -> int:
    """Seconds allowed per cell (``Execute.timeout``)."""
    return int(config.Execute.get("timeout", 30))


def notebook_timeout(config: Config) -> int:
    """Wall-clock seconds allowed per learner and lesson (``CourseLimits.notebook_timeout``)."""
    return int(CourseLimits(config=config).notebook_timeout)


@contextlib.contextmanager
def tools_on_path():
    """Put this interpreter's ``bin`` first on PATH: nbgrader runs ``alembic`` from PATH."""
    old = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), old])
    try:
        yield
    finally:
        os.environ["PATH"] = old
