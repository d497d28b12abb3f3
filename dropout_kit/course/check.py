"""``check_notebook``: run a learner's notebook and report which test cells fail.

Unlike ``nbgrader validate``, which exits 0 even when tests fail, the result has ``passed``
and the CLI exits non-zero. When the course's released copy of the lesson is at hand, its test
cells are used, so an edited or deleted test cell is checked as the grader will check it; tags
are ignored, as in grading.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from dropout_kit.course import config as course_config
from dropout_kit.course.notebooks import grade_cells, read_notebook
from dropout_kit.errors import DropoutKitError
from dropout_kit.optional import require

DEFAULT_TIMEOUT = 120  # seconds per cell when no course configuration is found
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(frozen=True)
class CellFailure:
    """A test cell that failed: where, how many points, and the error."""

    index: int
    grade_id: str
    points: float
    error: str

    def __str__(self) -> str:
        unit = "point" if self.points == 1 else "points"
        return f"cell {self.index} ({self.grade_id}, {self.points:g} {unit}): {self.error}"


@dataclass
class CheckResult:
    """What ``check_notebook`` found; ``passed`` when no test cell (or, without tests, no cell) failed."""

    notebook: Path
    tests: int
    points: float
    failures: list[CellFailure]
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures and (self.tests > 0 or not self.errors)

    def __str__(self) -> str:
        lines = [f"note: {n}" for n in self.notes]
        if self.tests == 0:
            lines.append(f"{self.notebook}: no graded test cells; "
                         + ("it ran without errors" if not self.errors else f"{len(self.errors)} cell(s) failed"))
            lines.extend(f"  {e}" for e in self.errors)
        elif self.failures:
            lost = sum(f.points for f in self.failures)
            lines.append(f"{self.notebook}: FAILED {len(self.failures)} of {self.tests} test cell(s) "
                         f"({lost:g} of {self.points:g} points)")
            lines.extend(f"  {f}" for f in self.failures)
        else:
            lines.append(f"{self.notebook}: passed all {self.tests} test cell(s) ({self.points:g} points)")
        return "\n".join(lines)


def check_notebook(notebook: Path, timeout: int | None = None, *, course_root: Path | None = None) -> CheckResult:
    """Execute ``notebook`` and report the test cells that fail.

    Args:
        notebook: a lesson notebook (a learner's copy, or one in notebooks/ or solutions/).
        timeout: seconds per cell (default: ``Execute.timeout`` of the course configuration).
        course_root: the repository, for the released tests (default: found from the notebook).

    Returns:
        A ``CheckResult``; ``passed`` is False when any graded test cell raised.
    """
    require("nbclient", "course", "checking a notebook")
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    path = Path(notebook)
    nb = read_notebook(path)
    root = _course_root(path, course_root)
    in_source = root is not None and (root / "solutions") in path.resolve().parents
    notes = _restore_tests(nb, root / "notebooks" / path.stem / path.name) if root and not in_source else []
    if timeout is None:
        timeout = course_config.cell_timeout(course_config.load_config(root)) if root else DEFAULT_TIMEOUT
    for cell in nb.cells:
        cell.metadata.pop("tags", None)  # as in grading: no skip-execution, no raises-exception
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", allow_errors=True, interrupt_on_timeout=True,
        resources={"metadata": {"path": str(path.resolve().parent)}},
    )
    died = None
    with course_config.tools_on_path():
        try:
            # The kernel's own stderr holds only its start-up chatter; errors are in the cells.
            client.execute(stderr=subprocess.DEVNULL)
        except DeadKernelError:
            died = "the kernel died (the notebook crashed or ended Python); later cells did not run"
    tests = grade_cells(nb)
    failures = [_failure(i, cell, died) for i, cell in tests if _error(cell) or (died and not cell.get("outputs"))]
    errors = [f"cell {i}: {_error(cell)}" for i, cell in enumerate(nb.cells) if _error(cell)]
    if died:
        errors.append(died)
    return CheckResult(path, len(tests), sum(_points(c) for _, c in tests), failures, errors, notes)


def _course_root(path: Path, explicit: Path | None) -> Path | None:
    try:
        return course_config.find_course_root(explicit) if explicit else _search(path.resolve().parent)
    except DropoutKitError:
        return None


def _search(start: Path) -> Path | None:
    for folder in [start, *start.parents]:
        if (folder / course_config.CONFIG_FILE).is_file():
            return folder
    try:
        return course_config.find_course_root()
    except DropoutKitError:
        return None


def _restore_tests(nb, released: Path) -> list[str]:
    """Use the released test cells, as the grader will; say which ones differed."""
    if not released.is_file():
        return []
    originals = {cell.metadata["nbgrader"]["grade_id"]: cell for _, cell in grade_cells(read_notebook(released))}
    notes, seen = [], set()
    for _, cell in grade_cells(nb):
        grade_id = cell.metadata["nbgrader"].get("grade_id")
        if grade_id in originals and grade_id not in seen:
            seen.add(grade_id)
            if cell.source != originals[grade_id].source:
                notes.append(f"test cell {grade_id} was edited; checked with the released version")
                cell.source = originals[grade_id].source
    missing = [g for g in originals if g not in seen]
    if missing:
        nb.cells.extend(originals[g] for g in missing)
        notes.append(f"test cell(s) {', '.join(missing)} missing from the notebook: checked at its end, "
                     f"as the grader puts them back; copy them from {released}")
    return notes


def _error(cell) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            last = [_ANSI.sub("", line) for line in output.get("traceback", [])][-1:] or [""]
            summary = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip().rstrip(":")
            return summary if summary.strip() else last[0]
    return ""


def _failure(index: int, cell, died: str | None) -> CellFailure:
    meta = cell.metadata["nbgrader"]
    return CellFailure(index, meta.get("grade_id", "?"), _points(cell), _error(cell) or died or "did not run")


def _points(cell) -> float:
    return float(cell.metadata["nbgrader"].get("points", 0))
