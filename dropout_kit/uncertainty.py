"""Why dropout works (lesson 08): MC dropout uncertainty, hidden-activation variance, unit ablation.

- ``mc_predict``: T stochastic passes with the dropout layers (only) in train mode; the
  predictive mean and its entropy.
- ``accuracy_by_uncertainty``: accuracy of each uncertainty decile (does uncertainty track errors?).
- ``record_activation_variance``: forward hooks on the hidden layers while ``fit`` trains,
  the activations' variance per layer and epoch.
- ``ablate_units``: accuracy when a random fraction of hidden units is switched off at test
  time (how much a network relies on particular units: the co-adaptation story, measured).

Randomness is drawn from a private stream (``torch.random.fork_rng``) seeded by ``seed``,
so these functions are reproducible and leave the caller's random state alone.

Each takes ``device="auto"`` (the GPU if there is one; see ``dropout_kit.device``): the model
runs there and is put back where it was; results come back as CPU tensors and floats.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from dropout_kit.device import placed, private_rng, resolve_device
from dropout_kit.tables import Table
from dropout_kit.train import History, fit

__all__ = ["ActivationRecorder", "MCPrediction", "ablate_units", "accuracy_by_uncertainty", "dropout_only_train",
           "entropy", "mc_predict", "record_activation_variance"]


def _dropout_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, nn.modules.dropout._DropoutNd)]


@contextlib.contextmanager
def dropout_only_train(model: nn.Module):
    """Inside the block: the model in eval mode except its dropout layers, which are in train mode.

    MC dropout wants random masks but nothing else of training mode (a BatchNorm layer,
    for one, must keep using its running statistics). Every module's mode is restored on exit.
    Used by ``mc_predict`` (lesson 08).
    """
    modes = {m: m.training for m in model.modules()}
    model.eval()
    for layer in _dropout_layers(model):
        layer.train()
    try:
        yield model
    finally:
        for module, mode in modes.items():
            module.training = mode


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Entropy (nats) of each row of class probabilities; 0·log 0 counts as 0. Max is log K (lesson 08)."""
    return -(probs * torch.log(probs.clamp_min(1e-30))).sum(dim=-1)


@dataclass(frozen=True)
class MCPrediction:
    """``mc_predict``'s result: ``probs`` (N x K, mean over passes), ``entropy`` (N), ``y_hat`` (N), ``T``."""

    probs: torch.Tensor
    entropy: torch.Tensor
    y_hat: torch.Tensor
    T: int


@torch.no_grad()
def mc_predict(model: nn.Module, X: torch.Tensor, *, T: int = 30, seed: int = 0,
               batch_size: int = 4096, device="auto") -> MCPrediction:
    """Monte Carlo dropout: average the softmax of ``T`` passes with dropout on (lesson 08).

    Args:
        model: a trained model with dropout layers (without any, all passes agree).
        X: inputs.
        T: number of stochastic passes.
        seed: seeds the masks (a private RNG stream; the caller's state is untouched).
        device: where the passes run (the masks differ between devices, not their statistics).

    Returns:
        An ``MCPrediction`` of CPU tensors: the predictive mean ``probs``, its ``entropy``
        (the uncertainty) and ``y_hat`` = argmax of the mean.
    """
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise ValueError(f"T must be a whole number >= 1, got {T!r}")
    device = resolve_device(device)
    with private_rng(device), dropout_only_train(model), placed(model, device):
        torch.manual_seed(seed)
        chunks = []
        for i in range(0, len(X), batch_size):
            xb = X[i:i + batch_size].to(device)
            # Averaged on the CPU in float64 (MPS has none); .cpu() of a CPU tensor is the tensor itself.
            chunks.append(sum(torch.softmax(model(xb).cpu().double(), dim=1) for _ in range(T)) / T)
    probs = torch.cat(chunks)
    return MCPrediction(probs=probs, entropy=entropy(probs), y_hat=probs.argmax(dim=1), T=T)


def accuracy_by_uncertainty(uncertainty: torch.Tensor, correct: torch.Tensor, *, bins: int = 10) -> Table:
    """Sort by uncertainty, cut into ``bins`` equal groups, and give each group's accuracy (lesson 08).

    Args:
        uncertainty: one number per example (e.g. ``MCPrediction.entropy``).
        correct: booleans, whether each prediction was right.
        bins: number of groups (10: deciles).

    Returns:
        A ``Table`` with rows ``bin`` (1 = least uncertain), ``n``, ``accuracy``,
        ``uncertainty_mean``, ``uncertainty_max``. Ties in uncertainty keep the input order.
    """
    uncertainty, correct = torch.as_tensor(uncertainty).double(), torch.as_tensor(correct).bool()
    if uncertainty.shape != correct.shape or uncertainty.dim() != 1:
        raise ValueError(f"need two 1-D tensors of equal length, got {tuple(uncertainty.shape)} "
                         f"and {tuple(correct.shape)}")
    if not 1 <= bins <= len(uncertainty):
        raise ValueError(f"bins must be between 1 and the number of examples ({len(uncertainty)}), got {bins}")
    order = torch.argsort(uncertainty, stable=True)
    rows = []
    for i, idx in enumerate(torch.tensor_split(order, bins), start=1):
        rows.append({"bin": i, "n": len(idx), "accuracy": float(correct[idx].double().mean()),
                     "uncertainty_mean": float(uncertainty[idx].mean()),
                     "uncertainty_max": float(uncertainty[idx].max())})
    return Table(rows, percent=["accuracy"])


class ActivationRecorder:
    """Forward hooks that record the variance of hidden activations on every training batch.

    For each named layer (a ``Linear`` whose output goes through a ReLU), the hidden
    activation is ``relu(output)`` (before any dropout). On each forward pass in train
    mode it stores the variance of each unit across the batch, averaged over units: how
    much a unit's activation varies from image to image. Eval-mode passes (``fit``'s
    evaluations) are ignored. Use as a context manager around ``fit``; the hooks are
    removed on exit. Used by ``record_activation_variance`` (lesson 08).
    """

    def __init__(self, model: nn.Module, layers: dict[str, nn.Module]):
        self.model = model
        self.layers = dict(layers)
        self.values: dict[str, list[torch.Tensor]] = {name: [] for name in self.layers}
        self._handles = []

    def _hook(self, name: str):
        def record(module, inputs, output):
            if module.training:
                with torch.no_grad():
                    self.values[name].append(torch.relu(output).var(dim=0).mean().detach())
        return record

    def __enter__(self) -> ActivationRecorder:
        self._handles = [layer.register_forward_hook(self._hook(name)) for name, layer in self.layers.items()]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def per_epoch(self, batches_per_epoch: int) -> Table:
        """Rows ``epoch``, ``layer``, ``variance_mean`` and ``variance_std`` over the epoch's batches."""
        rows = []
        for name, values in self.values.items():
            # Recorded on the training device without a sync per batch; read here, on the CPU.
            series = torch.stack(values).cpu().double() if values else torch.empty(0, dtype=torch.float64)
            for epoch, chunk in enumerate(torch.split(series, batches_per_epoch), start=1):
                std = float(chunk.std()) if len(chunk) > 1 else math.nan
                rows.append({"epoch": epoch, "layer": name, "variance_mean": float(chunk.mean()),
                             "variance_std": std})
        return Table(rows)


def record_activation_variance(make_model: Callable[[], nn.Module], data, *, seed: int,
                               layers: Sequence[str] = ("fc1", "fc2"), label: str = "", device="auto",
                               **fit_kwargs) -> tuple[nn.Module, History, Table]:
    """Train a fresh model with hooks on its hidden layers; the activation variance per epoch (lesson 08).

    Args:
        make_model: builds the model (seeded with ``seed`` first).
        data: as for ``fit``.
        seed: seeds the initial weights and the training run.
        layers: attribute names of the hidden ``Linear`` layers (the course's MLPs: fc1, fc2).
        label: written into every row's ``model`` column, to stack tables of several models.
        device: where to train (``"auto"``: the GPU if there is one).
        **fit_kwargs: passed to ``fit`` (``epochs`` required).

    Returns:
        ``(model, history, table)``; the table has ``model``, ``epoch``, ``layer``,
        ``variance_mean``, ``variance_std`` (over the epoch's training batches).
    """
    from dropout_kit.seeding import seed_everything

    seed_everything(seed)
    model = make_model()
    fit_kwargs.setdefault("progress", False)
    batch_size = fit_kwargs.get("batch_size", 64)
    n_train = len(data.train.y) if hasattr(data, "train") else len(data[0][1])
    with ActivationRecorder(model, {f"hidden {i + 1}": getattr(model, name)
                                    for i, name in enumerate(layers)}) as recorder:
        history = fit(model, data, seed=seed, device=device, **fit_kwargs)
    table = recorder.per_epoch(math.ceil(n_train / batch_size))
    return model, history, Table([{"model": label, **r} for r in table])


@torch.no_grad()
def ablate_units(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, layer: str = "fc1",
                 fractions: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7), repeats: int = 5,
                 seed: int = 0, label: str = "", device="auto") -> Table:
    """Eval-mode accuracy with a random fraction of one hidden layer's units switched off (lesson 08).

    The units are zeroed with no rescaling, so this measures how much the network's
    answer depends on particular units being present. Each repeat draws a new random set
    of units (the same sets for every model, given the same seed and layer width). The model
    runs on ``device`` (``"auto"``: the GPU if there is one) and is put back where it was.

    Returns:
        A ``Table`` with ``model``, ``fraction``, ``accuracy_mean``, ``accuracy_std`` (over repeats).
    """
    target = getattr(model, layer)
    device = resolve_device(device)
    X, y = X.to(device), y.cpu()
    was_training = model.training
    rows = []
    mask = None

    def switch_off(module, inputs, output):
        return output * mask

    handle = target.register_forward_hook(switch_off)
    try:
        with placed(model, device):
            model.eval()
            generator = torch.Generator().manual_seed(seed)
            for fraction in fractions:
                accs = []
                for _ in range(repeats):
                    width = target.out_features
                    off = torch.randperm(width, generator=generator)[:round(fraction * width)]
                    mask = torch.ones(width)
                    mask[off] = 0.0
                    mask = mask.to(device)
                    accs.append(float((model(X).argmax(dim=1).cpu() == y).double().mean()))
                t = torch.tensor(accs, dtype=torch.float64)
                rows.append({"model": label, "fraction": fraction, "accuracy_mean": float(t.mean()),
                             "accuracy_std": float(t.std()) if repeats > 1 else math.nan})
    finally:
        handle.remove()
        model.train(was_training)
    return Table(rows, percent=["accuracy_mean", "accuracy_std"])
