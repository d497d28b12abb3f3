"""Building learners' submissions for tests/test_attacks.py: real lessons, answers replaced, cells added.

A submission starts from the lesson's solution (``solution``) or its release (``release``), both
read as plain JSON, and is changed by cell id or grade id, as a learner would change it in Jupyter.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path


def load(path: Path) -> dict:
    """A notebook as a dict, with every cell's source as one string."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        cell["source"] = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    return nb


def nbgrader_meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _index(nb: dict, key: str) -> int:
    """Index of the cell whose grade id or cell id is ``key``."""
    for index, cell in enumerate(nb["cells"]):
        if key in (nbgrader_meta(cell).get("grade_id"), cell.get("id")):
            return index
    raise KeyError(f"no cell {key!r} in the notebook")


def answered(nb: dict, **answers: str) -> dict:
    """``nb`` with the answer cells named by grade id given new source."""
    nb = copy.deepcopy(nb)
    for grade_id, source in answers.items():
        nb["cells"][_index(nb, grade_id)]["source"] = source
    return nb


def answer_of(nb: dict, grade_id: str) -> str:
    """The source of the answer cell ``grade_id``."""
    return nb["cells"][_index(nb, grade_id)]["source"]


def code_cell(source: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "id": uuid.uuid4().hex[:12], "metadata": {},
            "outputs": [], "source": source}


def markdown_cell(source: str) -> dict:
    return {"cell_type": "markdown", "id": uuid.uuid4().hex[:12], "metadata": {}, "source": source}


def raw_cell(source: str, mime: str = "text/html") -> dict:
    return {"cell_type": "raw", "id": uuid.uuid4().hex[:12], "metadata": {"raw_mimetype": mime, "format": mime},
            "source": source}


def inserted(nb: dict, after: str | None, *cells: dict | str) -> dict:
    """``nb`` with ``cells`` (code when given as text) after cell ``after`` (None: first of all)."""
    nb = copy.deepcopy(nb)
    position = 0 if after is None else _index(nb, after) + 1
    new = [code_cell(c) if isinstance(c, str) else c for c in cells]
    nb["cells"][position:position] = new
    return nb


def appended(nb: dict, *cells: dict | str) -> dict:
    """``nb`` with ``cells`` at the end."""
    nb = copy.deepcopy(nb)
    nb["cells"] += [code_cell(c) if isinstance(c, str) else c for c in cells]
    return nb


def kept(nb: dict, keys: list[str]) -> dict:
    """Only the cells named (by cell id or grade id), in the notebook's order: a short notebook that runs fast."""
    nb = copy.deepcopy(nb)
    wanted = {_index(nb, key) for key in keys}
    nb["cells"] = [c for i, c in enumerate(nb["cells"]) if i in wanted]
    return nb


@dataclass(frozen=True)
class Link:
    """A submission that is a symbolic link: the notebook file itself, or the learner's whole folder."""

    target: Path
    folder: bool = False


def write(folder: Path, learner: str, lesson: str, nb: dict | str | Link) -> Path:
    """Put ``nb`` where ``grade`` looks for it: ``folder/<learner>/<lesson>.ipynb`` (text, JSON, or a link)."""
    path = folder / learner / f"{lesson}.ipynb"
    if isinstance(nb, Link) and nb.folder:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / learner).symlink_to(nb.target, target_is_directory=True)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(nb, Link):
        path.symlink_to(nb.target)
    else:
        path.write_text(nb if isinstance(nb, str) else json.dumps(nb, indent=1), encoding="utf-8")
    return path


def digests(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}
