"""Attacks on lesson 02's probe replies: a forged, malformed or oversize reply never passes, and says why.

Each attack starts from an honest reply (a correct dropout's, or a layer's) and changes it
as a learner's kernel could before the grader reads it: outputs that are not dropout of the
judge's inputs, exceptions claimed where none was raised, NaN and Inf, wrong dtypes and
shapes, missing fields, oversize text. Malformed replies fail closed with one ``reply`` check
naming the field (``from_scratch_reply``); well-formed lies fail the check they contradict.
"""

from __future__ import annotations

import numpy as np
import pytest

from dropout_catalogue import DropoutModule, dropout_bernoulli, dropout_torch
from dropout_kit.exercises import from_scratch, wire
from dropout_kit.exercises.base import envelope_text
from dropout_kit.seeding import seed_everything

FUNCTION, MODULE = from_scratch.FUNCTION, from_scratch.MODULE
SEED = 5


def honest(exercise=FUNCTION, obj=dropout_bernoulli, seed: int = SEED) -> tuple[dict, dict]:
    """The judge's requests and a correct implementation's envelope, decoded."""
    seed_everything(seed)
    requests = exercise.new_requests(np.random.default_rng(seed))
    return requests, wire.loads(envelope_text(exercise, obj, wire.roundtrip(requests)))


def decide(exercise, requests, envelope, source=None):
    return exercise.decide(requests, wire.dumps(envelope), source=source)


def index(requests: dict, role: str, k: int = 0) -> int:
    return [i for i, c in enumerate(requests["calls"]) if c["role"] == role][k]


def test_the_honest_reply_passes():
    """Does the unchanged reply pass (so each attack below fails because of its change)?"""
    requests, envelope = honest()
    assert decide(FUNCTION, requests, envelope).passed
    requests, envelope = honest(MODULE, DropoutModule)
    assert decide(MODULE, requests, envelope).passed


# --- well-formed lies fail the check they contradict ------------------------------------------


@pytest.mark.parametrize("role, make, check, phrase", [
    ("scale", lambda v, c: np.random.default_rng(0).normal(size=v.shape), "scale", "neither 0 nor x/(1-p)"),
    ("scale", lambda v, c: np.where(v != 0, np.nan, 0), "scale", "neither 0 nor x/(1-p)"),
    ("keep", lambda v, c: np.where(v != 0, np.inf, 0), "scale", "neither 0 nor x/(1-p)"),
    ("fresh", lambda v, c: v * 0, "scale", "dropped every entry"),
    ("independence", lambda v, c: c["x"] / (1 - c["p"]), "scale", "kept every entry"),
    ("p_one", lambda v, c: np.full(v.shape, np.nan), "p_one", "contains NaN"),
    ("eval", lambda v, c: v * 2, "eval_identity", "output differs in eval mode"),
])
def test_outputs_that_are_not_dropout_of_the_judges_inputs_fail(role, make, check, phrase):
    """Are forged outputs (noise, NaN, Inf, all dropped, none dropped, doubled) failed by the check they
    contradict?"""
    requests, envelope = honest()
    i = index(requests, role)
    out = envelope["reply"]["calls"][i]["out"]
    out["values"] = make(out["values"], requests["calls"][i]).astype(out["values"].dtype)
    verdict = decide(FUNCTION, requests, envelope)
    assert not verdict.passed and phrase in verdict[check].message, str(verdict)


def test_outputs_computed_for_other_inputs_fail():
    """Does an honest reply to another seed's requests, sent as the reply to these, fail?"""
    requests, _ = honest()
    _, other = honest(seed=SEED + 1)
    verdict = decide(FUNCTION, requests, other)
    assert not verdict.passed and not verdict["scale"].passed


def test_a_gradient_that_is_not_the_masks_fails():
    """Does a forged x.grad (the upstream itself, or NaN) fail the gradient check?"""
    requests, envelope = honest()
    i = index(requests, "gradient")
    grad = envelope["reply"]["calls"][i]["grad"]
    grad["values"] = requests["calls"][i]["upstream"].copy()
    assert "as if no mask were applied" in decide(FUNCTION, requests, envelope)["gradient"].message
    grad["values"] = np.full_like(grad["values"], np.nan)
    assert "x.grad differs from upstream" in decide(FUNCTION, requests, envelope)["gradient"].message


def test_an_exception_claimed_on_a_valid_call_fails_that_call():
    """Does claiming that a valid call raised ValueError fail the check reading that call?"""
    requests, envelope = honest()
    call = envelope["reply"]["calls"][index(requests, "scale")]
    call["out"] = None
    call["raised"] = {"type": "ValueError", "value_error": True, "runtime_error": False, "message": "no"}
    assert "raised ValueError: no" in decide(FUNCTION, requests, envelope)["scale"].message


def test_exceptions_moved_to_other_calls_fail():
    """Does a reply whose records are shuffled (the invalid-p exceptions moved first) fail?"""
    requests, envelope = honest()
    calls = envelope["reply"]["calls"]
    envelope["reply"]["calls"] = calls[-3:] + calls[:-3]
    assert not decide(FUNCTION, requests, envelope).passed


def test_erasing_the_detectors_findings_does_not_hide_library_dropout():
    """Does an F.dropout wrapper whose reply claims no library call still fail from_scratch, by its source?"""
    requests, envelope = honest(obj=dropout_torch)
    envelope["reply"]["library_calls"] = []
    verdict = decide(FUNCTION, requests, envelope, source="def dropout(x, p, training, inplace):\n"
                                                          "    return F.dropout(x, p, training, inplace)")
    assert [c.name for c in verdict.failed] == ["from_scratch"]


def test_a_forged_class_record_does_not_hide_a_subclass_of_nn_dropout():
    """Does a reply that hides nn.Dropout from the class's bases still fail from_scratch, by the source?"""
    requests, envelope = honest(MODULE, DropoutModule)
    envelope["reply"]["class"]["mro"] = ["__main__.Dropout", "torch.nn.modules.module.Module", "builtins.object"]
    verdict = decide(MODULE, requests, envelope, source="class Dropout(nn.Dropout):\n    pass")
    assert "uses nn.Dropout" in verdict["from_scratch"].message


def test_claiming_an_instance_was_passed_fails():
    """Does a class record that says 'not a class' fail module_init?"""
    requests, envelope = honest(MODULE, DropoutModule)
    envelope["reply"]["class"].update(is_type=False, is_module_class=False, mro=[])
    assert not decide(MODULE, requests, envelope)["module_init"].passed


# --- malformed replies fail closed, naming the field --------------------------------------------


def _set(field, value, role="scale", part=None):
    """A change that sets one field of the record of the first call of ``role`` (or of its ``part``)."""
    def change(reply, requests):
        record = reply["calls"][index(requests, role)]
        (record[part] if part else record)[field] = value
    return change


def _retype(dtype):
    def change(reply, requests):
        out = reply["calls"][index(requests, "scale")]["out"]
        out["values"] = out["values"].astype(dtype)
    return change


def _reshape(reply, requests):
    out = reply["calls"][index(requests, "scale")]["out"]
    out["values"] = out["values"].reshape(-1)


def _unchanged_after(reply, requests):
    i = index(requests, "keep")
    reply["calls"][i].update(input_changed=True, input_after=requests["calls"][i]["x"].copy())


RAISED = {"type": "ValueError", "value_error": True, "runtime_error": False, "message": ""}


@pytest.mark.parametrize("change, reason", [
    (lambda reply, requests: reply.pop("library_calls"), "reply lacks library_calls"),
    (lambda reply, requests: reply.pop("calls"), "reply lacks calls"),
    (lambda reply, requests: reply["calls"].pop(), "calls must have"),
    (lambda reply, requests: reply["calls"][0].pop("out"), "calls[0] lacks out"),
    (_set("input_changed", "no"), "input_changed must be true or false"),
    (_set("input_after", [1.0, 2.0]), "input_after must be an array"),
    (_set("values", [0.0, 1.0], part="out"), ".out.values must be an array"),
    (_set("dtype", "x" * 1000, part="out"), ".out.dtype has 1000 characters"),
    (_set("shape", [64, 64.5], part="out"), ".out.shape must be a list of sizes"),
    (_set("tensor", False, part="out"), "is not a tensor but has a dtype, shape or values"),
    (_retype("float64"), "which torch.float32 is not sent as"),
    (_retype("int64"), "which torch.float32 is not sent as"),
    (_reshape, "but the output's shape is (64, 64)"),
    (_set("raised", RAISED), "must either have raised or have returned, not both"),
    (_unchanged_after, "says x changed but sends it unchanged"),
    (_set("grad", {"attempted": False, "raised": None, "values": None}, role="keep"),
     "has a gradient that was not asked for"),
    (lambda reply, requests: reply.update(library_calls=["x"] * 50), "at most 20 are recorded"),
])
def test_a_malformed_function_reply_fails_closed(change, reason):
    """Does each malformed reply give one failed 'reply' check naming the field, never a pass or a crash?"""
    requests, envelope = honest()
    change(envelope["reply"], requests)
    verdict = decide(FUNCTION, requests, envelope)
    assert [c.name for c in verdict.checks] == ["reply"] and reason in verdict["reply"].message, str(verdict)


def _instance(field, value, name="keywords"):
    def change(reply, requests):
        reply["instances"][name][field] = value
    return change


@pytest.mark.parametrize("change, reason", [
    (lambda reply, requests: reply["instances"].pop("repr"), "instances lacks repr"),
    (lambda reply, requests: reply["instances"].update(extra={"raised": None}), "instances must hold exactly"),
    (_instance("p", "0.3"), "instances['keywords'].p must be a number"),
    (_instance("repr", "r" * 5000), "instances['keywords'].repr has 5000 characters"),
    (_instance("repr", None), "must have either a repr or the exception repr raised"),
    (lambda reply, requests: reply["class"].update(mro=["m"] * 31), "class.mro has 31 names"),
    (lambda reply, requests: reply.pop("class"), "reply lacks class"),
])
def test_a_malformed_module_reply_fails_closed(change, reason):
    """Does each malformed layer reply give one failed 'reply' check naming the field?"""
    requests, envelope = honest(MODULE, DropoutModule)
    change(envelope["reply"], requests)
    verdict = decide(MODULE, requests, envelope)
    assert [c.name for c in verdict.checks] == ["reply"] and reason in verdict["reply"].message, str(verdict)


@pytest.mark.parametrize("text, reason", [
    (" " * (wire.MAX_BYTES + 1), "bytes; at most"),
    ('{"ok": true, "reply": {"calls": [{"__array__": "", "dtype": "float32", "shape": [100000000]}]}}',
     "at most 8388608 are accepted"),
    ('{"ok": true, "reply": null}', "reply must be a dict"),
    ('{"ok": true, "reply": [1, 2]}', "reply must be a dict"),
    ("NaN", "must be a dict"),
])
def test_oversize_and_garbage_texts_fail_closed(text, reason):
    """Are oversize texts, huge arrays and non-replies refused before any judging, with the reason?"""
    requests, _ = honest()
    verdict = FUNCTION.decide(requests, text)
    assert [c.name for c in verdict.checks] == ["reply"] and reason in verdict["reply"].message, str(verdict)


def test_a_failed_probe_is_a_failed_verdict():
    """Does a probe that could not run at all (ok: false) fail with its error?"""
    requests, _ = honest()
    verdict = FUNCTION.decide(requests, wire.dumps({"ok": False, "error": "TypeError: not callable"}))
    assert verdict["reply"].message == "checking `dropout` failed: TypeError: not callable"
