"""Lesson 05's challenge and probe: the judge's parameters in, the learner's outputs out.

The probe runs in the learner's kernel (in grading: a sandboxed kernel with no dataset) and
returns only data: the parameter shapes and buffer names of one ``Net()``, and its outputs,
in eval and train mode, for two sets of parameters the judge chose and loaded in
parameter order: random ones with random images (is it the baseline's function?), and the
routing parameters of ``routing.py`` (where are the masks, and at which rates?). It never
reads data files and leaves the learner's random state as it found it.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from dropout_kit.exercises.experiment.routing import PARAM_SHAPES, routing

RANDOM_ROWS = 64     # random images for the eval-mode comparison with the baseline
EVAL_ROWS = 8        # routed images in eval mode
ROUTED_ROWS = 4096   # routed images per train-mode call
CALLS = 4            # train-mode calls on the routed images


def challenge(rng: np.random.Generator) -> dict:
    """The judge's requests: one seed for everything the probe builds, and the sample sizes."""
    return {"seed": int(rng.integers(2**31)), "random_rows": RANDOM_ROWS, "eval_rows": EVAL_ROWS,
            "rows": ROUTED_ROWS, "calls": CALLS}


def random_case(seed: int, rows: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Random parameters (PyTorch's default initialisation ranges) and images in [0, 1) for ``seed``."""
    rng = np.random.default_rng([seed, 1])
    params = []
    for index, shape in enumerate(PARAM_SHAPES):
        fan_in = PARAM_SHAPES[index - index % 2][1]  # a bias takes its weight's fan-in
        bound = 1.0 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, size=shape).astype(np.float32))
    return params, rng.random((rows, 1, 28, 28), dtype=np.float32)


def _build(obj) -> nn.Module:
    model = copy.deepcopy(obj) if isinstance(obj, nn.Module) else obj()
    if not isinstance(model, nn.Module):
        raise TypeError(f"Net() must build an nn.Module, got {type(model).__name__}")
    return model


def _load(model: nn.Module, params: list[np.ndarray]) -> None:
    for param, value in zip(model.parameters(), params):
        param.copy_(torch.from_numpy(value))


def _outputs(model: nn.Module, X: np.ndarray, mode: str) -> np.ndarray:
    model.train(mode == "train")
    try:
        out = model(torch.from_numpy(X))
    except Exception as exc:
        raise RuntimeError(f"Net raised {type(exc).__name__} in {mode} mode on images of shape "
                           f"{tuple(X.shape)}: {exc}") from exc
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"Net returned {type(out).__name__} in {mode} mode; it must return a tensor of logits")
    return out.detach().cpu().to(torch.float32).numpy()


def probe(obj, requests: dict) -> dict:
    """Run the learner's ``Net`` (class, or a model to copy) on the judge's parameters; data only."""
    seed, calls = int(requests["seed"]), int(requests["calls"])
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)  # the masks are reproducible; the learner's own state is restored after
        model = _build(obj)
        reply = {"shapes": [list(p.shape) for p in model.parameters()],
                 "buffers": [name for name, _ in model.named_buffers()]}
        if [tuple(s) for s in reply["shapes"]] != list(PARAM_SHAPES):
            return reply  # nothing can be loaded: the judge reports the shapes
        params, X = random_case(seed, int(requests["random_rows"]))
        _load(model, params)
        reply["random_eval"] = [_outputs(model, X, "eval") for _ in range(2)]
        reply["random_train"] = [_outputs(model, X, "train") for _ in range(2)]
        routed = routing(seed)
        _load(model, list(routed.params))
        image = routed.x.reshape(1, 1, 28, 28)
        reply["routed_eval"] = _outputs(model, np.repeat(image, int(requests["eval_rows"]), axis=0), "eval")
        batch = np.repeat(image, int(requests["rows"]), axis=0)
        reply["routed_train"] = np.stack([_outputs(model, batch, "train") for _ in range(calls)])
    return reply
