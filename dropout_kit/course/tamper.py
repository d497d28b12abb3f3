"""Read a submission's code, without running it, for ways to tamper with the tests.

The runtime check (``dropout_kit.integrity``) runs inside the learner's kernel, where determined
code can defeat it; this scan runs in the grader, before the kernel starts. It flags:

- rebinding a name that the notebook imports (``checks = ...``, ``import numpy as torch``) or a
  builtin the tests use (``isinstance = ...``), at module level or through ``global``;
- assigning or deleting an attribute of something imported (``torch.allclose = ...``,
  ``checks.check_dropout_function = ...``, ``nn.Module.train = ...``) or of a call's result
  (``type(x).__eq__ = ...``);
- the tools of deeper tampering: ``setattr``, ``exec``, ``eval``, ``compile``, ``__import__``,
  ``globals``, ``vars``, dunder attributes such as ``__code__`` and ``__dict__``, ``sys.modules``,
  and modules such as ``ctypes``, ``gc``, ``importlib``, ``builtins``, ``inspect``, ``unittest``,
  ``pickle``, ``subprocess``;
- writing files or killing processes (``open(..., "w")``, ``Path.write_text``, ``os.remove``,
  ``os._exit``), shell escapes and magics other than %time / %timeit / %matplotlib.

A flag is a reason for an instructor to look, not proof: ``grade`` reports the lesson as failed
with the findings as its reason, and the autograded notebook stays in the workspace.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

PROTECTED_BUILTINS = frozenset(
    "abs all any bool callable dict enumerate float getattr hasattr int isinstance issubclass "
    "iter len list max min next object print range repr round set sorted str sum super tuple "
    "type zip AssertionError BaseException Exception".split()
)
FORBIDDEN_CALLS = frozenset(
    "setattr delattr exec eval compile __import__ globals vars locals breakpoint".split()
)
FORBIDDEN_DUNDERS = frozenset(
    "__code__ __globals__ __builtins__ __dict__ __setattr__ __delattr__ __closure__ __defaults__ "
    "__kwdefaults__ __subclasses__ __bases__ __mro__ __func__ __wrapped__ __getattribute__ "
    "__import__ __loader__ __spec__".split()
)
FORBIDDEN_MODULES = frozenset(
    "ctypes gc importlib builtins inspect unittest pickle marshal dill copyreg shelve subprocess "
    "shutil socket multiprocessing threading signal sqlite3 psycopg2 sqlalchemy pty".split()
)
FORBIDDEN_ATTRIBUTES = {
    "sys": {"modules", "settrace", "setprofile", "_getframe", "meta_path", "path_hooks", "addaudithook"},
    "os": {"system", "popen", "remove", "unlink", "rmdir", "removedirs", "rename", "renames",
           "replace", "kill", "killpg", "fork", "_exit", "abort", "chmod", "putenv", "truncate",
           "symlink", "link", "open", "execv", "execve", "execvp", "spawnv", "spawnl", "setsid"},
    "types": {"FunctionType", "CodeType", "LambdaType", "ModuleType", "MethodType"},
}
WRITING_METHODS = frozenset(
    "write_text write_bytes unlink rmdir rename replace touch chmod symlink_to hardlink_to".split()
)
ALLOWED_MAGICS = frozenset({"time", "timeit", "matplotlib"})


@dataclass(frozen=True)
class Finding:
    """One suspicious line: where it is and what it does."""

    cell: int
    line: int
    what: str

    def __str__(self) -> str:
        return f"cell {self.cell}, line {self.line}: {self.what}"


def imported_names(sources: list[str]) -> dict[str, str]:
    """Names bound by import statements in ``sources``, mapped to what they import."""
    names: dict[str, str] = {}
    for source in sources:
        tree = _parse(source)
        for node in ast.walk(tree) if tree else ():
            names.update(_import_bindings(node))
    return names


def scan(cells: list[tuple[int, str]], trusted: dict[str, str]) -> list[Finding]:
    """Findings in the learner's ``cells`` (index, source), given the names the course imports.

    Args:
        cells: the code cells a learner could edit, with their index in the notebook.
        trusted: ``imported_names`` of the instructor's cells: rebinding them is tampering.
    """
    findings: list[Finding] = []
    imported = dict(trusted)
    imported.update(imported_names([source for _, source in cells]))
    for index, source in cells:
        tree = _parse(source)
        if tree is not None:
            visitor = _Scanner(trusted, set(imported))
            visitor.visit(tree)
            findings.extend(Finding(index, line, what) for line, what in visitor.found)
    return findings


def _parse(source: str) -> ast.Module | None:
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        source = TransformerManager().transform_cell(source)
    except Exception:  # IPython missing or confused: parse the raw text
        pass
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None  # the kernel will report it; a syntax error tampers with nothing


def _import_bindings(node: ast.AST) -> dict[str, str]:
    if isinstance(node, ast.Import):
        return {(a.asname or a.name.split(".")[0]): (a.name if a.asname else a.name.split(".")[0])
                for a in node.names}
    if isinstance(node, ast.ImportFrom):
        return {(a.asname or a.name): f"{node.module}.{a.name}" for a in node.names}
    return {}


def _root(node: ast.AST) -> ast.AST:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node


class _Scanner(ast.NodeVisitor):
    def __init__(self, trusted: dict[str, str], imported: set[str]) -> None:
        self.trusted = trusted
        self.imported = imported
        self.aliases: set[str] = set()
        self.found: list[tuple[int, str]] = []
        self.depth = 0  # > 0 inside a function: plain names bound there are local

    def flag(self, node: ast.AST, what: str) -> None:
        self.found.append((getattr(node, "lineno", 0), what))

    # --- bindings -----------------------------------------------------------------------
    def _bind(self, target: ast.AST, node: ast.AST, verb: str = "rebinds") -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._bind(element, node, verb)
        elif isinstance(target, ast.Starred):
            self._bind(target.value, node, verb)
        elif isinstance(target, ast.Name):
            if self.depth == 0 and (target.id in self.trusted or target.id in PROTECTED_BUILTINS):
                self.flag(node, f"{verb} {target.id}, which the tests use")
        elif isinstance(target, ast.Attribute):
            root = _root(target)
            dotted = ast.unparse(target)
            if target.attr.startswith("__") and target.attr.endswith("__"):
                self.flag(node, f"{verb} {dotted}")
            elif isinstance(root, ast.Call):
                self.flag(node, f"{verb} {dotted}")
            elif isinstance(root, ast.Name) and (root.id in self.imported or root.id in self.aliases):
                self.flag(node, f"{verb} {dotted}, part of something imported")

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._bind(target, node)
        self._track_alias(node.targets, node.value)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._bind(node.target, node)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._bind(node.target, node)
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._bind(node.target, node)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._bind(target, node, "deletes")
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        self._bind(node.target, node)
        self.generic_visit(node)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            if item.optional_vars is not None:
                self._bind(item.optional_vars, node)
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        for name in node.names:
            if name in self.trusted or name in PROTECTED_BUILTINS:
                self.flag(node, f"declares {name} global, which the tests use")

    def _track_alias(self, targets: list[ast.AST], value: ast.AST) -> None:
        root = _root(value)
        if isinstance(root, ast.Name) and (root.id in self.imported or root.id in self.aliases):
            self.aliases.update(t.id for t in targets if isinstance(t, ast.Name))

    def _scope(self, node: ast.AST) -> None:
        if self.depth == 0 and (node.name in self.trusted or node.name in PROTECTED_BUILTINS):
            self.flag(node, f"redefines {node.name}, which the tests use")
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.depth += 1
        for child in node.body:
            self.visit(child)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scope

    # --- imports ------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        self._imports(node, [a.name for a in node.names])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        self._imports(node, [module] + [f"{module}.{a.name}" for a in node.names])
        for alias in node.names:
            for parent, names in FORBIDDEN_ATTRIBUTES.items():
                if module == parent and alias.name in names:
                    self.flag(node, f"imports {parent}.{alias.name}")

    def _imports(self, node: ast.AST, modules: list[str]) -> None:
        for module in modules:
            if module.split(".")[0] in FORBIDDEN_MODULES:
                self.flag(node, f"imports {module}")
                break
        for name, target in _import_bindings(node).items():
            if self.depth == 0 and name in self.trusted and self.trusted[name] != target:
                self.flag(node, f"rebinds {name} to {target}, which the tests use")

    # --- uses ---------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id == "open" and _writes(node):
            self.flag(node, "opens a file for writing")
        if isinstance(func, ast.Attribute) and func.attr in WRITING_METHODS:
            self.flag(node, f"calls .{func.attr}(), which changes files")
        if isinstance(func, ast.Attribute) and func.attr in {"run_line_magic", "run_cell_magic"}:
            magic = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
            if magic in ALLOWED_MAGICS:
                return self.generic_visit(node.args[1]) if len(node.args) > 1 else None
            self.flag(node, f"runs the magic %{magic}")
        elif isinstance(func, ast.Attribute) and func.attr in {"system", "getoutput"} and \
                isinstance(func.value, ast.Call) and getattr(func.value.func, "id", "") == "get_ipython":
            self.flag(node, "runs a shell command")
        if isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) > 1:
            name = node.args[1]
            if isinstance(name, ast.Constant) and str(name.value) in FORBIDDEN_DUNDERS:
                self.flag(node, f"reads {name.value} through getattr")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in FORBIDDEN_CALLS or node.id == "__builtins__":
            self.flag(node, f"uses {node.id}")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in FORBIDDEN_DUNDERS:
            self.flag(node, f"uses {ast.unparse(node)}")
        root = node.value
        if isinstance(root, ast.Name) and node.attr in FORBIDDEN_ATTRIBUTES.get(root.id, ()):
            self.flag(node, f"uses {root.id}.{node.attr}")
        self.generic_visit(node)


def _writes(call: ast.Call) -> bool:
    mode = call.args[1] if len(call.args) > 1 else None
    for keyword in call.keywords:
        if keyword.arg == "mode":
            mode = keyword.value
    if mode is None:
        return False
    if not isinstance(mode, ast.Constant):
        return True  # a computed mode: assume the worst
    return any(ch in str(mode.value) for ch in "wax+")
