"""The grader under attack: learners who try to earn marks they did not, or to harm others, and
honest learners with unusual habits, graded together by ``dropout-kit grade`` (2 jobs at once).

Three grading runs of the real lessons (tests/attack_catalogue.py says what each learner submits):

- the *attack run*, lessons 02, 03, 07 and 09 with the course's own time limits: solutions, the
  release, honest-but-unusual learners, attackers on the judges and the probe, attackers on other
  learners (the gradebook, their files, the network, the feedback HTML, detached processes);
- the *limit run*, lesson 03 with short limits: floods, a fork bomb, a memory hog, huge files,
  a hang that ignores SIGINT, os._exit, killing other processes; and one honest learner;
- the *file run*, lesson 03: handed-in files that are the attack (a link to the solutions or to
  another learner's folder, a 65 MB notebook, JSON nested 100,000 deep); and one honest learner.

Every attacker must earn exactly what its honest work earns (or fail with a reason); every
honest learner keeps full marks; nobody else's files or grades change; no process of a run is
left afterwards; the test's HTTP server hears nothing; the feedback carries no live markup from
learners; every file a run writes stays small. Slow: about 50 sandboxed kernels.
"""

from __future__ import annotations

import base64
import html.parser
import json
import os
import threading
import uuid
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import psutil
import pytest
from attack_catalogue import (L02, L03, LESSONS, Learner, file_attacks, harm_attacks, honest_and_unusual,
                              limit_attacks, marks_attacks)
from attack_notebooks import digests, load, write
from dropout_catalogue import dropout_bernoulli
from nbgrader.api import Grade, Gradebook
from test_course_grade import marker_processes

from dropout_kit import exercises
from dropout_kit.course import grade, release
from dropout_kit.course.report import FAILED, OK
from dropout_kit.exercises import scan, wire
from dropout_kit.exercises.base import envelope_text

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

REPO = Path(__file__).resolve().parents[1]
MiB = 2**20
SMALL = {"autograded": 4 * MiB, "feedback": 4 * MiB, "logs": 1 * MiB}  # per file; floods send 300 MB


@dataclass
class Run:
    """One grading run: its report, workspace, learners, and what the test watched meanwhile."""

    report: object
    out: Path
    subs: Path
    learners: dict[str, Learner]
    ctx: dict
    before: dict[str, dict[str, str]]
    heard: list


class _Listener(BaseHTTPRequestHandler):
    heard: list = []

    def do_GET(self):  # noqa: N802 -- http.server's name
        self.heard.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def _host_ip() -> str:
    """An address of this machine other than loopback (what a kernel might try instead of 127.0.0.1)."""
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family.name == "AF_INET" and not address.address.startswith("127."):
                return address.address
    return "10.255.255.1"


def _canned_reply() -> str:
    """A passing reply of the dropout exercise for inputs the judge does not use, as a learner would keep it."""
    exercise = exercises.get("dropout_function")
    requests = exercise.new_requests(np.random.default_rng(0))
    text = envelope_text(exercise, dropout_bernoulli, wire.roundtrip(requests))
    assert exercise.decide(requests, text, source="").passed  # it did pass, for its own inputs
    return base64.b64encode(zlib.compress(text.encode(), 9)).decode()


def _grade_run(tmp: Path, lessons: tuple, build, **limits) -> Run:
    released = release(list(lessons), course_root=REPO, into=tmp / "release")
    S = {lesson: load(REPO / "solutions" / lesson / f"{lesson}.ipynb") for lesson in lessons}
    R = {lesson: load(path) for lesson, path in zip(lessons, released)}
    subs, out = tmp / "submissions", tmp / "grading"
    server = ThreadingHTTPServer(("0.0.0.0", 0), _Listener)
    _Listener.heard = heard = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ctx = {"out": str(out), "subs": str(subs), "repo": str(REPO), "port": server.server_address[1],
           "host_ip": _host_ip(), "marker": f"attack-{uuid.uuid4().hex}", "secret": f"SECRET-{uuid.uuid4().hex}"}
    ctx["canned"] = _canned_reply()
    learners = {learner.name: learner for learner in build(S, R, ctx)}
    for learner in learners.values():
        for lesson, nb in learner.notebooks.items():
            write(subs, learner.name, lesson, nb)
    before = {"submissions": digests(subs), "solutions": digests(REPO / "solutions"),
              "package": digests(REPO / "dropout_kit")}
    try:
        report = grade(subs, out=out, course_root=REPO, lessons=list(lessons), jobs=2, **limits)
    finally:
        server.shutdown()
    return Run(report, out, subs, learners, ctx, before, heard)


@pytest.fixture(scope="module")
def attack_run(tmp_path_factory, bwrap_sandbox):
    """Lessons 02, 03, 07 and 09, the course's own time limits: honest, marks and harm learners together."""
    def build(S, R, ctx):
        return honest_and_unusual(S, R) + marks_attacks(S, R, ctx) + harm_attacks(S, R, ctx)
    return _grade_run(tmp_path_factory.mktemp("attacks"), LESSONS, build)


@pytest.fixture(scope="module")
def limit_run(tmp_path_factory, bwrap_sandbox):
    """Lesson 03 with a 20 s cell and a 120 s lesson limit: floods, bombs, hogs, hangs and an honest learner."""
    return _grade_run(tmp_path_factory.mktemp("limits"), (L03,), limit_attacks, timeout=20, notebook_timeout=120)


@pytest.fixture(scope="module")
def file_run(tmp_path_factory, bwrap_sandbox):
    """Lesson 03: submissions whose file itself is the attack (links, 65 MB, deep JSON) beside an honest learner."""
    return _grade_run(tmp_path_factory.mktemp("files"), (L03,), file_attacks, timeout=60)


# --- reading a run -------------------------------------------------------------------------------------

def _row(run: Run, learner: str, lesson: str):
    [row] = [r for r in run.report.results if r.learner == learner and r.lesson == lesson]
    return row


def _autograded(run: Run, learner: str, lesson: str) -> dict:
    return json.loads((run.out / "autograded" / learner / lesson / f"{lesson}.ipynb").read_text())


def _text(output: dict) -> str:
    text = output.get("text") or output.get("data", {}).get("text/plain") or ""
    return "".join(text) if isinstance(text, list) else text


def printed(run: Run, learner: str, lesson: str) -> str:
    """What the learner's own cells printed while graded (test cells excluded)."""
    return "".join(_text(o) for c in _autograded(run, learner, lesson)["cells"] if c["cell_type"] == "code"
                   and not c["metadata"].get("nbgrader", {}).get("grade") for o in c.get("outputs", []))


def verdict_text(run: Run, learner: str, lesson: str, grade_id: str) -> str:
    [cell] = [c for c in _autograded(run, learner, lesson)["cells"]
              if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id]
    return "".join(_text(o) for o in cell["outputs"])


def assert_outcome(run: Run, learner: Learner) -> None:
    """The learner's due score per lesson (or a failure with its reason), verdicts and printed text."""
    for lesson, score in learner.expected.items():
        row = _row(run, learner.name, lesson)
        why = f"{learner.question} -- {learner.name}/{lesson}: {row.status} {row.score} {row.reason[:500]}"
        if score is None:
            assert (row.status, row.score) == (FAILED, None), why
            assert row.reason and learner.reason.get(lesson, "") in row.reason, why
        else:
            assert (row.status, row.score, row.max_score) == (OK, score, row.max_score), why
        if lesson in learner.printed:
            assert learner.printed[lesson] in printed(run, learner.name, lesson), why
    for grade_id, phrase in learner.verdicts.items():
        [lesson] = learner.notebooks
        assert phrase in verdict_text(run, learner.name, lesson, grade_id), f"{learner.question} -- {grade_id}"


# --- honest learners -------------------------------------------------------------------------------------

HONEST = ["solutions", "release", "unusual_02", "compare_02", "unusual_03", "unusual_07"]


@pytest.mark.parametrize("name", HONEST)
def test_honest_learners_get_what_they_earned(attack_run, name):
    """Do the solutions get full marks and the release 0, and do honest learners with unusual habits
    (shadowed builtins, inspect, magics, plots, reseeding, comparisons with the library) keep full marks?"""
    assert_outcome(attack_run, attack_run.learners[name])


# --- marks without a correct answer ------------------------------------------------------------------

MARKS = ["patch_judges_02", "patch_in_time_03", "patch_via_helper_03", "transformer_03", "forged_respond_02",
         "forged_hook_02", "forged_hook_07", "forged_respond_09", "replayed_reply_02", "fake_display_02",
         "lying_tensor_02", "search_02", "f_dropout_02", "subclass_02", "aten_02", "built_name_02",
         "built_name_blind_02", "brute_force_03", "tolerance_walk_03", "read_key_03", "read_solutions_03",
         "lying_number_03", "metadata_bonus_03", "metadata_answer_03", "delegate_07", "sklearn_07",
         "patch_reference_07", "search_07"]


@pytest.mark.parametrize("name", MARKS)
def test_an_attack_on_the_marks_earns_only_honest_work(attack_run, name):
    """Does each attack on the judges, the probe, the key or the source rules earn exactly what the
    attacker's honest work earns (the learner's question says which attack)?"""
    assert_outcome(attack_run, attack_run.learners[name])


def test_a_name_built_at_run_time_with_the_detector_off_is_the_documented_limit(attack_run):
    """Does operator.attrgetter('drop' + 'out'), with the detector switched off, pass, and is exactly
    that the limit the source scan documents (so that the instructor knows it)?"""
    learner = attack_run.learners["attrgetter_blind_02"]
    assert_outcome(attack_run, learner)
    assert learner.limit in " ".join(scan.__doc__.split())


@pytest.mark.parametrize("name", ["metadata_bonus_03", "metadata_answer_03"])
def test_metadata_forgery_keeps_the_maximum(attack_run, name):
    """Does a learner's own 100-point test cell, or an answer cell marked as graded, leave the lesson's maximum at 17?"""
    assert _row(attack_run, name, L03).max_score == 17
    with (attack_run.out / "grades.csv").open() as handle:
        assert f"{name},{L03},,17,failed," in handle.read()


# --- harm to others -------------------------------------------------------------------------------------

HARM = ["victim", "gradebook_03", "rewrite_others_03", "detached_03", "read_others_03", "network_03", "html_02"]


@pytest.mark.parametrize("name", HARM)
def test_an_attack_on_others_scores_only_the_attackers_honest_work(attack_run, name):
    """Is each learner who attacks others scored as its honest work, and its target as usual?"""
    assert_outcome(attack_run, attack_run.learners[name])


def test_no_descriptor_or_path_of_the_workspace_reaches_a_kernel(attack_run):
    """Does the kernel that searched the file system and its open descriptors find nothing of the grading workspace?"""
    found = printed(attack_run, "read_others_03", L03)
    assert "open descriptors:" in found and attack_run.ctx["out"] not in found


def test_the_gradebook_holds_only_the_judges_scores(attack_run):
    """After the gradebook attacks, does no grade hold a manual score, and does every learner's total match the judges?"""
    with Gradebook(f"sqlite:///{attack_run.out / 'gradebook.db'}", "dropout-course") as gb:
        grades = gb.db.query(Grade).all()
        manual = [(g.student.id, g.name, g.manual_score) for g in grades if g.manual_score is not None]
        assert grades and manual == []
    assert "written" not in printed(attack_run, "gradebook_03", L03).replace("only a file of my own sandbox", "")


def test_no_file_of_another_learner_or_of_the_course_changed(attack_run):
    """Are every submission, the solutions and the package unchanged, and grades.csv and the victim's
    workspace files free of the attackers' writes?"""
    run = attack_run
    assert digests(run.subs) == run.before["submissions"]
    assert digests(REPO / "solutions") == run.before["solutions"]
    assert digests(REPO / "dropout_kit") == run.before["package"]
    assert "pwned" not in (run.out / "grades.csv").read_text()
    for step in ("submitted", "autograded"):
        assert "pwned" not in (run.out / step / "victim" / L03 / f"{L03}.ipynb").read_text()
    assert "'written'" not in printed(run, "rewrite_others_03", L03)


@pytest.mark.parametrize("run_name", ["attack_run", "limit_run"])
def test_no_process_of_a_run_is_left(request, run_name):
    """When grading returns, is every process a learner started (detached, double-forked, a fork bomb) gone?"""
    run = request.getfixturevalue(run_name)
    assert marker_processes(run.ctx["marker"]) == []


@pytest.mark.parametrize("run_name", ["attack_run", "limit_run"])
def test_the_network_is_out_of_reach(request, run_name):
    """Did the test's HTTP server (on every address of this machine) hear nothing from any kernel?"""
    run = request.getfixturevalue(run_name)
    assert run.heard == []
    if run_name == "attack_run":
        tried = printed(run, "network_03", L03)
        assert "reached" not in tried and "'sent'" not in tried and "network attempts:" in tried


class _LiveMarkup(html.parser.HTMLParser):
    """Collects markup a browser would run: scripts that alert, on* handlers, javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.found, self._in_script = [], False

    def handle_starttag(self, tag, attrs):
        self._in_script = tag == "script"
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_data(self, data):
        if self._in_script and "alert(" in data:
            self.found.append(f"<script>{data[:80]}")


def test_feedback_carries_no_live_markup_from_learners(attack_run):
    """Is every <script>, onerror= and javascript: a learner wrote shown as text in the feedback HTML, never as markup?"""
    pages = sorted((attack_run.out / "feedback").rglob("*.html"))
    assert len(pages) >= len(attack_run.learners)
    for page in pages:
        parser = _LiveMarkup()
        parser.feed(page.read_text(encoding="utf-8"))
        assert parser.found == [], page
    page = (attack_run.out / "feedback" / "html_02" / L02 / f"{L02}.html").read_text(encoding="utf-8")
    assert "alert(&#x27;markdown&#x27;)" in page or "alert('markdown')" in page  # shown, as text


@pytest.mark.parametrize("run_name", ["attack_run", "limit_run", "file_run"])
def test_every_file_a_run_writes_stays_small(request, run_name):
    """Do the autograded notebooks, the feedback and the logs stay small, floods of 300 MB included?"""
    run = request.getfixturevalue(run_name)
    for step, limit in SMALL.items():
        for path in (run.out / step).rglob("*"):
            if path.is_file():
                assert path.stat().st_size < limit, path


# --- limits ------------------------------------------------------------------------------------------------

LIMITS = ["honest_b", "flood_stdout", "flood_stderr", "flood_fd2", "fork_bomb", "memory_hog", "huge_file", "fill_tmp",
          "ignores_sigint", "exits_python", "kills_others"]


@pytest.mark.parametrize("name", LIMITS)
def test_a_flood_bomb_or_hang_harms_only_its_own_lesson(limit_run, name):
    """Does each flood, bomb, hog, hang or kill fail the attacker's lesson with a reason (or score its
    honest work, where the sandbox simply refused), while the honest learner beside it gets full marks?"""
    assert_outcome(limit_run, limit_run.learners[name])


# --- the handed-in file ------------------------------------------------------------------------------------

FILES = ["honest_c", "link_to_solutions", "link_to_other_learner", "huge_notebook", "deep_json"]


@pytest.mark.parametrize("name", FILES)
def test_a_handed_in_file_that_is_the_attack_fails_only_its_lesson(file_run, name):
    """Is a notebook that is a link (to the solutions, to another learner's folder), 65 MB large or JSON nested
    100,000 deep refused with a reason, without crashing the run, the honest learner beside it graded?"""
    assert_outcome(file_run, file_run.learners[name])


def test_every_learner_is_checked(attack_run, limit_run, file_run):
    """Is every learner of the three runs checked by one of the tests above (none built and then forgotten)?"""
    assert set(attack_run.learners) == {*HONEST, *MARKS, *HARM, "attrgetter_blind_02"}
    assert set(limit_run.learners) == set(LIMITS)
    assert set(file_run.learners) == set(FILES)
