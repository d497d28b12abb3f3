"""Benchmark: the time of grading one lesson-05 submission, probe and judge, as the grader runs them.

    nice -n 10 python benchmarks/grading_time.py      # the solution's design: input 0.2, hidden 0.5 and 0.5

Times each stage in wall-clock and in CPU seconds of this (one-thread) process: the CPU time is
what the stage costs on an idle core, the wall time what it took with whatever else was running.
Stages: the probe (in grading: in the sandboxed kernel), the rules judge, loading the grader's
data, and the result judge (the rules again, then three training runs). Prints the load average
and the ratio of the whole to the goal of 120 s.
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from dropout_kit import exercises
from dropout_kit.exercises import wire
from dropout_kit.exercises.base import envelope_text
from dropout_kit.exercises.experiment.result import recipe_data
from dropout_kit.models import SiteDropoutMLP
from dropout_kit.recipe import RECIPE

GOAL_S = 120.0


def _timed(stages: list, name: str, fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    stages.append((name, time.perf_counter() - wall, time.process_time() - cpu))
    return value


def main() -> None:
    torch.set_num_threads(1)
    rules, result = exercises.get("experiment_rules"), exercises.get("experiment_result")
    requests = rules.new_requests(np.random.default_rng(0))
    solution = lambda: SiteDropoutMLP((0.2, 0.5, 0.5, 0.0))  # noqa: E731
    stages: list = []
    reply = _timed(stages, "probe", lambda: envelope_text(rules, solution, wire.roundtrip(requests)))
    verdict = _timed(stages, "rules judge", lambda: rules.decide(requests, reply))
    _timed(stages, "grader's data", lambda: recipe_data(RECIPE.subset, RECIPE.data_seed))
    trained = _timed(stages, "result judge", lambda: result.decide(requests, reply))
    print(verdict, trained, sep="\n\n", end="\n\n")
    for name, wall, cpu in stages:
        print(f"{name:14s} wall {wall:6.1f} s   cpu {cpu:6.1f} s")
    wall, cpu = sum(s[1] for s in stages), sum(s[2] for s in stages)
    print(f"{'total':14s} wall {wall:6.1f} s   cpu {cpu:6.1f} s   = {wall / GOAL_S:.2f} (wall) and "
          f"{cpu / GOAL_S:.2f} (cpu) of the {GOAL_S:.0f} s goal; reply {len(reply) / 1e6:.2f} MB")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread; load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
