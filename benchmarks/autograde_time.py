"""Benchmark: autograde wall time of the solutions, as one learner or as a cohort of copies.

    python benchmarks/autograde_time.py                  # every graded lesson of solutions/, one learner
    python benchmarks/autograde_time.py 02_from_scratch  # only these lessons
    python benchmarks/autograde_time.py 02_from_scratch 03_quiz 07_metrics --learners 8 --jobs 1 2

Grades with the course's own configuration (autograder/nbgrader_config.py: per-cell and per-lesson
limits) into a temporary workspace. With one learner it prints each lesson's grading time (kernel,
every cell, feedback) and the whole run's (gradebook included); goal: at most 3 minutes. With
``--learners N`` every learner hands in the solutions, and the cohort is graded once per ``--jobs``
value, in the order given, in one invocation: it prints each run's wall time, its time per learner,
and the speed-up over the first ``--jobs`` value. The machine's load is printed before each run:
timings on a shared machine are noisy, ratios from one invocation less so.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from dropout_kit.course import config, grade

GOAL_S = 180


def grade_cohort(lessons: list, learners: int, jobs: int) -> tuple[object, float]:
    """Grade ``learners`` copies of the solutions of ``lessons`` with ``jobs`` processes; (report, seconds)."""
    with tempfile.TemporaryDirectory(prefix="autograde-time-") as tmp:
        for n in range(learners):
            folder = Path(tmp) / "submissions" / (f"learner{n + 1:02d}" if learners > 1 else "solutions")
            folder.mkdir(parents=True, exist_ok=True)
            for lesson in lessons:
                shutil.copy(lesson.notebook, folder)
        start = time.perf_counter()
        report = grade(Path(tmp) / "submissions", out=Path(tmp) / "grading", lessons=[l.name for l in lessons],
                       jobs=jobs)
        seconds = time.perf_counter() - start
        for r in report.results:  # what went wrong, while the workspace still exists
            log = Path(tmp) / "grading" / "logs" / r.learner / f"{r.lesson}.log"
            if r.status != "ok" and r.lesson != "total":
                tail = log.read_text(errors="replace").splitlines()[-40:] if log.is_file() else ["(no log)"]
                print(f"  ! {r.learner} {r.lesson} {r.status}: {r.reason}", *tail, sep="\n    ", flush=True)
        return report, seconds


def one_learner(lessons: list) -> int:
    report, total = grade_cohort(lessons, 1, 1)
    width = max(len(l.name) for l in lessons)
    for r in sorted(report.results, key=lambda r: r.lesson):
        score = "-" if r.score is None else f"{r.score:g}"
        print(f"{r.lesson:<{width}}  {r.seconds:6.1f} s  {score}/{r.max_score:g} {r.status} {r.reason}".rstrip())
    lessons_s = sum(r.seconds or 0 for r in report.results)
    print(f"{'total':<{width}}  {total:6.1f} s  (lessons {lessons_s:.1f} s, gradebook and start-up "
          f"{total - lessons_s:.1f} s; goal <= {GOAL_S} s)")
    return 0 if report.ok and total <= GOAL_S else 1


def cohort(lessons: list, learners: int, jobs: list[int]) -> int:
    first, ok = None, True
    for n in jobs:
        print(f"load average before --jobs {n}: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        report, total = grade_cohort(lessons, learners, n)
        first = first or total
        ok = ok and report.ok
        print(f"--jobs {n}: {total:6.1f} s for {learners} learners x {len(lessons)} lessons "
              f"({total / learners:.1f} s per learner; speed-up over --jobs {jobs[0]}: {first / total:.2f}x)"
              + ("" if report.ok else "  (some lessons FAILED)"), flush=True)
    return 0 if ok else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("lessons", nargs="*", help="lessons to grade (default: every graded lesson)")
    parser.add_argument("--learners", type=int, default=1, help="copies of the solutions to grade (default 1)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1], help="grading processes at once; several "
                        "values grade the cohort once per value, in order (default 1)")
    args = parser.parse_args(argv)
    if args.learners < 1 or min(args.jobs) < 1:
        parser.error("--learners and --jobs must be at least 1")
    root = config.find_course_root()
    graded = config.select_lessons([l for l in config.discover_lessons(root) if l.graded], args.lessons)
    if args.learners == 1 and args.jobs == [1]:
        return one_learner(graded)
    return cohort(graded, args.learners, args.jobs)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
