"""L1 beside L2 (lesson 12): an L1 penalty added as gradient hooks, and how sparse the weights end up.

``fit`` takes L2 as Adam's ``weight_decay`` (``weight_decay * w`` added to the gradient). L1
has no optimizer switch: its penalty is ``l1 * sum(|w|)`` over the weights, whose gradient is
``l1 * sign(w)``. ``add_l1`` adds exactly that term to each weight's gradient with a tensor
hook, so the model trains with L1 under the unchanged ``fit`` (and ``tuning.sweep``), and a
model without hooks costs nothing extra. Biases are not penalised, as is usual for L1.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import nn

from dropout_kit.models import build_mlp

SPARSE_BELOW = 1e-3  # |w| under this counts as zero: a single Adam step at lr 1e-3 moves a weight by about this


def penalised(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """The parameters an L1 penalty acts on: every weight matrix or kernel (2 or more dims), no biases."""
    return [(name, param) for name, param in model.named_parameters() if param.dim() >= 2]


def l1_penalty(model: nn.Module) -> torch.Tensor:
    """``sum(|w|)`` over ``penalised(model)``: the L1 penalty before its strength is applied."""
    return sum(param.abs().sum() for _, param in penalised(model))


def _add_sign(param: torch.Tensor, l1: float, grad: torch.Tensor) -> torch.Tensor:
    # The gradient of l1 * |w| is l1 * sign(w) (0 at w = 0, as autograd's abs gives).
    return grad + l1 * torch.sign(param.detach())


def add_l1(model: nn.Module, l1: float) -> nn.Module:
    """Train ``model`` with an L1 penalty of strength ``l1`` on its weights; returns the same model.

    Every backward pass then gives each weight the gradient of ``loss + l1 * l1_penalty(model)``
    (tested against autograd). The hooks stay on the model's parameters for its lifetime.
    ``l1 = 0`` adds no hook. Used in lesson 12 with ``fit`` and ``tuning.sweep``.
    """
    if isinstance(l1, bool) or not isinstance(l1, (int, float)) or not (l1 >= 0 and math.isfinite(l1)):
        raise ValueError(f"l1 must be a number >= 0, got {l1!r}")
    if l1 > 0:
        for _, param in penalised(model):
            param.register_hook(functools.partial(_add_sign, param, float(l1)))
    return model


def build_l1_mlp(p: float = 0.0, l1: float = 0.0) -> nn.Module:
    """The experiment's MLP (``build_mlp(p)``) trained with L1 strength ``l1`` (a ``make_model`` for sweeps)."""
    return add_l1(build_mlp(p), l1)


@torch.no_grad()
def weight_sparsity(model: nn.Module, *, below: float = SPARSE_BELOW) -> float:
    """Fraction of the penalised weights whose magnitude is under ``below``."""
    weights = [param.abs().flatten() for _, param in penalised(model)]
    if not weights:
        raise ValueError("the model has no weight matrices or kernels to measure")
    return float((torch.cat(weights) < below).double().mean())


@torch.no_grad()
def input_weight_map(model: nn.Module) -> torch.Tensor:
    """Mean ``|w|`` of the first Linear layer's weights from each input (784 numbers for the MLP)."""
    first = next((m for m in model.modules() if isinstance(m, nn.Linear)), None)
    if first is None:
        raise ValueError("the model has no nn.Linear layer")
    return first.weight.abs().mean(dim=0)


def weight_stats(model: nn.Module, data=None, *, below: float = SPARSE_BELOW) -> dict:
    """A ``measure`` for ``tuning.sweep``: sparsity, mean ``|w|``, inputs cut off, and the input map.

    ``sparsity``: fraction of weights under ``below``; ``mean_abs_weight``; ``inputs_cut``:
    fraction of the first layer's inputs (pixels) all of whose weights are under ``below``;
    ``input_map``: ``input_weight_map`` as a list. ``data`` is unused (the measure signature).
    """
    first = next(m for m in model.modules() if isinstance(m, nn.Linear))
    with torch.no_grad():
        weights = torch.cat([param.abs().flatten() for _, param in penalised(model)])
        cut = (first.weight.abs() < below).all(dim=0)
    return {"sparsity": weight_sparsity(model, below=below), "mean_abs_weight": float(weights.mean()),
            "inputs_cut": float(cut.double().mean()), "input_map": input_weight_map(model).tolist()}
