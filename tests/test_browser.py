"""The course in a real browser: JupyterLab started as a learner starts it, driven in chromium.

A learner's workspace is made by ``dropout-kit start --no-lab``; JupyterLab runs there with the
learner's configuration (``dropout_kit.lab``), on a free loopback port with a token. Playwright
drives Debian's chromium (``apt-get install chromium``; Playwright's own browser download is not
used). Each step is saved as a PNG in a folder that the test prints, and that pytest keeps after
a failing run (its tmp path).

JupyterLab builds only the cells near the screen, so cells are found by their position in the
notebook (``data-windowed-list-index``) and scrolled to.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from quiz_answers import CHOICE_KEY

from dropout_kit import lab, quiz
from dropout_kit.course.worker import kill_tree

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
# No GPU, no sandbox (root in a container), and none of Chromium's own traffic: without the
# background-networking flags it keeps calling Google's services, which a closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RUN_TIMEOUT = 120  # seconds a cell may take (lesson 02's judge runs in the kernel in self-study)
READ_ONLY_MARK = "# Read-only test cell: run it to check"
# Lesson 02's Part 1 with one classic mistake: kept values divided by p instead of 1-p.
DIVIDES_BY_P = '''def dropout(x, p=0.5, training=True, inplace=False):
    if not 0 <= p <= 1:
        raise ValueError(f"p must be in [0, 1], got {p}")
    if not training:
        return x
    mask = (torch.rand_like(x) >= p).to(x.dtype) / p
    return x.mul_(mask) if inplace else x * mask'''


# --- the browser and the server ------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    """Debian's chromium under Playwright; a failure (not a skip) when CI is set and either is missing."""
    missing = [what for what, present in (("the playwright package (pip install playwright)",
                                           importlib.util.find_spec("playwright") is not None),
                                          (f"chromium at {CHROMIUM} (apt-get install chromium)", CHROMIUM.is_file()))
               if not present]
    if missing:
        message = f"the browser tests need {' and '.join(missing)}"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _quiet_settings(folder: Path) -> Path:
    """JupyterLab user settings that turn off its news and update checks (no popup, no network)."""
    settings = folder / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    return folder


def _stop(server: subprocess.Popen) -> None:
    """Stop JupyterLab (it shuts its kernels down), then kill whatever of its family is left."""
    try:
        family = [child.pid for child in psutil.Process(server.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        kill_tree(server.pid)
        server.wait()
    for pid in family:
        kill_tree(pid)


@pytest.fixture(scope="module")
def learner_lab(tmp_path_factory):
    """JupyterLab as `dropout-kit start` opens it, in a fresh workspace; yields (base URL, token, workspace)."""
    tmp = tmp_path_factory.mktemp("lab")
    workspace = tmp / "workspace"
    subprocess.run([sys.executable, "-m", "dropout_kit", "start", "--no-lab", "--workspace", str(workspace)],
                   cwd=REPO, check=True, capture_output=True, text=True)
    port, token = _free_port(), secrets.token_hex(16)
    command = lab.lab_command(workspace, ["--no-browser", "--ServerApp.ip=127.0.0.1", f"--port={port}",
                                          f"--IdentityProvider.token={token}"])
    env = lab.learner_env()
    env.update(JUPYTERLAB_SETTINGS_DIR=str(_quiet_settings(tmp / "settings")),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "lab-workspaces"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"))
    log_path = tmp / "lab.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(command, cwd=workspace, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.5)
        yield base, token, workspace
    finally:
        _stop(server)


# --- driving a notebook ---------------------------------------------------------------------------
class Notebook:
    """One notebook open in JupyterLab, with a screenshot of every step."""

    def __init__(self, page, path: Path, shots: Path, prefix: str):
        self.page, self.shots, self.prefix, self.steps = page, shots, prefix, 0
        self.cells = json.loads(path.read_text())["cells"]

    def index(self, grade_id: str) -> int:
        """Position of the cell with this nbgrader grade id."""
        [i] = [i for i, c in enumerate(self.cells) if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id]
        return i

    def cell(self, index: int):
        """The cell at ``index``, scrolled into view (JupyterLab builds it when it comes near the screen)."""
        locator = self.page.locator(f'.jp-NotebookPanel-notebook .jp-Cell[data-windowed-list-index="{index}"]')
        for _ in range(100):
            if locator.count():
                locator.scroll_into_view_if_needed()
                return locator
            built = [int(i) for i in self.page.locator(".jp-NotebookPanel-notebook .jp-Cell").evaluate_all(
                "cells => cells.map(c => c.dataset.windowedListIndex)")]
            step = "1" if not built or index > max(built) else "-1"
            self.page.evaluate(f"document.querySelector('.jp-WindowedPanel-outer').scrollBy(0, {step} * 600)")
            self.page.wait_for_timeout(100)
        raise AssertionError(f"cell {index} never appeared")

    def text(self, index: int) -> str:
        """The source shown in the cell's editor."""
        # Not innerText: it is empty for a cell the browser has not painted yet (content-visibility).
        return self.cell(index).locator(".cm-content").evaluate(
            "e => Array.from(e.querySelectorAll('.cm-line'), line => line.textContent).join('\\n')")

    def output(self, index: int) -> str:
        """The text of the cell's outputs, brought into view."""
        area = self.cell(index).locator(".jp-OutputArea")
        area.scroll_into_view_if_needed()
        return area.inner_text()

    def try_typing(self, index: int, keys: str) -> str:
        """Click at the end of the cell's editor and type ``keys``; return its source afterwards."""
        editor = self.cell(index).locator(".cm-content")
        editor.click()
        # Keys typed outside an editor are JupyterLab's commands (m: to markdown): be sure of the focus.
        assert editor.evaluate("e => e.contains(document.activeElement)"), f"cell {index}'s editor has no focus"
        self.page.keyboard.press("Control+End")
        self.page.keyboard.type(keys)
        self.page.keyboard.press("Escape")  # back to command mode
        return self.text(index)

    def write(self, index: int, code: str) -> None:
        """Replace the cell's source with ``code``, as a learner does (select all, then type)."""
        self.cell(index).locator(".cm-content").click()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.insert_text(code)  # as one input: the editor's auto-indent leaves it alone
        self.page.keyboard.press("Escape")
        assert self.text(index).strip() == code.strip()

    def run(self, *indices: int) -> None:
        """Run these cells one by one (select, Shift+Enter), each to the end."""
        for index in indices:
            prompt = self.cell(index).locator(".jp-InputPrompt")
            before = prompt.inner_text()
            prompt.click()
            self.page.keyboard.press("Shift+Enter")
            deadline = time.monotonic() + RUN_TIMEOUT
            while True:
                now = prompt.inner_text()
                if re.search(r"\[\d+\]", now) and now != before:
                    break
                assert time.monotonic() < deadline, f"cell {index} still running after {RUN_TIMEOUT} s: {now!r}"
                self.page.wait_for_timeout(200)

    def shot(self, name: str) -> Path:
        """Save what the browser shows now as the next numbered PNG."""
        self.steps += 1
        path = self.shots / f"{self.prefix}-{self.steps:02d}-{name}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """The screenshots' folder, under pytest's tmp path (kept after the run)."""
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def open_notebook(browser, learner_lab, shots):
    """Open a lesson of the workspace in a new page, its layout reset; yield a function that does it."""
    base, token, workspace = learner_lab
    pages = []

    def opener(lesson: str) -> Notebook:
        print(f"screenshots of each step: {shots}")
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        pages.append(page)
        page.goto(f"{base}/lab/tree/{lesson}/{lesson}.ipynb?reset&token={token}")
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
        notebook = Notebook(page, workspace / lesson / f"{lesson}.ipynb", shots, lesson)
        notebook.shot("opened")
        return notebook

    yield opener
    for page in pages:
        page.close()


def code_cells(notebook: Notebook, start: int, stop: int, *, answers: bool = True) -> list[int]:
    """Positions of the code cells from ``start`` to ``stop`` (excluded), answer cells only if ``answers``."""
    return [i for i, c in enumerate(notebook.cells) if start <= i < stop and c["cell_type"] == "code"
            and (answers or not c["metadata"].get("nbgrader", {}).get("solution"))]


def assert_test_cells_read_only(notebook: Notebook, answer: int) -> None:
    """Is every test cell marked read-only in its first line, and does its editor refuse typing
    (while the answer cell ``answer`` takes the same keys)?"""
    tests = [i for i, c in enumerate(notebook.cells) if c["metadata"].get("nbgrader", {}).get("grade")
             and not c["metadata"]["nbgrader"].get("solution")]
    assert tests
    for index in tests:
        text = notebook.text(index)
        assert text.splitlines()[0].startswith(READ_ONLY_MARK), text
        assert notebook.try_typing(index, "# mine") == text, f"test cell {index} accepted typing"
    before = notebook.text(answer)
    assert notebook.try_typing(answer, "# mine") == before + "# mine"  # the same keys do reach an editor
    notebook.write(answer, before)


# --- the tests --------------------------------------------------------------------------------
def test_quiz_feedback_as_the_learner_sees_it(open_notebook):
    """In 03_quiz, are the test cells read-only, does a wrong answer show why that choice is wrong without
    naming the right option, and does the right one show "passed" and the explanation?"""
    notebook = open_notebook("03_quiz")
    right, phrases = CHOICE_KEY["purpose"]
    wrong = "A"
    answer, test = notebook.index("answer_purpose"), notebook.index("test_purpose")
    assert_test_cells_read_only(notebook, answer)
    notebook.shot("test-cells-read-only")

    notebook.run(*code_cells(notebook, 0, answer, answers=False))
    notebook.write(answer, f'answer_purpose = "{wrong}"')
    notebook.run(answer, test)
    feedback = notebook.output(test)
    notebook.shot("wrong-answer")
    assert "Question purpose: NOT passed" in feedback
    assert phrases[wrong] in feedback and "Why not:" in feedback and "Hint:" in feedback
    assert quiz.question("purpose").options[right] not in feedback  # the right option is not named
    assert phrases[right] not in feedback  # nor explained

    notebook.write(answer, f'answer_purpose = "{right}"')
    notebook.run(answer, test)
    feedback = notebook.output(test)
    notebook.shot("right-answer")
    assert "Question purpose: passed (1 of 1 checks)" in feedback
    assert phrases[right] in feedback and "NOT passed" not in feedback


def _solution(lesson: str, grade_id: str) -> str:
    """The instructor's answer of one cell of ``solutions/``, without nbgrader's markers."""
    cells = json.loads((REPO / "solutions" / lesson / f"{lesson}.ipynb").read_text())["cells"]
    [source] = ["".join(c["source"]) for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id]
    return "\n".join(line for line in source.splitlines() if "### BEGIN SOLUTION" not in line
                     and "### END SOLUTION" not in line)


def test_from_scratch_verdicts_as_the_learner_sees_them(open_notebook):
    """In 02_from_scratch, are the test cells read-only, does dividing by p fail with the message that says so,
    and do the solutions of both parts pass?"""
    notebook = open_notebook("02_from_scratch")
    function, function_test = notebook.index("dropout_function"), notebook.index("test_dropout_function")
    module, module_test = notebook.index("dropout_module"), notebook.index("test_dropout_module")
    assert_test_cells_read_only(notebook, function)
    notebook.run(*code_cells(notebook, 0, function, answers=False))

    notebook.write(function, DIVIDES_BY_P)
    notebook.run(*code_cells(notebook, function, function_test + 1))
    verdict = notebook.output(function_test)
    notebook.shot("divides-by-p")
    assert "Part 1: dropout(x, p, training, inplace): NOT passed" in verdict
    assert "did you divide by p instead of 1-p?" in verdict

    notebook.write(function, _solution("02_from_scratch", "dropout_function"))
    notebook.write(module, _solution("02_from_scratch", "dropout_module"))
    notebook.run(*code_cells(notebook, function, module_test + 1))
    for test, part in ((function_test, "Part 1"), (module_test, "Part 2")):
        verdict = notebook.output(test)
        notebook.shot(f"{part.lower().replace(' ', '-')}-passed")
        assert re.search(rf"^{part}: .*: passed \((\d+) of \1 checks\)$", verdict, re.M), verdict
        assert "NOT passed" not in verdict
