"""dropout_kit.lab: the learner's JupyterLab hides nbgrader's tools, the instructor's shows the formgrader;
the course's kernel registers."""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from nbgrader_course import REPO, copy_course

from dropout_kit import cli, lab
from dropout_kit.course import config
from dropout_kit.errors import DropoutKitError


def test_learner_config_comes_first_and_keeps_the_users_path():
    """Does learner_env put the course's settings first on JUPYTER_CONFIG_PATH, keeping what was there?"""
    env = lab.learner_env({"JUPYTER_CONFIG_PATH": "/theirs", "HOME": "/home/ada"})
    assert env == {"JUPYTER_CONFIG_PATH": f"{lab.LEARNER_CONFIG}{os.pathsep}/theirs", "HOME": "/home/ada"}
    assert lab.learner_env({})["JUPYTER_CONFIG_PATH"] == str(lab.LEARNER_CONFIG)


def test_learner_config_turns_off_nbgrader():
    """Do the learner's settings disable nbgrader's lab extension and every nbgrader server extension?"""
    page = json.loads((lab.LEARNER_CONFIG / "labconfig" / "page_config.json").read_text())
    assert page == {"disabledExtensions": {"@jupyter/nbgrader": True}}
    server = (lab.LEARNER_CONFIG / "jupyter_server_config.py").read_text()
    for extension in ("formgrader", "assignment_list", "course_list", "validate_assignment"):
        assert f'"nbgrader.server_extensions.{extension}": False' in server


@pytest.mark.parametrize("root", [True, False])
def test_allow_root_only_as_root(monkeypatch, tmp_path, root):
    """Is --allow-root passed to JupyterLab when running as root, and only then?"""
    monkeypatch.setattr(lab, "running_as_root", lambda: root)
    command = lab.lab_command(tmp_path, ["--no-browser"])
    assert command[:4] == [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={tmp_path.resolve()}"]
    assert command[4:] == (["--allow-root", "--no-browser"] if root else ["--no-browser"])


def test_start_passes_lab_arguments(monkeypatch, tmp_path):
    """Does `dropout-kit start -- ARGS` copy the lessons, then open JupyterLab in the workspace with ARGS?"""
    course = tmp_path / "course"
    (course / "notebooks" / "01_a").mkdir(parents=True)
    (course / "notebooks" / "01_a" / "01_a.ipynb").write_text("{}")
    monkeypatch.chdir(course)
    opened = []
    monkeypatch.setattr(lab, "open_lab", lambda workspace, args: opened.append((workspace, args)) or 0)
    assert cli.main(["start", "--", "--no-browser", "--port", "8890"]) == 0
    assert opened == [((course / "workspace").resolve(), ["--no-browser", "--port", "8890"])]
    assert (course / "workspace" / "01_a" / "01_a.ipynb").is_file()


def test_kernel_registration(monkeypatch, tmp_path, capsys):
    """Does `dropout-kit kernel` register this Python as 'dropout-course' in $JUPYTER_DATA_DIR/kernels?"""
    from jupyter_client.kernelspec import KernelSpecManager

    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path))
    assert cli.main(["kernel"]) == 0
    folder = tmp_path / "kernels" / "dropout-course"
    assert f"registered this Python as the Jupyter kernel 'dropout-course' in {folder}" in capsys.readouterr().out
    spec = KernelSpecManager().get_kernel_spec("dropout-course")
    assert spec.resource_dir == str(folder)
    assert spec.argv[0] == sys.executable and "ipykernel_launcher" in spec.argv
    assert spec.display_name == "Python (dropout-course)"
    assert cli.main(["kernel", "--name", "mine", "--display-name", "Mine"]) == 0
    assert json.loads((tmp_path / "kernels" / "mine" / "kernel.json").read_text())["display_name"] == "Mine"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_and_look(env: dict, folder: Path) -> tuple[list, int]:
    """Start JupyterLab with ``env``; return its disabled extensions and the status of /formgrader."""
    port, token = _free_port(), "test-token"
    command = lab.lab_command(folder, ["--no-browser", f"--port={port}", f"--IdentityProvider.token={token}"])
    log = open(folder / "lab.log", "w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=10).read()
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None and time.monotonic() < deadline, (folder / "lab.log").read_text()
                time.sleep(0.5)
        data = re.search(rb'id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S).group(1)
        disabled = json.loads(data)["disabledExtensions"]
        try:
            status = urllib.request.urlopen(f"http://127.0.0.1:{port}/formgrader?token={token}", timeout=30).status
        except urllib.error.HTTPError as exc:
            status = exc.code
        return disabled, status
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


@pytest.mark.slow
def test_learners_lab_hides_nbgrader_and_the_instructors_keeps_it(tmp_path):
    """With nbgrader installed, is it hidden in the learner's JupyterLab and there in a plain one?"""
    pytest.importorskip("nbgrader", reason="nothing to hide where nbgrader is not installed")
    (tmp_path / "learner").mkdir()
    (tmp_path / "instructor").mkdir()
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_CONFIG_PATH"}
    disabled, formgrader = _serve_and_look(lab.learner_env(env), tmp_path / "learner")
    assert "@jupyter/nbgrader" in disabled and formgrader == 404
    disabled, formgrader = _serve_and_look(env, tmp_path / "instructor")
    assert "@jupyter/nbgrader" not in disabled and formgrader == 200  # the formgrader's page


# --- the instructor's JupyterLab: the formgrader ------------------------------------------------------
def test_instructor_env_drops_only_the_learner_config():
    """Does instructor_env take the learner's settings (which hide nbgrader) off JUPYTER_CONFIG_PATH, keeping the rest?"""
    env = lab.instructor_env({"JUPYTER_CONFIG_PATH": f"{lab.LEARNER_CONFIG}{os.pathsep}/theirs", "HOME": "/h"})
    assert env == {"JUPYTER_CONFIG_PATH": "/theirs", "HOME": "/h"}
    assert lab.instructor_env(lab.learner_env({"HOME": "/h"})) == {"HOME": "/h"}


def test_formgrader_needs_the_root_config_and_the_workspace_inside(tmp_path, monkeypatch):
    """Is a course without its root nbgrader_config.py, or with the grading workspace outside it, refused with the remedy?"""
    course = copy_course(tmp_path / "course", ["02_from_scratch"])
    monkeypatch.delenv("DROPOUT_COURSE_WORKSPACE", raising=False)
    assert lab.formgrader_folder(course) == course.resolve()
    monkeypatch.setenv("DROPOUT_COURSE_WORKSPACE", str(tmp_path / "elsewhere"))
    with pytest.raises(DropoutKitError, match="outside the course's folder .* unset DROPOUT_COURSE_WORKSPACE"):
        lab.formgrader_folder(course)
    monkeypatch.delenv("DROPOUT_COURSE_WORKSPACE")
    (course / "nbgrader_config.py").unlink()
    with pytest.raises(DropoutKitError, match=r"nbgrader_config.py is missing: .*git checkout nbgrader_config.py"):
        lab.formgrader_folder(course)


@pytest.mark.slow
def test_formgrader_lists_the_lessons(tmp_path):
    """Does `dropout-kit formgrader`, run inside a course (even where the learner's settings are on the path),
    open a JupyterLab whose formgrader lists every lesson, the graded ones included, over its HTTP API?"""
    pytest.importorskip("nbgrader")
    lessons = [lesson.name for lesson in config.discover_lessons(REPO)]
    course = copy_course(tmp_path / "course", lessons)
    port, token = _free_port(), "test-token"
    env = lab.learner_env({k: v for k, v in os.environ.items() if k != "DROPOUT_COURSE_WORKSPACE"})
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    log_path = tmp_path / "lab.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "dropout_kit", "formgrader", "--", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--port={port}", f"--IdentityProvider.token={token}"],
            cwd=course / "solutions", env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                reply = urllib.request.urlopen(f"http://127.0.0.1:{port}/formgrader/api/assignments?token={token}",
                                               timeout=30)
                break
            except (urllib.error.URLError, ConnectionError) as exc:
                assert not isinstance(exc, urllib.error.HTTPError), log_path.read_text()
                assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.5)
        listed = {assignment["name"] for assignment in json.loads(reply.read())}
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert listed == set(lessons)
    assert {lesson.name for lesson in config.discover_lessons(REPO) if lesson.graded} <= listed
    assert "No nbgrader_config.py file found" not in log_path.read_text()
    assert (course / "grading" / "gradebook.db").is_file()  # the formgrader's gradebook, in the course's workspace
