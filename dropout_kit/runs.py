"""Train one configuration over several seeds, and summarise the runs as a table row.

Every comparison in the course (dropout vs none, rates, L2, grading) is "the same
recipe over several seeds, mean ± std", so it is written once, here.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence

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
    measure: Callable[[nn.Module, object], Mapping] | Sequence[Callable] | None = None,
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
        measure: ``measure(model, data) -> dict``, or several in a list or tuple, called on each
            trained model; the dicts, merged, are kept as ``history.measures`` (lessons 11
            and 12: weight sparsity, BatchNorm's variance shift, accuracy on other images,
            ``trained_state``). With worker processes each must be importable (a
            module-level function or a ``functools.partial`` of one).
        device: where to train (``"auto"``: the GPU if there is one; see ``dropout_kit.device``).
        **fit_kwargs: passed to ``fit`` (``epochs`` is required).
    """
    if not seeds:
        raise ValueError("give at least one seed")
    measures = [] if measure is None else list(measure) if isinstance(measure, (list, tuple)) else [measure]
    if not all(callable(m) for m in measures):
        raise TypeError("measure must be a function (model, data) -> dict, or a list of them")
    device = resolve_device(device)
    histories = []
    for seed in seeds:
        seed_everything(seed)
        model = make_model()
        history = fit(model, data, seed=seed, device=device, **fit_kwargs)
        if test:
            history.test_acc = evaluate(model, data.test.X, data.test.y, device=device).accuracy
        if measures:
            history.measures = {name: value for m in measures for name, value in dict(m(model, data)).items()}
        histories.append(history)
    return histories


def trained_state(model: nn.Module, data=None) -> dict:
    """A ``measure`` that keeps the trained weights: ``{"state_dict": ...}``, copied (lesson 11).

    Load them into a freshly built model of the same config to look inside it after a sweep.
    """
    return {"state_dict": {name: value.detach().clone() for name, value in model.state_dict().items()}}


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
    ``device``, several joined by ", "). The std is the sample std over seeds (NaN for one
    run). Measures recorded by ``train_runs(measure=...)`` that are plain numbers get
    ``<name>_mean`` and ``<name>_std`` too.
    """
    row = {"label": label, "n": len(histories), **extra}
    finals = [h.final for h in histories]
    for name in FINAL_METRICS:
        row[f"{name}_mean"], row[f"{name}_std"] = _mean_std([f[name] for f in finals])
    row["gap_mean"], row["gap_std"] = _mean_std([f["train_eval_acc"] - f["val_acc"] for f in finals])
    if all(hasattr(h, "test_acc") for h in histories):
        row["test_acc_mean"], row["test_acc_std"] = _mean_std([h.test_acc for h in histories])
    for name in _numeric_measures(histories):
        row[f"{name}_mean"], row[f"{name}_std"] = _mean_std([h.measures[name] for h in histories])
    row["device"] = ", ".join(dict.fromkeys(h.device for h in histories if getattr(h, "device", "")))
    return row


def _numeric_measures(histories: Sequence[History]) -> list[str]:
    """Names of the measures that every run recorded as a plain number (bools excluded)."""
    if not histories or not all(hasattr(h, "measures") for h in histories):
        return []
    return [name for name in histories[0].measures
            if all(isinstance(h.measures.get(name), (int, float)) and not isinstance(h.measures.get(name), bool)
                   for h in histories)]


def format_pm(mean: float, std: float, *, percent: bool = True) -> str:
    """``mean ± std`` as text, in percent by default; the ± part is left out for one run."""
    scale, digits = (100.0, 1) if percent else (1.0, 3)
    text = f"{mean * scale:.{digits}f}"
    return text if math.isnan(std) else f"{text} ± {std * scale:.{digits}f}"
