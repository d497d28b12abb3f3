"""The part of a learner's code that a graded object can reach, or that can run while it is probed.

Rules such as "no PyTorch dropout" are about the graded function, not about every cell of the
notebook: a learner who compares their ``dropout`` with ``F.dropout`` in a cell of their own has
done nothing wrong. ``relevant(source, target)`` keeps the top-level statements that define or
change ``target``, then those that define or change a name those statements use, and so on; every
other statement is blanked out, so that findings keep their cell and line numbers.

Code can also run during the probe without ``target`` reaching it: a replaced
``kernel.respond``, a hook IPython calls after each cell, a trace function, a thread. Such code
can forge the probe's reply. So the search also starts from every piece of code that can run
later: each function or class used as a value (passed, stored, decorated) rather than only
called, or with side effects of its own (``global``, changes to names that are not its own);
each statement holding a lambda; and each statement that changes something the learner's code
did not make (an imported module, a name the lesson's cells define, a call's result:
``kernel.respond = forged``). Only code that runs at once and that nothing kept uses, such as a
comparison cell, is left out. (The grader adds its own rule: it takes only a probe call's one
reply, from a call that ended normally.)

It errs on the side of keeping code: a cell that does not parse is kept whole (the scan reports it
as unreadable), so is a statement that calls ``exec``, ``eval``, ``compile``, ``setattr``,
``globals``, ``vars`` or ``__import__`` or registers an IPython input transformer (what it changes
cannot be read), and so is everything when nothing defines the target at all, or when kept code
that may run later reaches names in a way the scan cannot follow. A cell with a cell magic
counts as one statement. As Python runs cells in order, only a name's last definition counts,
while every in-place change (``x.attr = ...``) counts. Names bound inside comprehensions,
functions and lambdas are their own, not the notebook's.
"""

from __future__ import annotations

import ast

from dropout_kit.exercises.scan import TRANSFORMER_ATTRS, as_python, join_cells, split_cells

_OPAQUE = frozenset({"exec", "eval", "compile", "setattr", "delattr", "globals", "vars", "__import__"})
# Attributes through which a call changes an object as an assignment would (obj.__setattr__("respond", f)).
_STORE_ATTRS = frozenset({"__setattr__", "__delattr__", "__dict__"})
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_CALLABLES = (*_DEFS, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _scoped(node: ast.AST, inner: bool = False, comprehension: bool = False):
    """``(node, inside a callable's body, inside a comprehension)`` for ``node`` and everything under it."""
    yield node, inner, comprehension
    for child in ast.iter_child_nodes(node):
        yield from _scoped(child, inner or isinstance(node, _CALLABLES),
                           comprehension or isinstance(node, _COMPREHENSIONS))


def _binds(node: ast.stmt) -> tuple[set[str], set[str]]:
    """Names a top-level statement (re)defines in the notebook (``x = ...``, ``def x``, imports, also
    inside ``if``/``with``/``try``), and names it changes in place (``x.attr = ...``, ``x[k] = ...``,
    ``x += ...``). A function's, lambda's or comprehension's own names are not the notebook's."""
    defined, changed = set(), set()
    for sub, inner, comprehension in _scoped(node):
        if inner:
            continue
        if isinstance(sub, _DEFS):
            defined.add(sub.name)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            defined |= {(a.asname or a.name).split(".")[0] for a in sub.names}
        elif isinstance(sub, ast.NamedExpr):  # := binds the notebook's name, even in a comprehension
            defined.add(sub.target.id)
        elif isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)) and not comprehension:
            defined.add(sub.id)
        elif isinstance(sub, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and sub.name:
            defined.add(sub.name)
        elif isinstance(sub, ast.MatchMapping) and sub.rest:
            defined.add(sub.rest)
        if isinstance(sub, ast.AugAssign):
            changed.add(_root(sub.target))
        elif isinstance(sub, (ast.Attribute, ast.Subscript)) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            changed.add(_root(sub))
    return defined - {None}, changed - {None}


def _locals(node: ast.AST) -> set[str]:
    """Names a function or class binds for itself: its parameters and what its body assigns."""
    local = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    for sub in ast.walk(node):
        if isinstance(sub, ast.arguments):
            local |= {a.arg for a in sub.posonlyargs + sub.args + sub.kwonlyargs}
            local |= {a.arg for a in (sub.vararg, sub.kwarg) if a is not None}
    return local


def _uses(node: ast.stmt) -> set[str]:
    """Names a statement reads from the notebook's globals (a function's own locals excluded)."""
    loaded = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    if isinstance(node, _DEFS):
        loaded -= _locals(node)
    return loaded


def _opaque(node: ast.AST) -> bool:
    """Does the statement change things the scan cannot follow (exec, setattr, __dict__, IPython's input transformers)?"""
    return any((isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in _OPAQUE)
               or (isinstance(n, ast.Attribute) and n.attr in TRANSFORMER_ATTRS | _STORE_ATTRS) for n in ast.walk(node))


def _values(trees: list[ast.AST]) -> set[str]:
    """Names used as values anywhere (passed, stored, returned), not only called: what can be installed as a hook."""
    called = {id(n.func) for tree in trees for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for tree in trees for n in ast.walk(tree)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and id(n) not in called}


def _stores(node: ast.AST):
    """The attribute and subscript targets that ``node`` assigns or deletes (``x.a = ...``, ``del x[k]``)."""
    return (n for n in ast.walk(node) if isinstance(n, (ast.Attribute, ast.Subscript))
            and isinstance(n.ctx, (ast.Store, ast.Del)))


def _runs_later(node: ast.stmt, values: set[str], foreign) -> bool:
    """Can code of this statement run later, from elsewhere, instead of only now? A function or class used
    as a value (a hook, a replacement) or with side effects, a lambda, or a change to something the
    learner's code did not make (a module: ``kernel.respond = ...``; a call's result)."""
    for sub, inner, _ in _scoped(node):
        if inner:
            continue
        if isinstance(sub, ast.Lambda):
            return True
        if isinstance(sub, _DEFS) and (sub.decorator_list or sub.name in values or _side_effects(sub)):
            return True
        if isinstance(sub, (ast.Attribute, ast.Subscript)) and isinstance(sub.ctx, (ast.Store, ast.Del)) \
                and (_root(sub) is None or _root(sub) in foreign):
            return True
    return False


def _side_effects(definition: ast.AST) -> bool:
    """Does a function (or a class's method or body) rebind globals or change things that are not its own?"""
    if isinstance(definition, ast.ClassDef):
        return any(_side_effects(n) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) else any(_stores(n))
                   for n in definition.body)
    local = _locals(definition)
    return (any(isinstance(sub, (ast.Global, ast.Nonlocal)) for sub in ast.walk(definition))
            or any(_root(target) not in local for target in _stores(definition)))


class _Unit:
    """A piece of a cell: its line span, the names it defines or changes, the names it uses, whether it
    is kept whatever it defines (``keep``), and whether it is opaque code that runs later (``unreadable``)."""

    def __init__(self, cell: int, first: int, last: int, binds: tuple[set, set], uses: set, keep: bool,
                 unreadable: bool = False):
        self.cell, self.first, self.last = cell, first, last
        (self.defines, self.changes), self.uses = binds, uses
        self.keep, self.unreadable = keep, unreadable


def _units(cells: list[tuple[str, str]]) -> list[_Unit]:
    pieces = []  # (cell, first line, last line, statements, or None for a cell that does not parse)
    for index, (_, code) in enumerate(cells):
        python, lines = as_python(code), code.count("\n") + 1
        try:
            tree = ast.parse(python)
        except SyntaxError:
            pieces.append((index, 1, lines, None))
            continue
        if python.rstrip("\n").count("\n") != code.rstrip("\n").count("\n"):  # a cell magic: one unit
            inner = _magic_body(tree)
            pieces.append((index, 1, lines, list(inner.body) if inner is not None else list(tree.body)))
        else:
            pieces.extend((index, node.lineno, node.end_lineno or node.lineno, [node]) for node in tree.body)
    statements = [node for *_, nodes in pieces for node in nodes or ()]
    values = _values(statements)
    imported = {(a.asname or a.name).split(".")[0] for node in statements for sub in ast.walk(node)
                if isinstance(sub, (ast.Import, ast.ImportFrom)) for a in sub.names}
    own = set().union(*(_binds(node)[0] for node in statements)) - imported
    foreign = _Foreign(own)
    units = []
    for cell, first, last, nodes in pieces:
        if nodes is None:
            units.append(_Unit(cell, first, last, (set(), set()), set(), keep=True))
        else:
            units.append(_unit(cell, first, last, nodes, values, foreign))
    return units


class _Foreign:
    """Names the learner's code did not make: imports, and what the lesson's given cells or builtins define."""

    def __init__(self, own: set[str]):
        self.own = own

    def __contains__(self, name) -> bool:
        return name not in self.own


def _unit(cell: int, first: int, last: int, nodes: list[ast.stmt], values: set[str], foreign) -> _Unit:
    defined, changed, uses = set(), set(), set()
    for node in nodes:
        d, c = _binds(node)
        defined, changed, uses = defined | d, changed | c, uses | _uses(node)
    opaque = any(_opaque(n) for n in nodes)
    later = any(_runs_later(n, values, foreign) for n in nodes)
    # Opaque code inside a function, class or lambda runs later, when the scan can no longer tell what it reaches.
    code = any(isinstance(sub, _CALLABLES) for n in nodes for sub in ast.walk(n))
    return _Unit(cell, first, last, (defined, changed), uses, keep=opaque or later, unreadable=opaque and code)


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
    """``source`` with every top-level statement that neither ``target`` reaches nor may run later blanked out."""
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
    if any(units[i].unreadable for i in kept):
        return source  # kept code that runs later reaches names in ways the scan cannot follow: read everything
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
