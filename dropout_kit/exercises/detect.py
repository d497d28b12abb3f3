"""A run-time detector for probes: which forbidden functions ran while the learner's code did.

Used inside a probe around each call of the learner's code. It records:

- torch functions whose name is in ``torch_names`` (e.g. ``dropout``, ``native_dropout``),
  seen through a ``TorchFunctionMode``: ``F.dropout``, ``torch.dropout``, ``nn.Dropout``'s
  forward and ``torch.ops.aten.native_dropout`` all pass through it;
- Python functions whose code object is in ``codes``, or whose file lies under one of
  ``folders`` (e.g. scikit-learn's), seen through ``sys.setprofile``.

It runs in the learner's process, so a learner can switch it off: its findings are feedback
in self-study and supporting data in grading, where the judge's reading of the source
(``scan.py``) is the check the learner's kernel cannot touch.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

MAX_RECORDED = 20


class CallLog:
    """The names of forbidden functions seen, first come first listed, without repeats."""

    def __init__(self):
        self.names: list[str] = []

    def add(self, name: str) -> None:
        """Record ``name`` once (at most ``MAX_RECORDED`` names are kept)."""
        if name not in self.names and len(self.names) < MAX_RECORDED:
            self.names.append(name)


def _torch_mode(log: CallLog, names: frozenset):
    from torch.overrides import TorchFunctionMode, resolve_name

    class Watch(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", "") or ""
            if name.lstrip("_") in names or name.split(".")[-1] in names:
                log.add(resolve_name(func) or name)
            return func(*args, **(kwargs or {}))

    return Watch()


@contextmanager
def watch(*, torch_names: Iterable[str] = (), codes: Iterable = (), folders: Iterable[Path] = ()):
    """Record calls of forbidden functions made inside the ``with`` block; yields a :class:`CallLog`."""
    log = CallLog()
    torch_names, codes = frozenset(torch_names), {c for c in codes}
    folders = tuple(str(Path(f)) for f in folders)
    previous = sys.getprofile()

    def profile(frame, event, arg):
        if event == "call":
            code = frame.f_code
            if code in codes or (folders and code.co_filename.startswith(folders)):
                log.add(f"{frame.f_globals.get('__name__', '?')}.{code.co_name}")

    mode = _torch_mode(log, torch_names) if torch_names else None
    if codes or folders:
        sys.setprofile(profile)
    try:
        if mode is not None:
            with mode:
                yield log
        else:
            yield log
    finally:
        if codes or folders:
            sys.setprofile(previous)
