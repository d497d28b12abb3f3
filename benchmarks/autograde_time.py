"""Benchmark: autograde wall time of one whole-course submission (the solutions, as one learner).

    python benchmarks/autograde_time.py                  # every graded lesson of solutions/
    python benchmarks/autograde_time.py 02_from_scratch  # only these lessons

Grades with the course's own configuration (autograder/nbgrader_config.py: per-cell and per-lesson
limits) into a temporary workspace, and prints the time of each lesson's grading process (kernel,
every cell, feedback) and of the whole run (gradebook included). Goal (issue 4): at most 3 minutes.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from dropout_kit.course import config, grade

GOAL_S = 180


def main(lessons: list[str]) -> int:
    root = config.find_course_root()
    graded = config.select_lessons([l for l in config.discover_lessons(root) if l.graded], lessons)
    with tempfile.TemporaryDirectory(prefix="autograde-time-") as tmp:
        for lesson in graded:
            (Path(tmp) / "submissions" / "solutions").mkdir(parents=True, exist_ok=True)
            shutil.copy(lesson.notebook, Path(tmp) / "submissions" / "solutions")
        start = time.perf_counter()
        report = grade(Path(tmp) / "submissions", out=Path(tmp) / "grading", lessons=[l.name for l in graded])
        total = time.perf_counter() - start
    width = max(len(l.name) for l in graded)
    for r in sorted(report.results, key=lambda r: r.lesson):
        score = "-" if r.score is None else f"{r.score:g}"
        print(f"{r.lesson:<{width}}  {r.seconds:6.1f} s  {score}/{r.max_score:g} {r.status} {r.reason}".rstrip())
    lessons_s = sum(r.seconds or 0 for r in report.results)
    print(f"{'total':<{width}}  {total:6.1f} s  (lessons {lessons_s:.1f} s, gradebook and start-up "
          f"{total - lessons_s:.1f} s; goal <= {GOAL_S} s)")
    return 0 if report.ok and total <= GOAL_S else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
