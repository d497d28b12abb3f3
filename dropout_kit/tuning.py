"""Tuning dropout (lesson 06): rate sweeps, per-layer rates, L2 grids, k-fold cross-validation.

Every function returns a plain ``Table`` (a list of row dicts) that a notebook displays
as it is and a plot in ``dropout_kit.plots.sweeps`` draws. Comparisons say how large a
difference is *relative to seed noise*: the difference of two means divided by its
standard error, ``sqrt(std_a**2 / n_a + std_b**2 / n_b)``. We call a difference "larger
than seed noise" when it exceeds two standard errors. With 3-5 seeds a side this is a
rough screen, not a significance test (a t-test with so few degrees of freedom needs
more, about 2.8 SE for 95% with 4 degrees of freedom).
"""

from __future__ import annotations

import functools
import itertools
import math
import multiprocessing
import pickle
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed

import torch
from torch import nn

from dropout_kit.models import build_mlp
from dropout_kit.runs import format_pm, summarize, train_runs
from dropout_kit.seeding import seed_everything
from dropout_kit.tables import Table
from dropout_kit.train import History, fit

NOISE_SE = 2.0  # a difference above this many standard errors is called "larger than seed noise"
SWEEP_COLUMNS = ["label", "n", "train_eval_acc_mean", "val_acc_mean", "val_acc_std", "val_loss_mean",
                 "val_loss_std", "gap_mean", "seconds"]
PERCENT = ["train_eval_acc_mean", "val_acc_mean", "val_acc_std", "gap_mean", "test_acc_mean", "test_acc_std"]


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else math.nan


def _label(p, weight_decay: float) -> str:
    rate = f"p={p}" if isinstance(p, (int, float)) else f"p=({', '.join(str(x) for x in p)})"
    return rate if not weight_decay else f"{rate}, wd={weight_decay:g}"


def _config(config) -> dict:
    if isinstance(config, Mapping):
        unknown = set(config) - {"p", "weight_decay", "label"}
        if "p" not in config or unknown:
            raise ValueError(f"a config is a rate, a pair of rates, or a dict with 'p' and optionally "
                             f"'weight_decay' and 'label'; got {dict(config)}")
        out = {"p": config["p"], "weight_decay": float(config.get("weight_decay", 0.0))}
    else:
        out = {"p": config, "weight_decay": 0.0}
    if not isinstance(out["p"], (int, float)):
        out["p"] = tuple(out["p"])
    out["label"] = config.get("label") if isinstance(config, Mapping) and config.get("label") else \
        _label(out["p"], out["weight_decay"])
    return out

# --- running many trainings, one process or several ------------------------------------------

_WORKER_DATA = None  # the data of a worker process, sent once by _init_worker


def _portable(data):
    """``Splits`` as plain tuples of tensors for the trip to a worker process.

    Pickling a dataclass makes ``copyreg`` write ``__slotnames__`` onto its class, which
    ``integrity.verify`` would then report as tampering in the same kernel; tuples avoid it.
    """
    if hasattr(data, "train") and hasattr(data, "val"):
        test = getattr(data, "test", None)
        return ("splits", tuple(data.train), tuple(data.val), None if test is None else tuple(test))
    return ("plain", data)


def _restore(portable):
    if portable[0] == "plain":
        return portable[1]
    from dropout_kit.data import Split, Splits

    _, train, val, test = portable
    return Splits(train=Split(*train), val=Split(*val), test=Split(*test) if test is not None else None)


def _init_worker(portable) -> None:
    global _WORKER_DATA
    # One thread per process: several small networks in parallel beat one network on many
    # threads, and oversubscribed thread pools slow everything down badly on a busy machine.
    torch.set_num_threads(1)
    _WORKER_DATA = _restore(portable)


def _run_job(job: dict, data=None) -> History:
    """One training run: a fresh model for ``job["p"]``, seeded by ``job["seed"]``."""
    data = _WORKER_DATA if data is None else data
    if job.get("train_idx") is not None:  # a cross-validation fold of one split
        X, y = data
        data = ((X[job["train_idx"]], y[job["train_idx"]]), (X[job["val_idx"]], y[job["val_idx"]]))
    [history] = train_runs(functools.partial(job["make_model"], job["p"]), data, seeds=[job["seed"]],
                           weight_decay=job["weight_decay"], **job["fit_kwargs"])
    return history


def _execute(jobs: list[dict], data, workers: int, done: Callable[[int, History], None]) -> list[History]:
    """Run every job, in this process (workers=1) or in ``workers`` processes; histories in job order.

    ``done(i, history)`` is called as each job finishes. Every run is seeded by its job alone,
    and worker processes compute with one thread, so the results do not depend on
    ``workers`` (tested); only the wall time does.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")
    results: list = [None] * len(jobs)
    if workers == 1 or len(jobs) < 2:
        for i, job in enumerate(jobs):
            results[i] = _run_job(job, data)
            done(i, results[i])
        return results
    try:
        pickle.dumps(jobs[0]["make_model"])
    except Exception:
        raise ValueError("with workers > 1, make_model must be importable by another process "
                         "(build_mlp, a class, or functools.partial of one), not a lambda or a "
                         "function defined in the notebook; or use workers=1") from None
    context = multiprocessing.get_context("spawn")  # fork is unsafe once torch has started threads
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context,
                             initializer=_init_worker, initargs=(_portable(data),)) as pool:
        futures = {pool.submit(_run_job, job): i for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            i = futures[future]
            results[i] = future.result()
            done(i, results[i])
    return results


def grid(p: Iterable, weight_decay: Iterable[float]) -> list[dict]:
    """Every combination of rates and L2 strengths, as configs for ``sweep`` (lesson 06's L2 grid).

    ``grid([0, 0.3], [1e-4, 1e-3])`` gives four configs, rates varying slowest.
    """
    return [{"p": rate, "weight_decay": wd} for rate, wd in itertools.product(p, weight_decay)]


def sweep(configs: Iterable, data, *, seeds: Sequence[int], make_model: Callable = build_mlp,
          workers: int = 1, verbose: bool = True, **fit_kwargs) -> Table:
    """Train every config over every seed (fresh weights each run); one summary row per config.

    Used in lesson 06 for the rate sweep, the per-layer comparison and the L2 grid.

    Args:
        configs: each a rate ``0.3``, a per-layer pair ``(0.2, 0.5)``, or a dict
            ``{"p": ..., "weight_decay": ..., "label": ...}``.
        data: ``Splits`` (or anything ``fit`` takes).
        seeds: one run per seed; the same seeds for every config, so configs differ only by
            the config.
        make_model: builds a fresh model from the rate(s) (default ``build_mlp``).
        workers: processes to train in (each with one thread); the results are the same
            for any number, only faster (2 on a 2-core machine). With workers > 1,
            ``make_model`` must be importable (not a lambda).
        verbose: print one line per config as it finishes (sweeps take minutes).
        **fit_kwargs: passed to ``runs.train_runs`` and ``fit`` (``epochs`` required; e.g.
            ``**RECIPE.fit_kwargs()``; ``test=True`` also records test accuracy, for a
            final report only).

    Returns:
        A ``Table`` with one row per config: ``label``, ``p``, ``weight_decay``, ``n``,
        ``<metric>_mean`` / ``<metric>_std`` as in ``runs.summarize``, ``seconds``
        (training time summed over the config's runs), ``seeds`` and the per-run values
        ``val_acc_runs``, ``val_loss_runs``, ``train_eval_acc_runs`` (and ``test_acc_runs``)
        in seed order.
    """
    if "weight_decay" in fit_kwargs:
        raise ValueError("give weight_decay inside the configs (see grid), not as a keyword")
    if not seeds:
        raise ValueError("give at least one seed")
    fit_kwargs.setdefault("progress", False)
    configs = [_config(c) for c in configs]
    jobs = [{"make_model": make_model, "p": c["p"], "weight_decay": c["weight_decay"], "seed": seed,
             "fit_kwargs": fit_kwargs} for c in configs for seed in seeds]
    per_config = len(seeds)
    finished: dict[int, int] = {}
    results: dict[int, History] = {}

    def done(i: int, history: History) -> None:
        results[i] = history
        c = i // per_config
        finished[c] = finished.get(c, 0) + 1
        if verbose and finished[c] == per_config:
            row = _summary(configs[c], [results[c * per_config + k] for k in range(per_config)], seeds)
            print(f"{row['label']}: {row['n']} runs, {row['seconds']:.0f} s of training, "
                  f"val acc {format_pm(row['val_acc_mean'], row['val_acc_std'])}%", flush=True)

    histories = _execute(jobs, data, workers, done)
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
    return row


def standard_error(row: Mapping, metric: str = "val_acc") -> float:
    """``std / sqrt(n)`` of a summary row's metric; 0 when n < 2 or the std is NaN (one run).

    Used by ``pick_rate`` and ``difference`` (lessons 06-07).
    """
    std = row[f"{metric}_std"]
    return 0.0 if row["n"] < 2 or math.isnan(std) else std / math.sqrt(row["n"])


def pick_rate(table: Sequence[Mapping], *, metric: str = "val_acc"):
    """The smallest ``p`` whose mean is within one standard error of the best mean.

    The rule of lessons 06 and 07 (and the reference of ``metric_checks.check_choose_p``):
    best = the highest ``<metric>_mean`` (higher is better; among equal bests the smallest
    p); SE = ``standard_error(best)``; return the smallest ``p`` among the rows with
    ``<metric>_mean >= best - SE``. Rates whose difference from the best is within one SE
    cannot be told apart with this many seeds, and the smaller rate is the smaller change
    to the network.

    Args:
        table: rows with ``p`` (a single rate), ``n``, ``<metric>_mean``, ``<metric>_std``.
        metric: which metric (default val accuracy). Never a test metric.

    Returns:
        The chosen rate, as it appears in the table.
    """
    if metric.startswith("test"):
        raise ValueError("choose with validation metrics; the test split is for the final report only")
    rows = list(table)
    if not rows:
        raise ValueError("the table is empty: nothing to choose from")
    if not all(isinstance(r["p"], (int, float)) for r in rows):
        raise TypeError("pick_rate compares single rates; per-layer pairs have no 'smallest'")
    mean = f"{metric}_mean"
    best = min(rows, key=lambda r: (-r[mean], r["p"]))
    threshold = best[mean] - standard_error(best, metric)
    return min(r["p"] for r in rows if r[mean] >= threshold)


def _find(table: Sequence[Mapping], key) -> Mapping:
    for row in table:
        if row["label"] == key or row.get("p") == key:
            return row
    raise KeyError(f"no row with label or p {key!r}; labels: {[r['label'] for r in table]}")


def _verdict(diff: float, se: float, metric: str) -> dict:
    if math.isnan(se):
        return {"difference": diff, "se": se, "z": math.nan, "beyond_noise": False,
                "verdict": f"{metric} differs by {diff * 100:+.2f} points; with one run a side there is "
                           "no estimate of seed noise, so this cannot be judged"}
    z = diff / se if se > 0 else (math.inf if diff else 0.0)
    return {"difference": diff, "se": se, "z": z,
            "beyond_noise": abs(z) > NOISE_SE,
            "verdict": (f"{metric} differs by {diff * 100:+.2f} points, {abs(z):.1f} standard errors: "
                        + ("larger than seed noise" if abs(z) > NOISE_SE else "within seed noise")
                        + f" (threshold {NOISE_SE:g} SE)")}


def difference(table: Sequence[Mapping], a, b, *, metric: str = "val_acc") -> dict:
    """Mean of ``b`` minus mean of ``a`` and its standard error, from two summary rows.

    Used in lesson 06 (per-layer swap, L2, neighbouring rates). Rows are found by
    ``label`` or ``p``. The seeds of both rows are treated as independent samples
    (Welch's standard error ``sqrt(std_a**2/n_a + std_b**2/n_b)``).

    Returns:
        ``{"a", "b", "difference", "se", "z", "beyond_noise", "verdict"}``; ``verdict`` is a
        sentence, ``beyond_noise`` is ``|z| > NOISE_SE``.
    """
    ra, rb = _find(table, a), _find(table, b)
    diff = rb[f"{metric}_mean"] - ra[f"{metric}_mean"]
    if min(ra["n"], rb["n"]) < 2:
        se = math.nan
    else:
        se = math.hypot(standard_error(ra, metric), standard_error(rb, metric))
    return {"a": ra["label"], "b": rb["label"], **_verdict(diff, se, metric)}


def paired_by_seed(table: Sequence[Mapping], a, b, *, metric: str = "val_acc") -> dict:
    """``b`` minus ``a`` seed by seed, from two ``sweep`` rows run on the same seeds (lesson 06).

    With the course's models the same seed gives two configs the same initial weights and
    the same shuffling (dropout layers have no parameters), so only the dropout masks and
    the config differ. Pairing by seed removes the initialisation's share of the noise.

    Returns:
        ``{"a", "b", "per_seed", "difference", "se", "z", "beyond_noise", "verdict"}``; the SE
        is the std of the per-seed differences over sqrt(number of seeds).
    """
    ra, rb = _find(table, a), _find(table, b)
    if ra["seeds"] != rb["seeds"]:
        raise ValueError(f"{ra['label']} and {rb['label']} were run on different seeds; pairing needs the same")
    per_seed = [y - x for x, y in zip(ra[f"{metric}_runs"], rb[f"{metric}_runs"])]
    mean, std = _mean_std(per_seed)
    se = std / math.sqrt(len(per_seed)) if len(per_seed) > 1 else math.nan
    return {"a": ra["label"], "b": rb["label"], "per_seed": per_seed, **_verdict(mean, se, metric)}


def neighbours(table: Sequence[Mapping], *, metric: str = "val_acc") -> Table:
    """Each rate against the next larger one: difference and standard error (lesson 06).

    Returns:
        A ``Table`` with one row per adjacent pair of rates (sorted by ``p``).
    """
    rows = sorted(table, key=lambda r: r["p"])
    out = []
    for ra, rb in zip(rows, rows[1:]):
        d = difference(rows, ra["label"], rb["label"], metric=metric)
        out.append({"from": ra["label"], "to": rb["label"], "difference": d["difference"], "se": d["se"],
                    "z": d["z"], "beyond_noise": d["beyond_noise"]})
    return Table(out, percent=["difference", "se"])


def stratified_kfold(y: torch.Tensor, k: int, *, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Split indices of ``y`` into ``k`` disjoint, class-stratified folds (lesson 06).

    Each class's indices are shuffled (seeded) and dealt round-robin, continuing from
    where the previous class stopped, so every fold holds each class within one image of
    its share and fold sizes differ by at most one.

    Returns:
        ``k`` pairs ``(train_idx, val_idx)``, sorted int64 indices; the val parts are
        disjoint and together cover every index once.
    """
    y = torch.as_tensor(y)
    if isinstance(k, bool) or not isinstance(k, int) or not 2 <= k <= len(y):
        raise ValueError(f"k must be a whole number from 2 to {len(y)} (the number of items), got {k!r}")
    generator = torch.Generator().manual_seed(seed)
    fold_of = torch.empty(len(y), dtype=torch.long)
    start = 0
    for c in torch.unique(y).tolist():
        members = torch.nonzero(y == c).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        fold_of[members] = (start + torch.arange(len(members))) % k
        start = (start + len(members)) % k
    everything = torch.arange(len(y))
    return [(everything[fold_of != i], everything[fold_of == i]) for i in range(k)]


def cross_validate(configs: Iterable, split, *, k: int = 5, seed: int = 0, make_model: Callable = build_mlp,
                   workers: int = 1, verbose: bool = True, **fit_kwargs) -> Table:
    """k-fold cross-validation of each config on one split (lesson 06); one row per config and fold.

    Every config sees the same folds (``stratified_kfold(split.y, k, seed=seed)``), so
    results can be compared fold by fold (``paired_difference``). Each run trains a fresh
    model, seeded with ``seed``, on k-1 folds and validates on the remaining one.

    Args:
        configs: as for ``sweep``.
        split: the images to cross-validate over, e.g. ``data.train`` (X, y); the official
            val and test splits are not touched.
        k: number of folds.
        seed: seeds the folds and every run.
        workers: processes to train in, as for ``sweep``.
        **fit_kwargs: passed to ``fit`` (``epochs`` required).

    Returns:
        A ``Table`` with ``label``, ``p``, ``weight_decay``, ``fold``, ``n_train``, ``n_val``,
        ``train_eval_acc``, ``val_acc``, ``val_loss``.
    """
    X, y = split
    folds = stratified_kfold(y, k, seed=seed)
    fit_kwargs.setdefault("progress", False)
    configs = [_config(c) for c in configs]
    jobs = [{"make_model": make_model, "p": c["p"], "weight_decay": c["weight_decay"], "seed": seed,
             "fit_kwargs": fit_kwargs, "train_idx": train_idx, "val_idx": val_idx}
            for c in configs for train_idx, val_idx in folds]
    finished: dict[int, list] = {}

    def done(i: int, history: History) -> None:
        c = i // k
        finished.setdefault(c, []).append(history.final["val_acc"])
        if verbose and len(finished[c]) == k:
            print(f"{configs[c]['label']}: {k} folds, val acc {format_pm(*_mean_std(finished[c]))}%", flush=True)

    histories = _execute(jobs, (X, y), workers, done)
    rows = []
    for i, (job, history) in enumerate(zip(jobs, histories)):
        config, final = configs[i // k], history.final
        rows.append({"label": config["label"], "p": config["p"], "weight_decay": config["weight_decay"],
                     "fold": i % k, "n_train": len(job["train_idx"]), "n_val": len(job["val_idx"]),
                     "train_eval_acc": final["train_eval_acc"], "val_acc": final["val_acc"],
                     "val_loss": final["val_loss"]})
    return Table(rows, columns=["label", "fold", "n_train", "n_val", "train_eval_acc", "val_acc", "val_loss"],
                 percent=["train_eval_acc", "val_acc"])


def summarize_folds(fold_table: Sequence[Mapping]) -> Table:
    """One row per config of a ``cross_validate`` table: mean and std over folds (lesson 06).

    The std over folds mixes two things, different training sets and different
    validation folds, and the folds share most of their training images, so it is a
    rough guide to the uncertainty, not an exact one.
    """
    labels = list(dict.fromkeys(r["label"] for r in fold_table))
    out = []
    for label in labels:
        rows = [r for r in fold_table if r["label"] == label]
        row = {"label": label, "p": rows[0]["p"], "weight_decay": rows[0]["weight_decay"], "n": len(rows)}
        for metric in ("train_eval_acc", "val_acc", "val_loss"):
            row[f"{metric}_mean"], row[f"{metric}_std"] = _mean_std([r[metric] for r in rows])
        out.append(row)
    return Table(out, columns=["label", "n", "train_eval_acc_mean", "val_acc_mean", "val_acc_std",
                               "val_loss_mean", "val_loss_std"], percent=PERCENT)


def paired_difference(fold_table: Sequence[Mapping], a, b, *, metric: str = "val_acc") -> dict:
    """``b`` minus ``a`` fold by fold: the mean difference and its standard error (lesson 06).

    Pairing removes what the folds have in common (an easy fold is easy for both
    configs), so it is usually far less noisy than comparing the two means.

    Returns:
        ``{"a", "b", "per_fold", "difference", "se", "z", "beyond_noise", "verdict"}``.
    """
    def values(key):
        rows = sorted((r for r in fold_table if r["label"] == key or r["p"] == key), key=lambda r: r["fold"])
        if not rows:
            raise KeyError(f"no rows with label or p {key!r}")
        return rows

    ra, rb = values(a), values(b)
    if [r["fold"] for r in ra] != [r["fold"] for r in rb]:
        raise ValueError("the two configs were not run on the same folds")
    per_fold = [y[metric] - x[metric] for x, y in zip(ra, rb)]
    mean, std = _mean_std(per_fold)
    se = std / math.sqrt(len(per_fold)) if len(per_fold) > 1 else math.nan
    return {"a": ra[0]["label"], "b": rb[0]["label"], "per_fold": per_fold, **_verdict(mean, se, metric)}


def fit_fresh(make_model: Callable[[], nn.Module], data, *, seed: int, **fit_kwargs) -> tuple[nn.Module, History]:
    """Seed, build a fresh model and train it: ``(model, history)`` (lessons 06-08).

    Like one run of ``runs.train_runs``, but the trained model is returned too (for
    confusion matrices, MC dropout, or continuing to train it on purpose).
    """
    seed_everything(seed)
    model = make_model()
    fit_kwargs.setdefault("progress", False)
    return model, fit(model, data, seed=seed, **fit_kwargs)


def reset_parameters(model: nn.Module) -> int:
    """Re-initialise every layer that has ``reset_parameters()``; return how many were reset.

    Used in lesson 06. Layers draw new random weights from torch's global generator, so
    call ``seed_everything(seed)`` first to make the new weights reproducible. Training
    again afterwards starts from scratch, unlike calling ``fit`` again on a trained model.
    """
    count = 0
    for module in model.modules():
        reset = getattr(module, "reset_parameters", None)
        if callable(reset):
            reset()
            count += 1
    return count


def set_dropout_rates(model: nn.Module, p) -> list[float]:
    """Set the rate of every ``nn.Dropout`` in ``model`` (one rate, or one per layer, in order).

    Used in lesson 06 to reproduce the forum's mistake: changing the rates of an already
    trained network and training it again. Returns the rates now set.
    """
    layers = [m for m in model.modules() if isinstance(m, nn.modules.dropout._DropoutNd)]
    rates = [float(p)] * len(layers) if isinstance(p, (int, float)) else [float(x) for x in p]
    if len(rates) != len(layers):
        raise ValueError(f"the model has {len(layers)} dropout layers; got {len(rates)} rates")
    for layer, rate in zip(layers, rates):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {rate}")
        layer.p = rate
    return rates
