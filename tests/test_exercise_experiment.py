"""Lesson 05's rules judge (dropout_kit.exercises.experiment): right Nets pass, mistakes and forged replies fail."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

import golden
import net_catalogue as nc
from dropout_kit import exercises
from dropout_kit.exercises import wire
from dropout_kit.exercises.base import envelope_text
from dropout_kit.exercises.experiment import probing

RULES = exercises.get("experiment_rules")


@pytest.fixture(scope="module", autouse=True)
def _one_thread(one_thread):
    """Small forwards: one thread is faster and steadier on a busy machine."""


def _check(net, seed: int = 0):
    return exercises.check("experiment_rules", net, rng=np.random.default_rng(seed))


def _solution_case(seed: int = 0) -> tuple[dict, dict]:
    """The judge's requests for ``seed`` and the solution's decoded reply (a dict to tamper with)."""
    requests = RULES.new_requests(np.random.default_rng(seed))
    envelope = wire.loads(envelope_text(RULES, nc.Solution, wire.roundtrip(requests)))
    return requests, envelope["reply"]


def _decide(requests, reply):
    return RULES.decide(requests, wire.dumps({"ok": True, "reply": reply}))


@pytest.mark.parametrize("net, design", [
    (nc.Solution, "input p=0.2, hidden1 p=0.5, hidden2 p=0.5, logits none"),
    (nc.Functional, "input p=0.1, hidden1 p=0.6, hidden2 none, logits none"),
    (nc.Sequential, "input none, hidden1 p=0.3, hidden2 p=0.3, logits none"),
    (nc.Logits, "input none, hidden1 none, hidden2 none, logits p=0.5"),
])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dropout_nets_pass_with_their_design_measured(net, design, seed):
    """Does every Net that only adds dropout pass, in any style, with its exact rates measured?"""
    verdict = _check(net, seed)
    assert verdict.passed, str(verdict)
    assert verdict.notes == (f"Measured dropout: {design}.",)


def test_an_instance_is_measured_like_its_class():
    """Is a model passed by mistake instead of its class copied and measured, not called as a factory?"""
    verdict = _check(nc.Solution())
    assert verdict.passed and "hidden1 p=0.5" in verdict.notes[0]


@pytest.mark.parametrize("mistake", nc.MISTAKES, ids=repr)
def test_mistakes_fail_at_the_right_check_with_a_reason(mistake):
    """Is each known mistake refused by the check that targets it, with a message naming it?"""
    verdict = _check(mistake.net)
    assert not verdict.passed
    failed = verdict.failed
    assert [c.name for c in failed] == [mistake.check], str(verdict)
    assert mistake.hint in failed[0].message, failed[0].message


def test_an_exception_in_forward_is_reported_not_raised():
    """Does a Net that raises give a failed verdict saying where, instead of crashing the check?"""
    verdict = _check(nc.Broken)
    assert not verdict.passed
    assert "Net raised RuntimeError in eval mode on images of shape (64, 1, 28, 28): shape mismatch" in \
        verdict["reply"].message


def test_the_probe_leaves_the_learners_random_state_alone():
    """Is torch's global random state the same after a check as before it?"""
    import torch

    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    _check(nc.Solution)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_the_reply_is_compact():
    """Is the probe's reply under a megabyte of JSON, as the wire carries it?"""
    requests = RULES.new_requests(np.random.default_rng(0))
    assert len(envelope_text(RULES, nc.Solution, wire.roundtrip(requests))) < 2**20


# --- attacks on the reply: the judge trusts nothing the kernel sends -----------------------

def _forge_always_kept(reply):
    """Claims dropout: every routed value is the kept value x/(1-p), but nothing is ever dropped."""
    routed = reply["routed_train"]
    reply["routed_train"] = np.broadcast_to(routed.max(axis=(0, 1)), routed.shape).copy()


def _forge_wrong_frequency(reply):
    """Keeps the solution's kept values but drops half of every routed logit's rows."""
    routed = reply["routed_train"].copy()
    kept = routed.max(axis=(0, 1))
    routed[:] = kept
    routed[:, ::2, :] = 0.0
    reply["routed_train"] = routed


def _forge_eval(reply):
    """Claims the baseline's shapes but sends eval outputs of another function."""
    reply["random_eval"] = [v + 0.01 for v in reply["random_eval"]]


def _set(key, value):
    def forge(reply):
        reply[key] = value
    return forge


def _nan(reply):
    reply["routed_train"] = reply["routed_train"].copy()
    reply["routed_train"][0, 0, 0] = np.nan


def _inf(reply):
    reply["random_eval"] = [np.full_like(v, np.inf) for v in reply["random_eval"]]


ATTACKS = [
    ("always kept", _forge_always_kept, "masks", "kept for all 4096 images"),
    ("wrong keep frequency", _forge_wrong_frequency, "masks", "2048 of 4096 values were dropped"),
    ("eval outputs of another function", _forge_eval, "eval_function", "a different function"),
    ("NaN", _nan, "reply", "routed_train holds NaN or infinite values"),
    ("infinity", _inf, "reply", "random_eval[0] holds NaN or infinite values"),
    ("wrong shape", _set("routed_train", np.zeros((4, 100, 10), np.float32)), "reply",
     "routed_train must have shape (4, 4096, 10)"),
    ("missing key", lambda r: r.pop("routed_eval"), "reply", "reply lacks routed_eval"),
    ("too few passes", _set("random_eval", [np.zeros((64, 10), np.float32)]), "reply",
     "random_eval must have 2 items"),
    ("integer outputs", _set("routed_eval", np.zeros((8, 10), np.int64)), "reply", "must be of kind 'f'"),
    ("a shape that is not numbers", _set("shapes", [["a"]]), "reply", "shapes[0] must be a number"),
    ("buffers that are not text", _set("buffers", [7]), "reply", "buffers[] must be a string"),
]


@pytest.mark.parametrize("name, forge, check, message", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_forged_and_malformed_replies_fail_closed(name, forge, check, message):
    """Does every forged or malformed reply fail, at the named check, with the reason?"""
    requests, reply = _solution_case()
    forge(reply)
    verdict = _decide(requests, reply)
    assert not verdict.passed
    assert verdict.failed[0].name == check, str(verdict)
    assert message in verdict.failed[0].message, verdict.failed[0].message


@pytest.mark.parametrize("reply, message", [
    ([1, 2, 3], "reply must be a dict, got list"),
    ("Net", "reply must be a dict, got str"),
    ({"shapes": []}, "reply lacks buffers"),
])
def test_replies_of_the_wrong_type_fail_closed(reply, message):
    """Is a reply that is not the probe's dict refused with the reason?"""
    requests = RULES.new_requests(np.random.default_rng(0))
    verdict = _decide(requests, reply)
    assert not verdict.passed and message in verdict["reply"].message


def test_an_oversize_reply_is_refused_before_parsing():
    """Is a reply over the wire's size limit refused without being parsed?"""
    requests = RULES.new_requests(np.random.default_rng(0))
    verdict = RULES.decide(requests, " " * (wire.MAX_BYTES + 1))
    assert not verdict.passed and "at most" in verdict["reply"].message


def test_a_reply_for_other_requests_fails():
    """Does a genuine reply recorded for other requests fail (its outputs are for other parameters)?"""
    _, reply = _solution_case(seed=0)
    requests = RULES.new_requests(np.random.default_rng(1))
    verdict = _decide(requests, reply)
    assert not verdict.passed and verdict.failed[0].name == "eval_function"


def test_the_judge_does_not_use_the_probes_parameters(monkeypatch):
    """If the kernel's copy of the probe builds other parameters, does the judge notice?"""
    requests = RULES.new_requests(np.random.default_rng(0))
    real = probing.random_case
    monkeypatch.setattr(probing, "random_case", lambda seed, rows: real(seed + 1, rows))
    text = envelope_text(RULES, nc.Solution, wire.roundtrip(requests))
    monkeypatch.setattr(probing, "random_case", real)
    verdict = RULES.decide(requests, text)
    assert not verdict.passed and verdict.failed[0].name == "eval_function"


# --- golden files: recorded requests and replies, judged again today ---------------------

GOLDEN = {
    "solution": nc.Solution,
    "p0_everywhere": nc.NoDropout,
    "gaussian_noise": nc.GaussianNoise,
    "dropconnect_fc2_per_image": nc.DropConnectPerImage,
    "batch_shared": nc.BatchShared,
    "schedule": nc.Schedule,
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_verdicts(request, name):
    """Does the judge still give the recorded verdict on each recorded reply?"""
    recorded = golden.case(request, RULES, name, lambda: golden.record(RULES, GOLDEN[name], seed=7))
    assert golden.judge_again(RULES, recorded).to_dict() == recorded["verdict"]


def test_golden_forged_reply(request):
    """Does the judge still refuse the recorded forged reply (every routed value kept)?"""
    def make():
        requests, reply = _solution_case(seed=7)
        _forge_always_kept(reply)
        return golden.record(RULES, None, seed=7, reply_text=wire.dumps({"ok": True, "reply": reply}))
    recorded = golden.case(request, RULES, "forged_always_kept", make)
    verdict = golden.judge_again(RULES, recorded)
    assert verdict.to_dict() == recorded["verdict"] and not verdict.passed


def test_verdicts_are_plain_json():
    """Does a verdict survive the JSON round trip grading stores it through?"""
    verdict = _check(nc.Solution)
    assert json.loads(json.dumps(verdict.to_dict())) == copy.deepcopy(verdict.to_dict())
