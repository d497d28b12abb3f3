"""Benchmark: how fast lesson 02's checkers answer, against the 0.1 s a learner should wait.

    python benchmarks/check_speed.py            # 9 timed runs of each case, after one warm-up

Times a full ``checks.check_dropout_function`` / ``check_dropout_module`` report for the
implementations in ``tests/dropout_catalogue.py``: two correct functions, one known-wrong
function (feedback on a mistake must be as quick) and ``nn.Dropout``. Reports the median and
the slowest run in ms and the median's ratio to the 0.1 s budget (goal: ratio below 1).
This replaces a timed test, which would fail whenever the machine is busy.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from dropout_catalogue import divide_by_p, dropout_bernoulli, dropout_torch  # noqa: E402

from dropout_kit import checks  # noqa: E402

BUDGET_S = 0.1
RUNS = 9


def _times(run) -> list[float]:
    run()  # warm-up: the statistical bounds are computed once per process
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    cases = {
        "function: F.dropout wrapper": lambda: checks.check_dropout_function(dropout_torch),
        "function: from scratch (bernoulli)": lambda: checks.check_dropout_function(dropout_bernoulli),
        "function: known-wrong (divide by p)": lambda: checks.check_dropout_function(divide_by_p),
        "module: nn.Dropout": lambda: checks.check_dropout_module(nn.Dropout),
    }
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {RUNS} runs per case, "
          f"budget {BUDGET_S * 1e3:.0f} ms")
    for name, run in cases.items():
        times = _times(run)
        median = statistics.median(times)
        print(f"{name:38s} median {median * 1e3:6.1f} ms  max {max(times) * 1e3:6.1f} ms  "
              f"ratio to budget {median / BUDGET_S:.2f}")


if __name__ == "__main__":
    main()
