"""Benchmark: what the bubblewrap sandbox costs a grading kernel, against a plain local kernel.

    python benchmarks/sandbox_overhead.py            # 9 runs of each, alternating
    python benchmarks/sandbox_overhead.py --runs 15
    python benchmarks/sandbox_overhead.py --lesson   # what an honest lesson uses, in the sandbox

Each run starts a kernel with ``dropout_kit.sandbox.start_kernel`` (sandboxed with the default
limits, or ``isolate=False``), times start-to-ready, then a small cell's round trip (median of
20 cells per run), then ``stop()``. Runs alternate sandboxed / plain so that load on a shared
machine falls on both alike; medians are compared as a ratio (sandboxed / plain).

``--lesson`` instead runs, in one sandboxed kernel with the default limits, what a training
lesson does (FashionMNIST, 5,000 training images, the course's MLP with dropout, 3 epochs, a
plot) and prints the peaks the sandbox's cgroups recorded: the figures behind ``Limits``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from dropout_kit import sandbox

CELL = "x = sum(range(1000))"
CELLS_PER_RUN = 20
LESSON = """\
import resource, time
start = time.perf_counter()
import torch
import matplotlib.pyplot as plt
from dropout_kit import data, models, train
splits = data.load_fashion_mnist(subset=5000)
history = train.fit(models.build_mlp(0.2), splits, epochs=3, seed=0, progress=False)
plt.plot(history.val_acc); plt.show()
print(f"{time.perf_counter() - start:.1f} s, max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB, "
      f"{torch.get_num_threads()} torch threads")
"""


def one_run(policy: sandbox.Policy) -> dict[str, float]:
    """Seconds to ready, median cell round trip and seconds to stop, for one kernel."""
    with tempfile.TemporaryDirectory(prefix="dropout-bench-") as folder:
        start = time.perf_counter()
        kernel = sandbox.start_kernel(Path(folder), policy)
        ready = time.perf_counter() - start
        trips = []
        for _ in range(CELLS_PER_RUN):
            start = time.perf_counter()
            result = sandbox.run_cell(kernel, CELL)
            trips.append(time.perf_counter() - start)
            assert result.status == "ok", result
        start = time.perf_counter()
        kernel.stop()
        return {"ready": ready, "cell": statistics.median(trips), "stop": time.perf_counter() - start}


def main(argv: list[str] | None = None) -> None:
    """Time both kinds of kernel, alternating, and print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="kernels of each kind (default 9)")
    parser.add_argument("--lesson", action="store_true", help="measure a training lesson's peaks instead")
    args = parser.parse_args(argv)
    sandbox.require()
    if args.lesson:
        lesson()
        return
    kinds = {"sandboxed": sandbox.Policy(), "plain": sandbox.Policy(isolate=False)}
    times = {kind: [] for kind in kinds}
    for kind, policy in kinds.items():  # warm-up: the first kernel pays for cold caches
        one_run(policy)
    for _ in range(args.runs):
        for kind, policy in kinds.items():
            times[kind].append(one_run(policy))
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.runs} runs of each kind, "
          f"alternating; cell: {CELL!r}, median of {CELLS_PER_RUN} per run")
    print(f"{'':14s}{'sandboxed':>12s}{'plain':>12s}{'ratio':>9s}")
    for measure, label in (("ready", "start-to-ready"), ("cell", "cell round trip"), ("stop", "stop")):
        medians = {kind: statistics.median(run[measure] for run in times[kind]) for kind in kinds}
        print(f"{label:16s}{medians['sandboxed'] * 1e3:8.1f} ms{medians['plain'] * 1e3:9.1f} ms"
              f"{medians['sandboxed'] / medians['plain']:8.2f}x")


def lesson() -> None:
    """Run a training lesson's work in a sandboxed kernel; print its output and the cgroups' peaks."""
    with tempfile.TemporaryDirectory(prefix="dropout-bench-") as folder:
        with sandbox.start_kernel(Path(folder)) as kernel:
            result = sandbox.run_cell(kernel, LESSON, timeout=1200)
            assert result.status == "ok", result
            peaks = kernel.peaks()
    print(f"in the sandbox: {result.stdout.strip()}")
    if not peaks:
        print("no cgroup records peaks on this machine")
    if "memory_bytes" in peaks:
        print(f"cgroup peak memory {peaks['memory_bytes'] / 2**20:.0f} MiB (limit {sandbox.Limits().memory_bytes / 2**20:.0f} MiB)")
    if "processes" in peaks:
        print(f"cgroup peak processes + threads {peaks['processes']} (limit {sandbox.Limits().processes})")


if __name__ == "__main__":
    main()
