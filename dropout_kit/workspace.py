"""The learner's workspace: their own copy of the lessons, which no course update overwrites.

``notebooks/`` belongs to the course (``dropout-kit release`` rewrites it, ``git pull`` updates
it). A learner works in a copy, ``workspace/`` by default (git-ignored): ``start`` copies the
lessons there once and never overwrites a file that exists. ``update`` adds lessons that are
new in the course; a lesson the course changed is replaced only when the learner names it, and
the learner's notebook is kept beside it as ``<lesson>.backup-<time>.ipynb``.

``workspace/.dropout-course.json`` records a hash of each lesson's notebook as it was copied,
so that a later ``start`` can say which lessons the course has changed since.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from dropout_kit.errors import DropoutKitError

MANIFEST = ".dropout-course.json"
DEFAULT_FOLDER = "workspace"


@dataclass
class StartReport:
    """What ``start`` did to the workspace, and what it left for the learner to decide."""

    workspace: Path
    added: list[str] = field(default_factory=list)
    replaced: dict[str, Path] = field(default_factory=dict)  # lesson -> backup of the learner's notebook
    missing: list[str] = field(default_factory=list)         # in the course, not in the workspace
    changed: list[str] = field(default_factory=list)         # changed in the course since copied

    def __str__(self) -> str:
        lines = [f"workspace: {self.workspace}"]
        if self.added:
            lines.append(f"copied {len(self.added)} lesson(s): {', '.join(self.added)}")
        lines += [f"replaced {name}; your notebook is kept as {backup}" for name, backup in self.replaced.items()]
        if self.missing:
            lines.append(f"in the course but not in your workspace: {', '.join(self.missing)} "
                         "(copy them with `dropout-kit start --update`)")
        if self.changed:
            lines.append(f"changed in the course since you copied them: {', '.join(self.changed)} "
                         "(to replace one, keeping a backup of yours: `dropout-kit start --replace LESSON`)")
        if not (self.added or self.replaced or self.missing or self.changed):
            lines.append("your lessons are up to date with the course")
        return "\n".join(lines)


def find_lessons(course_root: Path | None = None) -> Path:
    """The course's released lessons, ``notebooks/``: in ``course_root``, or the working directory or a parent."""
    if course_root is not None:
        folders = [Path(course_root).resolve()]
    else:
        here = Path.cwd().resolve()
        folders = [here, *here.parents]
    for folder in folders:
        if _lesson_names(folder / "notebooks"):
            return folder / "notebooks"
    raise DropoutKitError(
        f"no lessons found: {folders[0]} has no notebooks/<lesson>/<lesson>.ipynb; run this inside "
        "the dropout-course repository (git clone https://github.com/dropout-course/dropout-course)"
    )


def _lesson_names(notebooks: Path) -> list[str]:
    if not notebooks.is_dir():
        return []
    return [f.name for f in sorted(notebooks.iterdir()) if (f / f"{f.name}.ipynb").is_file()]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _copy_missing(source: Path, target: Path) -> None:
    """Copy the files of ``source`` that ``target`` lacks; an existing file is never touched."""
    for path in sorted(p for p in source.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts):
        destination = target / path.relative_to(source)
        if not destination.exists():
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)


def _backup_name(notebook: Path, now: datetime) -> Path:
    stamp = now.strftime("%Y%m%d-%H%M%S")
    backup = notebook.with_name(f"{notebook.stem}.backup-{stamp}.ipynb")
    n = 1
    while backup.exists():
        n += 1
        backup = notebook.with_name(f"{notebook.stem}.backup-{stamp}-{n}.ipynb")
    return backup


def start(workspace: Path | None = None, *, course_root: Path | None = None, update: bool = False,
          replace: list[str] | None = None, now: datetime | None = None) -> StartReport:
    """Copy the course's lessons into the learner's ``workspace``, never overwriting their work.

    The first time, every lesson is copied. Later, nothing is copied unless asked: ``update``
    adds the lessons (and lesson files) that are new in the course, and ``replace`` replaces the
    named lessons' notebooks with the course's, keeping the learner's as a timestamped backup.

    Args:
        workspace: the learner's folder (default: ``workspace/`` beside ``notebooks/``).
        course_root: the repository (default: found from the working directory).
        update: add lessons that are new in the course.
        replace: lessons whose notebook to replace with the course's current one.
        now: the time that names backups (default: now).

    Returns:
        A ``StartReport``: what was copied and replaced, and which lessons are missing or changed.
    """
    lessons_dir = find_lessons(course_root)
    names = _lesson_names(lessons_dir)
    unknown = [n for n in replace or [] if n not in names]
    if unknown:
        raise DropoutKitError(f"unknown lesson(s) {', '.join(unknown)}; the course's lessons: {', '.join(names)}")
    workspace = Path(workspace) if workspace is not None else lessons_dir.parent / DEFAULT_FOLDER
    manifest_path = workspace / MANIFEST
    first = not manifest_path.is_file()
    copied = {} if first else json.loads(manifest_path.read_text(encoding="utf-8")).get("lessons", {})
    report = StartReport(workspace.resolve())
    for name in names:
        released = lessons_dir / name / f"{name}.ipynb"
        mine = workspace / name / f"{name}.ipynb"
        if name in (replace or []) and mine.is_file():
            backup = _backup_name(mine, now or datetime.now())
            mine.rename(backup)
            report.replaced[name] = backup
        elif mine.is_file():
            if name not in copied:
                copied[name] = _digest(released)  # theirs was there before: assume today's lesson
            elif copied[name] != _digest(released):
                report.changed.append(name)
            if update:
                _copy_missing(lessons_dir / name, workspace / name)
            continue
        elif not (first or update or name in (replace or [])):
            report.missing.append(name)
            continue
        _copy_missing(lessons_dir / name, workspace / name)
        copied[name] = _digest(released)
        if name not in report.replaced:
            report.added.append(name)
    workspace.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps({"lessons": copied}, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return report
