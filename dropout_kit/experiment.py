"""The main job: the tutorial's FashionMNIST experiment, claimed vs measured, in two regimes.

``dropout-kit experiment`` trains the tutorial's MLP without dropout and with dropout, batch 64,
Adam 1e-3, in two regimes (``REGIMES``): the tutorial's own setup (all 50,000 training images,
10 epochs), where the network barely overfits and dropout changes little, and lesson 04's
overfitting regime (a class-balanced 3,000-image subset, 50 epochs), where the baseline
memorises its training set and dropout closes the gap. It prints the tutorial's claimed
accuracies beside the measured ones, and saves one table and one figure of learning curves
holding both regimes.

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
from dropout_kit.device import describe_device, resolve_device
from dropout_kit.models import BaselineMLP, DropoutMLP
from dropout_kit.runs import format_pm, summarize, train_runs

# The two regimes of the main job: training images (None: all 50,000), epochs, and how often the
# validation set is measured (every epoch for the short run's curves; every 5th for the long one).
REGIMES = {
    "tutorial": {"subset": None, "epochs": 10, "eval_every": 1},
    "overfitting": {"subset": 3000, "epochs": 50, "eval_every": 5},
}

# The tutorial's claims, as fractions: running train accuracy and validation accuracy.
CLAIMED = {
    "no dropout": {"train_acc": 0.98, "val_acc": 0.75},
    "dropout": {"train_acc": 0.90, "val_acc": 0.87},
}


def run_experiment(
    *,
    regimes: Sequence[str] = tuple(REGIMES),
    epochs: int | None = None,
    p: float = 0.3,
    subset: int | None = None,
    seeds: Sequence[int] = (0,),
    batch_size: int = 64,
    out: Path = Path("runs/experiment"),
    root: Path | None = None,
    progress: bool | None = None,
    device="auto",
    echo=print,
) -> list[dict]:
    """Run the experiment; write ``results.csv``, ``results.md`` and ``curves.png`` into ``out``.

    Args:
        regimes: which of ``REGIMES`` to run (default: both, the tutorial's setup first).
        epochs, subset: a regime of your own instead (either given: one run with these,
            defaulting to 10 epochs and all 50,000 images).
        p: the dropout rate after each hidden ReLU of the dropout model (the tutorial's 0.3).
        seeds: one run per seed for each model and regime.
        batch_size: the tutorial's 64; Adam lr 1e-3 is fixed.
        out: output folder (created).
        root: a folder holding FashionMNIST (default: the lookup order of ``dropout_kit.data``).
        device: where to train (``"auto"``: CUDA, then MPS, then the CPU); named in the
            report and in ``results.csv``'s ``device`` column.
        echo: where progress lines go (``print``).

    Returns:
        The summary rows, two per regime, each with a ``regime`` key (see ``dropout_kit.runs.summarize``).
    """
    import matplotlib.pyplot as plt

    from dropout_kit.plots import curves  # matplotlib only when the job runs

    device = resolve_device(device)  # a bad device fails here, before the data is read
    unknown = [name for name in regimes if name not in REGIMES]
    if unknown:
        raise ValueError(f"unknown regime(s) {', '.join(unknown)}; the regimes are {', '.join(REGIMES)}")
    plan = ({"custom": {"subset": subset, "epochs": epochs or 10, "eval_every": 1}}
            if epochs is not None or subset is not None else {name: REGIMES[name] for name in regimes})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    all_rows, reports = [], []
    fig, axes = plt.subplots(len(plan), 2, figsize=(11, 4 * len(plan)), squeeze=False)
    for (name, regime), row_axes in zip(plan.items(), axes):
        data = load_fashion_mnist(root, subset=regime["subset"])
        echo(f"{name} regime: {len(data.train)} train / {len(data.val)} val / {len(data.test)} test images; "
             f"{regime['epochs']} epochs, batch {batch_size}, Adam lr 1e-3; seeds {list(seeds)}; "
             f"device {describe_device(device)}")
        rows, histories = compare(data, p=p, seeds=seeds, epochs=regime["epochs"], batch_size=batch_size,
                                  eval_every=regime["eval_every"], progress=progress, device=device, echo=echo)
        report = format_report(rows, epochs=regime["epochs"], batch_size=batch_size, subset=regime["subset"],
                               n_train=len(data.train))
        reports.append(f"### The {name} regime\n\n{report}")
        echo(reports[-1])
        all_rows += [{"regime": name, **row} for row in rows]
        curves.learning_curves(histories, axes=row_axes,
                               title=f"{name}: {len(data.train)} training images, {regime['epochs']} epochs")
    fig.tight_layout()
    (out / "results.md").write_text("\n\n".join(reports) + "\n")
    with open(out / "results.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(all_rows[0]))
        writer.writeheader()
        writer.writerows(all_rows)
    fig.savefig(out / "curves.png", dpi=120)
    plt.close(fig)
    echo(f"saved {out / 'results.csv'}, {out / 'results.md'} and {out / 'curves.png'}")
    return all_rows


def compare(data, *, p: float = 0.3, seeds: Sequence[int] = (0,), epochs: int = 10, batch_size: int = 64,
            progress: bool | None = None, device="auto", echo=print,
            **fit_kwargs) -> tuple[list[dict], dict]:
    """Train the baseline and the dropout-``p`` model over ``seeds``; return (rows, histories).

    ``rows`` are ``summarize`` rows (with test accuracy, for the final report, and the
    ``device`` they trained on) labelled "no dropout" and "dropout"; ``histories`` maps a
    plot label to each model's Histories. Used by ``run_experiment`` and lesson 04.
    """
    device = resolve_device(device)
    setups = {"no dropout": (BaselineMLP, 0.0), "dropout": (functools.partial(DropoutMLP, p), p)}
    histories, rows = {}, []
    for label, (make_model, rate) in setups.items():
        echo(f"training: {label}{f' (p={p})' if rate else ''} over seeds {list(seeds)} ...")
        runs = train_runs(make_model, data, seeds=seeds, epochs=epochs, batch_size=batch_size,
                          test=True, progress=progress, device=device, **fit_kwargs)
        histories[label if not rate else f"dropout p={p}"] = runs
        rows.append(summarize(label, runs, p=rate,
                              seconds_per_run=sum(sum(h.seconds) for h in runs) / len(runs)))
    return rows, histories


def format_report(rows: Sequence[dict], *, epochs: int, batch_size: int, subset: int | None, n_train: int) -> str:
    """A Markdown table: the tutorial's claims beside the measured mean ± std, and where it was trained."""
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
    devices = ", ".join(dict.fromkeys(row["device"] for row in rows if row.get("device")))
    if devices:
        note += f" Trained on {devices}."
    return "\n".join(lines) + "\n\n" + note
