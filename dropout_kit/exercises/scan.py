"""A trusted-side reading of the learner's code, for exercises with rules about it.

Some exercises forbid a shortcut: lesson 02 must not call PyTorch's own dropout, lesson 07
must not delegate to the course's reference metrics or to scikit-learn. The judge reads the
learner's code as text, in the grader's process, and reports each use it finds. The scan
never runs the code, so nothing the learner's kernel does can change what it sees.

What it catches: attribute access to a forbidden name through an imported module or an alias
(``F.dropout``, ``torch.nn.Dropout``, ``torch.nn.modules.dropout._DropoutNd``), a class derived
from one, ``from m import name`` of one, ``getattr(m, "name")`` and ``__import__`` /
``importlib.import_module`` with a literal name, imports of forbidden modules, cells that do
not parse as Python (the scan cannot read them), and registering IPython input transformers
(which change what a cell means). Bodies of cell magics (``%%time``, ``%%capture``,
``%%writefile``) are read too. What it cannot catch: a name built at run time
(``getattr(F, "drop" + "out")``), code fetched or decoded at run time. The probe's run-time
detector (``detect.py``) sees some of those in self-study, but it runs in the learner's
process and can be undone there; the autograder's README states this limit.

``source`` is text; cells are separated by lines ``# %% cell N`` (the grader writes them),
and a finding names its cell and line.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

# [ \t]*, not \s*: a cell that starts with an empty line must keep it, or its line numbers shift.
CELL_MARK = re.compile(r"^# %% cell (\S+)[ \t]*$", re.MULTILINE)
# Names through which library objects are usually reached, besides what the code imports itself.
USUAL_ROOTS = frozenset({"torch", "nn", "F", "functional", "np", "numpy", "sklearn", "dropout_kit"})
TRANSFORMER_ATTRS = frozenset({"input_transformers_cleanup", "input_transformers_post", "input_transformer_manager",
                                "register_magic_function", "register_magics"})
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "writefile", "file"})


@dataclass(frozen=True)
class Finding:
    """One use of something the exercise forbids, or a cell the scan cannot read."""

    cell: str
    line: int
    kind: str  # "name", "module", "unparseable", "transformer"
    what: str

    def __str__(self) -> str:
        where = f"cell {self.cell}, line {self.line}" if self.cell else f"line {self.line}"
        return f"{where}: {self.what}"


def join_cells(cells: list[tuple[str, str]]) -> str:
    """Source text of several cells, each marked so that findings can name it."""
    return "\n".join(f"# %% cell {label}\n{code}" for label, code in cells)


def split_cells(source: str) -> list[tuple[str, str]]:
    """Inverse of ``join_cells``; text without marks is one cell with an empty label."""
    marks = list(CELL_MARK.finditer(source))
    if not marks:
        return [("", source)]
    # join_cells puts one newline before each mark: it belongs to neither cell.
    return [(m.group(1), source[m.end() + 1: marks[i + 1].start() - 1 if i + 1 < len(marks) else len(source)])
            for i, m in enumerate(marks)]


def as_python(code: str) -> str:
    """IPython syntax (magics, ``!``, ``?``) as the Python it runs; plain Python unchanged."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # without IPython, only plain Python can be read
        return code
    # IPython drops a cell's leading empty lines; keep them, so line numbers stay the cell's own.
    lines = code.splitlines(keepends=True)
    blank = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    try:
        return "\n" * blank + TransformerManager().transform_cell("".join(lines[blank:]))
    except Exception:  # IPython's transformers raise on some broken input: treat as unparseable
        return code


def _chain(node: ast.AST) -> list[str] | None:
    """``a.b.c`` as ["a", "b", "c"]; None when the chain does not start at a plain name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


class _Reader(ast.NodeVisitor):
    def __init__(self, cell: str, attrs: frozenset, modules: tuple[str, ...], roots: set[str]):
        self.cell, self.attrs, self.modules, self.roots = cell, attrs, modules, roots
        self.found: list[Finding] = []

    def add(self, node: ast.AST, kind: str, what: str) -> None:
        self.found.append(Finding(self.cell, getattr(node, "lineno", 0), kind, what))

    def forbidden_module(self, name: str) -> bool:
        return any(name == m or name.startswith(m + ".") for m in self.modules)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if self.forbidden_module(alias.name):
                self.add(node, "module", f"imports {alias.name}")
            bad = [part for part in alias.name.split(".") if part in self.attrs]
            if bad:
                self.add(node, "name", f"imports {alias.name}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if self.forbidden_module(module):
            self.add(node, "module", f"imports from {module}")
        for alias in node.names:
            if alias.name in self.attrs or any(part in self.attrs for part in module.split(".")):
                self.add(node, "name", f"imports {alias.name} from {module}")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain = _chain(node)
        if chain is not None and chain[0] in self.roots:
            bad = [part for part in chain[1:] if part in self.attrs]
            if bad:
                self.add(node, "name", f"uses {'.'.join(chain)}")
                return  # one finding per chain, not one per prefix
        if node.attr in TRANSFORMER_ATTRS:
            self.add(node, "transformer", f"changes how IPython reads cells ({node.attr})")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = _chain(node.func) or []
        literal = _literal(node.args[1]) if func[-1:] == ["getattr"] and len(node.args) > 1 else None
        if literal in self.attrs:
            self.add(node, "name", f'looks up "{literal}" with getattr')
        if func[-1:] in (["__import__"], ["import_module"]) and node.args:
            name = _literal(node.args[0])
            if name and (self.forbidden_module(name) or any(p in self.attrs for p in name.split("."))):
                self.add(node, "module", f"imports {name} at run time")
        callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if callee == "run_cell_magic":  # get_ipython().run_cell_magic(name, line, body)
            self.cell_magic(node)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        literal = _literal(node.slice)
        if literal in self.attrs:
            self.add(node, "name", f'looks up "{literal}" by subscript')
        self.generic_visit(node)

    def cell_magic(self, node: ast.Call) -> None:
        magic = _literal(node.args[0]) if node.args else None
        body = _literal(node.args[2]) if len(node.args) > 2 else None
        if body is None:
            return
        try:
            tree = ast.parse(as_python(body))
        except SyntaxError:
            if magic in _PYTHON_CELL_MAGICS:
                self.add(node, "unparseable", f"the body of %%{magic} does not parse as Python")
            return
        inner = _Reader(self.cell, self.attrs, self.modules, self.roots | _imported(tree))
        inner.visit(tree)
        # The body starts on the line after the magic's: findings name the cell's own lines.
        self.found.extend(Finding(f.cell, f.line + node.lineno, f.kind, f.what) for f in inner.found)


def _imported(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.update(a.asname or a.name for a in node.names)
    return names


def findings(source: str | None, *, attrs=frozenset(), modules=frozenset(), roots=frozenset()) -> list[Finding]:
    """Every use of a forbidden attribute name or module in ``source``, and every unreadable cell.

    Args:
        source: the learner's code (cells joined by ``join_cells``), or None (nothing found).
        attrs: names that must not be reached through a module, e.g. {"dropout", "Dropout"}.
        modules: modules that must not be imported, e.g. {"sklearn"} (submodules included).
        roots: further names that hold modules, beyond ``USUAL_ROOTS`` and what ``source``
            imports: those a lesson's own cells import (``metrics``, ``tuning``), which the
            source a judge receives may not include.
    """
    if not source:
        return []
    attrs, modules = frozenset(attrs), tuple(modules)
    parsed, out = [], []
    for label, code in split_cells(source):
        try:
            parsed.append((label, ast.parse(as_python(code))))
        except SyntaxError as exc:
            out.append(Finding(label, exc.lineno or 0, "unparseable", "does not parse as Python, so the grader "
                               "cannot read it; fix or delete it"))
    roots = set(USUAL_ROOTS) | set(roots)
    for _, tree in parsed:
        roots |= _imported(tree)
    for label, tree in parsed:
        reader = _Reader(label, attrs, modules, roots)
        reader.visit(tree)
        out.extend(reader.found)
    return out


def _callee(node: ast.Call) -> str | None:
    """A call's callee as dotted text (``torch.autograd.grad``, ``y.backward``), or None when it is computed."""
    chain = _chain(node.func)
    if chain is not None:
        return ".".join(chain)
    if isinstance(node.func, ast.Attribute):  # e.g. f(x).backward(): name the method only
        return f"(...).{node.func.attr}"
    return None


def calls_in_classes(source: str | None, *, calls, defining: str = "backward") -> list[Finding]:
    """Calls whose last name is in ``calls`` inside the methods of classes that define ``defining``.

    Lesson 09 asks for a backward pass written by hand: a class that defines ``backward``
    (a ``torch.autograd.Function``) must not hand its derivative back to autograd
    (``torch.autograd.grad``, ``y.backward()``, ``torch.func.vjp``). Calls elsewhere in the
    learner's cells (a training loop, a gradient check) are not its business. Cells that do not
    parse are skipped here: ``findings`` reports them.
    """
    if not source:
        return []
    calls = frozenset(calls)
    out = []
    for label, code in split_cells(source):
        try:
            tree = ast.parse(as_python(code))
        except SyntaxError:
            continue
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            methods = [n for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
            if defining not in {m.name for m in methods}:
                continue
            for method in methods:
                for node in ast.walk(method):
                    callee = _callee(node) if isinstance(node, ast.Call) else None
                    if callee and callee.rsplit(".", 1)[-1] in calls:
                        out.append(Finding(label, node.lineno, "call", f"{cls.name}.{method.name} calls {callee}"))
    return out
