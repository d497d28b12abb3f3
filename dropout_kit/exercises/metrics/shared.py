"""What lesson 07's two exercises share: calling the learner's function under watch, and refusing delegation.

Both exercises ask for a computation the package already has (``metrics.precision_recall_f1``,
``tuning.pick_rate``). Handing the work to it, or to scikit-learn, is not doing the exercise. Two
layers look for it:

- the judge's reading of the learner's source (``scan.findings``, trusted: the grader's process);
- the probe's run-time detector (``detect.watch``), which reports the forbidden functions that
  ran while the learner's function did. It runs in the learner's process, so it is feedback in
  self-study and supporting data in grading: a reply can only make it *fail*, never pass.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable
from pathlib import Path

from dropout_kit.exercises import detect, scan, wire
from dropout_kit.verdict import Check

MAX_CALLS = 50        # names of forbidden calls a reply may list
MAX_PROBLEMS = 8      # findings quoted in one message
ERROR_CHARS = 300     # of a learner's exception, as the probe reports it
CHECK = "no_delegation"
# Names under which lesson 07's own cells import package modules: the source a judge is given
# may hold only the learner's cells, without the import cell that would make them module names.
LESSON_ROOTS = frozenset({"metrics", "tuning", "exercises"})


def library_folder(name: str) -> Path | None:
    """Where an installed package lives, found without importing it (None when it is not installed)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]) if locations else None


def error_text(exc: BaseException) -> str:
    """A learner's exception as one short line of data."""
    return f"{type(exc).__name__}: {str(exc)[:ERROR_CHARS]}"


def call_watched(fn: Callable, arg, *, codes: Iterable = (), folders: Iterable[Path] = ()):
    """``fn(arg)`` under the run-time detector: ``(result, error text or None, names of forbidden calls)``.

    Only the learner's call runs inside the watch, so nothing of the probe is recorded.
    """
    with detect.watch(codes=codes, folders=folders) as log:
        try:
            result, error = fn(arg), None
        except Exception as exc:  # the learner's code: report it as data
            result, error = None, error_text(exc)
    return result, error, list(log.names)


def merge_names(seen: list[str], new: Iterable[str]) -> None:
    """Add ``new`` names to ``seen`` in order, without repeats, at most ``MAX_CALLS``."""
    for name in new:
        if name not in seen and len(seen) < MAX_CALLS:
            seen.append(name)


def read_calls(value) -> list[str]:
    """The reply's list of forbidden calls seen at run time, validated."""
    calls = wire.sequence(value, "calls")
    if len(calls) > MAX_CALLS:
        raise wire.ReplyError(f"calls has {len(calls)} entries; at most {MAX_CALLS} are accepted")
    return [wire.text(name, f"calls[{i}]", max_len=200) for i, name in enumerate(calls)]


def outcome(result, name: str, flag: str, kinds: tuple[str, ...]) -> tuple[dict, bool, str]:
    """One input's result in a reply: the dict, its side-effect ``flag``, and which one of ``kinds`` it holds."""
    result = wire.mapping(result, name, [flag])
    value = wire.flag(result[flag], f"{name}.{flag}")
    present = [key for key in kinds if key in result]
    if len(present) != 1:
        raise wire.ReplyError(f"{name} must hold exactly one of {', '.join(kinds)}")
    return result, value, present[0]


def no_delegation(source: str | None, calls: list[str], *, attrs, modules, reference: str, summary: str) -> Check:
    """Fail when the source reaches a forbidden function or module, or one ran with the learner's code.

    Args:
        source: the learner's code (cells joined by ``scan.join_cells``), or None.
        calls: what the probe's detector saw (validated with ``read_calls``).
        attrs, modules: the forbidden names and modules, as ``scan.findings`` takes them.
        reference: the package function the exercise re-creates, named in the message.
        summary: the check's one-line requirement.
    """
    problems = [str(f) for f in scan.findings(source, attrs=attrs, modules=modules, roots=LESSON_ROOTS)]
    problems += [f"while your function ran, it called {name}" for name in calls]
    if not problems:
        return Check(CHECK, True, "", summary)
    shown = "; ".join(problems[:MAX_PROBLEMS]) + (f"; and {len(problems) - MAX_PROBLEMS} more"
                                                   if len(problems) > MAX_PROBLEMS else "")
    return Check(CHECK, False, f"write the computation yourself: the exercise is to compute what {reference} "
                 f"computes, not to call it or a library that does. Found: {shown}", summary)
