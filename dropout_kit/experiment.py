"""The main job: the tutorial's FashionMNIST experiment, claimed vs measured.

``dropout-kit experiment`` trains the tutorial's MLP without dropout and with dropout,
with the tutorial's recipe (10 epochs, batch 64, Adam 1e-3), prints the tutorial's
claimed accuracies beside the measured ones, and saves a table and learning curves.

One difference from the tutorial, on purpose: the tutorial validated on the test split.
Here ``val`` is carved from the training images (50,000 train / 10,000 val), and the
test split is only reported at the end.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Sequence
from pathlib import Path

from dropout_kit.data import load_fashion_mnist
from dropout_kit.models import BaselineMLP, DropoutMLP
from dropout_kit.runs import format_pm, summarize, train_runs

# The tutorial's claims, as fractions: running train accuracy and validation accuracy.
CLAIMED = {
    "no dropout": {"train_acc": 0.98, "val_acc": 0.75},
    "dropout": {"train_acc": 0.90, "val_acc": 0.87},
}


def run_experiment(
    *,
    epochs: int = 10,
    p: float = 0.3,
    subset: int | None = None,
    seeds: Sequence[int] = (0,),
    batch_size: int = 64,
    out: Path = Path("runs/experiment"),
    root: Path | None = None,
    progress: bool | None = None,
    echo=print,
) -> list[dict]:
    """Run the experiment; write ``results.csv``, ``results.md`` and ``curves.png`` into ``out``.

    Args:
        epochs, batch_size: the recipe (the tutorial's 10 and 64); Adam lr 1e-3 is fixed.
        p: the dropout rate after each hidden ReLU of the dropout model (the tutorial's 0.3).
        subset: train on a class-balanced subset of this many images instead of all 50,000.
        seeds: one run per seed for each model.
        out: output folder (created).
        root: a folder holding FashionMNIST (default: the lookup order of ``dropout_kit.data``).
        echo: where progress lines go (``print``).

    Returns:
        The two summary rows (see ``dropout_kit.runs.summarize``).
    """
    from dropout_kit.plots import curves  # matplotlib only when the job runs

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = load_fashion_mnist(root, subset=subset)
    echo(f"data: {len(data.train)} train / {len(data.val)} val / {len(data.test)} test images; "
         f"{epochs} epochs, batch {batch_size}, Adam lr 1e-3; seeds {list(seeds)}")
    rows, histories = compare(data, p=p, seeds=seeds, epochs=epochs, batch_size=batch_size,
                              progress=progress, echo=echo)
    report = format_report(rows, epochs=epochs, batch_size=batch_size, subset=subset, n_train=len(data.train))
    echo(report)
    (out / "results.md").write_text(report + "\n")
    with open(out / "results.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    fig = curves.learning_curves(histories, title=f"FashionMNIST MLP, {len(data.train)} training images")
    fig.savefig(out / "curves.png", dpi=120)
    echo(f"saved {out / 'results.csv'}, {out / 'results.md'} and {out / 'curves.png'}")
    return rows


def compare(data, *, p: float = 0.3, seeds: Sequence[int] = (0,), epochs: int = 10, batch_size: int = 64,
            progress: bool | None = None, echo=print, **fit_kwargs) -> tuple[list[dict], dict]:
    """Train the baseline and the dropout-``p`` model over ``seeds``; return (rows, histories).

    ``rows`` are ``summarize`` rows (with test accuracy, for the final report) labelled
    "no dropout" and "dropout"; ``histories`` maps a plot label to each model's Histories.
    Used by ``run_experiment`` and lesson 04.
    """
    setups = {"no dropout": (BaselineMLP, 0.0), "dropout": (functools.partial(DropoutMLP, p), p)}
    histories, rows = {}, []
    for label, (make_model, rate) in setups.items():
        echo(f"training: {label}{f' (p={p})' if rate else ''} over seeds {list(seeds)} ...")
        runs = train_runs(make_model, data, seeds=seeds, epochs=epochs, batch_size=batch_size,
                          test=True, progress=progress, **fit_kwargs)
        histories[label if not rate else f"dropout p={p}"] = runs
        rows.append(summarize(label, runs, p=rate,
                              seconds_per_run=sum(sum(h.seconds) for h in runs) / len(runs)))
    return rows, histories


def format_report(rows: Sequence[dict], *, epochs: int, batch_size: int, subset: int | None, n_train: int) -> str:
    """A Markdown table: the tutorial's claims beside the measured mean ± std."""
    lines = [
        "| setup | claimed train | measured train (running, dropout on) | train (eval mode) "
        "| claimed val | measured val | test | runs | s/run |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        claim = CLAIMED[row["label"]]
        label = row["label"] if row["p"] == 0 else f"dropout p={row['p']}"
        lines.append(
            f"| {label} | {claim['train_acc']:.0%} | {format_pm(row['train_acc_mean'], row['train_acc_std'])} "
            f"| {format_pm(row['train_eval_acc_mean'], row['train_eval_acc_std'])} "
            f"| {claim['val_acc']:.0%} | {format_pm(row['val_acc_mean'], row['val_acc_std'])} "
            f"| {format_pm(row['test_acc_mean'], row['test_acc_std'])} | {row['n']} "
            f"| {row['seconds_per_run']:.0f} |"
        )
    note = (
        f"Measured: {n_train} training images{' (class-balanced subset)' if subset else ''}, "
        f"{epochs} epochs, batch {batch_size}, Adam lr 1e-3; accuracies in %, mean ± std over seeds. "
        "Claims are those of the FashionMNIST experiment tutorial, which validated on the test split with all 60,000 "
        "training images."
    )
    return "\n".join(lines) + "\n\n" + note
