"""The tutorial's FashionMNIST MLP, and the same network with dropout.

Both keep the tutorial's layer names (``flatten``, ``fc1``, ``fc2``, ``fc3``) so that a
learner can compare them with the tutorial's ``Net`` line by line.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

HIDDEN = (256, 128)


class BaselineMLP(nn.Module):
    """Flatten, Linear 784->256, ReLU, Linear 256->128, ReLU, Linear 128->10: no dropout.

    The network of the overfitting experiment (lessons 04 and 05). It overfits a small
    training set; the exercise is to add dropout to it and nothing else.
    """

    def __init__(self) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(28 * 28, HIDDEN[0])
        self.fc2 = nn.Linear(HIDDEN[0], HIDDEN[1])
        self.fc3 = nn.Linear(HIDDEN[1], 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.flatten(x)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


class DropoutMLP(BaselineMLP):
    """``BaselineMLP`` with ``nn.Dropout`` after each hidden ReLU (the tutorial's solution)."""

    def __init__(self, p: float | Sequence[float] = 0.3) -> None:
        super().__init__()
        p1, p2 = _two_rates(p)
        self.dropout1 = nn.Dropout(p1)
        self.dropout2 = nn.Dropout(p2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.flatten(x)
        x = self.dropout1(torch.relu(self.fc1(x)))
        x = self.dropout2(torch.relu(self.fc2(x)))
        return self.fc3(x)


def _two_rates(p: float | Sequence[float]) -> tuple[float, float]:
    rates = (p, p) if isinstance(p, (int, float)) else tuple(p)
    if len(rates) != 2:
        raise ValueError(f"give one rate or one per hidden layer (2), got {len(rates)}: {rates}")
    for rate in rates:
        if not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:  # NaN fails too
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {rate!r}")
    return float(rates[0]), float(rates[1])


class WideMLP(nn.Module):
    """Flatten, input dropout, then Linear, ReLU, dropout per hidden layer of any width, Linear to 10 (lesson 10).

    Its parameters are created in the order of ``BaselineMLP``'s (fc1, fc2, fc3), so with the
    course's widths the same seed gives it the same initial weights: comparisons with
    ``build_mlp`` models can be paired by seed. ``dropout0`` acts on the 784 pixels.
    """

    def __init__(self, hidden: Sequence[int] = HIDDEN, p: float | Sequence[float] = 0.0, p_input: float = 0.0) -> None:
        super().__init__()
        if len(hidden) != 2 or not all(isinstance(n, int) and n >= 1 for n in hidden):
            raise ValueError(f"hidden must be two layer widths (whole numbers >= 1), got {hidden!r}")
        if isinstance(p_input, bool) or not isinstance(p_input, (int, float)):
            raise ValueError(f"p_input is one rate for the input pixels, got {p_input!r}")
        (p1, p2), (p0, _) = _two_rates(p), _two_rates(p_input)
        self.flatten = nn.Flatten()
        self.dropout0 = nn.Dropout(p0)
        self.fc1 = nn.Linear(28 * 28, hidden[0])
        self.dropout1 = nn.Dropout(p1)
        self.fc2 = nn.Linear(hidden[0], hidden[1])
        self.dropout2 = nn.Dropout(p2)
        self.fc3 = nn.Linear(hidden[1], 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dropout0(self.flatten(x))
        x = self.dropout1(torch.relu(self.fc1(x)))
        x = self.dropout2(torch.relu(self.fc2(x)))
        return self.fc3(x)


def widened(hidden: Sequence[int], p: float) -> tuple[int, ...]:
    """Each width n made ``round(n / (1 - p))``, so that about n units stay active under rate p (lesson 10)."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"p must be in [0, 1) to widen a layer, got {p!r}")
    return tuple(round(n / (1.0 - p)) for n in hidden)


def build_mlp(p: float | Sequence[float] = 0.0, *, hidden: Sequence[int] = HIDDEN, p_input: float = 0.0) -> nn.Module:
    """The experiment's MLP with per-layer dropout rates ``p`` (one rate, or one per hidden layer).

    ``build_mlp(0)`` is a ``BaselineMLP``; ``build_mlp((0.2, 0.5))`` drops 20% after the
    first hidden layer and 50% after the second. Used by the sweeps of lesson 06. Other
    widths (``hidden``) or a rate on the input pixels (``p_input``) give a ``WideMLP`` (lesson 10).
    """
    p1, p2 = _two_rates(p)
    if tuple(hidden) != HIDDEN or p_input:
        return WideMLP(tuple(hidden), (p1, p2), p_input)
    if p1 == 0.0 and p2 == 0.0:
        return BaselineMLP()
    return DropoutMLP((p1, p2))


SITES = ("input", "hidden1", "hidden2", "logits")


class SiteDropoutMLP(BaselineMLP):
    """``BaselineMLP`` with ``nn.Dropout`` at any of four sites: input pixels, each hidden ReLU, logits.

    Every placement of dropout in the baseline is one of these four (dropout just before a
    ReLU acts as dropout just after it). Lesson 05's judge trains this model with the rates it
    measured in the learner's ``Net``; lesson 05's sweep trains it for designs to compare.
    """

    def __init__(self, p: Sequence[float] = (0.0, 0.0, 0.0, 0.0)) -> None:
        super().__init__()
        rates = tuple(p)
        if len(rates) != len(SITES):
            raise ValueError(f"give one rate per site {SITES}, got {len(rates)}: {rates}")
        for rate in rates:
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
                raise ValueError(f"dropout probability has to be between 0 and 1, but got {rate!r}")
        self.rates = tuple(float(r) for r in rates)
        self.dropout = nn.ModuleList(nn.Dropout(r) for r in self.rates)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dropout[0](self.flatten(x))
        x = self.dropout[1](torch.relu(self.fc1(x)))
        x = self.dropout[2](torch.relu(self.fc2(x)))
        return self.dropout[3](self.fc3(x))
