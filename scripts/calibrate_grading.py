"""Calibrate lesson 05's target: every design of the calibration, on every calibration seed.

Re-running this script reproduces the committed table (same seeds, same data split) on a
machine of the same kind; another CPU or a GPU moves each run about as a change of seed does:

    nice -n 10 python scripts/calibrate_grading.py --workers 2   # writes dropout_kit/calibration.csv
    python scripts/calibrate_grading.py --report                 # the README's table, from that file

Each row is one (design, seed) run of ``result.runs``, the judge's own training run: the
recipe's 3,000-image class-balanced subset, 50 epochs, batch 64, Adam 1e-3, dropout at the
design's sites; ``val_loss`` and ``val_acc`` are means over the last 10 epochs, the others
are the last epoch's. The designs and their roles live in
``dropout_kit/exercises/experiment/calibration.py``.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import torch

from dropout_kit.data import load_fashion_mnist
from dropout_kit.exercises.experiment import calibration, result
from dropout_kit.recipe import RECIPE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=calibration.CALIBRATION)
    parser.add_argument("--seeds", type=int, nargs="+", default=calibration.SEEDS)
    parser.add_argument("--designs", nargs="+", help="labels of the designs to run (default: all)")
    parser.add_argument("--workers", type=int, default=1, help="training processes (one thread each)")
    parser.add_argument("--device", default="cpu", help="where to train (the committed table: cpu)")
    parser.add_argument("--report", action="store_true", help="print the README's table from --out; train nothing")
    args = parser.parse_args()
    if args.report:
        print(calibration.markdown(args.out))
        return
    torch.set_num_threads(1)
    designs = [d for d in calibration.DESIGNS if not args.designs or d[0] in args.designs]
    data = load_fashion_mnist(subset=RECIPE.subset, seed=RECIPE.data_seed, download=False)
    start, count = time.perf_counter(), 0
    with open(args.out, "w", newline="") as handle:  # written design by design: a long run keeps its progress
        writer = csv.DictWriter(handle, fieldnames=calibration.FIELDS)
        writer.writeheader()
        for label, rates, _ in designs:
            began = time.perf_counter()
            for run in result.runs(rates, args.seeds, data=data, workers=args.workers, device=args.device):
                row = {"design": label, **dict(zip(calibration.FIELDS[1:5], rates)), **run}
                writer.writerow({k: round(v, 5) if isinstance(v, float) else v for k, v in row.items()})
                count += 1
            handle.flush()
            print(f"{label}: {time.perf_counter() - began:.0f} s for {len(args.seeds)} seeds", flush=True)
    print(f"wrote {args.out}: {count} runs in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
