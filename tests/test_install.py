"""The learner's install path, offline: a lesson run from the wheel in a fresh venv, as on Colab."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import dropout_kit
from tests.test_packaging import build_wheel, pins

REPO = Path(__file__).resolve().parents[1]


PROBE = """\
import importlib.util, json, sys
import dropout_kit
print(json.dumps({"prefix": sys.prefix, "package": dropout_kit.__file__,
                  "nbgrader": importlib.util.find_spec("nbgrader") is not None,
                  "jupyterlab": importlib.util.find_spec("jupyterlab") is not None}))
"""


@pytest.mark.slow
def test_a_lesson_runs_from_the_wheel_in_a_fresh_venv(tmp_path, monkeypatch):
    """In a fresh venv with only PyTorch and a kernel, does lesson 01's setup cell install the wheel
    with the course extra (no nbgrader), and the lesson then run, from a folder outside the course?

    Installing PyTorch dominates (about 1.5 minutes here: its CUDA build from pip's local files).
    """
    import nbformat
    from nbclient import NotebookClient

    wheel = build_wheel(tmp_path / "wheel")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    constraints = tmp_path / "pins.txt"
    constraints.write_text("\n".join(f"{n}=={v}" for n, v in pins((REPO / "environment.yml").read_text()).items()))
    start = time.monotonic()
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-compile", "-c", str(constraints),
                    "torch", "torchvision", "ipykernel"], check=True, capture_output=True, timeout=1200)
    installed = time.monotonic() - start
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    before = subprocess.run([str(python), "-c", "import dropout_kit"], env=env, cwd=tmp_path,
                            capture_output=True, timeout=120)
    assert before.returncode == 1  # so only the lesson's setup cell can install it
    # The kernel: that venv's Python, found through a Jupyter data folder of the test's own.
    kernels = tmp_path / "jupyter" / "kernels" / "fresh-venv"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "fresh venv", "language": "python"}))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    learner = tmp_path / "learner"
    learner.mkdir()
    lesson = learner / "01_concepts.ipynb"
    shutil.copy(REPO / "notebooks" / "01_concepts" / "01_concepts.ipynb", lesson)
    nb = json.loads(lesson.read_text())
    [setup] = [c for c in nb["cells"] if c["cell_type"] == "code"][:1]
    assert setup["id"] == "setup" and "DROPOUT_KIT_PIP_SPEC" in "".join(setup["source"])
    nb["cells"].append({"cell_type": "code", "execution_count": None, "id": "probe", "metadata": {},
                        "outputs": [], "source": PROBE})
    notebook = nbformat.reads(json.dumps(nb), as_version=4)
    env.update(DROPOUT_KIT_PIP_SPEC=f"{wheel}[course]", PIP_CONSTRAINT=str(constraints))
    client = NotebookClient(notebook, timeout=900, kernel_name="fresh-venv",
                            resources={"metadata": {"path": str(learner)}})
    start = time.monotonic()
    client.execute(env=env, cwd=str(learner))
    ran = time.monotonic() - start
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    printed = "".join(o.get("text", "") for o in notebook.cells[-1].outputs if o.get("name") == "stdout")
    probe = json.loads(printed)
    assert Path(probe["prefix"]).resolve() == venv.resolve()
    assert Path(probe["package"]).resolve().is_relative_to(venv.resolve())  # the wheel's copy, not the repository's
    assert probe == {**probe, "nbgrader": False, "jupyterlab": True}
    version = subprocess.run([str(venv / "bin" / "dropout-kit"), "--version"], capture_output=True, text=True,
                             env=env, cwd=tmp_path, timeout=120)
    assert version.stdout == f"dropout-kit {dropout_kit.__version__}\n"
    print(f"PyTorch and ipykernel installed in {installed:.0f} s; the lesson, its install included, ran in {ran:.0f} s")
