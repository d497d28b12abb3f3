"""Benchmark: wall time of grading one lesson-05 submission (rules + three training runs).

    python benchmarks/grading_time.py      # grades DropoutMLP(0.3), as a learner's Net would be

Reports the time to load the grading data (once per grading process) and to grade, and the
verdict. Goal (issue 5): at most 60 s on the course's 2-core machines.
"""

from __future__ import annotations

import functools
import time

import torch

from dropout_kit import grading
from dropout_kit.models import DropoutMLP


def main() -> None:
    start = time.perf_counter()
    grading._grading_data(grading.RECIPE.subset, grading.RECIPE.data_seed)
    loaded = time.perf_counter()
    grade = grading.grade_experiment(functools.partial(DropoutMLP, 0.3))
    done = time.perf_counter()
    print(grade)
    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"data load {loaded - start:.1f} s, grading {done - loaded:.1f} s, total {done - start:.1f} s "
          f"(goal: <= 60 s)")


if __name__ == "__main__":
    main()
