"""Numerical gradient checks with dropout in the network (lesson 09).

A numerical gradient check compares what backward computes with a central difference,
``(f(θ + h) - f(θ - h)) / 2h``, entry by entry. With dropout in training mode that only
works when every evaluation of ``f`` uses the same masks: ``fixed_masks`` runs a function
under the same random seed on every call (in a private RNG stream, so the caller's random
state is left alone), which makes any dropout that draws from torch's global generator draw
the same masks each time.

- ``TwoLayerNet``: Linear, ReLU, a dropout function of your choice, Linear, in float64;
- ``loss_function``: a model's cross-entropy on fixed data, as a function of nothing;
- ``fixed_masks``: the same masks on every call;
- ``numeric_gradient`` / ``check_gradients``: central differences against autograd, one
  row per checked entry with CS231n's relative error ``|a - n| / max(|a|, |n|)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

import torch
from torch import nn

from dropout_kit.tables import Table

__all__ = ["TwoLayerNet", "check_gradients", "fixed_masks", "loss_function", "numeric_gradient", "relative_error"]


class TwoLayerNet(nn.Module):
    """``Linear(d, h)``, ReLU, ``dropout(·, p, training)``, ``Linear(h, k)``, all in float64 (lesson 09).

    ``dropout`` is any function ``dropout(x, p, training)``, e.g. ``DropoutFunction.apply``.
    After a forward pass, ``before`` and ``after`` hold the hidden activation going into
    dropout and coming out of it; when gradients are on both keep their ``.grad`` after
    backward, so that a lesson can look at the gradient reaching the dropped units.
    """

    def __init__(self, dropout: Callable, p: float = 0.5, sizes: tuple[int, int, int] = (8, 16, 3), *,
                 seed: int = 0) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:  # NaN fails too
            raise ValueError(f"p must be between 0 and 1, got {p!r}")
        self.dropout, self.p = dropout, float(p)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.fc1 = nn.Linear(sizes[0], sizes[1]).double()
            self.fc2 = nn.Linear(sizes[1], sizes[2]).double()
        self.before: torch.Tensor | None = None
        self.after: torch.Tensor | None = None

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Logits for ``X`` (float64, N x d)."""
        self.before = torch.relu(self.fc1(X))
        self.after = self.dropout(self.before, self.p, self.training)
        if self.before.requires_grad:
            self.before.retain_grad()
            self.after.retain_grad()
        return self.fc2(self.after)


def loss_function(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> Callable[[], torch.Tensor]:
    """A zero-argument function returning ``model``'s mean cross-entropy on (X, y), for ``check_gradients``."""
    def loss() -> torch.Tensor:
        return nn.functional.cross_entropy(model(X), y)

    return loss


def fixed_masks(f: Callable, seed: int = 0) -> Callable:
    """``f`` run under torch's RNG seeded with ``seed`` on every call: every call draws the same masks (lesson 09).

    The seeding happens in a private stream (``torch.random.fork_rng``): the caller's random
    state is the same after a call as before. Only dropout that draws from torch's global
    generator (``torch.rand_like``, ``bernoulli_``) is fixed this way.
    """
    @functools.wraps(f)
    def same_masks(*args, **kwargs):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return f(*args, **kwargs)

    return same_masks


def relative_error(a, b) -> float:
    """CS231n's ``|a - b| / max(|a|, |b|)``; 0 when both are 0."""
    a, b = float(a), float(b)
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale


@torch.no_grad()
def numeric_gradient(f: Callable[[], torch.Tensor], tensor: torch.Tensor, index: tuple, eps: float = 1e-5) -> float:
    """The central difference ``(f(θ + eps) - f(θ - eps)) / 2 eps`` in entry ``index`` of ``tensor``.

    ``f`` takes no arguments and returns a scalar that depends on ``tensor`` (changed in place
    and restored).
    """
    original = tensor[index].item()
    try:
        tensor[index] = original + eps
        plus = float(f())
        tensor[index] = original - eps
        minus = float(f())
    finally:
        tensor[index] = original
    return (plus - minus) / (2 * eps)


def check_gradients(f: Callable[[], torch.Tensor], params: Mapping[str, torch.Tensor], *, per_param: int = 3,
                    eps: float = 1e-5, seed: int = 0) -> Table:
    """Autograd's gradient against central differences in ``per_param`` random entries of each parameter (lesson 09).

    Args:
        f: a zero-argument function returning the scalar loss (wrap it in ``fixed_masks`` to
            use the same dropout masks in every evaluation).
        params: name -> tensor that requires grad (e.g. ``dict(model.named_parameters())``).
        per_param: entries checked per parameter, chosen with ``seed``.
        eps: the step ``h`` of the central difference.

    Returns:
        A ``Table`` with ``parameter``, ``index``, ``analytic``, ``numeric``, ``relative_error``.
    """
    for name, tensor in params.items():
        if not tensor.requires_grad:
            raise ValueError(f"parameter {name} does not require grad, so autograd gives it no gradient")
        tensor.grad = None
    loss = f()
    loss.backward()
    analytic = {name: tensor.grad.detach().clone() for name, tensor in params.items()}
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for name, tensor in params.items():
        for flat in torch.randperm(tensor.numel(), generator=generator)[:per_param].tolist():
            index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), tensor.shape))
            a, n = analytic[name][index].item(), numeric_gradient(f, tensor.data, index, eps)
            rows.append({"parameter": name, "index": index, "analytic": a, "numeric": n,
                         "relative_error": relative_error(a, n)})
    return Table(rows)
