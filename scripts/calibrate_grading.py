"""Calibrate the experiment grader: the grading recipe for the baseline and dropout 0.1-0.6.

Re-running this script reproduces the committed table (same seeds, same data split):

    python scripts/calibrate_grading.py            # writes dropout_kit/calibration.csv

Each row is one (p, seed) run of ``dropout_kit.grading.RECIPE``: the 3,000-image
class-balanced training subset, 50 epochs, batch 64, Adam 1e-3, dropout p after both
hidden ReLUs (p=0 is the baseline). Metrics are final: train accuracy in eval mode over
the whole subset, and val accuracy on the 10,000 validation images.
"""

from __future__ import annotations

import argparse
import csv
import functools
import time
from pathlib import Path

from dropout_kit import grading
from dropout_kit.data import load_fashion_mnist
from dropout_kit.models import build_mlp
from dropout_kit.runs import train_runs

RATES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
SEEDS = (0, 1, 2, 3, 4)
OUT = Path(__file__).resolve().parent.parent / "dropout_kit" / "calibration.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--rates", type=float, nargs="+", default=RATES)
    parser.add_argument("--seeds", type=int, nargs="+", default=SEEDS)
    args = parser.parse_args()
    recipe = grading.RECIPE
    data = load_fashion_mnist(subset=recipe.subset, seed=recipe.data_seed, download=False)
    rows = []
    for p in args.rates:
        start = time.perf_counter()
        runs = train_runs(functools.partial(build_mlp, p), data, seeds=args.seeds, **recipe.fit_kwargs())
        for seed, history in zip(args.seeds, runs):
            final = history.final
            rows.append({
                "p": p, "seed": seed,
                "train_acc_running": round(final["train_acc"], 4),
                "train_acc_eval": round(final["train_eval_acc"], 4),
                "val_acc": round(final["val_acc"], 4),
                "gap": round(final["train_eval_acc"] - final["val_acc"], 4),
            })
            print(rows[-1], flush=True)
        print(f"p={p}: {time.perf_counter() - start:.0f} s for {len(args.seeds)} seeds", flush=True)
    with open(args.out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
