"""JupyterLab for a learner (their workspace, without nbgrader's instructor tools), for an
instructor (the course, with nbgrader's formgrader), and the course's kernel.

Where nbgrader is installed too (an instructor's venv, or ``make setup``), its JupyterLab
extension would show a learner "Create Assignment", the "Nbgrader" menu and the formgrader.
``lab_config/learner/`` turns them off: ``learner_env`` puts that folder first on
``JUPYTER_CONFIG_PATH`` for the one server it starts, so nothing in the user's own Jupyter
configuration changes, and a plain ``jupyter lab`` (the instructor's) keeps them.

The formgrader finds its configuration in the server's working directory and needs the grading
workspace inside the server's root folder: ``open_formgrader`` starts JupyterLab in the course's
folder, whose ``nbgrader_config.py`` loads ``autograder/nbgrader_config.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dropout_kit.errors import DropoutKitError
from dropout_kit.optional import require

LEARNER_CONFIG = Path(__file__).resolve().parent / "lab_config" / "learner"
KERNEL_NAME = "dropout-course"
KERNEL_DISPLAY_NAME = "Python (dropout-course)"


def running_as_root() -> bool:
    """Whether this process runs as root (Jupyter then refuses to start without ``--allow-root``)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def learner_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) with the learner's Jupyter configuration first on JUPYTER_CONFIG_PATH."""
    env = dict(os.environ if env is None else env)
    rest = env.get("JUPYTER_CONFIG_PATH")
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join([str(LEARNER_CONFIG), *([rest] if rest else [])])
    return env


def lab_command(workspace: Path, lab_args: list[str] | None = None) -> list[str]:
    """The command that opens JupyterLab in ``workspace`` (with ``--allow-root`` only when root)."""
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={Path(workspace).resolve()}"]
    if running_as_root():
        command.append("--allow-root")
    return command + list(lab_args or [])


def instructor_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) without the learner's Jupyter configuration, which hides nbgrader."""
    env = dict(os.environ if env is None else env)
    kept = [p for p in env.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p and Path(p) != LEARNER_CONFIG]
    env.pop("JUPYTER_CONFIG_PATH", None)
    if kept:
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(kept)
    return env


def formgrader_folder(course_root: Path | None = None) -> Path:
    """The course's folder, checked to be one where nbgrader's formgrader finds the course."""
    from dropout_kit.course import config as course_config

    root = course_config.find_course_root(course_root)
    if not (root / "nbgrader_config.py").is_file():
        raise DropoutKitError(f"{root / 'nbgrader_config.py'} is missing: nbgrader and its formgrader read it "
                              "there; restore it from the course's repository (git checkout nbgrader_config.py)")
    workspace = Path(course_config.load_config(root).CourseDirectory.root).resolve()
    if root != workspace and root not in workspace.parents:
        raise DropoutKitError(f"the grading workspace {workspace} is outside the course's folder {root}, where "
                              "the formgrader cannot show it; unset DROPOUT_COURSE_WORKSPACE or choose a folder "
                              "inside the course")
    return root


def open_formgrader(course_root: Path | None = None, lab_args: list[str] | None = None) -> int:
    """Run the instructor's JupyterLab on the course, with nbgrader's formgrader, until it stops."""
    require("nbgrader", "instructor", "the formgrader")
    require("jupyterlab", "course", "opening JupyterLab")
    root = formgrader_folder(course_root)
    command, env = lab_command(root, lab_args), instructor_env()
    print("opening JupyterLab for instructors (Nbgrader menu -> Formgrader):", " ".join(command), flush=True)
    os.chdir(root)  # the formgrader reads nbgrader_config.py from the working directory
    if os.name == "posix":
        os.execve(command[0], command, env)
    return subprocess.call(command, env=env)


def open_lab(workspace: Path, lab_args: list[str] | None = None) -> int:
    """Run the learner's JupyterLab in ``workspace`` until it stops; return its exit status."""
    require("jupyterlab", "course", "opening the lessons in JupyterLab")
    command, env = lab_command(workspace, lab_args), learner_env()
    print("opening JupyterLab:", " ".join(command), flush=True)
    if os.name == "posix":
        # Become the server, so that Ctrl-C and its shutdown question reach it alone.
        os.execve(command[0], command, env)
    return subprocess.call(command, env=env, cwd=workspace)


def register_kernel(name: str = KERNEL_NAME, display_name: str = KERNEL_DISPLAY_NAME) -> Path:
    """Register this Python as a Jupyter kernel for the user; return the kernel spec's folder.

    For a learner who already has JupyterLab elsewhere: the lessons then run with this
    interpreter, where dropout_kit is installed, by choosing ``display_name`` as their kernel.
    The spec goes into the user's Jupyter data folder (``$JUPYTER_DATA_DIR/kernels`` when set).
    """
    kernelspec = require("ipykernel.kernelspec", "course", "registering the course's Jupyter kernel")
    return Path(kernelspec.install(user=True, kernel_name=name, display_name=display_name))
