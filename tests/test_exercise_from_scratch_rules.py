"""The "from scratch" rule of lesson 02's judges: PyTorch's dropout fails, however it is reached; honest code,
however unusual, passes.

Learner code is written here as notebook cells: it runs as the kernel would run it, and the
judge receives the cells' text joined by ``scan.join_cells``, as the grader sends it. Without
source (self-study of a class, whose source Python cannot find in a notebook), the class's
bases and the probe's run-time detector still catch library dropout.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dropout_kit import exercises
from dropout_kit.exercises import from_scratch, scan
from dropout_kit.seeding import seed_everything

# The lesson's import cell: not the learner's, so not part of the source the grader reads.
NAMESPACE = {"torch": torch, "nn": nn, "F": F}

CORRECT_BODY = '''
    if not 0 <= p <= 1:
        raise ValueError(f"p must be in [0, 1], got {p}")
    if not training:
        return x
    keep = (torch.rand_like(x) >= p).to(x.dtype)
    scale = 0.0 if p == 1 else 1 / (1 - p)
    return x.mul_(keep * scale) if inplace else x * keep * scale
'''
SIGNATURE = "def dropout(x, p=0.5, training=True, inplace=False):"
LAYER = '''
class Dropout(nn.Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"p must be in [0, 1], got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
'''


def learner(cells: list[str], name: str, run: list[str] | None = None):
    """Run the cells (or ``run``, the Python they stand for) in a fresh namespace; the object and the joined text."""
    namespace = dict(NAMESPACE)
    for code in run if run is not None else cells:
        exec(compile(code, "<learner cell>", "exec"), namespace)
    return namespace[name], scan.join_cells([(str(3 + i), code) for i, code in enumerate(cells)])


def verdict(key: str, obj, source: str | None, seed: int = 0):
    seed_everything(seed)
    return exercises.check(key, obj, source=source, rng=np.random.default_rng(seed))


def failed_rule(key: str, obj, source: str | None) -> str:
    """The from_scratch check's message, after checking it is the only failure."""
    result = verdict(key, obj, source)
    assert [c.name for c in result.failed] == ["from_scratch"], str(result)
    return result["from_scratch"].message


LIBRARY_FUNCTIONS = [
    ("F.dropout", [f"{SIGNATURE}\n    return F.dropout(x, p, training, inplace)"],
     "cell 3, line 2: uses F.dropout"),
    ("torch.dropout", [f"{SIGNATURE}\n    if not 0 <= p <= 1:\n        raise ValueError(p)\n"
                       "    return torch.dropout_(x, p, training) if inplace else torch.dropout(x, p, training)"],
     "cell 3, line 4: uses torch.dropout_"),
    ("native_dropout", [f"{SIGNATURE}\n    if not 0 <= p <= 1:\n        raise ValueError(p)\n"
                        "    out = torch.ops.aten.native_dropout(x, p, training)[0] if training else x\n"
                        "    return x.copy_(out) if inplace else out"],
     "cell 3, line 4: uses torch.ops.aten.native_dropout"),
    ("an alias of nn.functional", ["drop = nn.functional.dropout",
                                   f"{SIGNATURE}\n    return drop(x, p, training, inplace)"],
     "cell 3, line 1: uses nn.functional.dropout"),
    ("a module alias", ["from torch.nn import functional as G",
                        f"{SIGNATURE}\n    return G.dropout(x, p, training, inplace)"],
     "cell 4, line 2: uses G.dropout"),
    ("getattr", [f"{SIGNATURE}\n    return getattr(F, 'dropout')(x, p, training, inplace)"],
     'cell 3, line 2: looks up "dropout" with getattr'),
    ("a helper in another cell", ["def _drop(x, p, training, inplace):\n    return F.dropout(x, p, training, inplace)",
                                  f"{SIGNATURE}\n    return _drop(x, p, training, inplace)"],
     "cell 3, line 2: uses F.dropout"),
    ("a name built at run time", [f"{SIGNATURE}\n    return getattr(F, 'drop' + 'out')(x, p, training, inplace)"],
     "while your code ran, it called torch.nn.functional.dropout"),
]


@pytest.mark.parametrize("cells, reason", [c[1:] for c in LIBRARY_FUNCTIONS], ids=[c[0] for c in LIBRARY_FUNCTIONS])
def test_library_dropout_in_a_function_fails_with_the_reason(cells, reason):
    """Does each way of reaching PyTorch's dropout fail from_scratch alone, saying where and why?"""
    fn, text = learner(cells, "dropout")
    message = failed_rule("dropout_function", fn, text)
    assert reason in message and message.endswith(from_scratch.WRITE_IT)


def test_a_magic_cell_body_is_read():
    """Is F.dropout inside a %%time cell found in the cell's body?"""
    body = f"{SIGNATURE}\n    return F.dropout(x, p, training, inplace)"
    fn, text = learner([f"%%time\n{body}"], "dropout", run=[body])
    assert "cell 3, line 3: uses F.dropout" in failed_rule("dropout_function", fn, text)


LIBRARY_LAYERS = [
    ("a subclass of nn.Dropout", ["class Dropout(nn.Dropout):\n    pass"],
     ["cell 3, line 1: uses nn.Dropout", "Dropout derives from torch.nn.modules.dropout.Dropout"]),
    ("a subclass of _DropoutNd", [SIGNATURE + CORRECT_BODY,
                                  "class Dropout(torch.nn.modules.dropout._DropoutNd):\n"
                                  "    def forward(self, x):\n"
                                  "        return dropout(x, self.p, self.training, self.inplace)"],
     ["cell 4, line 1: uses torch.nn.modules.dropout._DropoutNd",
      "Dropout derives from torch.nn.modules.dropout._DropoutNd"]),
    ("F.dropout in forward", [LAYER.replace("return dropout(x,", "return F.dropout(x,")],
     ["cell 3, line 10: uses F.dropout", "while your code ran, it called torch.nn.functional.dropout"]),
]


@pytest.mark.parametrize("cells, reasons", [c[1:] for c in LIBRARY_LAYERS], ids=[c[0] for c in LIBRARY_LAYERS])
def test_library_dropout_in_a_layer_fails_with_the_reasons(cells, reasons):
    """Does a layer built on PyTorch's dropout fail from_scratch alone, with each reason (source, bases, calls)?"""
    cls, text = learner(cells, "Dropout")
    message = failed_rule("dropout_module", cls, text)
    assert all(reason in message for reason in reasons), message


def test_without_source_the_bases_and_the_detector_still_catch_it():
    """In self-study, where a notebook class has no source, are a subclass of nn.Dropout and a call of F.dropout
    still caught (by the class's bases and the probe's detector)?"""
    cls, _ = learner(LIBRARY_LAYERS[0][1], "Dropout")
    assert "Dropout derives from torch.nn.modules.dropout.Dropout" in failed_rule("dropout_module", cls, None)
    fn, _ = learner(LIBRARY_FUNCTIONS[0][1], "dropout")
    assert "it called torch.nn.functional.dropout" in failed_rule("dropout_function", fn, None)


@pytest.mark.parametrize("cell, reason", [
    ("def broken(:\n    pass", "the grader cannot read your code: cell 4, line 1: does not parse as Python"),
    ("get_ipython().input_transformers_cleanup.append(lambda lines: lines)",
     "the grader cannot read your code: cell 4, line 1: changes how IPython reads cells"),
])
def test_cells_the_grader_cannot_read_fail(cell, reason):
    """Does an unparseable cell, or one that registers an IPython input transformer, fail from_scratch, saying
    the grader cannot read the code?"""
    fn, _ = learner([SIGNATURE + CORRECT_BODY], "dropout")
    text = scan.join_cells([("3", SIGNATURE + CORRECT_BODY), ("4", cell)])
    assert reason in failed_rule("dropout_function", fn, text)


HONEST = {
    "shadowed builtins": ["sum = 0\nmax = 3\nlist = [1, 2]\nlen = None", SIGNATURE + CORRECT_BODY],
    "inspect and printing internals": [
        "import inspect",
        SIGNATURE + "\n    mask = torch.rand_like(x) >= p\n    print('mask', mask.shape, mask.float().mean())\n"
        + CORRECT_BODY.replace("    keep = (torch.rand_like(x) >= p).to(x.dtype)\n", "    keep = mask.to(x.dtype)\n"),
        "print(inspect.signature(dropout))"],
    "helpers in extra cells": [
        "def check_p(p):\n    if not 0 <= p <= 1:\n        raise ValueError(f'bad p {p}')",
        "def keep_mask(x, p):\n    return (torch.rand_like(x) >= p).to(x.dtype)",
        SIGNATURE + "\n    check_p(p)\n    if not training:\n        return x\n"
        "    scale = 0.0 if p == 1 else 1 / (1 - p)\n    mask = keep_mask(x, p) * scale\n"
        "    return x.mul_(mask) if inplace else x * mask"],
    "masked_fill": [SIGNATURE + "\n    if not 0 <= p <= 1:\n        raise ValueError(p)\n    if not training or p == 0:\n"
                    "        return x\n    dropped = torch.rand_like(x) < p\n    if inplace:\n"
                    "        x.masked_fill_(dropped, 0.0)\n        return x if p == 1 else x.div_(1 - p)\n"
                    "    out = x.masked_fill(dropped, 0.0)\n    return out if p == 1 else out / (1 - p)"],
    "torch.where": [SIGNATURE + "\n    if not 0 <= p <= 1:\n        raise ValueError(p)\n    if not training or p == 0:\n"
                    "        return x\n    if p == 1:\n        out = x * 0.0\n    else:\n"
                    "        out = torch.where(torch.rand_like(x) < 1 - p, x / (1 - p), torch.zeros_like(x))\n"
                    "    return x.copy_(out) if inplace else out"],
    "names that sound like dropout": [
        "dropout_rate = 0.5\nmy_dropout_mask = None",
        SIGNATURE + CORRECT_BODY,
        LAYER.replace("self.p, self.inplace = p, inplace", "self.p, self.inplace = p, inplace\n"
                      "        self.dropout = self.Dropout = None  # attributes of the layer's own")],
}


@pytest.mark.parametrize("name", sorted(HONEST))
def test_honest_but_unusual_code_passes(name, capsys):
    """Does correct code pass both judges however it is written: shadowed builtins, inspect, prints, helper cells,
    masked_fill or torch.where, names like self.dropout?"""
    cells = HONEST[name] + ([LAYER] if not any("class Dropout" in c for c in HONEST[name]) else [])
    namespace_fn, text = learner(cells, "dropout")
    cls, _ = learner(cells, "Dropout")
    for seed in range(3):
        assert verdict("dropout_function", namespace_fn, text, seed).passed
        assert verdict("dropout_module", cls, text, seed).passed
    capsys.readouterr()  # the printing cells print
