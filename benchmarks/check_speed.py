"""Benchmark: how fast lesson 02's self-study check answers, against the 0.1 s a learner should wait.

    python benchmarks/check_speed.py            # 9 timed runs of each case, after one warm-up

For both exercises (``dropout_function``, ``dropout_module``) it times, on a correct
implementation and on a known-wrong one from ``tests/dropout_catalogue.py`` (feedback on a
mistake must be as quick):

- ``check``: ``exercises.check(key, obj, source=...)``, what a test cell runs: challenge, probe
  (the learner's code on every call), wire round trip and judge;
- ``judge``: ``Exercise.decide`` alone on a recorded reply: parsing, validating and judging,
  which is what the grader's own process spends per test cell;
- ``source``: ``inspect.getsource(obj)``, which a test cell's ``check`` adds when no source is
  given. It is timed apart because it depends on where the code lives: a notebook cell is
  cheap, a class in this repository's 500-line catalogue file is parsed whole.

It reports the median and the slowest run in ms and the median's ratio to the 0.1 s budget
(goal: ratio below 1). Timings are noisy on a shared machine; the ratios of one run compare.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from dropout_catalogue import DropoutModule, MaskInInit, divide_by_p, dropout_bernoulli  # noqa: E402

from dropout_kit import exercises  # noqa: E402
from dropout_kit.exercises import wire  # noqa: E402
from dropout_kit.exercises.base import envelope_text, source_of  # noqa: E402

BUDGET_S = 0.1
RUNS = 9


def _times(run) -> list[float]:
    run()  # warm-up: imports and the statistical bounds are computed once per process
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def _check(key: str, obj):
    """``exercises.check`` with the source found once."""
    source = source_of(obj)
    return lambda: exercises.check(key, obj, source=source)


def _judge_only(key: str, obj):
    """``decide`` on one recorded reply, as the grader runs it."""
    exercise = exercises.get(key)
    requests = exercise.new_requests(np.random.default_rng(0))
    reply_text = envelope_text(exercise, obj, wire.roundtrip(requests))
    source = source_of(obj)
    return lambda: exercise.decide(requests, reply_text, source=source)


def main() -> None:
    """Time each case and print one line per case."""
    implementations = [
        ("dropout_function", "from scratch (bernoulli)", dropout_bernoulli),
        ("dropout_function", "known-wrong (divide by p)", divide_by_p),
        ("dropout_module", "from scratch (learner-style)", DropoutModule),
        ("dropout_module", "known-wrong (mask drawn once)", MaskInInit),
    ]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {RUNS} runs per case, "
          f"budget {BUDGET_S * 1e3:.0f} ms")
    for key, label, obj in implementations:
        for stage, run in (("check", _check(key, obj)), ("judge", _judge_only(key, obj)),
                           ("source", lambda o=obj: source_of(o))):
            times = _times(run)
            median = statistics.median(times)
            print(f"{key:17s} {label:30s} {stage:6s} median {median * 1e3:6.1f} ms  "
                  f"max {max(times) * 1e3:6.1f} ms  ratio to budget {median / BUDGET_S:.2f}")


if __name__ == "__main__":
    main()
