"""Checks of a dropout module class ``cls(p=0.5, inplace=False)``, an ``nn.Module``.

The module-only checks (construction, attributes, repr, invalid p, train/eval) live
here; everything about the values, masks and gradients reuses the function checks
through :func:`as_function`, which calls a module as if it were ``fn(x, p, training, inplace)``.
"""

from __future__ import annotations

import math
import re

import torch
from torch import nn

from dropout_kit.checks.harness import CheckFailed, LearnerError, check, make_input


def _build(cls, *args, **kwargs) -> nn.Module:
    shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    name = getattr(cls, "__name__", "Dropout")
    try:
        module = cls(*args, **kwargs)
    except Exception as error:
        raise LearnerError(f"{name}({shown})", error) from error
    if not isinstance(module, nn.Module):
        raise CheckFailed(f"{name}({shown}) is a {type(module).__name__}, not an nn.Module: "
                          "subclass torch.nn.Module and call super().__init__() first")
    if "_parameters" not in vars(module):
        raise CheckFailed(f"{name}({shown}) skipped nn.Module's own set-up: call "
                          "super().__init__() first thing in __init__")
    return module


def _forward(module: nn.Module, x: torch.Tensor, mode: str) -> torch.Tensor:
    try:
        out = module(x)
    except Exception as error:
        raise LearnerError(f"{module.__class__.__name__}(...)(x) in {mode} mode", error) from error
    if not isinstance(out, torch.Tensor):
        raise CheckFailed(f"forward in {mode} mode returned {type(out).__name__}, expected a tensor")
    return out


class ModuleAsFunction:
    """A dropout class called as ``fn(x, p, training, inplace)``, to reuse the function checks.

    One instance is built per (p, inplace) and kept, so a module that caches its mask
    between calls is caught by ``fresh_mask``. ``training`` is applied with
    ``module.train(training)`` before each call.
    """

    def __init__(self, cls):
        self.cls = cls
        self.__name__ = getattr(cls, "__name__", "Dropout")
        self._modules: dict[tuple[float, bool], nn.Module] = {}

    def __call__(self, x, p=0.5, training=True, inplace=False):
        key = (p, inplace)
        if key not in self._modules:
            self._modules[key] = _build(self.cls, p=p, inplace=inplace)
        module = self._modules[key]
        module.train(training)
        return module(x)

    def describe_call(self, x, p, training, inplace) -> str:
        mode = "train" if training else "eval"
        return (f"{self.__name__}(p={p}, inplace={inplace}) in {mode} mode, on x of shape "
                f"{tuple(x.shape)}, {str(x.dtype).replace('torch.', '')}")


def as_function(cls) -> ModuleAsFunction:
    """``cls`` as a function ``fn(x, p=0.5, training=True, inplace=False)``; see :class:`ModuleAsFunction`."""
    return ModuleAsFunction(cls)


@check("module_init", "cls(p=..., inplace=...) builds an nn.Module, with defaults p=0.5, inplace=False")
def check_module_init(cls) -> None:
    """Can the class be built with keywords and with its defaults? Deterministic."""
    _build(cls, p=0.3, inplace=False)
    _build(cls, 0.3)
    _build(cls)


@check("module_attributes", "p and inplace are stored as the attributes .p and .inplace")
def check_module_attributes(cls) -> None:
    """Are ``p`` and ``inplace`` stored as given, and the defaults 0.5 and False? Deterministic."""
    name = getattr(cls, "__name__", "Dropout")
    for kwargs, p, inplace in [({"p": 0.3, "inplace": False}, 0.3, False),
                               ({"p": 0.7, "inplace": True}, 0.7, True), ({}, 0.5, False)]:
        module = _build(cls, **kwargs)
        shown = ", ".join(f"{k}={v}" for k, v in kwargs.items())
        if not hasattr(module, "p"):
            raise CheckFailed(f"{name}({shown}) has no attribute p: store it in __init__ with "
                              "self.p = p, as nn.Dropout does (code that inspects layers reads .p)")
        if module.p != p:
            raise CheckFailed(f"{name}({shown}).p is {module.p!r}, expected {p}"
                              + (": the default is p=0.5, as in nn.Dropout" if not kwargs else ""))
        if not hasattr(module, "inplace"):
            raise CheckFailed(f"{name}({shown}) has no attribute inplace: store it with "
                              "self.inplace = inplace")
        if module.inplace is not inplace:
            raise CheckFailed(f"{name}({shown}).inplace is {module.inplace!r}, expected {inplace}")


@check("module_repr", "extra_repr mentions p, so print(model) shows the rate")
def check_module_repr(cls) -> None:
    """Does ``repr(cls(p=0.3))`` show ``p=0.3``, via ``extra_repr``? Deterministic."""
    module = _build(cls, p=0.3)
    try:
        text = repr(module)
    except Exception as error:
        raise LearnerError("repr(Dropout(p=0.3))", error) from error
    if not re.search(r"\bp\s*=\s*0\.3\b", text):
        raise CheckFailed(f"repr of a module built with p=0.3 is {text!r}: define "
                          "extra_repr(self) returning f'p={self.p}, inplace={self.inplace}'")


@check("module_invalid_p", "p outside [0, 1] raises ValueError when the module is built (NaN too)")
def check_module_invalid_p(cls) -> None:
    """Do p=-0.1 and p=1.5 raise ValueError at construction, and p=nan raise? Deterministic.

    For NaN, nn.Dropout builds without complaint and raises RuntimeError at its first
    forward; so an error at construction (ValueError) or at the first forward
    (ValueError or RuntimeError) is accepted.
    """
    name = getattr(cls, "__name__", "Dropout")
    for p in (-0.1, 1.5, math.nan):
        try:
            module = cls(p=p)
        except ValueError:
            continue
        except Exception as error:
            raise CheckFailed(f"{name}(p={p}) raised {type(error).__name__}: {error}; expected "
                              "ValueError (raise it in __init__, like nn.Dropout)")
        if math.isnan(p):
            try:
                module.train()
                module(make_input((4, 5)))
            except (ValueError, RuntimeError):
                continue
            except Exception as error:
                raise CheckFailed(f"{name}(p=nan)(x) raised {type(error).__name__}: {error}; "
                                  "expected ValueError from __init__") from None
            raise CheckFailed(f"{name}(p=nan) was accepted: `p < 0 or p > 1` is False for NaN; "
                              "test `not 0 <= p <= 1` in __init__ and raise ValueError")
        raise CheckFailed(f"{name}(p={p}) was built without error: check p in __init__ and raise "
                          "ValueError when it is not in [0, 1], like nn.Dropout")


@check("module_train_eval", "train() drops entries, eval() makes the module the identity")
def check_module_train_eval(cls) -> None:
    """Does the module drop in training mode (the default) and pass x through after eval()?

    Deterministic except that training mode must drop at least one of 4096 entries at
    p=0.5: a correct module fails that with probability 2 * 2^-4096.
    """
    module = _build(cls, p=0.5)
    x = make_input((64, 64))
    if not module.training:
        raise CheckFailed("a new module is not in training mode: call super().__init__() and "
                          "don't change self.training in __init__")
    for step, mode in enumerate(("train", "eval", "train")):
        module.train(mode == "train")
        out = _forward(module, x.clone(), mode)
        if out.shape != x.shape:
            raise CheckFailed(f"forward in {mode} mode returned shape {tuple(out.shape)}, "
                              f"expected {tuple(x.shape)}")
        if mode == "train" and not (out == 0).any():
            again = " after eval() then train()" if step else ""
            raise CheckFailed(f"nothing was dropped in training mode{again}: forward must drop "
                              "entries when self.training is True")
        if mode == "eval" and not torch.equal(out, x):
            if (out == 0).any():
                raise CheckFailed(
                    "the output still has zeros after .eval(): read self.training in forward "
                    "(e.g. dropout(x, self.p, self.training, self.inplace)); calling "
                    "F.dropout(x, self.p) without training=self.training always drops"
                )
            raise CheckFailed("the output differs from x after .eval(): in eval mode dropout is "
                              "the identity, with no scaling")


MODULE_CHECKS = [check_module_init, check_module_attributes, check_module_repr,
                 check_module_invalid_p, check_module_train_eval]
"""The module-only checks of :func:`check_dropout_module`, in the order they run."""
