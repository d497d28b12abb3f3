"""k-fold cross-validation (lesson 06): stratified folds, one run per config and fold, paired comparisons."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import torch

from dropout_kit.device import resolve_device
from dropout_kit.models import build_mlp
from dropout_kit.runs import format_pm
from dropout_kit.tables import Table
from dropout_kit.train import History
from dropout_kit.tuning.execution import execute
from dropout_kit.tuning.stats import mean_std, paired
from dropout_kit.tuning.sweeps import PERCENT, parse_config


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
                   workers: int = 1, verbose: bool = True, device="auto", **fit_kwargs) -> Table:
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
        device: where every run trains, as for ``sweep``.
        **fit_kwargs: passed to ``fit`` (``epochs`` required).

    Returns:
        A ``Table`` with ``label``, ``p``, ``weight_decay``, ``fold``, ``n_train``, ``n_val``,
        ``train_eval_acc``, ``val_acc``, ``val_loss``, ``device``.
    """
    X, y = split
    folds = stratified_kfold(y, k, seed=seed)
    fit_kwargs.setdefault("progress", False)
    fit_kwargs["device"] = resolve_device(device)
    configs = [parse_config(c) for c in configs]
    jobs = [{"make_model": c.get("make_model", make_model), "p": c["p"], "weight_decay": c["weight_decay"],
             "seed": seed, "fit_kwargs": fit_kwargs, "train_idx": train_idx, "val_idx": val_idx}
            for c in configs for train_idx, val_idx in folds]
    finished: dict[int, list] = {}

    def done(i: int, history: History) -> None:
        c = i // k
        finished.setdefault(c, []).append(history.final["val_acc"])
        if verbose and len(finished[c]) == k:
            print(f"{configs[c]['label']}: {k} folds, val acc {format_pm(*mean_std(finished[c]))}%", flush=True)

    histories = execute(jobs, (X, y), workers, done)
    rows = []
    for i, (job, history) in enumerate(zip(jobs, histories)):
        config, final = configs[i // k], history.final
        rows.append({"label": config["label"], "p": config["p"], "weight_decay": config["weight_decay"],
                     "fold": i % k, "n_train": len(job["train_idx"]), "n_val": len(job["val_idx"]),
                     "train_eval_acc": final["train_eval_acc"], "val_acc": final["val_acc"],
                     "val_loss": final["val_loss"], "device": history.device})
    return Table(rows, columns=["label", "fold", "n_train", "n_val", "train_eval_acc", "val_acc", "val_loss",
                                "device"], percent=["train_eval_acc", "val_acc"])


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
            row[f"{metric}_mean"], row[f"{metric}_std"] = mean_std([r[metric] for r in rows])
        row["device"] = ", ".join(dict.fromkeys(r["device"] for r in rows if r.get("device")))
        out.append(row)
    return Table(out, columns=["label", "n", "train_eval_acc_mean", "val_acc_mean", "val_acc_std",
                               "val_loss_mean", "val_loss_std", "device"], percent=PERCENT)


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
    return {"a": ra[0]["label"], "b": rb[0]["label"], "per_fold": per_fold, **paired(per_fold, metric)}
