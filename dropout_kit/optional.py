"""Optional dependencies: import one, or say which extra of dropout-kit installs it.

``pip install dropout-kit`` brings what the lessons import (torch, torchvision, numpy,
matplotlib, tqdm). Everything else is an extra, and every import of an extra's module goes
through ``require`` first, so that a missing one is reported as the command that installs it
instead of a bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from dropout_kit.errors import DropoutKitError

# The extras of pyproject.toml, as a learner would name them.
EXTRAS = {
    "course": "the course tools",        # JupyterLab, ipykernel, nbclient: lessons and `check`
    "instructor": "the instructor tools",  # nbgrader: release, grade, formgrader
    "postgres": "the PostgreSQL driver",   # a PostgreSQL gradebook
    "test": "the test tools",
}


class MissingExtraError(DropoutKitError, ImportError):
    """An optional dependency is not installed; the message names the extra that installs it."""


def install_command(extra: str) -> str:
    """The pip command that installs ``extra`` of dropout-kit."""
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; dropout-kit's extras are {', '.join(EXTRAS)}")
    return f"pip install 'dropout-kit[{extra}]'"


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module``; if it (or something it needs) is missing, name the extra that installs it.

    Args:
        module: the module to import, e.g. ``"nbgrader.api"``.
        extra: the extra of dropout-kit that installs it, a key of ``EXTRAS``.
        purpose: what needs it, as the subject of a sentence, e.g. ``"grading"``.

    Returns:
        The imported module.

    Raises:
        MissingExtraError: e.g. "grading needs the instructor tools: pip install
            'dropout-kit[instructor]' (nbgrader is not installed)".
    """
    command = install_command(extra)
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = (exc.name or module).partition(".")[0]  # the package to install, not a submodule
        raise MissingExtraError(
            f"{purpose} needs {EXTRAS[extra]}: {command} ({missing} is not installed)",
            name=missing,
        ) from exc
