"""``release``: regenerate ``notebooks/`` from ``solutions/`` with nbgrader generate_assignment."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from dropout_kit.course import config as course_config
from dropout_kit.course import notebooks
from dropout_kit.course.learner_work import work_in
from dropout_kit.errors import DropoutKitError
from dropout_kit.optional import require


def release(lessons: list[str] | None = None, *, course_root: Path | None = None,
            into: Path | None = None, force: bool = False) -> list[Path]:
    """Regenerate the learners' notebooks from ``solutions/``; return the notebooks written.

    Answers between ``### BEGIN SOLUTION`` / ``### END SOLUTION`` and hidden tests are removed,
    test cells are locked, and outputs and execution counts are cleared. The result depends on
    ``solutions/`` alone: a second run writes the same bytes. With no ``lessons``, folders of
    lessons that no longer exist in ``solutions/`` are removed from the release folder. Files of
    a lesson folder that the release does not make are left alone.

    Nothing is written when a notebook about to be replaced or removed holds someone's work
    (``learner_work.work_in``: it was run, has cells added, or answers written), unless ``force``.

    Args:
        lessons: names of lessons to release (default: all of ``solutions/<lesson>/<lesson>.ipynb``).
        course_root: the repository (default: found from the working directory).
        into: the release folder (default: ``notebooks/`` of the course); tests use a temporary one.
        force: overwrite notebooks that hold work.

    Returns:
        Paths of the notebooks written, one per lesson.
    """
    require("nbgrader", "instructor", "releasing notebooks")
    from dropout_kit.course import converters

    root = course_config.find_course_root(course_root)
    selected = course_config.select_lessons(course_config.discover_lessons(root), lessons)
    dest = Path(into) if into is not None else root / "notebooks"
    # generate_assignment insists on a course root even without a gradebook: give it a scratch one.
    # It also deletes the lesson folder it writes to, so it writes into a staging folder.
    with tempfile.TemporaryDirectory(prefix="dropout-release-") as scratch, course_config.tools_on_path():
        staged = Path(scratch) / "release"
        config = course_config.course_config(root, workspace=Path(scratch), release_dir=staged)
        for lesson in selected:
            try:
                converters.generate(config, lesson.name, database=False)
            except converters.ConversionError as exc:
                raise DropoutKitError(f"could not release {lesson.notebook}: {exc}") from exc
            _normalize(staged / lesson.name / f"{lesson.name}.ipynb")
        stale = [] if lessons else _stale(dest, {lesson.name for lesson in selected})
        if not force:
            _refuse_to_overwrite_work(dest, staged, [lesson.name for lesson in selected], stale)
        written = [_install(staged / lesson.name, dest / lesson.name) for lesson in selected]
    for folder in stale:
        shutil.rmtree(folder)
    return written


def _normalize(path: Path) -> None:
    """Rewrite ``path`` without outputs or execution counts, in Jupyter's own layout."""
    nb = notebooks.read_notebook(path)
    notebooks.clean(nb)
    path.chmod(0o644)
    path.write_text(notebooks.dumps(nb), encoding="utf-8")


def _install(staged: Path, folder: Path) -> Path:
    """Copy the files of one staged lesson into ``folder``; return its notebook."""
    for source in sorted(p for p in staged.rglob("*") if p.is_file()):
        target = folder / source.relative_to(staged)
        target.parent.mkdir(parents=True, exist_ok=True)
        new = source.read_bytes()
        if not target.is_file() or target.read_bytes() != new:
            target.write_bytes(new)
    return folder / f"{folder.name}.ipynb"


def _stale(dest: Path, keep: set[str]) -> list[Path]:
    """Lesson folders of ``dest`` whose lesson is no longer in ``solutions/``."""
    if not dest.is_dir():
        return []
    return [folder for folder in sorted(dest.iterdir())
            if folder.is_dir() and folder.name not in keep and (folder / f"{folder.name}.ipynb").is_file()]


def _refuse_to_overwrite_work(dest: Path, staged: Path, lessons: list[str], stale: list[Path]) -> None:
    """Raise, naming the files, if writing the release or removing ``stale`` would lose work."""
    found = []
    for name in lessons:
        path = dest / name / f"{name}.ipynb"
        if path.is_file():
            new = json.loads((staged / name / f"{name}.ipynb").read_text(encoding="utf-8"))
            found.append((path, work_in(path.read_text(encoding="utf-8", errors="replace"), new)))
    for folder in stale:
        path = folder / f"{folder.name}.ipynb"
        found.append((path, work_in(path.read_text(encoding="utf-8", errors="replace"), None)))
    lines = [f"  {path}: {'; '.join(reasons)}" for path, reasons in found if reasons]
    if lines:
        raise DropoutKitError(
            "release would overwrite work in these notebooks:\n" + "\n".join(lines) + "\n"
            "Learners work in a copy of the lessons, never in notebooks/: `dropout-kit start` copies "
            "them into workspace/ and opens JupyterLab there. To keep this work, copy these files out "
            "of notebooks/ (e.g. into workspace/); then `dropout-kit release --force` replaces them."
        )
