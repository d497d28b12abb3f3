"""Refuse to grade when a submission replaced a function that the checkers rely on.

A learner's cell runs in the same kernel as the test cells, so ``torch.allclose = lambda *a, **k:
True`` would make every comparison pass, and ``metric_checks.check_precision_recall_f1 = ...``
would replace a checker itself. This module keeps references to those functions, taken when it
is first imported (``dropout_kit.metric_checks`` imports it, in the first cells of lesson 07,
before any learner code runs), and ``verify()`` raises
``TamperingError`` when one of them was replaced, when a ``dropout_kit`` function no longer
runs the code in its file on disk, or when a name that a ``dropout_kit`` file imports from the
package (a subpackage's re-exports, a checker's reference function) is no longer that object.

Called by the graders of ``dropout_kit.metric_checks``. The probe-and-judge exercises
(``dropout_kit.exercises``: lessons 02, 03 and 05) do not call it: their judges decide from the
probe's data alone, in the grader's own process. Where it is used it is one layer among others,
because code in the kernel can, with enough effort, defeat any check that runs in the same kernel.
"""

from __future__ import annotations

import builtins
import math
import os
import random
import sys
import types
from ast import ImportFrom, PyCF_ONLY_AST
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

# Bound here, at import: a submission that replaces builtins.isinstance must not blind the checks.
from builtins import (  # noqa: E402,A004
    callable, compile, dict, getattr, isinstance, list, range, set, sorted, str, tuple, type, vars,
)

MESSAGE = "{} was replaced by the submission; grading refuses tampered functions"

# Builtins the tests use. Not all of builtins: IPython swaps some (exit, quit, input) itself.
_BUILTINS = (
    "abs all any bool callable dict enumerate float getattr hasattr int isinstance issubclass "
    "iter len list max min next print range repr round set sorted str sum tuple type zip "
    "__import__ __build_class__"
).split()
# Functions whose name, type and origin are checked too, in case they were replaced before
# this module was first imported.
_GENUINE_BUILTINS = {
    "torch": ["allclose", "equal", "isclose", "all", "any", "abs", "eq", "ne"],
    "math": ["isclose", "isfinite", "isnan", "fabs", "sqrt"],
}
_TRUSTED_ROOTS = tuple(
    str(Path(p).resolve()) for p in {sys.prefix, sys.base_prefix, Path(__file__).resolve().parent}
)


class TamperingError(AssertionError):
    """A function that grading relies on was replaced by the submission."""


def _namespaces() -> dict[str, object]:
    return {
        "builtins": builtins,
        "math": math,
        "random": random,
        "torch": torch,
        "torch.Tensor": torch.Tensor,
        "torch.Tensor (base)": torch._C.TensorBase,
        "torch.nn.functional": F,
        "torch.nn.Module": torch.nn.Module,
        "torch.nn.Dropout": torch.nn.Dropout,
        "torch.testing": torch.testing,
        "numpy": np,
        "numpy.testing": np.testing,
    }


def _watched(label: str, namespace: object) -> dict[str, object]:
    """The callables (and descriptors) of ``namespace`` worth watching, by attribute name."""
    items = vars(namespace)
    names = _BUILTINS if label == "builtins" else list(items)
    return {
        name: items[name]
        for name in names
        if name in items
        and not isinstance(items[name], types.ModuleType)
        and (callable(items[name]) or isinstance(items[name], (property, types.GetSetDescriptorType)))
    }


def _capture() -> dict[str, dict[str, object]]:
    return {label: _watched(label, ns) for label, ns in _namespaces().items()}


_CAPTURED = _capture()
_CO_NEWLOCALS = 0x2  # inspect.CO_NEWLOCALS: set on functions, not on class bodies
_SNAPSHOTS: dict[str, dict[str, object]] = {}
_COMPILED: dict[tuple[str, float], dict[str, types.CodeType]] = {}
_IMPORTS: dict[tuple[str, float], dict[str, tuple[str, str]]] = {}


def _display(label: str, name: str) -> str:
    label = label.replace(" (base)", "")
    return name if label == "builtins" else f"{label}.{name}"


def _check_external() -> list[str]:
    problems = []
    for label, namespace in _namespaces().items():
        items = vars(namespace)
        for name, original in _CAPTURED[label].items():
            if not _same_function(original, items.get(name)):
                problems.append(MESSAGE.format(_display(label, name)))
        for name in set(items) - set(_CAPTURED[label]):
            # A new entry can shadow an inherited one (torch.Tensor.sum over TensorBase.sum).
            value = items[name]
            if isinstance(value, types.FunctionType):
                trusted = _trusted_file(value.__code__.co_filename)
            else:
                trusted = not callable(value) or _trusted_type(type(value))
            if not trusted:
                problems.append(MESSAGE.format(_display(label, name)))
        for name in _GENUINE_BUILTINS.get(label, []):
            value = items.get(name)
            if not (isinstance(value, types.BuiltinFunctionType) and value.__name__ == name):
                problems.append(MESSAGE.format(_display(label, name)))
    for name in _BUILTINS:
        value = vars(builtins).get(name)
        if isinstance(value, types.FunctionType):
            problems.append(MESSAGE.format(name))
    for label in ("torch", "torch.nn.functional", "numpy"):
        for name, value in vars(_namespaces()[label]).items():
            if isinstance(value, types.FunctionType) and not _trusted_file(value.__code__.co_filename):
                problems.append(MESSAGE.format(_display(label, name)))
    return sorted(set(problems))


def _same_function(original: object, current: object) -> bool:
    """Whether ``current`` is ``original``, or torch's own lazy re-wrapping of it.

    torch replaces a few of its functions on first use (``torch.optim`` wraps
    ``torch.manual_seed``), so identity alone would accuse innocent submissions. A stand-in
    must then have the same name and qualified name, and come from an installed file.
    """
    if current is original:
        return True
    if current is None:
        return False
    for attr in ("__name__", "__qualname__", "__module__"):
        if getattr(current, attr, None) != getattr(original, attr, None):
            return False
    if isinstance(current, types.FunctionType):
        return _trusted_file(current.__code__.co_filename)
    return _trusted_type(type(current))


def _trusted_file(filename: str) -> bool:
    try:
        path = str(Path(filename).resolve())
    except (OSError, ValueError):
        return False
    inside = any(path.startswith(root + os.sep) for root in _TRUSTED_ROOTS)
    return inside and Path(path).is_file()


def _compiled_functions(path: Path) -> dict[str, types.CodeType]:
    """Code objects of the functions and methods defined in ``path``, by qualified name."""
    key = (str(path), path.stat().st_mtime)
    if key not in _COMPILED:
        code = compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        found: dict[str, types.CodeType] = {}

        def walk(co: types.CodeType, prefix: str) -> None:
            for const in co.co_consts:
                if isinstance(const, types.CodeType) and not const.co_name.startswith("<"):
                    name = f"{prefix}{const.co_name}"
                    if const.co_flags & _CO_NEWLOCALS:  # a function, not a class body
                        found.setdefault(name, const)
                    walk(const, f"{name}.")

        walk(code, "")
        _COMPILED[key] = found
    return _COMPILED[key]


def _defined_callables(module: types.ModuleType) -> dict[str, object]:
    """Functions and classes that ``module`` itself defines, and the members of those classes."""
    found = {}
    for name, value in vars(module).items():
        if isinstance(value, (types.FunctionType, type)) and value.__module__ == module.__name__:
            found[name] = value
            if isinstance(value, type):
                for attr, member in vars(value).items():
                    if attr != "__slotnames__":  # added by copyreg when an instance is pickled
                        found[f"{name}.{attr}"] = member
    return found


def _package_imports(path: Path) -> dict[str, tuple[str, str]]:
    """Names that ``path`` binds at top level by ``from dropout_kit... import``: name -> (module, attr)."""
    key = (str(path), path.stat().st_mtime)
    if key not in _IMPORTS:
        tree = compile(path.read_bytes(), str(path), "exec", PyCF_ONLY_AST, dont_inherit=True)
        found: dict[str, tuple[str, str]] = {}
        for node in tree.body:
            if isinstance(node, ImportFrom) and node.level == 0 and node.module is not None \
                    and (node.module == "dropout_kit" or node.module.startswith("dropout_kit.")):
                for alias in node.names:
                    found[alias.asname or alias.name] = (node.module, alias.name)
        _IMPORTS[key] = found
    return _IMPORTS[key]


def _imported_object(source: str, attr: str) -> object:
    """What ``from source import attr`` gives now: the attribute, or else the submodule."""
    module = sys.modules.get(source)
    if module is not None and attr in vars(module):
        return vars(module)[attr]
    return sys.modules.get(f"{source}.{attr}")


def _check_module(module: types.ModuleType) -> list[str]:
    """Problems of one package module: replaced functions, code that differs from its file, or
    a name it imports from the package that is no longer the package's object."""
    filename = getattr(module, "__file__", None)
    if not filename or not filename.endswith(".py") or not Path(filename).is_file():
        return []
    problems = []
    current = _defined_callables(module)
    snapshot = _SNAPSHOTS.setdefault(module.__name__, dict(current))
    for name in sorted(set(snapshot) | set(current)):
        if current.get(name) is not snapshot.get(name):
            problems.append(MESSAGE.format(f"{module.__name__}.{name}"))
    for qualname, code in _compiled_functions(Path(filename)).items():
        owner, _, attr = qualname.rpartition(".")
        if not owner:
            holder = vars(module)
        elif "." not in owner and isinstance(vars(module).get(owner), type):
            holder = vars(vars(module)[owner])
        else:
            continue  # nested functions are covered by the code of the function around them
        if attr in holder and not _runs_code(holder[attr], code):
            problems.append(MESSAGE.format(f"{module.__name__}.{qualname}"))
    # What the file imports from the package (a package's re-exports, a checker's reference
    # function) must still be the package's own object, itself checked against its file.
    items = vars(module)
    for name, (source, attr) in _package_imports(Path(filename)).items():
        expected = _imported_object(source, attr)
        if expected is not None and items.get(name) is not expected:
            problems.append(MESSAGE.format(f"{module.__name__}.{name}"))
    return problems


def _runs_code(value: object, code: types.CodeType) -> bool:
    """Whether ``value`` is the function compiled to ``code``, maybe behind trusted decorators."""
    for _ in range(10):  # a decorator stack is never this deep; a __wrapped__ cycle could be
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        elif isinstance(value, property):
            value = value.fget
        if isinstance(value, types.FunctionType):
            if value.__code__ == code:
                return True
            if not _trusted_file(value.__code__.co_filename):
                return False
        elif not _trusted_type(type(value)):
            return False
        value = getattr(value, "__wrapped__", None)
        if value is None:
            return False
    return False


def _trusted_type(cls: type) -> bool:
    module = sys.modules.get(cls.__module__)
    filename = getattr(module, "__file__", None)
    return cls.__module__ == "builtins" or (filename is not None and _trusted_file(filename))


def _package_modules(extra: tuple) -> list[types.ModuleType]:
    modules = [
        module
        for name, module in sorted(sys.modules.items())
        if (name == "dropout_kit" or name.startswith("dropout_kit.")) and isinstance(module, types.ModuleType)
    ]
    for item in extra:
        module = sys.modules.get(item) if isinstance(item, str) else item
        if not isinstance(module, types.ModuleType):
            raise TypeError(f"verify() takes modules or names of imported modules, got {item!r}")
        modules.append(module)
    return modules


def tampered(*modules: types.ModuleType | str) -> list[str]:
    """What was replaced, one message each; empty when nothing was.

    Args:
        modules: further modules (or their names) whose functions must still run the code in
            their source file, beyond every imported ``dropout_kit`` module (a lesson's own
            checker, for example).
    """
    # Builtins first, by identity alone: if one is replaced, the rest (pathlib, os.path) is blind.
    replaced = [MESSAGE.format(n) for n, f in _CAPTURED["builtins"].items() if vars(builtins).get(n) is not f]
    if replaced:
        return replaced
    problems = _check_external()
    for module in _package_modules(modules):
        problems.extend(_check_module(module))
    return list(dict.fromkeys(problems))


def verify(*modules: types.ModuleType | str) -> None:
    """Raise ``TamperingError`` if anything grading relies on was replaced; return None otherwise.

    Called first by the graders that use it (see the module docstring), so a failing grade
    says why. Args as ``tampered``.
    """
    problems = tampered(*modules)
    if problems:
        raise TamperingError("; ".join(problems))


# Snapshot the package modules that are already imported (checks, quiz, ...): from now on,
# replacing one of their functions is noticed by identity as well as by code.
# A module still being imported (one that imports this module at its top) is left out: its
# snapshot is taken by the first verify(), once it is complete.
for _module in _package_modules(()):
    if not getattr(getattr(_module, "__spec__", None), "_initializing", False):
        _SNAPSHOTS.setdefault(_module.__name__, _defined_callables(_module))
