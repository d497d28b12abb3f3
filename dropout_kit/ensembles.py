"""Dropout as an ensemble of thinned networks (lesson 10).

A network with n droppable units trains, at every step, one of its 2^n *thinned* networks
(the units a mask kept), all sharing weights. At test time ``model.eval()`` uses every unit
with the weights as trained (inverted dropout already scaled the kept activations by
1/(1-p) in training): the *weight scaling* approximation of the ensemble's average.

- ``mc_curve``: the average of K sampled thinned networks (MC averaging) against eval mode,
  for several K, with a spread over disjoint groups of samples;
- ``weight_scaling``: accuracy and log-loss of eval mode, the same metrics as ``mc_curve``;
- ``exact_ensemble``: for one softmax layer with dropout on its inputs, the whole ensemble
  enumerated: its normalised geometric mean equals weight scaling exactly, its arithmetic
  mean only approximately.

Masks come from a private RNG stream seeded by ``seed`` (``device.private_rng``), so the
results are reproducible and the caller's random state is left alone. Like ``uncertainty``,
the passes run on ``device`` ("auto": the GPU if there is one) and come back as CPU tensors,
with the model back where it was. Lesson 08 uses the
same MC passes for uncertainty (``dropout_kit.uncertainty``); here they measure the ensemble.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

from dropout_kit.device import placed, private_rng, resolve_device
from dropout_kit.runs import format_pm
from dropout_kit.tables import Table
from dropout_kit.tuning.stats import mean_std
from dropout_kit.uncertainty import dropout_only_train

__all__ = ["describe_row", "exact_ensemble", "mc_curve", "mc_samples", "metrics_of", "weight_scaling"]

TINY = 1e-12  # probabilities are clamped here before the log: a confident mistake costs 27.6 nats, not inf


def metrics_of(probs: torch.Tensor, y: torch.Tensor) -> dict:
    """Accuracy and log-loss (mean -log probability of the true class) of class probabilities (N x K)."""
    probs = probs.detach().double()
    accuracy = float((probs.argmax(dim=1) == y).double().mean())
    log_loss = float(-torch.log(probs[torch.arange(len(y)), y].clamp_min(TINY)).mean())
    return {"accuracy": accuracy, "log_loss": log_loss}


@torch.no_grad()
def weight_scaling(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, device="auto") -> dict:
    """Eval mode's ``accuracy``, ``log_loss`` and ``probs``: every unit on, the weights as trained (lesson 10)."""
    device = resolve_device(device)
    was_training = model.training
    model.eval()
    try:
        with placed(model, device):
            probs = torch.softmax(model(X.to(device)).cpu().double(), dim=1)
    finally:
        model.train(was_training)
    return {**metrics_of(probs, y), "probs": probs}


@torch.no_grad()
def mc_samples(model: nn.Module, X: torch.Tensor, *, T: int, seed: int = 0, device="auto") -> torch.Tensor:
    """Softmax outputs of ``T`` thinned networks (dropout layers in train mode, a new mask each), T x N x K."""
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise ValueError(f"T must be a whole number >= 1, got {T!r}")
    device = resolve_device(device)
    with private_rng(device), dropout_only_train(model), placed(model, device):
        torch.manual_seed(seed)
        X = X.to(device)
        return torch.stack([torch.softmax(model(X).cpu().double(), dim=1) for _ in range(T)])


def mc_curve(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, Ks: Sequence[int] = (1, 2, 5, 10, 50, 100),
             seed: int = 0, device="auto") -> Table:
    """MC averaging of K thinned networks against weight scaling (eval mode), for each K (lesson 10).

    ``max(Ks)`` thinned networks are sampled once. For each K they are cut into
    ``max(Ks) // K`` disjoint groups of K; each group's average prediction is scored, and the
    row gives the mean and std over the groups (K = 1: every single thinned network).

    Returns:
        A ``Table`` with ``K``, ``groups``, ``accuracy_mean``, ``accuracy_std``, ``log_loss_mean``,
        ``log_loss_std``, ``agree_mean`` (share of images whose prediction equals eval mode's) and
        ``distance_mean`` (mean total-variation distance to eval mode's probabilities, in [0, 1]).
    """
    Ks = sorted({int(k) for k in Ks})
    if not Ks or Ks[0] < 1:
        raise ValueError(f"Ks must be whole numbers >= 1, got {Ks}")
    samples = mc_samples(model, X, T=Ks[-1], seed=seed, device=device)
    scaled = weight_scaling(model, X, y, device=device)["probs"]
    rows = []
    for K in Ks:
        scores = []
        for group in samples[: Ks[-1] // K * K].split(K):
            probs = group.mean(dim=0)
            scores.append({**metrics_of(probs, y),
                           "agree": float((probs.argmax(dim=1) == scaled.argmax(dim=1)).double().mean()),
                           "distance": float(0.5 * (probs - scaled).abs().sum(dim=1).mean())})
        row = {"K": K, "groups": len(scores)}
        for name in ("accuracy", "log_loss"):
            row[f"{name}_mean"], row[f"{name}_std"] = mean_std([s[name] for s in scores])
        row["agree_mean"] = mean_std([s["agree"] for s in scores])[0]
        row["distance_mean"] = mean_std([s["distance"] for s in scores])[0]
        rows.append(row)
    return Table(rows, percent=["accuracy_mean", "accuracy_std", "agree_mean"])


def describe_row(row: dict) -> str:
    """One ``mc_curve`` row in words: accuracy and log-loss with their spread over groups."""
    acc = format_pm(row["accuracy_mean"], row["accuracy_std"])
    loss = format_pm(row["log_loss_mean"], row["log_loss_std"], percent=False)
    return f"K={row['K']}: accuracy {acc}%, log-loss {loss}"


@torch.no_grad()
def exact_ensemble(weight: torch.Tensor, bias: torch.Tensor, x: torch.Tensor, p: float) -> dict:
    """Every thinned version of ``softmax(weight @ dropout(x) + bias)``, averaged exactly (lesson 10).

    The input ``x`` (n entries, n <= 16) goes through inverted dropout with rate ``p``: each of
    the 2^n masks m has probability (1-p)^|m| p^(n-|m|) and gives ``softmax(W (x * m/(1-p)) + b)``.

    Returns:
        ``weight_scaling`` (the softmax with every input on: eval mode), ``arithmetic`` (the
        probability-weighted mean of the 2^n predictions), ``geometric`` (their weighted
        geometric mean, renormalised to sum to 1), and ``masks`` (2^n).
    """
    n = x.numel()
    if not 1 <= n <= 16:
        raise ValueError(f"x must have 1 to 16 entries (2^n masks are enumerated), got {n}")
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must lie strictly between 0 and 1, got {p!r}")
    weight, bias, x = weight.double(), bias.double(), x.double().flatten()
    masks = torch.tensor(list(itertools.product((0.0, 1.0), repeat=n)), dtype=torch.float64)
    kept = masks.sum(dim=1)
    chance = torch.exp(kept * math.log1p(-p) + (n - kept) * math.log(p))
    logits = (x * masks / (1 - p)) @ weight.T + bias
    log_probs = torch.log_softmax(logits, dim=1)
    arithmetic = (chance[:, None] * log_probs.exp()).sum(dim=0)
    geometric = torch.softmax((chance[:, None] * log_probs).sum(dim=0), dim=0)
    return {"weight_scaling": torch.softmax(weight @ x + bias, dim=0), "arithmetic": arithmetic,
            "geometric": geometric, "masks": len(masks)}
