"""Learner ``Net`` variants for tests/test_exercise_experiment.py: right ones, and known mistakes.

Every mistake names the judge's check that must reject it and a phrase its message must
contain, so the tests assert that the *right* check fails for the right reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


class Base(nn.Module):
    """The tutorial's network, written as a learner would; subclasses change one thing."""

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(28 * 28, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, 10)

    def hidden1(self, x):
        return torch.relu(self.fc1(x))

    def hidden2(self, x):
        return torch.relu(self.fc2(x))

    def forward(self, x):
        return self.fc3(self.hidden2(self.hidden1(self.flatten(x))))


class Sites(Base):
    """Dropout modules at the input, after each hidden ReLU and on the logits (the solution's shape)."""

    rates = (0.2, 0.5, 0.5, 0.0)

    def __init__(self):
        super().__init__()
        self.drops = nn.ModuleList(nn.Dropout(p) for p in self.rates)

    def forward(self, x):
        x = self.drops[0](self.flatten(x))
        x = self.drops[1](self.hidden1(x))
        x = self.drops[2](self.hidden2(x))
        return self.drops[3](self.fc3(x))


class Solution(Sites):
    rates = (0.2, 0.5, 0.5, 0.0)


class Functional(Base):
    """F.dropout with training=self.training, before the ReLUs, twice at hidden 1 (0.5 then 0.2 = 0.6)."""

    def forward(self, x):
        x = F.dropout(self.flatten(x), 0.1, training=self.training)
        x = torch.relu(F.dropout(F.dropout(self.fc1(x), 0.5, self.training), 0.2, self.training))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


class Sequential(nn.Module):
    """An nn.Sequential with the tutorial's rates (0.3 after each hidden ReLU)."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.3),
                                 nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10))

    def forward(self, x):
        return self.net(x)


class Logits(Sites):
    rates = (0.0, 0.0, 0.0, 0.5)


# --- mistakes ---------------------------------------------------------------------------

class ExtraLayer(Sites):
    def __init__(self):
        super().__init__()
        self.extra = nn.Linear(128, 128)

    def forward(self, x):
        return self.fc3(torch.relu(self.extra(self.drops[2](self.hidden2(self.hidden1(self.flatten(x)))))))


class Wider(Base):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(784, 512), nn.Linear(512, 128)


class BatchNorm(Sites):
    def __init__(self):
        super().__init__()
        self.norm = nn.BatchNorm1d(256)

    def hidden1(self, x):
        return torch.relu(self.norm(self.fc1(x)))


class BatchNormNoAffine(BatchNorm):
    def __init__(self):
        super().__init__()
        self.norm = nn.BatchNorm1d(256, affine=False)


class LayerNorm(Sites):
    def hidden1(self, x):
        return torch.relu(F.layer_norm(self.fc1(x), (256,)))


class LeakyReLU(Sites):
    def hidden2(self, x):
        return F.leaky_relu(self.fc2(x), 0.01)


class ChangedFlatten(Sites):
    def forward(self, x):
        return super().forward(x.transpose(2, 3))


class NoDropout(Sites):
    rates = (0.0, 0.0, 0.0, 0.0)


class AlwaysOn(Base):
    def forward(self, x):
        x = F.dropout(self.hidden1(self.flatten(x)), 0.3)  # training defaults to True: on in eval too
        return self.fc3(self.hidden2(x))


class EvalScaled(Base):
    """Non-inverted dropout: kept values unscaled in training, everything times (1-p) in eval."""

    def forward(self, x):
        h = self.hidden1(self.flatten(x))
        h = h * (torch.rand_like(h) >= 0.3) if self.training else h * 0.7
        return self.fc3(self.hidden2(h))


class Unscaled(Base):
    def forward(self, x):
        h = self.hidden1(self.flatten(x))
        if self.training:
            h = h * (torch.rand_like(h) >= 0.3)
        return self.fc3(self.hidden2(h))


class GaussianNoise(Base):
    def forward(self, x):
        h = self.hidden1(self.flatten(x))
        if self.training:
            h = h * (1 + 0.5 * torch.randn_like(h))
        return self.fc3(self.hidden2(h))


class UniformNoise(Base):
    def forward(self, x):
        h = self.hidden1(self.flatten(x))
        if self.training:
            h = h * 2 * torch.rand_like(h)
        return self.fc3(self.hidden2(h))


class InputNoise(Sites):
    def forward(self, x):
        return super().forward(x + 0.1 * torch.randn_like(x) if self.training else x)


class WeightNoise(Base):
    def forward(self, x):
        h = self.hidden1(self.flatten(x))
        if self.training:
            w = self.fc2.weight * (1 + 0.1 * torch.randn_like(self.fc2.weight))
            return self.fc3(torch.relu(F.linear(h, w, self.fc2.bias)))
        return self.fc3(self.hidden2(h))


class DropConnect(Base):
    """DropConnect on one layer's weights (rate 0.3): one mask per call, or per image as in its paper."""

    layer, per_image = "fc2", False

    def forward(self, x):
        x = self.flatten(x)
        for name in ("fc1", "fc2", "fc3"):
            linear = getattr(self, name)
            x = self._masked(linear, x) if name == self.layer and self.training else linear(x)
            x = torch.relu(x) if name != "fc3" else x
        return x

    def _masked(self, linear: nn.Linear, x, p: float = 0.3):
        if not self.per_image:
            return F.linear(x, linear.weight * (torch.rand_like(linear.weight) >= p) / (1 - p), linear.bias)
        out = []
        for rows in x.split(256):  # a mask per image and weight, in chunks to fit memory
            keep = (torch.rand(len(rows), *linear.weight.shape) >= p) / (1 - p)
            out.append(torch.einsum("noi,ni->no", linear.weight * keep, rows) + linear.bias)
        return torch.cat(out)


def _dropconnect(layer: str, per_image: bool = False) -> type:
    return type(f"DropConnect_{layer}", (DropConnect,), {"layer": layer, "per_image": per_image})


DropConnectPerImage = _dropconnect("fc2", per_image=True)


class BatchShared(Base):
    def forward(self, x):
        h = self.hidden1(self.flatten(x))
        if self.training:
            h = h * (torch.rand(1, h.shape[1]) >= 0.3) / 0.7  # one mask for the whole batch
        return self.fc3(self.hidden2(h))


class UnitShared(Base):
    def forward(self, x):
        x = self.flatten(x)
        if self.training:
            x = x * (torch.rand(len(x), 1) >= 0.2) / 0.8  # one draw per image: Dropout2d on one channel
        return self.fc3(self.hidden2(self.hidden1(x)))


class Schedule(Base):
    """The rate falls by 0.05 on every call: a schedule, not a fixed rate."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        h = self.hidden1(self.flatten(x))
        if self.training:
            self.calls += 1
            h = F.dropout(h, max(0.5 - 0.05 * self.calls, 0.05))
        return self.fc3(self.hidden2(h))


class Broken(Base):
    def forward(self, x):
        raise RuntimeError("shape mismatch")


@dataclass(frozen=True)
class Mistake:
    """A wrong ``Net``, the check that must reject it, and a phrase of its message."""

    name: str
    net: Callable
    check: str
    hint: str

    def __repr__(self) -> str:
        return self.name


MISTAKES = [
    Mistake("extra layer", ExtraLayer, "parameters", "only dropout may be added"),
    Mistake("wider layer", Wider, "parameters", "an extra or wider Linear"),
    Mistake("BatchNorm", BatchNorm, "parameters", "BatchNorm"),
    Mistake("BatchNorm without affine", BatchNormNoAffine, "parameters", "buffers"),
    Mistake("LayerNorm", LayerNorm, "eval_function", "normalisation layer"),
    Mistake("other activation", LeakyReLU, "eval_function", "another activation"),
    Mistake("changed flatten", ChangedFlatten, "eval_function", "a changed flatten"),
    Mistake("scaled in eval mode", EvalScaled, "eval_function", "scaling in eval mode"),
    Mistake("p=0 everywhere", NoDropout, "dropout_active", "no dropout is active"),
    Mistake("F.dropout without training", AlwaysOn, "eval_function", "training=self.training"),
    Mistake("Gaussian noise", GaussianNoise, "only_dropout", "noise (Gaussian? uniform?)"),
    Mistake("uniform noise", UniformNoise, "only_dropout", "not dropout"),
    Mistake("noise on the inputs", InputNoise, "only_dropout", "the input pixels"),
    Mistake("noise on the weights", WeightNoise, "only_dropout", "not dropout"),
    Mistake("unscaled dropout", Unscaled, "masks", "scale kept values by 1/(1-p)"),
    Mistake("DropConnect on fc1", _dropconnect("fc1"), "masks", "DropConnect"),
    Mistake("DropConnect on fc2", _dropconnect("fc2"), "masks", "DropConnect"),
    Mistake("DropConnect on fc3", _dropconnect("fc3"), "masks", "DropConnect"),
    Mistake("DropConnect on fc2, per image", DropConnectPerImage, "masks", "DropConnect"),
    Mistake("DropConnect on fc3, per image", _dropconnect("fc3", per_image=True), "masks", "DropConnect"),
    Mistake("mask shared by the batch", BatchShared, "masks", "shared by the whole batch"),
    Mistake("mask shared by the pixels", UnitShared, "masks", "shared by several units"),
    Mistake("a rate schedule", Schedule, "only_dropout", "change from call to call"),
]
