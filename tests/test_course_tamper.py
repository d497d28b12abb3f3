"""The static tampering scan of dropout_kit.course.tamper."""

import pytest

from dropout_kit.course.tamper import Finding, imported_names, scan

INSTRUCTOR = [
    "import torch\nfrom torch import nn\nimport torch.nn.functional as F\nfrom dropout_kit import checks",
]
TRUSTED = imported_names(INSTRUCTOR)


def findings(source: str) -> list[str]:
    return [f.what for f in scan([(3, source)], TRUSTED)]


def test_imported_names():
    """Are the names the instructor imports mapped to what they import?"""
    assert TRUSTED == {"torch": "torch", "nn": "torch.nn", "F": "torch.nn.functional",
                       "checks": "dropout_kit.checks"}


@pytest.mark.parametrize("source", [
    # a correct dropout function and module, as learners write them
    "def dropout(x, p=0.5, training=True, inplace=False):\n"
    "    if not training or p == 0:\n        return x\n"
    "    mask = (torch.rand_like(x) > p).to(x.dtype)\n    return x * mask / (1 - p)",
    "class Dropout(nn.Module):\n    def __init__(self, p=0.5):\n        super().__init__()\n"
    "        self.p = p\n    def forward(self, x):\n        return F.dropout(x, self.p, self.training)\n"
    "    def extra_repr(self):\n        return f'p={self.p}'",
    "answer_purpose = 'B'",
    "answer_f1 = 2 * 85 / (2 * 85 + 10 + 15)",
    "import torch\nfrom torch import nn",  # importing again what the lesson imports
    "x = torch.zeros(3)\nx.requires_grad = True\nlayers = [nn.Linear(2, 2)]\nlayers[0].weight.data[:] = 0",
    "def f(torch):\n    sum = torch + 1\n    return sum",  # local names may shadow anything
    "%timeit torch.zeros(3)",
    "with open('notes.txt') as handle:\n    text = handle.read()",
    "raise NotImplementedError()",
    "def broken(:\n    pass",  # a syntax error is the kernel's to report
])
def test_honest_code_is_not_flagged(source):
    """Does code that learners write in these lessons pass the scan?"""
    assert findings(source) == []


@pytest.mark.parametrize("source, what", [
    ("torch.allclose = lambda *a, **k: True", "rebinds torch.allclose, part of something imported"),
    ("checks.check_dropout_function = lambda fn: None",
     "rebinds checks.check_dropout_function, part of something imported"),
    ("nn.Module.train = lambda self, mode=True: self", "rebinds nn.Module.train, part of something imported"),
    ("t = torch\nt.equal = lambda a, b: True", "rebinds t.equal, part of something imported"),
    ("import dropout_kit.checks as c\nc.check_dropout_module = print",
     "rebinds c.check_dropout_module, part of something imported"),
    ("del torch.allclose", "deletes torch.allclose, part of something imported"),
    ("type(torch.zeros(1)).__eq__ = lambda a, b: True", "rebinds type(torch.zeros(1)).__eq__"),
    ("checks = None", "rebinds checks, which the tests use"),
    ("import numpy as torch", "rebinds torch to numpy, which the tests use"),
    ("def isinstance(obj, cls):\n    return True", "redefines isinstance, which the tests use"),
    ("def f():\n    global checks\n    checks = 1", "declares checks global, which the tests use"),
    ("setattr(torch, 'allclose', print)", "uses setattr"),
    ("exec('x = 1')", "uses exec"),
    ("f = lambda: 1\nf.__code__ = (lambda: 2).__code__", "uses f.__code__"),
    ("import ctypes", "imports ctypes"),
    ("from unittest import mock", "imports unittest"),
    ("import sys\nsys.modules['torch'] = None", "uses sys.modules"),
    ("import os\nos._exit(1)", "uses os._exit"),
    ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)", "imports signal"),
    ("open('/tmp/x', 'w').write('1')", "opens a file for writing"),
    ("from pathlib import Path\nPath('checks.py').write_text('')", "calls .write_text(), which changes files"),
    ("!rm -rf /", "runs a shell command"),
    ("%run evil.py", "runs the magic %run"),
    ("getattr(torch, '__dict__')", "reads __dict__ through getattr"),
])
def test_tampering_is_flagged(source, what):
    """Is each way of tampering with what the tests use flagged, with a message saying what it does?"""
    assert what in findings(source)


def test_finding_says_where():
    """Does a finding name its cell and line?"""
    [finding] = scan([(7, "x = 1\ntorch.equal = max")], TRUSTED)
    assert finding == Finding(7, 2, "rebinds torch.equal, part of something imported")
    assert str(finding) == "cell 7, line 2: rebinds torch.equal, part of something imported"
