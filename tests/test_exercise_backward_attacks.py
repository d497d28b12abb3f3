"""Attacks on lesson 09's probe reply: forged, malformed, NaN, wrong shapes, missing fields, oversize.

The reply comes from the learner's kernel, so the judge must fail closed, never pass and never
raise, on anything a probe would not send, and on data that is well formed but is not what the
learner's class did to the judge's own inputs. Each attack starts from a real reply of the
solution and changes one thing.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from backward_catalogue import SOLUTION, build
from dropout_kit.exercises import backward, wire
from dropout_kit.exercises.backward_probe import probe
from dropout_kit.exercises.base import envelope_text

EXERCISE = backward.EXERCISE


def honest(seed: int = 0):
    """The judge's requests for ``seed`` and the solution's reply to them, as the judge parses it."""
    requests = EXERCISE.new_requests(np.random.default_rng(seed))
    torch.manual_seed(seed)
    envelope = wire.loads(envelope_text(EXERCISE, build(SOLUTION), wire.roundtrip(requests)))
    return requests, envelope


def judged(requests, envelope):
    """The verdict on an envelope (sent as wire text, as it crosses from the kernel)."""
    return EXERCISE.decide(requests, wire.dumps(envelope))


def call(envelope, role: str, requests, k: int = 0):
    """The k-th record of ``role`` in the reply, with its request."""
    found = [(record, req) for group, reqs in zip(envelope["reply"]["groups"], requests["groups"])
             for record, req in zip(group, reqs) if req["role"] == role]
    return found[k]


def test_the_honest_reply_passes():
    """Is the unchanged reply of the solution passed (so that every attack below changes only one thing)?"""
    assert judged(*honest()).passed


def _grad_is_upstream(envelope, requests):
    record, req = call(envelope, "gradient", requests)
    record["backward"]["grad"] = req["upstream"].copy()


def _grad_of_other_mask(envelope, requests):
    record, req = call(envelope, "gradient", requests)
    record["backward"]["grad"] = np.roll(record["backward"]["grad"], 1)


def _output_without_scale(envelope, requests):
    record, req = call(envelope, "keep", requests)
    out = record["out"]["values"]
    out[out != 0] = req["x"][out != 0]


def _nan_gradient(envelope, requests):
    record, _ = call(envelope, "gradient", requests)
    kept = np.flatnonzero(record["out"]["values"] != 0)[0]  # at a kept entry: the mask is not what changed
    record["backward"]["grad"].flat[kept] = np.nan


def _nan_output(envelope, requests):
    record, _ = call(envelope, "keep", requests)
    record["out"]["values"][:] = np.nan


def _same_mask_twice(envelope, requests):
    first, _ = call(envelope, "fresh", requests, 0)
    second, _ = call(envelope, "fresh", requests, 1)
    second["out"]["values"] = first["out"]["values"].copy()


def _hide_library_calls(envelope, requests):
    envelope["reply"]["library_calls"] = []


@pytest.mark.parametrize("forge, check, phrase", [
    (_grad_is_upstream, "gradient", "x.grad equals grad_output"),
    (_grad_of_other_mask, "gradient", "backward used a different mask"),
    (_output_without_scale, "scale", "did you forget to divide the kept values by 1-p"),
    (_nan_gradient, "gradient", "x.grad differs from grad_output * mask/(1-p) on 1 of"),
    (_nan_output, "keep_fraction", "nothing was dropped"),
    (_same_mask_twice, "fresh_mask", "dropped exactly the same entries"),
])
def test_forged_values_fail_the_check_they_cheat(forge, check, phrase):
    """Is a well-formed reply whose numbers are not the learner's code on the judge's inputs failed by name?"""
    requests, envelope = honest(1)
    forge(envelope, requests)
    verdict = judged(requests, envelope)
    assert not verdict.passed and not verdict[check].passed
    assert phrase in verdict[check].message, verdict[check].message


def test_a_reply_to_other_requests_fails():
    """Is the solution's honest reply to another challenge failed for this one (the judge keeps its own inputs)?"""
    requests, _ = honest(2)
    _, other = honest(3)
    verdict = judged(requests, other)
    assert not verdict.passed


def test_hiding_the_detector_does_not_hide_the_source():
    """Does emptying library_calls leave the source rule standing (the judge reads the source, not the kernel)?"""
    requests, envelope = honest(4)
    _hide_library_calls(envelope, requests)
    text = SOLUTION.replace("torch.empty_like(x).bernoulli_(1.0 - p)", "(F.dropout(torch.ones_like(x), p) != 0)")
    verdict = EXERCISE.decide(requests, wire.dumps(envelope), source=text)
    assert not verdict["by_hand"].passed and "uses F.dropout" in verdict["by_hand"].message


def _set(path, value):
    """A change that puts ``value`` at ``path`` (keys and indices, from the envelope) of the reply."""
    def change(envelope, requests):
        target = envelope
        for key in path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value(target[path[-1]]) if callable(value) else value
    return change


_DELETE = object()
RAISED = {"type": "ValueError", "value_error": True, "runtime_error": False, "message": "m"}
G = ("reply", "groups", 0, 0)  # the first call's record


@pytest.mark.parametrize("change, problem", [
    (_set(("reply", "library_calls"), _DELETE), "reply lacks library_calls"),
    (_set(("reply", "groups"), lambda groups: groups[:-1]), "groups must have 13 items, got 12"),
    (_set(("reply", "groups", 0), lambda group: group * 2), "groups[0] must have 1 items, got 2"),
    (_set((*G, "backward"), _DELETE), "groups[0][0] lacks backward"),
    (_set((*G, "out", "tensor"), "yes"), "groups[0][0].out.tensor must be true or false, got str"),
    (_set((*G, "out", "values"), lambda v: v[:-1]), "groups[0][0].out.values has shape"),
    (_set((*G, "out", "values"), lambda v: v.astype(np.int64)), "which torch.float32 is not sent as"),
    (_set((*G, "out", "values"), lambda v: v.astype(np.float64)), "which torch.float32 is not sent as"),
    (_set((*G, "out", "shape"), [10**15]), "groups[0][0].out.shape must be a list of sizes"),
    (_set((*G, "backward", "grad"), lambda g: g[:-1]), "groups[0][0].backward.grad must have shape"),
    (_set((*G, "backward", "grad"), "0.5"), "groups[0][0].backward.grad must be an array, got str"),
    (_set((*G, "backward", "returned", "count"), True), "count must be a whole number >= 0 or null"),
    (_set((*G, "backward", "returned", "kinds"), ["Tensor"] * 9), "kinds must list the type of each returned item"),
    (_set((*G, "backward", "returned", "raised"), RAISED), "both raised and returned"),
    (_set((*G, "out"), None), "must either have raised or have returned, not neither"),
    (_set((*G, "raised"), RAISED), "must either have raised or have returned, not"),
    (_set((*G, "out", "requires_grad"), False), "has a backward record, but its output was no tensor that requires"),
    (_set(("reply", "library_calls"), ["x"] * 21), "library_calls has 21 names"),
    (_set(("reply", "class", "is_type"), False), "class says it is a Function subclass but not a class"),
    (_set(("reply",), "passed"), "reply must be a dict, got str"),
    (_set(("reply",), {}), "reply lacks class, groups, library_calls"),
])
def test_malformed_replies_fail_closed(change, problem):
    """Is every reply that no probe sends failed with the field named, never passed and never raised?"""
    requests, envelope = honest(5)
    change(envelope, requests)
    verdict = judged(requests, envelope)
    assert not verdict.passed and len(verdict.checks) == 1
    assert verdict.checks[0].name == "reply" and problem in verdict.checks[0].message, verdict.checks[0].message


@pytest.mark.parametrize("text, problem", [
    (None, "no reply came from the probe of `DropoutFunction`"),
    ("{" * 100_000, "the reply is not valid JSON"),
    ('{"ok": false, "error": "NameError: name \'DropoutFunction\' is not defined"}',
     "checking `DropoutFunction` failed: NameError"),
    ('{"ok": true, "reply": {"class": {"is_type": true, "is_function": true, "type": "type"}, "groups": [], '
     '"library_calls": []}}', "groups must have 13 items, got 0"),
    ("x" * (wire.MAX_BYTES + 1), "at most"),
])
def test_broken_envelopes_fail_closed(text, problem):
    """Are no reply, bad JSON, a reported error, an empty reply and an oversize reply each a failed verdict?"""
    requests = EXERCISE.new_requests(np.random.default_rng(6))
    verdict = EXERCISE.decide(requests, text)
    assert not verdict.passed and problem in verdict.checks[0].message


def test_the_judge_is_deterministic():
    """Do the same requests and reply give the same verdict twice (nothing random on the judge's side)?"""
    requests, envelope = honest(7)
    text = wire.dumps(envelope)
    assert EXERCISE.decide(requests, text).to_dict() == EXERCISE.decide(requests, text).to_dict()


def test_the_probe_draws_no_random_numbers():
    """Does the probe leave torch's random state as it found it, with a class that draws nothing itself?"""
    class Identity(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, p, training):
            return x.clone()

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output, None, None

    requests = wire.roundtrip(EXERCISE.new_requests(np.random.default_rng(8)))
    before = torch.get_rng_state()
    reply = probe(Identity, requests)
    assert torch.equal(torch.get_rng_state(), before)
    assert [len(g) for g in reply["groups"]] == [len(g) for g in requests["groups"]]
