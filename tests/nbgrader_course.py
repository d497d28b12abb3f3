"""Helpers for tests that run nbgrader's own commands on a copy of the course, as an instructor does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COURSE_ID = "dropout-course"


def copy_course(root: Path, lessons: list[str]) -> Path:
    """A course folder at ``root``: its nbgrader configuration and these lessons of ``solutions/``, nothing else."""
    for lesson in lessons:
        shutil.copytree(REPO / "solutions" / lesson, root / "solutions" / lesson)
    (root / "autograder").mkdir()
    shutil.copy(REPO / "autograder" / "nbgrader_config.py", root / "autograder")
    shutil.copy(REPO / "nbgrader_config.py", root)
    return root


def tools_env(**extra: str) -> dict[str, str]:
    """This process's environment with the venv's bin first on PATH (nbgrader runs alembic from there)."""
    env = {k: v for k, v in os.environ.items() if k not in ("JUPYTER_CONFIG_PATH", "DROPOUT_COURSE_WORKSPACE")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(extra)
    return env


def nbgrader(*args: str, cwd: Path, env: dict | None = None, ok: bool = True) -> str:
    """Run ``nbgrader ARGS`` in ``cwd`` as a command; return its output (and fail the test if it fails, with ``ok``)."""
    done = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), *args], cwd=cwd, env=env or tools_env(),
                          capture_output=True, text=True, timeout=900)
    output = done.stdout + done.stderr
    if ok:
        assert done.returncode == 0, f"nbgrader {' '.join(args)} exited {done.returncode}:\n{output[-4000:]}"
    return output


def answers_of(path: Path) -> dict[str, str]:
    """The answer cells of a notebook, by nbgrader grade id."""
    cells = json.loads(path.read_text())["cells"]
    return {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in cells
            if c["metadata"].get("nbgrader", {}).get("solution")}


def answer(path: Path, sources: dict[str, str]) -> None:
    """Write these sources into the notebook's answer cells (by grade id), as a learner does."""
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in sources:
            cell["source"] = sources[grade_id]
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
