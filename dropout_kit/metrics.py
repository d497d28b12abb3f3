"""Classification metrics from predictions or from a confusion matrix (lesson 07).

Conventions, the same as scikit-learn's:

- ``cm[i, j]`` counts images whose **true** class is ``i`` and **predicted** class is ``j``
  (rows: truth, columns: prediction);
- precision of class ``c`` = ``cm[c, c] / cm[:, c].sum()`` (of the images predicted ``c``,
  the fraction that are ``c``); recall = ``cm[c, c] / cm[c, :].sum()`` (of the images that
  are ``c``, the fraction predicted ``c``); F1 is their harmonic mean, ``2PR / (P + R)``;
- **0/0 counts as 0** (scikit-learn's ``zero_division=0``): a class never predicted has
  precision 0, a class absent from the labels has recall 0, and F1 is 0 when P + R = 0.

Metrics are per class (one value per class, float64 tensors). The *macro* average is
their plain mean; it is not what these functions return.
"""

from __future__ import annotations

import torch
from torch import nn

from dropout_kit.tables import Table

__all__ = [
    "accuracy", "accuracy_from_confusion", "binary_confusion", "confusion_matrix",
    "most_confused", "per_class_table", "precision_recall_f1", "predict", "train_vs_eval_accuracy",
]


def _labels(values, name: str) -> torch.Tensor:
    t = torch.as_tensor(values)
    if t.dim() != 1:
        raise ValueError(f"{name} must be a 1-D sequence of class indices, got shape {tuple(t.shape)}")
    if t.is_floating_point() or t.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class indices, got {t.dtype}; "
                        "take logits.argmax(dim=1) to turn scores into predictions")
    return t.long()


def confusion_matrix(y, y_hat, num_classes: int | None = None) -> torch.Tensor:
    """Count (true class, predicted class) pairs into a K x K int64 matrix.

    Used in lesson 07 (the confusion-matrix plot and the learner's metrics exercise).

    Args:
        y: true class indices (tensor, array or list), shape (N,).
        y_hat: predicted class indices, shape (N,).
        num_classes: K; default: one more than the largest index seen.

    Returns:
        ``cm`` with ``cm[i, j]`` = number of images of true class ``i`` predicted as ``j``.
    """
    y, y_hat = _labels(y, "y"), _labels(y_hat, "y_hat")
    if len(y) != len(y_hat):
        raise ValueError(f"y has {len(y)} labels and y_hat {len(y_hat)} predictions; they must match")
    if num_classes is None:
        num_classes = int(max(y.max(), y_hat.max())) + 1 if len(y) else 0
    if len(y) and (min(y.min(), y_hat.min()) < 0 or max(y.max(), y_hat.max()) >= num_classes):
        raise ValueError(f"class indices must lie in [0, {num_classes}); got labels from "
                         f"{int(min(y.min(), y_hat.min()))} to {int(max(y.max(), y_hat.max()))}")
    flat = torch.bincount(y * num_classes + y_hat, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def _matrix(cm) -> torch.Tensor:
    cm = torch.as_tensor(cm)
    if cm.dim() != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"a confusion matrix is square (K x K), got shape {tuple(cm.shape)}")
    return cm.to(torch.float64)


def _ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    # 0/0 -> 0 by convention; den > 0 elsewhere because counts are non-negative.
    return torch.where(den > 0, num / den.clamp(min=1e-300), torch.zeros_like(num))


def precision_recall_f1(cm) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-class precision, recall and F1 of a confusion matrix (0/0 counts as 0).

    The reference for lesson 07's exercise: its judge (``dropout_kit.exercises.metrics.prf``)
    compares a learner's function with this one.

    Args:
        cm: K x K counts, rows = true class, columns = predicted class.

    Returns:
        ``(precision, recall, f1)``, each a float64 tensor of K values, one per class.
    """
    cm = _matrix(cm)
    tp = torch.diagonal(cm)
    precision = _ratio(tp, cm.sum(dim=0))
    recall = _ratio(tp, cm.sum(dim=1))
    f1 = _ratio(2 * precision * recall, precision + recall)
    return precision, recall, f1


def accuracy_from_confusion(cm) -> float:
    """Fraction of all counted images on the diagonal (correct), from a confusion matrix.

    Used in lesson 07 for the tutorial's binary example. NaN for an empty matrix.
    """
    cm = _matrix(cm)
    total = float(cm.sum())
    return float(torch.diagonal(cm).sum()) / total if total else float("nan")


def accuracy(y, y_hat) -> float:
    """Fraction of predictions equal to the labels (lessons 07-08)."""
    y, y_hat = _labels(y, "y"), _labels(y_hat, "y_hat")
    if len(y) != len(y_hat) or not len(y):
        raise ValueError(f"need as many predictions as labels (> 0), got {len(y_hat)} and {len(y)}")
    return float((y == y_hat).double().mean())


def binary_confusion(tp: int, fp: int, tn: int, fn: int) -> torch.Tensor:
    """The 2 x 2 confusion matrix of a binary problem, class 0 = positive, class 1 = negative.

    ``binary_confusion(85, 10, 90, 15)`` is the tutorial's example (lesson 07): row 0 holds
    the positives (85 found, 15 missed), row 1 the negatives (10 false alarms, 90 correct).
    Class 0's precision and recall are then the usual binary ones.
    """
    return torch.tensor([[tp, fn], [fp, tn]], dtype=torch.int64)


@torch.no_grad()
def predict(model: nn.Module, X: torch.Tensor, *, batch_size: int = 4096) -> torch.Tensor:
    """Predicted classes (argmax of the logits) of ``model`` on ``X``, in eval mode.

    The model's train/eval mode is restored afterwards. Used in lessons 07-08.
    """
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(X[i:i + batch_size]).argmax(dim=1) for i in range(0, len(X), batch_size)])
    finally:
        model.train(was_training)


def per_class_table(cm, classes) -> Table:
    """One row per class: precision, recall, F1 and support (true count), for display (lesson 07)."""
    precision, recall, f1 = precision_recall_f1(cm)
    support = torch.as_tensor(cm).sum(dim=1)
    rows = [{"class": name, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(classes, precision, recall, f1, support)]
    return Table(rows, percent=["precision", "recall", "f1"])


def most_confused(cm, classes, k: int = 3) -> Table:
    """The ``k`` largest off-diagonal cells: which true class is most often predicted as which (lesson 07).

    Returns:
        A ``Table`` with ``true``, ``predicted``, ``count`` and ``share`` (of the true class's
        images), largest count first; ties in row-major order.
    """
    cm = torch.as_tensor(cm)
    errors = cm.clone()
    errors.fill_diagonal_(0)
    counts, flat = torch.sort(errors.flatten(), descending=True, stable=True)
    rows = []
    for count, index in zip(counts[:k].tolist(), flat[:k].tolist()):
        i, j = divmod(index, cm.shape[1])
        total = int(cm[i].sum())
        rows.append({"true": classes[i], "predicted": classes[j], "count": count,
                     "share": count / total if total else 0.0})
    return Table(rows, percent=["share"])


@torch.no_grad()
def train_vs_eval_accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *,
                           repeats: int = 10, seed: int = 0, batch_size: int = 4096) -> dict:
    """Accuracy of the same model in eval mode and, ``repeats`` times, with dropout left on.

    The "dropout left on at evaluation" pitfall of lesson 07, measured. Train mode draws
    fresh masks on every pass, so its accuracy varies from repeat to repeat; eval mode is
    deterministic. The masks come from a private RNG stream seeded by ``seed``: the
    caller's random state is left as it was. The model's mode is restored afterwards.

    Returns:
        ``{"eval_acc": float, "train_mode_accs": [float, ...], "train_mode_mean": float,
        "train_mode_std": float}`` (std: sample std over the repeats).
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    was_training = model.training

    def acc() -> float:
        hits = sum(int((model(X[i:i + batch_size]).argmax(dim=1) == y[i:i + batch_size]).sum())
                   for i in range(0, len(y), batch_size))
        return hits / len(y)

    try:
        model.eval()
        eval_acc = acc()
        model.train()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            accs = [acc() for _ in range(repeats)]
    finally:
        model.train(was_training)
    t = torch.tensor(accs, dtype=torch.float64)
    std = float(t.std()) if repeats > 1 else float("nan")
    return {"eval_acc": eval_acc, "train_mode_accs": accs, "train_mode_mean": float(t.mean()),
            "train_mode_std": std}
