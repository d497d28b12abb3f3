"""Training a fresh model, and re-using a trained one on purpose (lessons 06-08)."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from dropout_kit.seeding import seed_everything
from dropout_kit.train import History, fit


def fit_fresh(make_model: Callable[[], nn.Module], data, *, seed: int, device="auto",
              **fit_kwargs) -> tuple[nn.Module, History]:
    """Seed, build a fresh model and train it: ``(model, history)`` (lessons 06-08).

    Like one run of ``runs.train_runs``, but the trained model is returned too (for
    confusion matrices, MC dropout, or continuing to train it on purpose). It trains on
    ``device`` (``"auto"``: the GPU if there is one) and is returned where ``make_model``
    built it, on the CPU unless it says otherwise.
    """
    seed_everything(seed)
    model = make_model()
    fit_kwargs.setdefault("progress", False)
    return model, fit(model, data, seed=seed, device=device, **fit_kwargs)


def reset_parameters(model: nn.Module) -> int:
    """Re-initialise every layer that has ``reset_parameters()``; return how many were reset.

    Used in lesson 06. Layers draw new random weights from torch's global generator, so
    call ``seed_everything(seed)`` first to make the new weights reproducible. Training
    again afterwards starts from scratch, unlike calling ``fit`` again on a trained model.
    """
    count = 0
    for module in model.modules():
        reset = getattr(module, "reset_parameters", None)
        if callable(reset):
            reset()
            count += 1
    return count


def set_dropout_rates(model: nn.Module, p) -> list[float]:
    """Set the rate of every ``nn.Dropout`` in ``model`` (one rate, or one per layer, in order).

    Used in lesson 06 to reproduce the forum's mistake: changing the rates of an already
    trained network and training it again. Returns the rates now set.
    """
    layers = [m for m in model.modules() if isinstance(m, nn.modules.dropout._DropoutNd)]
    rates = [float(p)] * len(layers) if isinstance(p, (int, float)) else [float(x) for x in p]
    if len(rates) != len(layers):
        raise ValueError(f"the model has {len(layers)} dropout layers; got {len(rates)} rates")
    for layer, rate in zip(layers, rates):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {rate}")
        layer.p = rate
    return rates
