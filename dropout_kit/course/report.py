"""Results of a grading run: one row per learner and lesson, ``grades.csv``, a readable summary."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

OK, FAILED, MISSING = "ok", "failed", "missing"
CSV_COLUMNS = ["learner", "lesson", "score", "max_score", "status", "reason", "sandbox", "device"]
TOTAL = "total"


@dataclass(frozen=True)
class LessonResult:
    """One learner's lesson: its score (None when grading failed), and why it is not "ok"."""

    learner: str
    lesson: str
    score: float | None
    max_score: float
    status: str
    reason: str = ""
    seconds: float | None = None  # wall time of its grading process; not written to grades.csv
    sandbox: str = ""  # "yes" when the learner's kernel ran in the sandbox, "NO" with --no-sandbox
    device: str = ""  # where the judges trained (lesson 05), e.g. "cpu (2 threads)"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


@dataclass
class GradeReport:
    """Everything ``grade`` found; ``ok`` is False when any learner's lesson failed to grade."""

    results: list[LessonResult]
    out: Path
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.status != FAILED for r in self.results)

    @property
    def csv_path(self) -> Path:
        return self.out / "grades.csv"

    @property
    def learners(self) -> list[str]:
        return sorted({r.learner for r in self.results})

    def total(self, learner: str) -> LessonResult:
        """The learner's total over the lessons graded: failed lessons count as no score."""
        rows = [r for r in self.results if r.learner == learner]
        problems = [f"{r.lesson} {r.status}" + (f": {r.reason}" if r.reason else "")
                    for r in rows if r.status != OK]
        failed = any(r.status == FAILED for r in rows)
        return LessonResult(
            learner,
            TOTAL,
            sum(r.score or 0.0 for r in rows),
            sum(r.max_score for r in rows),
            FAILED if failed else OK,
            "; ".join(problems),
            sandbox=rows[0].sandbox if rows else "",
            device=rows[0].device if rows else "",
        )

    def rows(self) -> list[LessonResult]:
        """Per learner: one row per lesson, then the total."""
        ordered = []
        for learner in self.learners:
            ordered.extend(sorted((r for r in self.results if r.learner == learner), key=lambda r: r.lesson))
            ordered.append(self.total(learner))
        return ordered

    def write_csv(self) -> Path:
        """Write ``grades.csv`` (columns: learner, lesson, score, max_score, status, reason)."""
        self.out.mkdir(parents=True, exist_ok=True)
        with self.csv_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for r in self.rows():
                writer.writerow([r.learner, r.lesson, _number(r.score), _number(r.max_score), r.status, r.reason,
                                 r.sandbox, r.device])
        return self.csv_path

    def __str__(self) -> str:
        lines = []
        for learner in self.learners:
            total = self.total(learner)
            parts = []
            for r in sorted((r for r in self.results if r.learner == learner), key=lambda r: r.lesson):
                shown = _number(r.score) if r.status == OK else r.status.upper()
                parts.append(f"{r.lesson} {shown}/{_number(r.max_score)}")
            lines.append(f"{learner}: {_number(total.score)}/{_number(total.max_score)}  ({', '.join(parts)})")
            lines.extend(f"  ! {r.lesson} {r.status}: {r.reason}" for r in self.results
                         if r.learner == learner and r.status == FAILED)
        failed = sum(r.status == FAILED for r in self.results)
        lines.append(
            f"graded {len(self.learners)} learner(s); "
            + (f"{failed} lesson(s) FAILED to grade, see the reason column; " if failed else "")
            + f"grades in {self.csv_path}, feedback in {self.out / 'feedback'}"
        )
        lines.extend(f"note: {note}" for note in self.notes)
        if any(r.sandbox == "NO" for r in self.results):
            lines.append("WARNING: graded without a sandbox (--no-sandbox): learners' code ran with the grader's "
                         "rights; grades.csv says so in its sandbox column")
        return "\n".join(lines)
