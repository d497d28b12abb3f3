"""Train one configuration over several seeds, and summarise the runs as a table row.

Every comparison in the course (dropout vs none, rates, L2, grading) is "the same
recipe over several seeds, mean ± std", so it is written once, here.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence

from torch import nn

from dropout_kit.device import resolve_device
from dropout_kit.seeding import seed_everything
from dropout_kit.train import History, evaluate, fit

FINAL_METRICS = ("train_acc", "train_eval_acc", "val_loss", "val_acc")


def train_runs(
    make_model: Callable[[], nn.Module],
    data,
    *,
    seeds: Sequence[int],
    test: bool = False,
    device="auto",
    **fit_kwargs,
) -> list[History]:
    """Build a fresh model and ``fit`` it once per seed; return the Histories in seed order.

    Each run calls ``seed_everything(seed)`` before ``make_model()``, so the initial
    weights, the shuffling and the dropout masks all follow the seed, and every run
    starts from freshly initialised parameters (never from the previous run's).

    Args:
        make_model: a zero-argument callable returning a new, untrained model.
        data: ``Splits`` from ``load_fashion_mnist``.
        seeds: one run per seed.
        test: also record the final test accuracy as ``history.test_acc`` (final reports only).
        device: where to train (``"auto"``: the GPU if there is one; see ``dropout_kit.device``).
        **fit_kwargs: passed to ``fit`` (``epochs`` is required).
    """
    if not seeds:
        raise ValueError("give at least one seed")
    device = resolve_device(device)
    histories = []
    for seed in seeds:
        seed_everything(seed)
        model = make_model()
        history = fit(model, data, seed=seed, device=device, **fit_kwargs)
        if test:
            history.test_acc = evaluate(model, data.test.X, data.test.y, device=device).accuracy
        histories.append(history)
    return histories


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return math.nan, math.nan
    std = statistics.stdev(values) if len(values) > 1 else math.nan
    return statistics.fmean(values), std


def summarize(label, histories: Sequence[History], **extra) -> dict:
    """One table row: ``label``, ``n`` runs, and the mean / std of each final metric.

    Keys are ``<metric>_mean`` and ``<metric>_std`` for train_acc (running, dropout on),
    train_eval_acc, val_loss, val_acc, ``gap`` (train_eval_acc - val_acc) and, when
    recorded, test_acc; and ``device``, where the runs were trained (their Histories'
    ``device``, several joined by ", "). The std is the sample std over seeds (NaN for one run).
    """
    row = {"label": label, "n": len(histories), **extra}
    finals = [h.final for h in histories]
    for name in FINAL_METRICS:
        row[f"{name}_mean"], row[f"{name}_std"] = _mean_std([f[name] for f in finals])
    row["gap_mean"], row["gap_std"] = _mean_std([f["train_eval_acc"] - f["val_acc"] for f in finals])
    if all(hasattr(h, "test_acc") for h in histories):
        row["test_acc_mean"], row["test_acc_std"] = _mean_std([h.test_acc for h in histories])
    row["device"] = ", ".join(dict.fromkeys(h.device for h in histories if getattr(h, "device", "")))
    return row


def format_pm(mean: float, std: float, *, percent: bool = True) -> str:
    """``mean ± std`` as text, in percent by default; the ± part is left out for one run."""
    scale, digits = (100.0, 1) if percent else (1.0, 3)
    text = f"{mean * scale:.{digits}f}"
    return text if math.isnan(std) else f"{text} ± {std * scale:.{digits}f}"
