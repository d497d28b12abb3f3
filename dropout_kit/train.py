"""A fast training loop on in-memory tensors: ``fit``, ``evaluate`` and ``History``.

The tutorial's loop feeds a ``DataLoader`` one ``ToTensor``-converted image at a time,
and most of its time goes to that pipeline rather than to the model. Here the whole
split is one tensor and each batch is a single ``index_select`` of a shuffled
permutation; per-batch losses and predictions stay tensors and are read once per epoch;
Adam's update is PyTorch's fused kernel called directly (``dropout_kit.adam``). The maths
is the tutorial's: Adam, cross-entropy, the same batch size and epochs.

On a GPU (``device="auto"`` finds one) the splits and the model move there once per run;
the shuffling stays on the CPU's seeded generator, so a seed gives the same batches on
every device, and the History holds plain floats.
"""

from __future__ import annotations

import html
import math
import sys
import time
from dataclasses import dataclass, field, fields

import torch
import torch.nn.functional as F
from torch import nn

from dropout_kit.adam import AdamStep
from dropout_kit.device import describe_device, placed, resolve_device
from dropout_kit.seeding import seed_everything

__all__ = ["Evaluation", "History", "evaluate", "fit", "seed_everything"]

EVAL_BATCH = 4096


@dataclass(frozen=True)
class Evaluation:
    """Mean cross-entropy ``loss`` and ``accuracy`` (a fraction in [0, 1]) of a model on (X, y)."""

    loss: float
    accuracy: float


@dataclass
class History:
    """Per-epoch record of a ``fit`` run. Accuracies are fractions in [0, 1].

    - ``train_loss``, ``train_acc``: running mean over the epoch's batches, dropout on
      (what the tutorial prints as "Train Acc");
    - ``train_eval_acc``: accuracy on training images in eval mode (dropout off), measured
      after the epoch on at most ``train_eval_size`` fixed training images;
    - ``val_loss``, ``val_acc``: on the validation split, eval mode;
    - ``seconds``: wall time of the epoch, evaluation included;
    - ``device``: where it was trained, e.g. "cpu (2 threads)" (not a per-epoch list).

    Epochs skipped by ``eval_every`` hold NaN in the eval-mode fields.
    """

    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    train_eval_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    device: str = ""

    def __len__(self) -> int:
        return len(self.train_loss)

    def _series(self) -> list[str]:
        return [f.name for f in fields(self) if f.name != "device"]

    def metrics(self) -> dict:
        """Every per-epoch list except ``seconds``: what the same seed reproduces exactly."""
        return {name: list(getattr(self, name)) for name in self._series() if name != "seconds"}

    def rows(self) -> list[dict]:
        """One dict per epoch (1-based ``epoch`` included), for tables and CSV files."""
        names = self._series()
        return [{"epoch": i + 1, **{n: getattr(self, n)[i] for n in names}} for i in range(len(self))]

    @property
    def final(self) -> dict:
        """The last epoch's row."""
        return self.rows()[-1] if len(self) else {}

    def __str__(self) -> str:
        lines = ["epoch  train_loss  train_acc  train_eval_acc  val_loss  val_acc  seconds"]
        for r in self.rows():
            lines.append(
                f"{r['epoch']:5d}  {r['train_loss']:10.4f}  {r['train_acc']:9.2%}  "
                f"{r['train_eval_acc']:14.2%}  {r['val_loss']:8.4f}  {r['val_acc']:7.2%}  {r['seconds']:7.2f}"
            )
        if self.device:
            lines.append(f"trained on {self.device}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in ("epoch", "train loss", "train acc (dropout on)",
                                                  "train acc (eval)", "val loss", "val acc", "s"))
        body = "".join(
            f"<tr><td>{r['epoch']}</td><td>{r['train_loss']:.4f}</td><td>{r['train_acc']:.2%}</td>"
            f"<td>{r['train_eval_acc']:.2%}</td><td>{r['val_loss']:.4f}</td><td>{r['val_acc']:.2%}</td>"
            f"<td>{r['seconds']:.1f}</td></tr>"
            for r in self.rows()
        )
        caption = f"<caption>trained on {html.escape(self.device)}</caption>" if self.device else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _check_split(name: str, split) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        X, y = split
    except (TypeError, ValueError):
        raise TypeError(f"data.{name} must be an (X, y) pair of tensors, got {type(split).__name__}") from None
    if not (isinstance(X, torch.Tensor) and isinstance(y, torch.Tensor)):
        raise TypeError(f"data.{name} must hold tensors X and y, got {type(X).__name__} and {type(y).__name__}")
    if len(X) != len(y) or len(y) == 0:
        raise ValueError(f"data.{name} has {len(X)} images and {len(y)} labels; they must match and be > 0")
    return X, y.long()


def _splits(data) -> tuple[tuple, tuple]:
    if hasattr(data, "train") and hasattr(data, "val"):
        return _check_split("train", data.train), _check_split("val", data.val)
    try:
        train, val = data
    except (TypeError, ValueError):
        raise TypeError(
            "data must have .train and .val (e.g. load_fashion_mnist()) or be a (train, val) pair"
        ) from None
    return _check_split("train", train), _check_split("val", val)


def _want_progress(progress: bool | None) -> bool:
    """Show a bar when asked, or (``None``) in a terminal or a live Jupyter kernel."""
    if progress is not None:
        return bool(progress)
    ipython = sys.modules.get("IPython")
    # A live kernel, not merely ipykernel imported (pytest's nbmake plugin imports it).
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None and getattr(shell, "kernel", None) is not None:
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def _weighted_mean(batch_losses: list, batch_size: int, n: int) -> float:
    """Mean loss per image over an epoch whose last batch may be short."""
    weights = torch.full((len(batch_losses),), float(batch_size), dtype=torch.float64)
    weights[-1] = n - batch_size * (len(batch_losses) - 1)
    # Summed on the CPU in float64 (MPS has no float64); .cpu() of a CPU tensor is the tensor itself.
    return float((torch.stack(batch_losses).cpu().double() * weights).sum()) / n


def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, batch_size: int = EVAL_BATCH,
             device="auto") -> Evaluation:
    """Loss and accuracy of ``model`` on (X, y) in eval mode (dropout off).

    The model's train/eval mode and its device are restored afterwards, so calling
    ``evaluate`` in the middle of training changes nothing. ``device`` is where it runs
    (``"auto"``: the GPU if there is one; see ``dropout_kit.device``); the result is plain
    floats. Used by ``fit`` and the metrics lessons.
    """
    device = resolve_device(device)
    with placed(model, device):
        return _evaluate(model, X.to(device), y.to(device), batch_size)


@torch.no_grad()
def _evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int = EVAL_BATCH) -> Evaluation:
    """``evaluate`` for a model and tensors already on one device."""
    was_training = model.training
    model.eval()
    try:
        total_loss = torch.zeros((), dtype=torch.float64)
        correct = torch.zeros((), dtype=torch.int64)
        for start in range(0, len(y), batch_size):
            xb, yb = X[start:start + batch_size], y[start:start + batch_size]
            logits = model(xb)
            # Accumulated on the CPU, in float64: a few batches per call, and no-op moves on the CPU.
            total_loss += F.cross_entropy(logits, yb, reduction="sum").cpu().double()
            correct += (logits.argmax(dim=1) == yb).sum().cpu()
    finally:
        model.train(was_training)
    return Evaluation(loss=float(total_loss) / len(y), accuracy=int(correct) / len(y))


def fit(
    model: nn.Module,
    data,
    *,
    epochs: int,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    seed: int,
    progress: bool | None = None,
    eval_every: int = 1,
    eval_from: int = 1,
    train_eval_size: int | None = 10_000,
    device="auto",
) -> History:
    """Train ``model`` with Adam and cross-entropy on in-memory tensors; return its History.

    The tutorial's recipe (lessons 04-08 and the grader): shuffle each epoch, batches of
    ``batch_size``, one Adam step per batch. The model is trained in place.

    Args:
        model: any ``nn.Module`` mapping a batch of images to 10 logits.
        data: ``load_fashion_mnist()``'s ``Splits`` (uses ``.train`` and ``.val``), or a
            ``((X_train, y_train), (X_val, y_val))`` pair.
        epochs: passes over the training split.
        batch_size: images per step (the tutorial's 64).
        lr: Adam's learning rate (the tutorial's 1e-3).
        weight_decay: L2 penalty, Adam's ``weight_decay`` (lesson 06 combines it with dropout).
        seed: seeds shuffling and dropout masks (via ``seed_everything``). Seed again
            before building the model to reproduce its initial weights too.
        progress: show a tqdm bar; ``None`` shows one in a terminal or notebook only.
        eval_every: evaluate val and eval-mode train accuracy every this many epochs
            (the last epoch always); other epochs hold NaN.
        eval_from: evaluate no epoch before this one (1-based; the last epoch always). Lesson
            05's judge evaluates only the last 10 epochs, whose mean val loss it grades.
        train_eval_size: eval-mode train accuracy is measured on this many fixed training
            images (``None``: all of them).
        device: where to train: ``"auto"`` (CUDA, then MPS, then the CPU), ``"cpu"``,
            ``"cuda"``, ``"cuda:N"`` or ``"mps"``. The data and the model move there once.

    Returns:
        A ``History`` with one entry per epoch, plain floats, and ``device`` naming where it
        ran. On the CPU the same seed, model initialisation and data give an identical
        History (``seconds`` aside); a GPU draws other dropout masks from its own generator.

    The model is left in the mode it was in when passed (train or eval), and on the device
    it was on (trained in place: the same parameter objects).
    """
    checked = (("epochs", epochs), ("batch_size", batch_size), ("eval_every", eval_every), ("eval_from", eval_from))
    for name, value in checked:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if not (isinstance(weight_decay, (int, float)) and weight_decay >= 0 and math.isfinite(weight_decay)):
        raise ValueError(f"weight_decay must be a number >= 0, got {weight_decay!r}")
    (X, y), (X_val, y_val) = _splits(data)
    device = resolve_device(device)

    generator = seed_everything(seed)
    n = len(y)
    probe = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    probe = probe if train_eval_size is None else probe[:train_eval_size]
    X_probe, y_probe = X[probe.to(X.device)], y[probe.to(y.device)]
    # Once per run; on the CPU these are the tensors themselves.
    X, y, X_val, y_val, X_probe, y_probe = (t.to(device) for t in (X, y, X_val, y_val, X_probe, y_probe))
    history = History(device=describe_device(device))
    with placed(model, device):
        optimizer = AdamStep(model, lr=lr, weight_decay=weight_decay)
        _train(model, history, (X, y), (X_val, y_val), (X_probe, y_probe), generator=generator,
               optimizer=optimizer, epochs=epochs, batch_size=batch_size, progress=progress, eval_every=eval_every,
               eval_from=eval_from)
    return history


def _train(model, history, train, val, probe, *, generator, optimizer, epochs, batch_size, progress,
           eval_every, eval_from) -> None:
    """``fit``'s loop, with the model and the (X, y) pairs on one device; appends to ``history``."""
    (X, y), (X_val, y_val), (X_probe, y_probe) = train, val, probe
    n, device = len(y), X.device
    was_training = model.training

    bar = None
    if _want_progress(progress):
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc=f"fit on {history.device}", unit="epoch", leave=False)
    try:
        for epoch in range(epochs):
            start = time.perf_counter()
            model.train()
            # Shuffled by the CPU generator on every device: a seed gives the same batches everywhere.
            order = torch.randperm(n, generator=generator).to(device)
            y_epoch = y.index_select(0, order)
            predicted = torch.empty(n, dtype=torch.int64, device=device)
            losses = []
            batches = zip(order.split(batch_size), y_epoch.split(batch_size), predicted.split(batch_size))
            for idx, yb, predicted_b in batches:
                logits = model(X.index_select(0, idx))
                loss = F.cross_entropy(logits, yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                with torch.no_grad():  # kept as tensors and read once per epoch: no per-step .item()
                    losses.append(loss.detach())
                    torch.argmax(logits, dim=1, out=predicted_b)
            history.train_loss.append(_weighted_mean(losses, batch_size, n))
            history.train_acc.append(int((predicted == y_epoch).sum()) / n)
            if (epoch + 1 >= eval_from and (epoch + 1) % eval_every == 0) or epoch + 1 == epochs:
                val = _evaluate(model, X_val, y_val)
                history.train_eval_acc.append(_evaluate(model, X_probe, y_probe).accuracy)
                history.val_loss.append(val.loss)
                history.val_acc.append(val.accuracy)
            else:
                for name in ("train_eval_acc", "val_loss", "val_acc"):
                    getattr(history, name).append(math.nan)
            history.seconds.append(time.perf_counter() - start)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(train_acc=f"{history.train_acc[-1]:.3f}", val_acc=f"{history.val_acc[-1]:.3f}")
    finally:
        if bar is not None:
            bar.close()
        model.train(was_training)
