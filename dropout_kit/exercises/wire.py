"""The wire format between a probe and its judge: JSON, with numeric arrays as base64.

A probe's reply crosses from the learner's kernel to the grader as text. Nothing else
crosses: no pickle, no callables, no objects. ``dumps`` turns nested dicts, lists, numbers,
strings and arrays (numpy or torch) into JSON text; an array becomes
``{"__array__": <base64 of its bytes>, "dtype": "float32", "shape": [..]}``. ``loads``
parses such text back under a size limit, rebuilding arrays only of the dtypes listed in
``DTYPES`` and only when the byte count matches the shape.

Judges read a reply with the validators below (``array``, ``number``, ``mapping``, ...):
each raises :class:`ReplyError`, naming the field and what was wrong, on anything that is
not exactly what the exercise expects. The exercise's ``decide`` turns that into a failed
verdict, so a malformed or hostile reply fails closed and never crashes grading.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping, Sequence

import numpy as np

from dropout_kit.errors import DropoutKitError

MAX_BYTES = 32 * 2**20   # a reply longer than this is refused before parsing
MAX_ELEMENTS = 8 * 2**20  # per array
DTYPES = ("float32", "float64", "int64", "int32", "uint8", "bool")


class ReplyError(DropoutKitError, ValueError):
    """A probe's reply is not what the exercise expects; the message names the field."""


def _encode(obj):
    if isinstance(obj, Mapping):
        return {str(k): _encode(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_encode(v) for v in obj]
    if type(obj).__module__.startswith("torch") and hasattr(obj, "detach"):
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, np.ndarray):
        if obj.dtype.name not in DTYPES:
            raise TypeError(f"arrays of dtype {obj.dtype} cannot be sent; use one of {', '.join(DTYPES)}")
        data = np.ascontiguousarray(obj).astype(obj.dtype.newbyteorder("<"), copy=False).tobytes()
        return {"__array__": base64.b64encode(data).decode("ascii"), "dtype": obj.dtype.name,
                "shape": list(obj.shape)}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"{type(obj).__name__} cannot be sent between probe and judge; send numbers, "
                    "strings, lists, dicts or arrays")


def dumps(obj) -> str:
    """JSON text of ``obj``: dicts, lists, numbers, strings, None and numpy/torch arrays."""
    return json.dumps(_encode(obj), allow_nan=True, separators=(",", ":"))


def _decode(obj):
    if isinstance(obj, dict):
        if set(obj) == {"__array__", "dtype", "shape"}:
            return _decode_array(obj)
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return obj


def _decode_array(obj: dict) -> np.ndarray:
    dtype, shape, data = obj["dtype"], obj["shape"], obj["__array__"]
    if dtype not in DTYPES:
        raise ReplyError(f"array of dtype {dtype!r}: only {', '.join(DTYPES)} are accepted")
    if (not isinstance(shape, list) or len(shape) > 8
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)):
        raise ReplyError(f"array with shape {shape!r}: a shape is a list of at most 8 sizes >= 0")
    count = math.prod(shape)
    if count > MAX_ELEMENTS:
        raise ReplyError(f"array of {count} elements: at most {MAX_ELEMENTS} are accepted")
    if not isinstance(data, str):
        raise ReplyError("array data must be a base64 string")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ReplyError(f"array data is not valid base64 ({exc})") from exc
    kind = np.dtype(dtype).newbyteorder("<")
    if len(raw) != count * kind.itemsize:
        raise ReplyError(f"array of shape {shape} and dtype {dtype} needs {count * kind.itemsize} bytes, "
                         f"got {len(raw)}")
    return np.frombuffer(raw, dtype=kind).astype(dtype).reshape(shape)


def loads(text: str | bytes, *, max_bytes: int = MAX_BYTES):
    """Parse ``dumps`` output back, arrays included; ``ReplyError`` on anything else."""
    if not isinstance(text, (str, bytes)):
        raise ReplyError(f"a reply is JSON text, got {type(text).__name__}")
    if len(text) > max_bytes:
        raise ReplyError(f"the reply has {len(text)} bytes; at most {max_bytes} are accepted")
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ReplyError(f"the reply is not valid JSON ({type(exc).__name__}: {str(exc)[:200]})") from exc
    try:
        return _decode(obj)
    except RecursionError as exc:
        raise ReplyError("the reply is nested too deeply") from exc


def roundtrip(obj):
    """``loads(dumps(obj))``: what the other side of the wire receives."""
    return loads(dumps(obj))


# --- Validators for judges: each returns the value or raises ReplyError naming the field. ---

def mapping(value, name: str, keys: Sequence[str] = ()) -> dict:
    """A dict holding at least ``keys``."""
    if not isinstance(value, dict):
        raise ReplyError(f"{name} must be a dict, got {type(value).__name__}")
    missing = [k for k in keys if k not in value]
    if missing:
        raise ReplyError(f"{name} lacks {', '.join(missing)}")
    return value


def sequence(value, name: str, length: int | None = None) -> list:
    """A list, of exactly ``length`` items when given."""
    if not isinstance(value, list):
        raise ReplyError(f"{name} must be a list, got {type(value).__name__}")
    if length is not None and len(value) != length:
        raise ReplyError(f"{name} must have {length} items, got {len(value)}")
    return value


def number(value, name: str, *, finite: bool = True, lo: float | None = None, hi: float | None = None) -> float:
    """A real number (bool excluded), finite and inside [lo, hi] when asked."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ReplyError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if finite and not math.isfinite(value):
        raise ReplyError(f"{name} must be finite, got {value}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ReplyError(f"{name} must lie in [{lo}, {hi}], got {value}")
    return value


def flag(value, name: str) -> bool:
    """A JSON boolean."""
    if not isinstance(value, bool):
        raise ReplyError(f"{name} must be true or false, got {type(value).__name__}")
    return value


def text(value, name: str, *, max_len: int = 10_000, optional: bool = False) -> str | None:
    """A string of at most ``max_len`` characters (None allowed when ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ReplyError(f"{name} must be a string, got {type(value).__name__}")
    if len(value) > max_len:
        raise ReplyError(f"{name} has {len(value)} characters; at most {max_len} are accepted")
    return value


def array(value, name: str, *, shape: Sequence[int] | None = None, kind: str | None = None,
          finite: bool = False) -> np.ndarray:
    """A decoded array, of ``shape`` and dtype kind ``kind`` ("f", "i", "b") when given."""
    if not isinstance(value, np.ndarray):
        raise ReplyError(f"{name} must be an array, got {type(value).__name__}")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise ReplyError(f"{name} must have shape {tuple(shape)}, got {tuple(value.shape)}")
    if kind is not None and value.dtype.kind not in kind:
        raise ReplyError(f"{name} must be of kind {kind!r}, got dtype {value.dtype}")
    if finite and value.dtype.kind == "f" and not np.isfinite(value).all():
        raise ReplyError(f"{name} holds NaN or infinite values")
    return value
