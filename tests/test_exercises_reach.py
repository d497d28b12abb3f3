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
