"""``release``: regenerate ``notebooks/`` from ``solutions/`` with nbgrader generate_assignment."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from dropout_kit.course import config as course_config
from dropout_kit.course import notebooks
from dropout_kit.errors import DropoutKitError


def release(lessons: list[str] | None = None, *, course_root: Path | None = None,
            into: Path | None = None) -> list[Path]:
    """Regenerate the learners' notebooks from ``solutions/``; return the notebooks written.

    Answers between ``### BEGIN SOLUTION`` / ``### END SOLUTION`` and hidden tests are removed,
    test cells are locked, and outputs and execution counts are cleared. The result depends on
    ``solutions/`` alone: a second run writes the same bytes. With no ``lessons``, folders of
    lessons that no longer exist in ``solutions/`` are removed from the release folder.

    Args:
        lessons: names of lessons to release (default: all of ``solutions/<lesson>/<lesson>.ipynb``).
        course_root: the repository (default: found from the working directory).
        into: the release folder (default: ``notebooks/`` of the course); tests use a temporary one.

    Returns:
        Paths of the notebooks written, one per lesson.
    """
    from dropout_kit.course import converters

    root = course_config.find_course_root(course_root)
    selected = course_config.select_lessons(course_config.discover_lessons(root), lessons)
    dest = Path(into) if into is not None else root / "notebooks"
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    # generate_assignment insists on a course root even without a gradebook: give it a scratch one.
    with tempfile.TemporaryDirectory(prefix="dropout-release-") as scratch, course_config.tools_on_path():
        config = course_config.course_config(root, workspace=Path(scratch), release_dir=dest)
        for lesson in selected:
            try:
                converters.generate(config, lesson.name, database=False)
            except converters.ConversionError as exc:
                raise DropoutKitError(f"could not release {lesson.notebook}: {exc}") from exc
            path = dest / lesson.name / f"{lesson.name}.ipynb"
            _normalize(path)
            written.append(path)
    if not lessons:
        _remove_stale(dest, {lesson.name for lesson in selected})
    return written


def _normalize(path: Path) -> None:
    """Rewrite ``path`` without outputs or execution counts, in Jupyter's own layout."""
    nb = notebooks.read_notebook(path)
    notebooks.clean(nb)
    text = path.read_text(encoding="utf-8")
    path.chmod(0o644)
    new = notebooks.dumps(nb)
    if new != text:
        path.write_text(new, encoding="utf-8")


def _remove_stale(dest: Path, keep: set[str]) -> None:
    for folder in sorted(dest.iterdir()):
        if folder.is_dir() and folder.name not in keep and (folder / f"{folder.name}.ipynb").is_file():
            shutil.rmtree(folder)
