"""The part of a learner's code that a graded object can reach.

Rules such as "no PyTorch dropout" are about the graded function, not about every cell of the
notebook: a learner who compares their ``dropout`` with ``F.dropout`` in a cell of their own has
done nothing wrong. ``relevant(source, target)`` keeps the top-level statements that define or
change ``target``, then those that define or change a name those statements use, and so on; every
other statement is blanked out, so that findings keep their cell and line numbers.

It errs on the side of keeping code: a cell that does not parse is kept whole (the scan reports it
as unreadable), so is a statement that calls ``exec``, ``eval``, ``compile``, ``setattr``,
``globals``, ``vars`` or ``__import__`` or registers an IPython input transformer (what it changes
cannot be read), and so is everything when nothing defines the target at all. A cell with a cell
magic counts as one statement. As Python runs cells in order, only a name's last definition
counts, while every in-place change (``x.attr = ...``) counts.
"""

from __future__ import annotations

import ast

from dropout_kit.exercises.scan import TRANSFORMER_ATTRS, as_python, join_cells, split_cells

_OPAQUE = frozenset({"exec", "eval", "compile", "setattr", "delattr", "globals", "vars", "__import__"})


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _binds(node: ast.stmt) -> tuple[set[str], set[str]]:
    """Names a top-level statement (re)defines (``x = ...``, ``def x``, imports), and names it changes
    in place (``x.attr = ...``, ``x[k] = ...``, ``x += ...``)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}, set()
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}, set()
    defined, changed = set(), set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.AugAssign):
            changed.add(_root(sub.target))
        elif isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            defined.add(sub.id)
        elif isinstance(sub, (ast.Attribute, ast.Subscript)) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            changed.add(_root(sub))
    return defined - {None}, changed - {None}


def _uses(node: ast.stmt) -> set[str]:
    """Names a statement reads from the notebook's globals (a function's own locals excluded)."""
    loaded = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        local = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        for sub in ast.walk(node):
            if isinstance(sub, ast.arguments):
                local |= {a.arg for a in sub.posonlyargs + sub.args + sub.kwonlyargs}
                local |= {a.arg for a in (sub.vararg, sub.kwarg) if a is not None}
        loaded -= local
    return loaded


def _opaque(node: ast.AST) -> bool:
    """Does the statement change things the scan cannot follow (exec, setattr, IPython's input transformers)?"""
    return any((isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in _OPAQUE)
               or (isinstance(n, ast.Attribute) and n.attr in TRANSFORMER_ATTRS) for n in ast.walk(node))


class _Unit:
    """A piece of a cell: its line span, the names it defines or changes, and the names it uses."""

    def __init__(self, cell: int, first: int, last: int, binds: tuple[set, set], uses: set, keep: bool):
        self.cell, self.first, self.last = cell, first, last
        (self.defines, self.changes), self.uses, self.keep = binds, uses, keep


def _units(cells: list[tuple[str, str]]) -> list[_Unit]:
    units = []
    for index, (_, code) in enumerate(cells):
        python = as_python(code)
        lines = code.count("\n") + 1
        try:
            tree = ast.parse(python)
        except SyntaxError:
            units.append(_Unit(index, 1, lines, (set(), set()), set(), keep=True))
            continue
        if python.rstrip("\n").count("\n") != code.rstrip("\n").count("\n"):  # a cell magic: one unit
            inner = _magic_body(tree)
            body = list(inner.body) if inner is not None else list(tree.body)
            defined, changed = set(), set()
            for node in body:
                d, c = _binds(node)
                defined, changed = defined | d, changed | c
            uses = set().union(set(), *(_uses(n) for n in body))
            units.append(_Unit(index, 1, lines, (defined, changed), uses, keep=any(_opaque(n) for n in body)))
            continue
        for node in tree.body:
            units.append(_Unit(index, node.lineno, node.end_lineno or node.lineno, _binds(node), _uses(node),
                               keep=_opaque(node)))
    return units


def _magic_body(tree: ast.Module) -> ast.Module | None:
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "run_cell_magic" and len(node.args) > 2
                and isinstance(node.args[2], ast.Constant) and isinstance(node.args[2].value, str)):
            try:
                return ast.parse(as_python(node.args[2].value))
            except SyntaxError:
                return None
    return None


def relevant(source: str | None, target: str) -> str | None:
    """``source`` with every top-level statement that ``target`` cannot reach blanked out."""
    if not source:
        return source
    cells = split_cells(source)
    units = _units(cells)
    if not any(target in u.defines for u in units):
        return source  # nothing defines the target where the scan can see it: read everything
    # As Python runs the cells in order, only a name's last definition counts; changes all count.
    last = {name: i for i, unit in enumerate(units) for name in unit.defines}
    wanted, kept = {target}, {i for i, u in enumerate(units) if u.keep}
    for i in kept:
        wanted |= units[i].uses
    grew = True
    while grew:
        grew = False
        for i, unit in enumerate(units):
            counts = {n for n in unit.defines if last[n] == i} | unit.changes
            if i not in kept and counts & wanted:
                kept.add(i)
                wanted |= unit.uses
                grew = True
    out = []
    for index, (label, code) in enumerate(cells):
        lines = code.split("\n")
        keep = [False] * len(lines)
        for i in kept:
            if units[i].cell == index:
                for line in range(units[i].first - 1, min(units[i].last, len(lines))):
                    keep[line] = True
        out.append((label, "\n".join(line if k else "" for line, k in zip(lines, keep))))
    return join_cells(out) if source.startswith("# %% cell") else out[0][1]
