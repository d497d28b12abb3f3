"""Lesson 05's trained result: the judge trains the design it measured, with the fixed recipe.

``run`` is the one training run that everything measures with: the judge (three seeds), the
learner's sweep (``sweep``) and the calibration (``scripts/calibrate_grading.py``). It trains
``SiteDropoutMLP`` with the measured rates on the recipe's 3,000-image subset (50 epochs,
batch 64, Adam 1e-3) and records the validation loss averaged over the last ``window``
epochs: the val loss of an overfitting run jumps by several hundredths from one epoch to the
next, more than designs differ, while its mean over the last 10 epochs is steady (see the
README's calibration table).
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from dropout_kit.device import resolve_device
from dropout_kit.models import SiteDropoutMLP
from dropout_kit.recipe import RECIPE, Recipe
from dropout_kit.runs import format_pm
from dropout_kit.tables import Table
from dropout_kit.tuning.execution import execute
from dropout_kit.train import History


@dataclass(frozen=True)
class Target:
    """What the trained design must reach: mean val loss over the last ``window`` epochs and the seeds."""

    max_val_loss: float
    window: int = 10

    def describe(self, recipe: Recipe) -> str:
        """The target in words."""
        first = recipe.epochs - self.window + 1
        return (f"validation loss (mean over epochs {first}-{recipe.epochs}, then over seeds "
                f"{', '.join(map(str, recipe.seeds))}) at most {self.max_val_loss:.3f}")


# Placed by dropout_kit/calibration.csv (scripts/calibrate_grading.py) between the best design
# without input dropout (hidden 0.6: 0.476) and the designs with it (0.442-0.456), where the
# closest of each side (input 0.3 + hidden 0.3, hidden 0.6) are both about 4 standard errors of
# a 3-seed mean away; the README's table gives every design's margin.
TARGET = Target(max_val_loss=0.467)


def fit_kwargs(recipe: Recipe, window: int) -> dict:
    """``fit`` arguments of one measured run: the recipe, evaluating the last ``window`` epochs."""
    return {**recipe.fit_kwargs(), "eval_every": 1, "eval_from": recipe.epochs - window + 1}


def summary(history: History, window: int) -> dict:
    """One run's measurements: windowed val loss and accuracy, and the final epoch's figures."""
    final = history.final
    return {
        "val_loss": statistics.fmean(history.val_loss[-window:]),
        "val_acc": statistics.fmean(history.val_acc[-window:]),
        "val_loss_final": final["val_loss"], "val_acc_final": final["val_acc"],
        "train_eval_acc": final["train_eval_acc"], "gap": final["train_eval_acc"] - final["val_acc"],
        "seconds": sum(history.seconds),
    }


@functools.lru_cache(maxsize=2)
def recipe_data(subset: int, data_seed: int):
    """The recipe's training subset and val split (loaded once per process; the judge's side only)."""
    from dropout_kit.data import load_fashion_mnist

    return load_fashion_mnist(subset=subset, seed=data_seed)


def runs(rates: Sequence[float], seeds: Iterable[int], *, recipe: Recipe = RECIPE, window: int = 10,
         data=None, workers: int = 1, device="auto") -> list[dict]:
    """Train ``SiteDropoutMLP(rates)`` once per seed with the recipe, on one thread; one ``summary`` per seed.

    One thread, as in the calibration: another thread count may sum in another order, which
    moves a run like a change of seed, and small networks train faster on one thread anyway.
    ``device="auto"`` trains on a GPU where there is one: its own dropout generator and float
    order move each run like a change of seed too (``benchmarks/gpu_check.py`` checks that the
    calibrated designs keep their verdicts there).
    """
    data = data if data is not None else recipe_data(recipe.subset, recipe.data_seed)
    seeds = list(seeds)
    kwargs = {**fit_kwargs(recipe, window), "device": resolve_device(device)}
    jobs = [{"make_model": SiteDropoutMLP, "p": tuple(rates), "weight_decay": 0.0, "seed": seed, "fit_kwargs": kwargs}
            for seed in seeds]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as calibrated; worker processes use one thread each anyway
    try:
        histories = execute(jobs, data, workers, lambda i, h: None)
    finally:
        torch.set_num_threads(threads)
    return [{"seed": seed, **summary(h, window)} for seed, h in zip(seeds, histories)]


def _label(rates: Sequence[float]) -> str:
    names = ("input", "hidden1", "hidden2", "logits")
    return ", ".join(f"{n} {p:g}" for n, p in zip(names, rates) if p) or "no dropout"


def sweep(designs: Iterable[Sequence[float]], *, seeds: Sequence[int] = (0,), recipe: Recipe = RECIPE,
          window: int = 10, data=None, workers: int = 1, device="auto") -> Table:
    """Lesson 05's sweep: each design (rates at input, hidden 1, hidden 2, logits) measured as the judge does.

    Args:
        designs: e.g. ``[(0, 0.3, 0.3, 0), (0.2, 0.5, 0.5, 0)]``: the drop rate at the input
            pixels, after hidden ReLU 1, after hidden ReLU 2 and on the logits.
        seeds: one training run per seed (about 9 s of CPU each on the course's 2-core machine).
        workers: processes to train in (2 on a 2-core machine halves the time).
        device: where to train (``"auto"``: the GPU if there is one).

    Returns:
        A ``Table``, one row per design: the mean (and, with several seeds, the std) of the
        val loss over the last ``window`` epochs, the val accuracy over the same epochs,
        and the last epoch's train-val gap.
    """
    rows = []
    for rates in designs:
        measured = runs(rates, seeds, recipe=recipe, window=window, data=data, workers=workers, device=device)
        row = {"design": _label(rates), "rates": tuple(rates), "seeds": len(measured)}
        for name in ("val_loss", "val_acc", "gap"):
            values = [m[name] for m in measured]
            row[name] = statistics.fmean(values)
            row[f"{name}_std"] = statistics.stdev(values) if len(values) > 1 else float("nan")
        row["val_loss_runs"] = [round(m["val_loss"], 4) for m in measured]
        rows.append(row)
        print(f"{row['design']}: val loss {format_pm(row['val_loss'], row['val_loss_std'], percent=False)}",
              flush=True)
    return Table(rows, columns=["design", "seeds", "val_loss", "val_loss_std", "val_acc", "gap"],
                 percent=["val_acc", "gap"])
