"""Tests of the exercise protocol: registry, self-study check, fail-closed decide, kernel responder, goldens."""

import numpy as np
import pytest

from dropout_kit import exercises
from dropout_kit.exercises import base, kernel, wire
from dropout_kit.exercises.base import Exercise
from dropout_kit.verdict import Check, Verdict
import golden


def _challenge(rng):
    return {"x": rng.normal(size=(4, 3)).astype(np.float32)}


def _probe(f, requests):
    return {"y": np.asarray(f(requests["x"]), dtype=np.float32)}


def _judge(requests, reply, *, source=None):
    y = wire.array(wire.mapping(reply, "reply", ["y"])["y"], "y", shape=requests["x"].shape, kind="f")
    ok = bool(np.allclose(y, 2 * requests["x"]))
    return Verdict("double", (Check("doubles", ok, "" if ok else "y is not 2 * x", "returns 2 * x"),), title="Double")


DOUBLE = Exercise("double", "99_toy", "double", "Double", _challenge, _probe, _judge)


@pytest.fixture
def toy_registry(monkeypatch):
    monkeypatch.setattr(exercises, "_registry", {"double": DOUBLE})


def test_check_passes_a_right_answer_and_fails_a_wrong_one(toy_registry):
    """Does the self-study check run challenge, probe and judge and return the judge's verdict?"""
    assert exercises.check("double", lambda x: 2 * x).passed
    verdict = exercises.check("double", lambda x: 3 * x)
    assert not verdict.passed and verdict["doubles"].message == "y is not 2 * x"


def test_learner_exceptions_become_a_failed_verdict(toy_registry):
    """Does an exception in the learner's code give a failed verdict naming it, not a crash?"""
    def broken(x):
        raise ZeroDivisionError("oops")
    verdict = exercises.check("double", broken)
    assert not verdict.passed and verdict["reply"].message == "checking `double` failed: ZeroDivisionError: oops"


def test_the_challenge_ignores_the_learners_random_state(toy_registry):
    """Do two checks draw different inputs even when the learner reseeds numpy before each?"""
    seen = []
    def spy(x):
        seen.append(x.copy())
        return 2 * x
    for _ in range(2):
        np.random.seed(0)
        exercises.check("double", spy)
    assert not np.array_equal(seen[0], seen[1])


@pytest.mark.parametrize("reply_text, message", [
    (None, "no reply came from the probe of `double`"),
    ("not json", "the probe's reply is malformed: the reply is not valid JSON"),
    ('{"ok": "yes"}', "ok must be true or false"),
    ('{"ok": true, "reply": {"y": [1, 2]}}', "y must be an array"),
    ('{"ok": true}', "reply must be a dict"),
    ('{"ok": false, "error": 7}', "error must be a string"),
])
def test_decide_fails_closed(reply_text, message):
    """Is every missing or malformed reply a failed verdict with the reason, never an exception or a pass?"""
    verdict = DOUBLE.decide(DOUBLE.new_requests(np.random.default_rng(0)), reply_text)
    assert not verdict.passed and message in verdict.checks[0].message


def test_decide_survives_a_judge_that_trips():
    """Does an unexpected error inside a judge fail the verdict instead of crashing grading?"""
    def fragile(requests, reply, *, source=None):
        return reply["y"] / 0  # TypeError on hostile data
    exercise = Exercise("frag", "99_toy", "f", "Fragile", _challenge, _probe, fragile)
    verdict = exercise.decide({}, wire.dumps({"ok": True, "reply": {"y": "s"}}))
    assert not verdict.passed and "the judge could not read the reply (TypeError" in verdict.checks[0].message


def test_unknown_exercise_names_the_known_ones(toy_registry):
    """Does asking for an unknown exercise list the ones that exist?"""
    with pytest.raises(exercises.UnknownExerciseError, match="no exercise is called 'tripl'; the exercises are double"):
        exercises.get("tripl")
    assert exercises.for_grade_id("test_double") is DOUBLE
    assert exercises.for_grade_id("double") is None and exercises.for_grade_id("test_nope") is None


def test_kernel_responder_publishes_the_envelope(toy_registry, monkeypatch):
    """Does the code the grader sends run the probe on the learner's object and publish its reply as data?"""
    published = []
    monkeypatch.setattr("IPython.display.publish_display_data", lambda data, **kw: published.append(data))
    requests = DOUBLE.new_requests(np.random.default_rng(1))
    code = kernel.call_code("double", "double", requests)
    exec(code, {"double": lambda x: 2 * x})  # what the kernel does with the learner's namespace
    [data] = published
    assert DOUBLE.decide(requests, data[kernel.MIME]).passed
    # The judge keeps its own requests: a reply computed for other inputs fails.
    assert not DOUBLE.decide(DOUBLE.new_requests(np.random.default_rng(2)), data[kernel.MIME]).passed


def test_every_registered_exercise_is_well_formed():
    """Has every exercise of the course a unique key, a lesson folder, an identifier as target and a timeout?"""
    for key, exercise in exercises.all_exercises().items():
        assert exercise.key == key and exercise.target.isidentifier()
        assert exercise.lesson[:2].isdigit() and exercise.timeout > 0


def test_golden_case_round_trip(request, toy_registry):
    """Does a recorded case give the same verdict when judged again (the golden-file workflow)?"""
    recorded = golden.record(DOUBLE, lambda x: 2 * x, seed=3)
    assert golden.judge_again(DOUBLE, recorded).to_dict() == recorded["verdict"]
    assert recorded["verdict"]["passed"] is True
