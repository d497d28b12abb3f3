"""Lesson 02's requests and probes: what the judge asks for, and what the probe records of the learner's code.

The probe decides nothing: these tests check that it records faithfully (outputs, exceptions,
mutation, identity, gradients, the class's bases, the library calls it saw) and never
touches the judge's own copy of the requests.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dropout_catalogue import DropoutModule, NoSuperInit, dropout_bernoulli
from dropout_kit.exercises import from_scratch, wire
from dropout_kit.exercises.from_scratch_probe import call_record, probe_function, probe_module
from dropout_kit.exercises.from_scratch_requests import P_ABOVE_ONE, P_HIGH, P_LOW, P_NEGATIVE

FUNCTION, MODULE = from_scratch.FUNCTION, from_scratch.MODULE
ROLES = {"shape": 8, "p_zero": 2, "p_one": 2, "keep": 2, "scale": 2, "mean": 2, "fresh": 2, "independence": 2,
         "no_mutation": 4, "inplace": 2, "gradient": 2}


def requests_for(exercise, seed: int = 0) -> dict:
    return exercise.new_requests(np.random.default_rng(seed))


@pytest.mark.parametrize("exercise, extra", [(FUNCTION, {"eval": 2, "invalid": 3}),
                                             (MODULE, {"train_eval": 3, "invalid": 1})])
def test_requests_hold_every_call_the_checks_read(exercise, extra):
    """Does each challenge ask for the calls of every role, on inputs never 0 with |x| in [0.5, 2), float32 or
    float64, upstream gradients never 0, about 45,000 entries in all?"""
    calls = requests_for(exercise)["calls"]
    counts = {role: sum(c["role"] == role for c in calls) for role in {c["role"] for c in calls}}
    assert counts == {**ROLES, **extra}
    for call in calls:
        x = call["x"]
        assert x.dtype.name in ("float32", "float64") and x.ndim in (1, 2, 3, 4)
        assert ((np.abs(x) >= 0.5) & (np.abs(x) < 2)).all()
        assert call["upstream"] is None or (call["upstream"] != 0).all()
    assert {len(c["x"].shape) for c in calls if c["role"] == "shape"} == {1, 2, 3, 4}
    assert 40_000 < sum(c["x"].size for c in calls) < 50_000


def test_rates_come_from_menus_that_keep_mistakes_apart():
    """Are the drawn rates from the menus, and does every menu rate keep 1/(1-p) and the likely wrong factors
    (1/p, 1, 1-p, p, 1/(1-p)^2) more than 2% apart, as the scale check's hints need?"""
    rates = {c["role"]: c["p"] for c in requests_for(FUNCTION, 3)["calls"]}
    assert rates["scale"] in P_LOW + P_HIGH and rates["keep"] in P_LOW + P_HIGH
    invalid = [c["p"] for c in requests_for(FUNCTION, 3)["calls"] if c["role"] == "invalid"]
    assert invalid[0] in P_NEGATIVE and invalid[1] in P_ABOVE_ONE and math.isnan(invalid[2])
    for p in P_LOW + P_HIGH:
        values = sorted([1 / (1 - p), 1 / p, 1.0, 1 - p, p, 1 / (1 - p) ** 2])  # the right factor and the guesses
        assert all(b > 1.02 * a for a, b in zip(values, values[1:])), p


def test_requests_are_fresh_per_seed_and_fixed_by_it():
    """Do two seeds draw different inputs, and one seed the same ones (the judge's own randomness)?"""
    first, again, other = requests_for(FUNCTION, 1), requests_for(FUNCTION, 1), requests_for(FUNCTION, 2)
    assert wire.dumps(first) == wire.dumps(again) and wire.dumps(first) != wire.dumps(other)


def test_a_reply_stays_small():
    """Does a whole reply stay under 1 MB of JSON text for each exercise?"""
    for exercise, obj in ((FUNCTION, dropout_bernoulli), (MODULE, DropoutModule)):
        reply = exercise.probe(obj, wire.roundtrip(requests_for(exercise)))
        assert len(wire.dumps(reply)) < 1_000_000


def _record(run, x=None, **call):
    x = np.ones((3, 4), np.float32) if x is None else x
    return call_record(run, {"x": x, "upstream": None, "nonleaf": False, **call}, [])


def test_an_exception_is_recorded_as_data():
    """Is an exception recorded with its type name, its ValueError/RuntimeError kinship and its message?"""
    class Mine(ValueError):
        pass

    def raise_(x):
        raise Mine("p is bad")

    record = _record(raise_)
    assert record["out"] is None
    assert record["raised"] == {"type": "Mine", "value_error": True, "runtime_error": False, "message": "p is bad"}


def test_outputs_are_recorded_as_returned():
    """Are dtype, shape, values, identity with x and shared storage recorded as the learner's code returned them,
    float16 sent as float64 and complex not sent?"""
    same = _record(lambda x: x)["out"]
    assert same["is_input"] and same["same_storage"] and same["dtype"] == "torch.float32"
    view = _record(lambda x: x.view(3, 4))["out"]
    assert not view["is_input"] and view["same_storage"]
    half = _record(lambda x: x.half() / 3)["out"]
    assert half["dtype"] == "torch.float16" and half["values"].dtype == np.float64
    assert _record(lambda x: x.to(torch.complex64))["out"]["note"] == "complex values are not sent"
    other = _record(lambda x: x.numpy())["out"]
    assert (other["tensor"], other["type"], other["values"]) == (False, "ndarray", None)
    big = _record(lambda x: torch.zeros(300, 300))["out"]
    assert big["values"] is None and big["shape"] == [300, 300] and "more than" in big["note"]


def test_mutation_and_gradients_are_recorded():
    """Is a changed input recorded with its values after, and x.grad after backward with the judge's upstream?"""
    x = np.full((2, 2), 1.5, np.float32)
    record = _record(lambda t: t.mul_(2), x=x)
    assert record["input_changed"] and (record["input_after"] == 3.0).all()
    upstream = np.array([[1.0, -1.0], [0.5, 2.0]], np.float32)
    record = _record(lambda t: t * torch.tensor([[2.0, 0.0], [2.0, 0.0]]), x=x, upstream=upstream)
    assert not record["input_changed"] and record["grad"]["attempted"]
    assert np.array_equal(record["grad"]["values"], upstream * np.array([[2.0, 0.0], [2.0, 0.0]]))
    assert (x == 1.5).all()  # the request's own array is never changed


def test_the_judges_requests_are_never_changed():
    """Does a probe of an implementation that mutates its input leave the requests it was given unchanged?"""
    requests = requests_for(FUNCTION)
    before = wire.dumps(requests)
    probe_function(lambda x, p, training, inplace: x.mul_(0) if x.requires_grad is False else x * 0, requests)
    assert wire.dumps(requests) == before


def test_library_calls_are_seen_and_named():
    """Does the probe's detector list PyTorch's dropout when the learner's code calls it, and nothing otherwise?"""
    requests = wire.roundtrip(requests_for(FUNCTION))
    assert probe_function(F.dropout, requests)["library_calls"] == ["torch.nn.functional.dropout"]
    assert probe_function(dropout_bernoulli, requests)["library_calls"] == []


def test_the_class_record_shows_bases_and_set_up():
    """Does the module probe report the MRO's qualified names, a skipped super().__init__ and an instance passed
    instead of the class?"""
    requests = wire.roundtrip(requests_for(MODULE))
    mro = probe_module(nn.Dropout, requests)["class"]["mro"]
    assert mro[:2] == ["torch.nn.modules.dropout.Dropout", "torch.nn.modules.dropout._DropoutNd"]
    assert probe_module(NoSuperInit, requests)["instances"]["keywords"]["super_init"] is False
    passed_instance = probe_module(DropoutModule(), requests)
    assert passed_instance["class"]["is_type"] is False and passed_instance["calls"] == []
    record = probe_module(DropoutModule, requests)["instances"]["repr"]
    assert record["repr"] == f"DropoutModule(p={requests['instances']['repr']['kwargs']['p']}, inplace=False)"
