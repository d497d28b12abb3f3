"""Data leakage (lesson 12): two ways a validation score can flatter a model, measured.

1. **A validation split that overlaps the training images.** The model has memorised those
   images, so the score rises, and it rises most for the model that memorises most (often the
   one without dropout). ``overlapping_val`` builds such a split on purpose and
   ``leaky_val_accuracy`` scores a model on it.
2. **Choosing on the set you report.** Pick the best of several configurations by their score
   on a set, then report that same score: the winner was partly chosen for its luck on those
   images, so its score overstates what it does on new ones. ``selection_optimism`` measures
   the overstatement by choosing on one half of the validation images and scoring on the other.
   Choosing ``p`` by test accuracy and reporting that test accuracy is the same mistake.
"""

from __future__ import annotations

import torch
from torch import nn

from dropout_kit.data import Split
from dropout_kit.metrics import predict
from dropout_kit.tables import Table
from dropout_kit.train import evaluate


def overlapping_val(data, fraction: float, *, seed: int = 0) -> tuple[Split, torch.Tensor]:
    """A validation split of ``len(data.val)`` images of which ``fraction`` are training images.

    Returns ``(split, from_train)``: the images and labels, and a boolean mask of the images
    that came from ``data.train``. The rest are distinct val images. Seeded by ``seed``.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction!r}")
    n = len(data.val.y)
    k = round(fraction * n)
    if k > len(data.train.y):
        raise ValueError(f"a val split of {n} images with {fraction:.0%} from train needs {k} training images; "
                         f"there are only {len(data.train.y)}: lower fraction")
    generator = torch.Generator().manual_seed(seed)
    from_train = torch.randperm(len(data.train.y), generator=generator)[:k]
    from_val = torch.randperm(n, generator=generator)[:n - k]
    X = torch.cat([data.train.X[from_train], data.val.X[from_val]])
    y = torch.cat([data.train.y[from_train], data.val.y[from_val]])
    mask = torch.cat([torch.ones(k, dtype=torch.bool), torch.zeros(n - k, dtype=torch.bool)])
    return Split(X, y), mask


def leaky_val_accuracy(model: nn.Module, data, *, fraction: float = 0.2, seed: int = 0) -> dict:
    """A ``measure`` for ``tuning.sweep``: ``leaky_val_acc``, the accuracy on ``overlapping_val(data, fraction)``."""
    split, _ = overlapping_val(data, fraction, seed=seed)
    return {"leaky_val_acc": evaluate(model, split.X, split.y).accuracy}


def val_correct(model: nn.Module, data) -> dict:
    """A ``measure`` for ``tuning.sweep``: ``val_correct``, 1 or 0 per val image (was it classified right?)."""
    y_hat = predict(model, data.val.X)
    return {"val_correct": (y_hat == data.val.y).to(torch.uint8).tolist()}


def selection_optimism(rows, *, key: str = "val_correct_runs", sizes=None, splits: int = 200,
                       seed: int = 0) -> Table:
    """How much the winner's score overstates its accuracy when it is chosen on the same images.

    For each of ``splits`` random halvings of the validation images and each number ``m`` of
    configurations searched (``sizes``, default 1, 2, 4, ... up to all), a random set of ``m``
    configurations is drawn; the winner is the one most accurate on half A; its optimism is its
    accuracy on A minus its accuracy on half B, images it was not chosen on.

    Args:
        rows: ``tuning.sweep`` rows made with ``measure=val_correct`` (the first run of each).
        key: the rows' per-image correctness.

    Returns:
        A ``Table`` per ``m``: ``configs searched``, ``optimism`` (mean over splits, a fraction),
        ``optimism p5`` and ``optimism p95`` (5th and 95th percentiles over splits).
    """
    if not rows or any(key not in r for r in rows):
        raise ValueError(f"every row needs {key!r}: run tuning.sweep with measure=leakage.val_correct")
    correct = torch.tensor([r[key][0] for r in rows], dtype=torch.float64)  # configs x images
    k, n = correct.shape
    sizes = sizes or sorted({min(2 ** i, k) for i in range(k.bit_length() + 1)})
    if any(not 1 <= m <= k for m in sizes):
        raise ValueError(f"each size must be between 1 and the number of configs ({k}), got {list(sizes)}")
    generator = torch.Generator().manual_seed(seed)
    gaps = {m: [] for m in sizes}
    for _ in range(splits):
        order = torch.randperm(n, generator=generator)
        acc_a, acc_b = correct[:, order[:n // 2]].mean(dim=1), correct[:, order[n // 2:]].mean(dim=1)
        for m in sizes:
            searched = torch.randperm(k, generator=generator)[:m]
            winner = searched[acc_a[searched].argmax()]
            gaps[m].append(float(acc_a[winner] - acc_b[winner]))
    table = []
    for m in sizes:
        values = torch.tensor(gaps[m], dtype=torch.float64)
        table.append({"configs searched": m, "optimism": float(values.mean()),
                      "optimism p5": float(values.quantile(0.05)), "optimism p95": float(values.quantile(0.95))})
    return Table(table, percent=["optimism", "optimism p5", "optimism p95"])
