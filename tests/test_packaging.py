"""Packaging: the wheel (package data, licence, metadata) and Binder's configuration."""

import email
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import dropout_kit

REPO = Path(__file__).resolve().parents[1]


def build_wheel(out: Path) -> Path:
    """A wheel of the package, built from a copy of what it is made of (the repository stays clean)."""
    source = out / "source"
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "dropout_kit", source / "dropout_kit", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(out)],
                   check=True, capture_output=True, text=True, timeout=600)
    [wheel] = out.glob("dropout_kit-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def pins(text: str) -> dict[str, str]:
    """``name==version`` lines of a requirements list, by normalised name."""
    found = re.findall(r"^[\s-]*([A-Za-z][A-Za-z0-9_.-]*)==(\S+)\s*$", text, re.M)
    return {name.lower().replace("_", "-"): version for name, version in found}


def test_wheel_holds_the_package_data_and_the_licence(wheel):
    """Does the wheel carry the JSON and CSV data, the learner's Jupyter settings, and the LICENSE?"""
    names = set(zipfile.ZipFile(wheel).namelist())
    package_data = {str(p.relative_to(REPO)) for p in (REPO / "dropout_kit").rglob("*")
                    if p.is_file() and (p.suffix in {".json", ".csv"} or "lab_config" in p.parts)}
    assert package_data and package_data <= names
    assert "dropout_kit/lab_config/learner/jupyter_server_config.py" in names
    dist_info = f"dropout_kit-{dropout_kit.__version__}.dist-info"
    assert f"{dist_info}/licenses/LICENSE" in names


def test_wheel_metadata(wheel):
    """Does the wheel say its version, MIT licence, project URLs, and the extras with nbgrader only for instructors?"""
    dist_info = f"dropout_kit-{dropout_kit.__version__}.dist-info"
    meta = email.message_from_bytes(zipfile.ZipFile(wheel).read(f"{dist_info}/METADATA"))
    assert meta["Version"] == dropout_kit.__version__ and meta["License-Expression"] == "MIT"
    home = "https://github.com/dropout-course/dropout-course"
    assert set(meta.get_all("Project-URL")) == {
        f"Homepage, {home}", f"Source, {home}", f"Issues, {home}/issues",
        f"Documentation, {home}/blob/main/README.md"}
    requires = meta.get_all("Requires-Dist")
    by_extra = {}
    for line in requires:
        name = re.match(r"[A-Za-z0-9_.-]+", line).group(0)
        extra = re.search(r'extra == "(\w+)"', line)
        by_extra.setdefault(extra.group(1) if extra else None, set()).add(name)
    assert "nbgrader" not in by_extra["course"] | by_extra[None]
    assert "nbgrader" in by_extra["instructor"] and "dropout-kit" in by_extra["instructor"]
    assert {"jupyterlab", "ipykernel", "ipywidgets", "nbclient"} <= by_extra["course"]
    assert set(meta.get_all("Provides-Extra")) == {"course", "instructor", "postgres", "test"}
    assert "issue 2" not in meta.get_payload() and "(001)" not in meta.get_payload()


def test_binder_pins_are_environment_pins():
    """Does binder/requirements.txt pin, as environment.yml does, everything the lessons and the course extra need?"""
    binder = (REPO / "binder" / "requirements.txt").read_text()
    environment = pins((REPO / "environment.yml").read_text())
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in binder.splitlines()
    binder_pins = pins(binder)
    assert {name: environment.get(name) for name in binder_pins} == binder_pins
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    needed = {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower()
              for r in project["dependencies"] + project["optional-dependencies"]["course"]}
    assert needed <= set(binder_pins)
    assert "nbgrader" not in binder_pins


def test_binder_post_build_installs_the_course_extra_and_copies_the_lessons(tmp_path):
    """Does binder/postBuild install the package with the course extra only, and fill workspace/?"""
    course = tmp_path / "course"
    shutil.copytree(REPO / "notebooks", course / "notebooks")
    shutil.copytree(REPO / "binder", course / "binder")
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "pip").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "pip.log"}\n')
    (tools / "dropout-kit").write_text(f'#!/bin/sh\nexec {sys.executable} -m dropout_kit "$@"\n')
    for tool in tools.iterdir():
        tool.chmod(0o755)
    env = {**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(REPO)}
    result = subprocess.run([str(course / "binder" / "postBuild")], cwd=course, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "pip.log").read_text() == "install --no-cache-dir .[course]\n"
    lessons = sorted(p.name for p in (REPO / "notebooks").iterdir() if p.is_dir())
    assert sorted(p.name for p in (course / "workspace").iterdir() if p.is_dir()) == lessons
