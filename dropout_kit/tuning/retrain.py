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


def parameters_without_reset(model: nn.Module) -> list[str]:
    """Names of the parameters that no ``reset_parameters()`` re-draws (lesson 06).

    Not every PyTorch layer with weights has a public ``reset_parameters()``:
    ``nn.MultiheadAttention`` (and so every ``nn.Transformer*`` layer) initialises its
    ``in_proj_weight`` and ``in_proj_bias`` in a private ``_reset_parameters``. A parameter
    counts as reached when the module that owns it has ``reset_parameters()``.
    """
    return [f"{prefix}.{name}" if prefix else name
            for prefix, module in model.named_modules()
            if not callable(getattr(module, "reset_parameters", None))
            for name, _ in module.named_parameters(recurse=False)]


def reset_parameters(model: nn.Module) -> int:
    """Re-initialise every layer that has ``reset_parameters()``; return how many were reset.

    Used in lesson 06. Layers draw new random weights from torch's global generator, so
    call ``seed_everything(seed)`` first to make the new weights reproducible. Training
    again afterwards starts from scratch, unlike calling ``fit`` again on a trained model.

    Raises:
        ValueError: some parameters belong to a module without ``reset_parameters()``
            (see ``parameters_without_reset``); the model is left untouched, and
            building a new one is the safe way to start afresh.
    """
    missed = parameters_without_reset(model)
    if missed:
        owners = sorted({type(model.get_submodule(name.rpartition(".")[0])).__name__ for name in missed})
        raise ValueError(f"cannot re-initialise this {type(model).__name__}: {len(missed)} parameter(s) "
                         f"({', '.join(missed[:4])}{', ...' if len(missed) > 4 else ''}) belong to "
                         f"{', '.join(owners)}, which has no reset_parameters(); build a new model instead "
                         "(seed_everything(seed), then construct it again)")
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
