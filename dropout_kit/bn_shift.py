"""Dropout before BatchNorm (lesson 11): the "variance shift" of Li et al. (2019), measured and undone.

In train mode a BatchNorm layer normalises with the statistics of the batch, and keeps running
averages of them for eval mode. When dropout acts upstream of it, those statistics are taken
with dropout on; in eval mode dropout is off and the variance reaching the BatchNorm is
different, but it still divides by the training-time variance. ``variance_shift`` measures the
mismatch; ``recalibrate`` re-estimates the running statistics with dropout off, which shows how
much accuracy the mismatch costs.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from dropout_kit.tables import Table
from dropout_kit.train import evaluate
from dropout_kit.uncertainty import dropout_only_train

_BN = nn.modules.batchnorm._BatchNorm


def batchnorms(model: nn.Module) -> dict[str, nn.Module]:
    """The model's BatchNorm layers by name; ValueError if it has none."""
    found = {name: m for name, m in model.named_modules() if isinstance(m, _BN)}
    if not found:
        raise ValueError("the model has no BatchNorm layer: there is no variance shift to measure")
    return found


@torch.no_grad()
def bn_input_variance(model: nn.Module, X: torch.Tensor, *, dropout_on: bool, seed: int = 0) -> dict[str, torch.Tensor]:
    """Per-feature variance over ``X`` of what reaches each BatchNorm layer, dropout on or off.

    BatchNorm itself stays in eval mode (its running statistics are used and not updated);
    only the dropout layers are switched on when ``dropout_on``. Masks are seeded by ``seed``
    on a private stream. Every module's mode is restored afterwards.
    """
    layers = batchnorms(model)
    seen: dict[str, torch.Tensor] = {}
    hooks = [layer.register_forward_pre_hook(
        lambda module, inputs, name=name: seen.__setitem__(name, inputs[0].double().var(dim=0)))
        for name, layer in layers.items()]
    modes = {m: m.training for m in model.modules()}
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if dropout_on:
                with dropout_only_train(model):
                    model(X)
            else:
                model.eval()
                model(X)
    finally:
        for hook in hooks:
            hook.remove()
        for module, mode in modes.items():
            module.training = mode
    return seen


def variance_shift(model: nn.Module, X: torch.Tensor, *, seed: int = 0) -> Table:
    """One row per BatchNorm layer: its running variance against the variance it receives (lesson 11).

    Columns (each the mean over the layer's features): ``running_var`` (what eval mode divides
    by), ``var_dropout_on`` and ``var_dropout_off`` (the variance of its input over ``X``, with
    the dropout layers on and off), and ``shift``, the median over features of
    ``running_var / var_dropout_off``: 1 means no shift; above 1, eval mode divides by too
    large a variance and the normalised activations come out too small.
    """
    on = bn_input_variance(model, X, dropout_on=True, seed=seed)
    off = bn_input_variance(model, X, dropout_on=False)
    rows = []
    for name, layer in batchnorms(model).items():
        running = layer.running_var.double()
        rows.append({"layer": name, "running_var": float(running.mean()), "var_dropout_on": float(on[name].mean()),
                     "var_dropout_off": float(off[name].mean()),
                     "shift": float((running / off[name].clamp_min(1e-12)).median())})
    return Table(rows)


STATISTICS = ("mean", "var")


@torch.no_grad()
def recalibrate(model: nn.Module, X: torch.Tensor, *, statistics=STATISTICS, batch_size: int = 256) -> nn.Module:
    """A copy of ``model`` whose BatchNorm statistics are re-estimated on ``X`` with dropout off.

    Each BatchNorm's running mean and variance become the average over batches of ``X`` of the
    batch statistics it sees in eval mode of everything else: the statistics eval mode will
    actually meet. ``statistics=("var",)`` replaces only the variances (the means stay as
    trained), which isolates what the variance shift costs. The weights are untouched;
    ``model`` itself is not changed.
    """
    unknown = set(statistics) - set(STATISTICS)
    if unknown or not statistics:
        raise ValueError(f"statistics must be some of {STATISTICS}, got {tuple(statistics)!r}")
    fresh = copy.deepcopy(model).eval()
    layers = list(batchnorms(fresh).values())
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # None: a plain cumulative average over the batches below
        layer.train()
    for start in range(0, len(X), batch_size):
        fresh(X[start:start + batch_size])
    for layer, original in zip(layers, batchnorms(model).values()):
        layer.momentum = original.momentum
        for name in set(STATISTICS) - set(statistics):  # keep these as trained
            getattr(layer, f"running_{name}").copy_(getattr(original, f"running_{name}"))
    return fresh.eval()


def shift_measure(model: nn.Module, data, *, seed: int = 0) -> dict:
    """A ``measure`` for ``tuning.sweep``: each BatchNorm's shift on val, and val accuracy after ``recalibrate``.

    Keys ``shift_<layer>``, ``val_acc_recalibrated`` (means and variances re-estimated) and
    ``val_acc_var_recalibrated`` (variances only). The statistics are re-estimated on the
    training images, so no val image is used to fix anything.
    """
    out = {f"shift_{r['layer']}": r["shift"] for r in variance_shift(model, data.val.X, seed=seed)}
    for key, statistics in (("val_acc_recalibrated", STATISTICS), ("val_acc_var_recalibrated", ("var",))):
        fixed = recalibrate(model, data.train.X, statistics=statistics)
        out[key] = evaluate(fixed, data.val.X, data.val.y).accuracy
    return out


def _paired_gain(row, key: str) -> dict:
    """Mean over seeds of ``<key>_runs - val_acc_runs``, its standard error and verdict."""
    from dropout_kit.tuning.stats import paired

    gains = paired([b - a for a, b in zip(row["val_acc_runs"], row[f"{key}_runs"])], "val_acc")
    return {"gain": gains["difference"], **gains}


def recalibration_table(rows) -> Table:
    """Per ``tuning.sweep`` row made with ``measure=shift_measure``: the shifts, and what recalibrating gains.

    Columns: ``label``, ``n``, the mean shift of each BatchNorm (``shift_<layer>``), ``val_acc``
    (eval mode with the running statistics learned in training), then for recalibrating
    everything (``gain``) and the variances only (``gain_var_only``) the val accuracy gained,
    paired by seed (same trained model), with its standard error (``_se``) and whether it
    exceeds seed noise (``_beyond_noise``, ``tuning.stats.verdict``). The verdict sentences are
    kept in each row (``verdict``, ``verdict_var_only``), not displayed.
    """
    table = []
    for row in rows:
        if "val_acc_var_recalibrated_runs" not in row:
            raise ValueError(f"row {row.get('label')!r} has no recalibrated accuracy: "
                             "run tuning.sweep with measure=bn_shift.shift_measure")
        shifts = {k[:-len("_mean")]: v for k, v in row.items() if k.startswith("shift_") and k.endswith("_mean")}
        both, var = _paired_gain(row, "val_acc_recalibrated"), _paired_gain(row, "val_acc_var_recalibrated")
        table.append({"label": row["label"], "n": row["n"], **shifts, "val_acc": row["val_acc_mean"],
                      "gain": both["gain"], "gain_se": both["se"], "gain_beyond_noise": both["beyond_noise"],
                      "gain_var_only": var["gain"], "gain_var_only_se": var["se"],
                      "gain_var_only_beyond_noise": var["beyond_noise"],
                      "verdict": both["verdict"], "verdict_var_only": var["verdict"]})
    columns = [c for c in table[0] if not c.startswith("verdict")] if table else None
    return Table(table, columns=columns, percent=["val_acc", "gain", "gain_se", "gain_var_only", "gain_var_only_se"])
