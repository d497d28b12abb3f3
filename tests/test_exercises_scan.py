"""Tests of the trusted-side source scan: forbidden library uses found, honest code left alone."""

import pytest

from dropout_kit.exercises import scan

DROPOUT = {"dropout", "Dropout", "native_dropout", "alpha_dropout", "dropout2d"}


def found(cells, **rules):
    return [(f.kind, str(f)) for f in scan.findings(scan.join_cells(cells), **rules)]


@pytest.mark.parametrize("code, expected", [
    ("y = F.dropout(x, p)", "line 1: uses F.dropout"),
    ("y = torch.nn.functional.dropout(x)", "line 1: uses torch.nn.functional.dropout"),
    ("y = torch.dropout(x, 0.5, True)", "line 1: uses torch.dropout"),
    ("y = torch.ops.aten.native_dropout(x, 0.5, True)", "line 1: uses torch.ops.aten.native_dropout"),
    ("class D(nn.Dropout):\n    pass", "line 1: uses nn.Dropout"),
    ("class D(torch.nn.modules.dropout._DropoutNd):\n    pass", "line 1: uses torch.nn.modules.dropout._DropoutNd"),
    ("from torch.nn.functional import dropout as d", "line 1: imports dropout from torch.nn.functional"),
    ("import torch.nn.functional as G\nG.alpha_dropout(x)", "line 2: uses G.alpha_dropout"),
    ("f = getattr(F, 'dropout')", 'line 1: looks up "dropout" with getattr'),
    ("f = F.__dict__['dropout']", 'line 1: looks up "dropout" by subscript'),
    ("%%time\ny = F.dropout2d(x)", "line 2: uses F.dropout2d"),
    ("\n\ny = F.dropout(x)", "line 3: uses F.dropout"),
])
def test_library_dropout_is_found(code, expected):
    """Is each way of reaching PyTorch's dropout reported with its cell and line?"""
    assert ("name", f"cell 4, {expected}") in found([("4", code)], attrs=DROPOUT)


@pytest.mark.parametrize("code", [
    "def dropout(x, p=0.5, training=True, inplace=False):\n    mask = torch.empty_like(x).bernoulli_(1 - p)\n    return x * mask / (1 - p)",
    "class Dropout(nn.Module):\n    def forward(self, x):\n        return dropout(x, self.p, self.training, self.inplace)",
    "self.dropout = Dropout(0.5)\nmodel = nn.Sequential(nn.Linear(4, 4), Dropout(p=0.5))",
    "sum = 0\nmax = 3\nlist = [1, 2]\nimport inspect\nprint(vars(model))",
    "print('dropout is fun')  # F.dropout in a comment",
    "%time y = dropout(x, 0.5)\n!ls",
])
def test_honest_code_has_no_findings(code):
    """Is ordinary learner code (own dropout, shadowed builtins, inspect, magics, comments) left alone?"""
    assert found([("3", code)], attrs=DROPOUT) == []


def test_forbidden_modules_and_unreadable_cells():
    """Are imports of a forbidden module, unparseable cells and input transformers reported?"""
    result = found([("1", "import sklearn.metrics as m"), ("2", "from sklearn import metrics"),
                    ("3", "importlib.import_module('sklearn.metrics')"), ("4", "def f(:\n    pass"),
                    ("5", "get_ipython().input_transformers_cleanup.append(rewrite)"),
                    ("6", "%%time\ndef (:")], modules={"sklearn"})
    assert result == [
        ("unparseable", "cell 4, line 1: does not parse as Python, so the grader cannot read it; fix or delete it"),
        ("module", "cell 1, line 1: imports sklearn.metrics"), ("module", "cell 2, line 1: imports from sklearn"),
        ("module", "cell 3, line 1: imports sklearn.metrics at run time"),
        ("transformer", "cell 5, line 1: changes how IPython reads cells (input_transformers_cleanup)"),
        ("unparseable", "cell 6, line 1: the body of %%time does not parse as Python"),
    ]


def test_roots_name_modules_the_source_does_not_import():
    """Are names given as roots (a lesson's own imports) read as modules, and others left alone?"""
    cells = [("9", "y = metrics.precision_recall_f1(cm)\nz = table.precision_recall_f1")]
    assert found(cells, attrs={"precision_recall_f1"}) == []
    assert found(cells, attrs={"precision_recall_f1"}, roots={"metrics"}) == [
        ("name", "cell 9, line 1: uses metrics.precision_recall_f1")]


def test_cells_split_back_and_plain_text_is_one_cell():
    """Do join_cells and split_cells round-trip, and is unmarked text one unnamed cell?"""
    cells = [("3", "a = 1\n"), ("10", "b = 2\nc = 3"), ("11", "\n\nd = 4\n\n")]
    assert scan.split_cells(scan.join_cells(cells)) == cells
    assert scan.split_cells("x = 1") == [("", "x = 1")]
    assert scan.findings(None, attrs=DROPOUT) == [] and scan.findings("", attrs=DROPOUT) == []
    [finding] = scan.findings("y = F.dropout(x)", attrs=DROPOUT)
    assert str(finding) == "line 1: uses F.dropout"


AUTOGRAD = {"backward", "grad", "vjp"}
FUNCTION = """class DropoutFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, p, training):
        y = x * 2
        return y

    @staticmethod
    def backward(ctx, grad_output):
{body}
"""


@pytest.mark.parametrize("body, expected", [
    ("        return torch.autograd.grad(y, x, grad_output)[0], None, None",
     "cell 2, line 9: DropoutFunction.backward calls torch.autograd.grad"),
    ("        ctx.y.backward(grad_output)\n        return None, None, None",
     "cell 2, line 9: DropoutFunction.backward calls ctx.y.backward"),
    ("        return f(grad_output).backward(), None, None",
     "cell 2, line 9: DropoutFunction.backward calls (...).backward"),
    ("        from torch.autograd import grad\n        return grad(y, x)[0], None, None",
     "cell 2, line 10: DropoutFunction.backward calls grad"),
])
def test_autograd_calls_inside_a_function_class_are_found(body, expected):
    """Is a call that hands the derivative back to autograd, inside a class that defines backward, reported?"""
    source = scan.join_cells([("1", "import torch"), ("2", FUNCTION.format(body=body))])
    assert [str(f) for f in scan.calls_in_classes(source, calls=AUTOGRAD)] == [expected]


def test_autograd_calls_elsewhere_are_left_alone():
    """Are .backward() and autograd.grad in a training loop, or in a module without backward, not reported?"""
    source = scan.join_cells([
        ("1", FUNCTION.format(body="        return grad_output * 2, None, None")),
        ("2", "loss = model(X).sum()\nloss.backward()\ng = torch.autograd.grad(loss, [w])"),
        ("3", "class Net(nn.Module):\n    def forward(self, x):\n        x.sum().backward()\n        return x"),
        ("4", "def broken(:"),
    ])
    assert scan.calls_in_classes(source, calls=AUTOGRAD) == []
    assert scan.calls_in_classes(None, calls=AUTOGRAD) == []
