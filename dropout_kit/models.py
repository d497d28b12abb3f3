"""The tutorial's FashionMNIST MLP, the same network with dropout, and lesson 11's dropout-family models.

The MLPs keep the tutorial's layer names (``flatten``, ``fc1``, ``fc2``, ``fc3``) so that a
learner can compare them with the tutorial's ``Net`` line by line. Lesson 11 adds a small CNN
with element or channel dropout, the MLP with BatchNorm in three orders, and a deep SELU stack.
"""

from __future__ import annotations

from collections import OrderedDict
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


# --- Lesson 11: the dropout family ---------------------------------------------------------

DROPOUT_KINDS = ("element", "channel")
BN_ORDERS = ("bn_relu_dropout", "dropout_bn_relu", "dropout_after_bn")
SELU_DROPOUTS = ("none", "dropout", "alpha")


def _rate(p: float) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:  # NaN fails too
        raise ValueError(f"dropout probability has to be in [0, 1) here, but got {p!r}")
    return float(p)


def _choice(name: str, value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


class SmallCNN(nn.Module):
    """Two 3x3 conv blocks (8 and 16 maps) with dropout on the conv feature maps, then a 256-unit MLP head.

    ``kind="element"`` drops single pixels of each feature map (``nn.Dropout``);
    ``kind="channel"`` drops whole feature maps (``nn.Dropout2d``, Tompson et al. 2015).
    ``p = 0`` puts no dropout layer in at all. Lesson 11 compares the two kinds.
    """

    def __init__(self, p: float = 0.0, kind: str = "channel", channels: tuple[int, int] = (8, 16),
                 hidden: int = 256) -> None:
        super().__init__()
        p, kind = _rate(p), _choice("kind", kind, DROPOUT_KINDS)
        layer = nn.Dropout if kind == "element" else nn.Dropout2d
        self.p, self.kind = p, kind
        self.conv1 = nn.Conv2d(1, channels[0], 3, padding=1)
        self.drop1 = layer(p) if p > 0 else nn.Identity()
        self.conv2 = nn.Conv2d(channels[0], channels[1], 3, padding=1)
        self.drop2 = layer(p) if p > 0 else nn.Identity()
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(channels[1] * 7 * 7, hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The first conv layer's feature maps after ReLU, before dropout (N x 8 x 28 x 28)."""
        return torch.relu(self.conv1(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.drop1(self.features(x)))
        x = self.pool(self.drop2(torch.relu(self.conv2(x))))
        return self.fc2(torch.relu(self.fc1(self.flatten(x))))


def build_cnn(p: float = 0.0, kind: str = "channel") -> SmallCNN:
    """``SmallCNN`` with rate ``p`` of element or channel dropout (a ``make_model`` for ``tuning.sweep``)."""
    return SmallCNN(p, kind)


def build_bn_mlp(p: float = 0.5, order: str = "bn_relu_dropout") -> nn.Sequential:
    """The experiment's MLP (784-256-128-10) with BatchNorm and dropout in one of three orders (lesson 11).

    - ``"bn_relu_dropout"``: each hidden block is Linear -> BN -> ReLU -> Dropout, so block 1's
      dropout feeds block 2's BatchNorm (through a Linear layer);
    - ``"dropout_bn_relu"``: Linear -> Dropout -> BN -> ReLU, dropout straight into every BN;
    - ``"dropout_after_bn"``: Linear -> BN -> ReLU in both blocks and one Dropout after the
      last BN only, just before the output layer (Li et al., 2019's advice).

    Layer names (``fc1``, ``bn1``, ``dropout1``, ...) show the order when the model is printed.
    """
    p, order = _rate(p), _choice("order", order, BN_ORDERS)
    sizes = (28 * 28, *HIDDEN)
    layers: list[tuple[str, nn.Module]] = [("flatten", nn.Flatten())]
    for i in (1, 2):
        fc, bn, relu = nn.Linear(sizes[i - 1], sizes[i]), nn.BatchNorm1d(sizes[i]), nn.ReLU()
        if order == "bn_relu_dropout":
            block = [(f"fc{i}", fc), (f"bn{i}", bn), (f"relu{i}", relu), (f"dropout{i}", nn.Dropout(p))]
        elif order == "dropout_bn_relu":
            block = [(f"fc{i}", fc), (f"dropout{i}", nn.Dropout(p)), (f"bn{i}", bn), (f"relu{i}", relu)]
        else:
            block = [(f"fc{i}", fc), (f"bn{i}", bn), (f"relu{i}", relu)]
        layers += block
    if order == "dropout_after_bn":
        layers.append(("dropout", nn.Dropout(p)))
    layers.append(("fc3", nn.Linear(sizes[-1], 10)))
    return nn.Sequential(OrderedDict(layers))


def build_selu_stack(depth: int = 32, width: int = 256, *, dropout: str = "none", p: float = 0.1) -> nn.Sequential:
    """``depth`` blocks of Linear -> SELU -> (Dropout | AlphaDropout | nothing), for lesson 11.

    The weights are LeCun-normal (std ``1/sqrt(fan_in)``) with zero biases: the initialisation
    under which SELU keeps activations near mean 0 and variance 1 (Klambauer et al., 2017).
    Each block is one element of the returned ``Sequential``, so its output can be read off
    block by block (``activation_stats.layer_moments``).
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be a whole number >= 1, got {depth!r}")
    dropout, p = _choice("dropout", dropout, SELU_DROPOUTS), _rate(p)
    blocks = []
    for _ in range(depth):
        linear = nn.Linear(width, width)
        nn.init.normal_(linear.weight, std=width ** -0.5)
        nn.init.zeros_(linear.bias)
        drop = {"none": nn.Identity(), "dropout": nn.Dropout(p), "alpha": nn.AlphaDropout(p)}[dropout]
        blocks.append(nn.Sequential(linear, nn.SELU(), drop))
    return nn.Sequential(*blocks)
