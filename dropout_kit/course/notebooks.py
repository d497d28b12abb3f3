"""Reading and writing notebook files, with errors that name the file and the remedy."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from dropout_kit.errors import NotebookError

# Where the grader's preprocessors leave their findings in an autograded notebook's metadata.
METADATA_KEY = "dropout_course"
REMEDY = (
    "restore it from its checkpoint (.ipynb_checkpoints/) or from version history, "
    "or start again from a fresh copy in notebooks/"
)


def read_notebook(path: Path) -> NotebookNode:
    """The notebook at ``path``, or a ``NotebookError`` saying what is wrong and what to do."""
    path = Path(path)
    if not path.is_file():
        raise NotebookError(f"{path} does not exist or is not a file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise NotebookError(f"{path} is not a notebook (not UTF-8 text); {REMEDY}") from None
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"{path} is not a notebook: invalid JSON at line {exc.lineno}, column {exc.colno} "
            f"({exc.msg}); {REMEDY}"
        ) from None
    except RecursionError:  # JSON nested thousands deep: no notebook is, and it must not crash a caller
        raise NotebookError(f"{path} is not a notebook: its JSON is nested too deeply; {REMEDY}") from None
    if not isinstance(data, dict) or data.get("nbformat") != 4:
        raise NotebookError(f"{path} is not a version 4 Jupyter notebook; {REMEDY}")
    if not isinstance(data.get("cells"), list) or not data["cells"]:
        raise NotebookError(f"{path} has no cells; {REMEDY}")
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as exc:  # nbformat's own validation errors are many and varied
        raise NotebookError(f"{path} is not a valid notebook ({exc}); {REMEDY}") from None
    return nb


def grade_cells(nb: NotebookNode) -> list[tuple[int, NotebookNode]]:
    """The autograded test cells of ``nb`` (nbgrader ``grade: true`` code cells), with their index."""
    return [
        (i, cell)
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")
    ]


def clean(nb: NotebookNode) -> bool:
    """Remove outputs and execution counts from ``nb`` in place; return whether anything changed."""
    changed = False
    for cell in nb.cells:
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
            cell.outputs = []
            cell.execution_count = None
            changed = True
    return changed


def dumps(nb: NotebookNode) -> str:
    """``nb`` as Jupyter writes it: one-space indent, sorted keys, a final newline."""
    return nbformat.writes(nb) + "\n"


def write_notebook(nb: NotebookNode, path: Path) -> None:
    """Write ``nb`` to ``path`` as Jupyter does."""
    Path(path).write_text(dumps(nb), encoding="utf-8")
