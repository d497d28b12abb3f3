"""Golden files for judges: recorded requests, probe replies and the verdicts they gave.

A judge is tested offline against replies recorded from real probes (the solution, the
mistake catalogue, attacks). Each case lives in ``tests/golden/<exercise key>/<name>.json.gz``
with the requests (wire text), the probe's envelope (wire text), the learner's source and
the verdict. ``pytest --refresh-golden`` re-records every case it runs (challenge with the
case's fixed seed, probe on the catalogue object) and rewrites the files; review the diff
of the verdicts before committing. Without the flag a missing file fails the test.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from dropout_kit.exercises import wire
from dropout_kit.exercises.base import Exercise, envelope_text

GOLDEN = Path(__file__).parent / "golden"


def record(exercise: Exercise, obj, *, seed: int, source: str | None = None, reply_text: str | None = None) -> dict:
    """A fresh case: the exercise's requests for ``seed``, the probe's reply on ``obj``, and the verdict."""
    requests = exercise.new_requests(np.random.default_rng(seed))
    if reply_text is None:
        reply_text = envelope_text(exercise, obj, wire.roundtrip(requests))
    verdict = exercise.decide(requests, reply_text, source=source)
    return {"requests": wire.dumps(requests), "reply": reply_text, "source": source, "verdict": verdict.to_dict()}


def case(request, exercise: Exercise, name: str, make) -> dict:
    """Load the golden case ``name`` of ``exercise``; with --refresh-golden, first re-record it with ``make()``."""
    path = GOLDEN / exercise.key / f"{name}.json.gz"
    if request.config.getoption("refresh_golden"):
        path.parent.mkdir(parents=True, exist_ok=True)
        # mtime=0: re-recording an unchanged case rewrites the same bytes (no churn in git).
        with gzip.GzipFile(path, "wb", mtime=0) as handle:
            handle.write(json.dumps(make(), sort_keys=True).encode("utf-8"))
    if not path.exists():
        pytest.fail(f"golden file {path} is missing: record it with `pytest --refresh-golden {request.node.nodeid}`")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def judge_again(exercise: Exercise, recorded: dict):
    """The verdict the judge gives today on a recorded case's requests and reply."""
    return exercise.decide(wire.loads(recorded["requests"]), recorded["reply"], source=recorded["source"])


def assert_judged_the_same(request, exercise: Exercise, name: str, make) -> dict:
    """Load (or with --refresh-golden re-record) case ``name`` and assert today's verdict is the recorded one."""
    recorded = case(request, exercise, name, make)
    assert judge_again(exercise, recorded).to_dict() == recorded["verdict"]
    return recorded
