"""Sweeps (lesson 06): every config over every seed, one summary row per config."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence

from dropout_kit.device import resolve_device
from dropout_kit.models import build_mlp
from dropout_kit.runs import format_pm, summarize
from dropout_kit.tables import Table
from dropout_kit.train import History
from dropout_kit.tuning.execution import execute

SWEEP_COLUMNS = ["label", "n", "train_eval_acc_mean", "val_acc_mean", "val_acc_std", "val_loss_mean",
                 "val_loss_std", "gap_mean", "seconds", "device"]
PERCENT = ["train_eval_acc_mean", "val_acc_mean", "val_acc_std", "gap_mean", "test_acc_mean", "test_acc_std"]


def _label(p, weight_decay: float) -> str:
    rate = f"p={p}" if isinstance(p, (int, float)) else f"p=({', '.join(str(x) for x in p)})"
    return rate if not weight_decay else f"{rate}, wd={weight_decay:g}"


def parse_config(config) -> dict:
    """A config (a rate, a pair of rates, or a dict) as ``{'p', 'weight_decay', 'label'}``; ValueError if malformed.

    A dict may also name its own ``make_model`` (e.g. ``functools.partial(build_mlp, hidden=(512, 256))``,
    lesson 10), used instead of ``sweep``'s for that config; it is kept in the result.
    """
    if isinstance(config, Mapping):
        unknown = set(config) - {"p", "weight_decay", "label", "make_model"}
        if "p" not in config or unknown:
            raise ValueError(f"a config is a rate, a pair of rates, or a dict with 'p' and optionally "
                             f"'weight_decay', 'label' and 'make_model'; got {dict(config)}")
        out = {"p": config["p"], "weight_decay": float(config.get("weight_decay", 0.0))}
        if config.get("make_model") is not None:
            out["make_model"] = config["make_model"]
    else:
        out = {"p": config, "weight_decay": 0.0}
    if not isinstance(out["p"], (int, float)):
        out["p"] = tuple(out["p"])
    out["label"] = config.get("label") if isinstance(config, Mapping) and config.get("label") else \
        _label(out["p"], out["weight_decay"])
    return out


def grid(p: Iterable, weight_decay: Iterable[float]) -> list[dict]:
    """Every combination of rates and L2 strengths, as configs for ``sweep`` (lesson 06's L2 grid).

    ``grid([0, 0.3], [1e-4, 1e-3])`` gives four configs, rates varying slowest.
    """
    return [{"p": rate, "weight_decay": wd} for rate, wd in itertools.product(p, weight_decay)]


def sweep(configs: Iterable, data, *, seeds: Sequence[int], make_model: Callable = build_mlp,
          workers: int = 1, verbose: bool = True, device="auto", **fit_kwargs) -> Table:
    """Train every config over every seed (fresh weights each run); one summary row per config.

    Used in lesson 06 for the rate sweep, the per-layer comparison and the L2 grid.

    Args:
        configs: each a rate ``0.3``, a per-layer pair ``(0.2, 0.5)``, or a dict
            ``{"p": ..., "weight_decay": ..., "label": ..., "make_model": ...}``.
        data: ``Splits`` (or anything ``fit`` takes).
        seeds: one run per seed; the same seeds for every config, so configs differ only by
            the config.
        make_model: builds a fresh model from the rate(s) (default ``build_mlp``).
        workers: processes to train in (each with one thread); the results are the same
            for any number, only faster (2 on a 2-core machine). With workers > 1,
            ``make_model`` must be importable (not a lambda).
        verbose: print one line per config as it finishes (sweeps take minutes).
        device: where every run trains (``"auto"``: the GPU if there is one), in this
            process or in each worker; checked here, before any worker starts.
        **fit_kwargs: passed to ``runs.train_runs`` and ``fit`` (``epochs`` required; e.g.
            ``**RECIPE.fit_kwargs()``; ``test=True`` also records test accuracy, for a
            final report only).

    Returns:
        A ``Table`` with one row per config: ``label``, ``p``, ``weight_decay``, ``n``,
        ``<metric>_mean`` / ``<metric>_std`` as in ``runs.summarize``, ``seconds``
        (training time summed over the config's runs), ``seeds`` and the per-run values
        ``val_acc_runs``, ``val_loss_runs``, ``train_eval_acc_runs`` (and ``test_acc_runs``)
        in seed order, and ``device`` (where the runs trained). With ``measure=`` (see
        ``runs.train_runs``), every measure gets ``<name>_runs`` in seed order, and those
        that are numbers ``<name>_mean`` / ``_std``.
    """
    if "weight_decay" in fit_kwargs:
        raise ValueError("give weight_decay inside the configs (see grid), not as a keyword")
    if not seeds:
        raise ValueError("give at least one seed")
    fit_kwargs.setdefault("progress", False)
    fit_kwargs["device"] = resolve_device(device)
    configs = [parse_config(c) for c in configs]
    jobs = [{"make_model": c.get("make_model", make_model), "p": c["p"], "weight_decay": c["weight_decay"],
             "seed": seed, "fit_kwargs": fit_kwargs} for c in configs for seed in seeds]
    per_config = len(seeds)
    finished: dict[int, int] = {}
    results: dict[int, History] = {}

    def done(i: int, history: History) -> None:
        results[i] = history
        c = i // per_config
        finished[c] = finished.get(c, 0) + 1
        if verbose and finished[c] == per_config:
            row = _summary(configs[c], [results[c * per_config + k] for k in range(per_config)], seeds)
            print(f"{row['label']}: {row['n']} runs, {row['seconds']:.0f} s of training on {row['device']}, "
                  f"val acc {format_pm(row['val_acc_mean'], row['val_acc_std'])}%", flush=True)

    histories = execute(jobs, data, workers, done)
    rows = [_summary(c, histories[i * per_config:(i + 1) * per_config], seeds) for i, c in enumerate(configs)]
    return Table(rows, columns=SWEEP_COLUMNS, percent=PERCENT)


def _summary(config: dict, histories: list[History], seeds: Sequence[int]) -> dict:
    row = summarize(config["label"], histories, p=config["p"], weight_decay=config["weight_decay"])
    row["seconds"] = sum(sum(h.seconds) for h in histories)
    # Per-run values in seed order, for comparisons paired by seed (paired_by_seed).
    row["seeds"] = list(seeds)
    for metric in ("val_acc", "val_loss", "train_eval_acc"):
        row[f"{metric}_runs"] = [h.final[metric] for h in histories]
    if all(hasattr(h, "test_acc") for h in histories):
        row["test_acc_runs"] = [h.test_acc for h in histories]
    if all(hasattr(h, "measures") for h in histories):
        for name in histories[0].measures:
            row[f"{name}_runs"] = [h.measures.get(name) for h in histories]
    return row
