"""Tests of the probe-judge wire format: JSON with arrays, parsed under limits, validated by judges."""

import base64
import json

import numpy as np
import pytest
import torch

from dropout_kit.exercises import wire
from dropout_kit.exercises.wire import ReplyError


def test_round_trip_keeps_values_dtypes_and_shapes():
    """Do arrays (numpy and torch), numbers, strings, None and nesting survive the wire exactly?"""
    obj = {"x": np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), "t": torch.tensor([[1.5, float("nan")]]),
           "i": np.arange(5, dtype=np.int64), "b": np.array([True, False]), "n": [1, 2.5, None, "s", {"k": True}],
           "empty": np.zeros((0, 3), dtype=np.float64)}
    back = wire.roundtrip(obj)
    np.testing.assert_array_equal(back["x"], obj["x"])
    assert back["x"].dtype == np.float32 and back["t"].dtype == np.float32
    assert back["t"][0, 0] == 1.5 and np.isnan(back["t"][0, 1])
    assert back["i"].dtype == np.int64 and back["b"].dtype == np.bool_ and back["empty"].shape == (0, 3)
    assert back["n"] == [1, 2.5, None, "s", {"k": True}]


def test_unsendable_objects_are_refused_when_sending():
    """Is a function, an object or an unsupported dtype refused by dumps with a clear message?"""
    with pytest.raises(TypeError, match="cannot be sent"):
        wire.dumps({"f": len})
    with pytest.raises(TypeError, match="dtype float16 cannot be sent"):
        wire.dumps(np.zeros(2, dtype=np.float16))


@pytest.mark.parametrize("text, message", [
    ('{"__array__": "AAAA", "dtype": "object", "shape": [1]}', "only float32"),
    ('{"__array__": "AAAAAA==", "dtype": "float32", "shape": [2]}', "needs 8 bytes, got 4"),
    ('{"__array__": "not base64!", "dtype": "float32", "shape": [1]}', "not valid base64"),
    ('{"__array__": "AAAA", "dtype": "float32", "shape": [-1]}', "list of at most 8 sizes"),
    ('{"__array__": "AAAA", "dtype": "float32", "shape": [100000, 100000]}', "at most"),
    ('{"__array__": 5, "dtype": "float32", "shape": [1]}', "base64 string"),
    ("{'single': 'quotes'}", "not valid JSON"),
    ("[" * 200000 + "]" * 200000, "not valid JSON|nested too deeply"),
])
def test_hostile_text_is_refused(text, message):
    """Is every malformed or hostile reply refused with a ReplyError naming the problem?"""
    with pytest.raises(ReplyError, match=message):
        wire.loads(text)


def test_size_limit_is_checked_before_parsing():
    """Is a reply over the byte limit refused without being parsed?"""
    with pytest.raises(ReplyError, match="at most 10 are accepted"):
        wire.loads('"' + "x" * 20 + '"', max_bytes=10)
    with pytest.raises(ReplyError, match="JSON text, got int"):
        wire.loads(5)


def test_validators_accept_the_expected_and_name_the_field_otherwise():
    """Do the judge's validators return good values and name the field in their errors?"""
    reply = wire.roundtrip({"out": np.ones((2, 3), dtype=np.float32), "p": 0.5, "ok": True, "s": "hi", "l": [1, 2]})
    assert wire.array(reply["out"], "out", shape=(2, 3), kind="f", finite=True).shape == (2, 3)
    assert wire.number(reply["p"], "p", lo=0, hi=1) == 0.5
    assert wire.flag(reply["ok"], "ok") is True and wire.text(reply["s"], "s") == "hi"
    assert wire.sequence(reply["l"], "l", length=2) == [1, 2] and wire.mapping(reply, "r", ["p"]) is reply
    for call, message in [
        (lambda: wire.array(reply["out"], "out", shape=(3, 2)), "out must have shape"),
        (lambda: wire.array(reply["out"], "out", kind="i"), "out must be of kind"),
        (lambda: wire.array(wire.roundtrip(np.array([np.inf], dtype=np.float32)), "a", finite=True), "a holds NaN"),
        (lambda: wire.array([1.0], "a"), "a must be an array"),
        (lambda: wire.number(True, "p"), "p must be a number, got bool"),
        (lambda: wire.number(float("nan"), "p"), "p must be finite"),
        (lambda: wire.number(2, "p", hi=1), r"p must lie in \[None, 1\]"),
        (lambda: wire.flag(1, "ok"), "ok must be true or false"),
        (lambda: wire.text("x" * 11, "s", max_len=10), "at most 10"),
        (lambda: wire.sequence([1], "l", length=2), "l must have 2 items"),
        (lambda: wire.mapping(reply, "r", ["zz"]), "r lacks zz"),
    ]:
        with pytest.raises(ReplyError, match=message):
            call()


def test_array_bytes_are_little_endian_on_the_wire():
    """Is the byte order fixed, so that the judge reads the same numbers on any machine?"""
    encoded = json.loads(wire.dumps(np.array([1.0], dtype=np.float32)))
    assert base64.b64decode(encoded["__array__"]) == np.array([1.0], dtype="<f4").tobytes()
