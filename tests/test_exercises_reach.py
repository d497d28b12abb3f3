"""Tests of which learner code a graded object reaches: the source rules look only there."""

import pytest
import torch

from dropout_kit import exercises
from dropout_kit.exercises import reach, scan

DROPOUT = {"dropout", "Dropout"}
IMPORTS = ("1", "import torch\nimport torch.nn.functional as F\nfrom torch import nn")
OWN = ("2", "def dropout(x, p=0.5, training=True, inplace=False):\n"
            "    if not training or p == 0:\n        return x\n"
            "    return x * (torch.rand_like(x) >= p) / (1 - p)")


def found(cells, target="dropout"):
    return [str(f) for f in scan.findings(reach.relevant(scan.join_cells(cells), target), attrs=DROPOUT)]


def test_a_comparison_cell_is_not_the_graded_code():
    """Is F.dropout used only to compare with the learner's own function left out of the rule?"""
    compare = ("3", "y = F.dropout(torch.ones(8), 0.5)\nprint(dropout(torch.ones(8)).mean(), y.mean())")
    assert found([IMPORTS, OWN, compare]) == []


@pytest.mark.parametrize("cells, expected", [
    ([IMPORTS, ("2", "def helper(x, p):\n    return F.dropout(x, p)"),
      ("3", "def dropout(x, p=0.5, training=True, inplace=False):\n    return helper(x, p)")],
     "cell 2, line 2: uses F.dropout"),
    ([IMPORTS, OWN, ("3", "dropout = F.dropout")], "cell 3, line 1: uses F.dropout"),
    ([IMPORTS, ("2", "fast = F.dropout"), ("3", "def dropout(x, p=0.5, training=True, inplace=False):\n"
                                                "    return fast(x, p)")], "cell 2, line 1: uses F.dropout"),
    ([IMPORTS, OWN, ("3", "dropout.__code__ = F.dropout.__code__")], "cell 3, line 1: uses F.dropout.__code__"),
    ([IMPORTS, OWN, ("3", "x = 1\nsetattr(dropout, '__code__', F.dropout.__code__)")],
     "cell 3, line 2: uses F.dropout.__code__"),
    ([IMPORTS, ("2", "%%time\ndef dropout(x, p=0.5, training=True, inplace=False):\n    return F.dropout(x, p)")],
     "cell 2, line 3: uses F.dropout"),
])
def test_code_the_graded_function_reaches_is_read(cells, expected):
    """Are helpers, aliases, later rebindings, in-place changes and opaque statements still read?"""
    assert expected in found(cells)


def test_a_replaced_definition_no_longer_counts():
    """Does a first attempt with F.dropout, replaced by a later definition, stop counting?"""
    first = ("2", "def dropout(x, p=0.5, training=True, inplace=False):\n    return F.dropout(x, p)")
    assert found([IMPORTS, first, ("3", OWN[1])]) == []


def test_unreadable_cells_and_transformers_are_always_kept():
    """Are a cell that does not parse and an input transformer kept, so that the scan reports them?"""
    kinds = [f.kind for f in scan.findings(reach.relevant(scan.join_cells(
        [IMPORTS, OWN, ("3", "def (:"), ("4", "get_ipython().input_transformers_cleanup.append(f)")]), "dropout"))]
    assert kinds == ["unparseable", "transformer"]


def test_without_a_definition_everything_is_read():
    """When no cell defines the target, is the whole source read (nothing can be ruled out)?"""
    cells = [IMPORTS, ("2", "globals()['drop' + 'out'] = F.dropout")]
    assert found(cells) == ["cell 2, line 1: uses F.dropout"]
    assert reach.relevant(None, "dropout") is None and reach.relevant("", "dropout") == ""


def test_line_numbers_are_kept():
    """Do blanked statements keep their lines, so that findings name the learner's own lines?"""
    text = reach.relevant(scan.join_cells([IMPORTS, ("2", "a = 1\nb = 2\n" + OWN[1])]), "dropout")
    assert scan.split_cells(text)[1][1].split("\n")[:3] == ["", "", "def dropout(x, p=0.5, training=True, inplace=False):"]


def test_self_study_and_grading_agree_on_a_comparison_cell():
    """Does the lesson-02 judge pass an own dropout whose notebook also compares it with F.dropout?"""
    source = scan.join_cells([IMPORTS, OWN, ("3", "print(torch.equal(F.dropout(torch.ones(3), 0.0), torch.ones(3)))")])

    def dropout(x, p=0.5, training=True, inplace=False):
        if not 0 <= p <= 1:
            raise ValueError(f"p must be in [0, 1], got {p}")
        if not training or p == 0:
            return x
        mask = (torch.rand_like(x) >= p).to(x.dtype) / (1 - p) if p < 1 else torch.zeros_like(x)
        return x.mul_(mask) if inplace else x * mask

    assert exercises.check("dropout_function", dropout, source=source).passed


FORGED_RESPOND = ("3", "from dropout_kit.exercises import kernel as probe_kernel\n"
                       "def _forged(key, obj, payload):\n    return F.dropout(obj, 0.5)\n"
                       "probe_kernel.respond = _forged")
HOOK = ("3", "def _after(result):\n    publish(F.dropout(x))\n"
             "get_ipython().events.register('post_run_cell', _after)")


@pytest.mark.parametrize("cells, expected", [
    ([IMPORTS, OWN, FORGED_RESPOND], "cell 3, line 3: uses F.dropout"),
    ([IMPORTS, OWN, HOOK], "cell 3, line 2: uses F.dropout"),
    ([IMPORTS, OWN, ("3", "get_ipython().events.register('post_run_cell', lambda r: F.dropout(x))")],
     "cell 3, line 1: uses F.dropout"),
    ([IMPORTS, OWN, ("3", "import threading\ndef _later():\n    return F.dropout(x)\n"
                          "threading.Thread(target=_later).start()")], "cell 3, line 3: uses F.dropout"),
    ([IMPORTS, OWN, ("3", "class _Finalizer:\n    def __del__(self):\n        probe_kernel.respond = F.dropout\n"
                          "_Finalizer()")], "cell 3, line 3: uses F.dropout"),
    ([IMPORTS, OWN, ("3", "def _fake(*args):\n    return F.dropout(x)\nget_ipython().display_pub.publish = _fake")],
     "cell 3, line 2: uses F.dropout"),
    ([IMPORTS, OWN, ("3", "probe_kernel.__setattr__('respond', lambda key, obj, payload: F.dropout(obj))")],
     "cell 3, line 1: uses F.dropout"),
    ([IMPORTS, OWN, ("3", "def _swap():\n    global dropout\n    dropout = F.dropout\n_swap()")],
     "cell 3, line 3: uses F.dropout"),
    ([IMPORTS, OWN, ("3", "import functools\n@functools.lru_cache\ndef _impl():\n    return F.dropout")],
     "cell 3, line 4: uses F.dropout"),
    ([IMPORTS, OWN, ("3", "ref = F.dropout"), ("4", "def _after(r):\n    globals()['re' + 'f'](r)\n"
                                                     "get_ipython().events.register('post_run_cell', _after)")],
     "cell 3, line 1: uses F.dropout"),
])
def test_code_that_can_run_during_the_probe_is_read(cells, expected):
    """Are hooks, replacements of the probe's code (by assignment, by __setattr__, of a call's result), threads,
    finalizers, global rebindings and decorated functions read, though the graded function never calls them
    (they can forge the probe's reply)?"""
    assert expected in found(cells)


@pytest.mark.parametrize("decoy", ["_ = [dropout for dropout in ()]", "lambda dropout: dropout",
                                   "def other(dropout=1):\n    dropout = 2"])
def test_names_of_comprehensions_and_functions_are_their_own(decoy):
    """Does a comprehension variable or a parameter named like the target leave the real definition counted?"""
    delegating = ("2", "def dropout(x, p=0.5, training=True, inplace=False):\n    return F.dropout(x, p)")
    assert "cell 2, line 2: uses F.dropout" in found([IMPORTS, delegating, ("3", decoy)])


def test_a_definition_inside_a_block_counts():
    """Does a def inside an if block, the notebook's last definition of the target, count?"""
    block = ("3", "if True:\n    def dropout(x, p=0.5, training=True, inplace=False):\n        return F.dropout(x, p)")
    assert found([IMPORTS, OWN, block]) == ["cell 3, line 3: uses F.dropout"]


def test_a_helper_only_called_at_once_is_not_the_graded_code():
    """Is a helper that compares with F.dropout, defined and called in a cell of its own, left out of the rule?"""
    compare = ("3", "def compare(x):\n    return torch.equal(dropout(x, 0.0), F.dropout(x, 0.0))\n"
                    "print(compare(torch.ones(3)))")
    assert found([IMPORTS, OWN, compare]) == []


def test_a_class_only_built_is_not_the_graded_functions_code():
    """Is a layer derived from nn.Dropout (the layer exercise's fault) left out of the function's rule?"""
    layer = ("3", "class Dropout(nn.Dropout):\n    pass")
    assert found([IMPORTS, OWN, layer]) == []
    assert found([IMPORTS, OWN, layer], target="Dropout") == ["cell 3, line 1: uses nn.Dropout"]
