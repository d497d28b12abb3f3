"""Lesson 07, exercise 1: per-class precision, recall and F1 from a confusion matrix.

- ``challenge`` draws confusion matrices: asymmetric ones of several sizes and count scales,
  the tutorial's binary example (TP 85, FP 10, TN 90, FN 15), and four with 0/0 cells (a class
  never predicted, a class with no images, a class with neither, a class never predicted
  correctly, whose F1 is 0/0).
- ``probe`` calls the learner's ``precision_recall_f1`` on each (a fresh int64 tensor), and
  returns its three outputs as float64 arrays, or why they could not be read, whether the
  matrix was changed, and the forbidden functions that ran meanwhile.
- ``judge`` compares with ``dropout_kit.metrics.precision_recall_f1`` (itself tested against
  scikit-learn), and names the likely mistake (see ``prf_hints``).

Delegation is refused (``shared.no_delegation``). The forbidden names, and why each:
``precision_recall_f1`` is the answer itself; ``per_class_table`` returns the same three values
in a table; ``_ratio`` is the division with the 0/0 convention, one of the graded checks.
scikit-learn's ``precision_recall_fscore_support`` (and its siblings) compute the answer, so
the whole package is forbidden. ``accuracy_from_confusion`` and ``confusion_matrix`` are allowed:
neither gives a per-class value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dropout_kit import metrics as reference
from dropout_kit.exercises import wire
from dropout_kit.exercises.base import Exercise
from dropout_kit.exercises.metrics import prf_hints as hints
from dropout_kit.exercises.metrics import shared
from dropout_kit.verdict import Check, Verdict

KEY, TITLE = "precision_recall_f1", "Exercise 1: precision, recall and F1 per class"
FORBIDDEN_NAMES = frozenset({"precision_recall_f1", "per_class_table", "_ratio"})
FORBIDDEN_MODULES = frozenset({"sklearn"})
NAMES = ("precision", "recall", "f1")
MAX_VALUES = 4096  # per output: far more than any matrix of the challenge has classes
ZERO_KINDS = ("never_predicted", "no_images", "absent", "tp_zero")


# --- challenge (judge side) ---------------------------------------------------------------------

def _asymmetric(rng: np.random.Generator, k: int, scale: int) -> np.ndarray:
    """A k x k matrix of counts with every row and column used and precision != recall somewhere."""
    for _ in range(1000):
        cm = rng.integers(0, max(scale // 5, 2), size=(k, k))
        cm[rng.random((k, k)) < 0.3] = 0
        np.fill_diagonal(cm, rng.integers(scale // 2, scale + 1, size=k))
        if (cm.sum(0) != cm.sum(1)).any():
            return cm.astype(np.int64)
    raise RuntimeError("could not draw an asymmetric confusion matrix")  # never seen: p < 1e-100


def _with_zeros(rng: np.random.Generator, kind: str) -> tuple[np.ndarray, int]:
    """A matrix where class ``c`` gives a 0/0 of the kind named; every other class is ordinary."""
    k = int(rng.integers(3, 8))
    cm, c = _asymmetric(rng, k, int(rng.choice([30, 300]))), int(rng.integers(k))
    other = (c + 1 + int(rng.integers(k - 1))) % k
    extra = 1 + int(rng.integers(20))
    if kind in ("never_predicted", "absent"):
        cm[:, c] = 0
    if kind in ("no_images", "absent"):
        cm[c, :] = 0
    if kind == "never_predicted":
        cm[c, other] += extra  # its images exist, all predicted as another class
    elif kind == "no_images":
        cm[other, c] += extra  # it is predicted, for another class's images
    elif kind == "tp_zero":
        cm[c, c] = 0
        cm[c, other] += extra
        cm[other, c] += extra
    return cm, c


def challenge(rng: np.random.Generator) -> dict:
    """Confusion matrices for the probe, with the judge's notes on what each is for."""
    cases = []
    for k, scale in ((int(rng.integers(2, 4)), 50), (int(rng.integers(4, 7)), 200), (10, 1000),
                     (int(rng.integers(3, 9)), 20000)):
        cases.append({"cm": _asymmetric(rng, k, scale), "kind": "regular", "c": -1})
    cases.append({"cm": reference.binary_confusion(tp=85, fp=10, tn=90, fn=15).numpy(), "kind": "tutorial", "c": -1})
    for kind in ZERO_KINDS:
        cm, c = _with_zeros(rng, kind)
        cases.append({"cm": cm, "kind": kind, "c": c})
    order = rng.permutation(len(cases))  # the learner's code must not rely on the order
    return {"cases": [cases[i] for i in order]}


# --- probe (kernel side: data only) -------------------------------------------------------------

def _numbers(value):
    """One output as a float64 array, or a sentence saying why it is not numbers."""
    try:
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu()
        array = np.asarray(value)
        # numpy would read "0.5" as 0.5: text is refused before converting
        if array.dtype.kind in "SU" or (array.dtype.kind == "O" and any(
                isinstance(x, (str, bytes)) for x in array.flat[:MAX_VALUES])):
            return f"is a {type(value).__name__} of text, not numbers"
        if array.dtype.kind not in "biufO":
            return f"is a {type(value).__name__} of {array.dtype} values, not real numbers"
        array = array.astype(np.float64)
    except Exception as exc:  # a dict, a ragged list, None...
        return f"is a {type(value).__name__} that is not numbers ({shared.error_text(exc)})"
    if array.size > MAX_VALUES:
        return f"holds {array.size} values"
    return array


def _outputs(out) -> dict:
    """What the learner's function returned, as data."""
    if isinstance(out, (tuple, list)) or (isinstance(out, (np.ndarray, torch.Tensor)) and out.ndim >= 1):
        items = list(out)
        if len(items) == 3:
            return {"values": [_numbers(v) for v in items]}
        return {"returned": type(out).__name__, "length": len(items)}
    return {"returned": type(out).__name__, "length": None}


def _changed(cm, original: np.ndarray) -> bool:
    try:
        return not torch.equal(cm, torch.from_numpy(original))
    except Exception:  # shape or type changed in place
        return True


def probe(fn, requests) -> dict:
    """Run the learner's ``precision_recall_f1`` on each requested matrix; report outputs and side effects."""
    codes = [reference.precision_recall_f1.__code__, reference.per_class_table.__code__,
             reference._ratio.__code__]
    folders = [f for f in (shared.library_folder("sklearn"),) if f is not None]
    results, seen = [], []
    for case in requests["cases"]:
        original = np.array(case["cm"], dtype=np.int64)
        cm = torch.from_numpy(original.copy())
        out, error, names = shared.call_watched(fn, cm, codes=codes, folders=folders)
        shared.merge_names(seen, names)
        result = {"mutated": _changed(cm, original)}
        result.update({"raised": error} if error is not None else _outputs(out))
        results.append(result)
    return {"results": results, "calls": seen}


# --- judge (trusted side) -----------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    """One case's reply, validated: the three outputs, or the problem that stopped reading them."""

    mutated: bool
    values: tuple[np.ndarray, ...] | None
    problem: str | None
    raised: bool = False


def _answer(result, name: str, k: int) -> Answer:
    result, mutated, kind = shared.outcome(result, name, "mutated", ("raised", "returned", "values"))
    if kind == "raised":
        return Answer(mutated, None, f"precision_recall_f1 raised {wire.text(result['raised'], name, max_len=2000)}",
                      raised=True)
    if kind == "returned":
        type_name = wire.text(result["returned"], f"{name}.returned", max_len=100)
        length = result.get("length")
        if length is not None:
            length = int(wire.number(length, f"{name}.length", lo=0, hi=2**31))
        size = f" of length {length}" if length is not None else ""
        return Answer(mutated, None, f"precision_recall_f1 returned a {type_name}{size}; expected three values: "
                                     "return precision, recall, f1")
    values = wire.sequence(result["values"], f"{name}.values", 3)
    arrays = []
    for label, value in zip(NAMES, values):
        if isinstance(value, str):
            return Answer(mutated, None, f"{label} {wire.text(value, f'{name}.{label}', max_len=500)}")
        array = wire.array(value, f"{name}.{label}", kind="f")
        if array.shape != (k,):
            return Answer(mutated, None, hints.shape_problem(label, array, k))
        arrays.append(array.astype(np.float64))
    return Answer(mutated, tuple(arrays), None)


def _expected(cm: np.ndarray) -> tuple[np.ndarray, ...]:
    return tuple(t.numpy() for t in reference.precision_recall_f1(torch.from_numpy(np.asarray(cm))))


def _first_failure(cases, answers, kinds, compare) -> str | None:
    """The message of the first case of ``kinds`` that ``compare(case, answer)`` rejects."""
    for case, answer in zip(cases, answers):
        if case["kind"] in kinds:
            message = compare(case, answer)
            if message:
                return message
    return None


def _check(name: str, summary: str, message: str | None) -> Check:
    return Check(name, message is None, message or "", summary)


def _ratio(index: int):
    name = NAMES[index]

    def compare(case, answer: Answer) -> str | None:
        if answer.values is None:
            return f"for {hints.show_cm(case['cm'])}: {answer.problem}"
        got, want = answer.values[index], _expected(case["cm"])[index]
        if hints.close(got, want):
            return None
        hint = (hints.ratio_hint(name, got, case["cm"], _expected(case["cm"])) if index < 2
                else hints.f1_hint(got, *_expected(case["cm"])))
        return (f"for {hints.show_cm(case['cm'])} your {name} is {hints.show(got)}, expected {hints.show(want)}"
                + (f": {hint}" if hint else ""))
    return compare


def _zero(case, answer: Answer) -> str | None:
    why = hints.zero_reason(case["kind"], case["c"])
    if answer.values is None:
        advice = (". By convention 0/0 counts as 0: guard each division, e.g. torch.where(den > 0, num / den, 0.0)"
                  if answer.raised else "")
        return f"for {hints.show_cm(case['cm'])} ({why}): {answer.problem}{advice}"
    for index, (name, got, want) in enumerate(zip(NAMES, answer.values, _expected(case["cm"]))):
        if not hints.close(got, want):
            hint = hints.zero_hint(index, got, want, case["cm"])
            return f"for {hints.show_cm(case['cm'])} ({why}) your {name} is {hints.show(got)}, expected " \
                   f"{hints.show(want)}: {hint}"
    return None


def _tutorial(case, answer: Answer) -> str | None:
    if answer.values is None:
        return f"for the tutorial's matrix {case['cm'].tolist()}: {answer.problem}"
    for name, got, want in zip(NAMES, answer.values, _expected(case["cm"])):
        if not hints.close(got, want):
            return (f"for the tutorial's matrix {case['cm'].tolist()} (row 0: the 100 positives, 85 found and 15 "
                    f"missed; row 1: the 100 negatives, 10 false alarms) your {name} is {hints.show(got)}, "
                    f"expected {hints.show(want)}")
    return None


def judge(requests, reply, *, source: str | None = None) -> Verdict:
    """Compare the learner's outputs with ``dropout_kit.metrics``; refuse delegation and a changed input."""
    cases = requests["cases"]
    reply = wire.mapping(reply, "reply", ["results", "calls"])
    results = wire.sequence(reply["results"], "results", len(cases))
    answers = [_answer(r, f"results[{i}]", len(case["cm"])) for i, (r, case) in enumerate(zip(results, cases))]
    calls = shared.read_calls(reply["calls"])
    ordinary = ("regular", "tutorial")
    readable = _first_failure(cases, answers, ordinary,
                              lambda case, a: f"for {hints.show_cm(case['cm'])}: {a.problem}" if a.problem else None)
    mutated = any(a.mutated for a in answers)
    checks = (
        shared.no_delegation(source, calls, attrs=FORBIDDEN_NAMES, modules=FORBIDDEN_MODULES,
                             reference="metrics.precision_recall_f1",
                             summary="computes the metrics itself (no metrics.precision_recall_f1, no scikit-learn)"),
        _check("per_class", "returns (precision, recall, f1), each with one value per class", readable),
        _check("precision", "precision[c] = cm[c, c] / cm[:, c].sum()  (column: predicted as c)",
               _first_failure(cases, answers, ordinary, _ratio(0))),
        _check("recall", "recall[c] = cm[c, c] / cm[c, :].sum()  (row: truly c)",
               _first_failure(cases, answers, ordinary, _ratio(1))),
        _check("f1", "f1 = 2 * precision * recall / (precision + recall), per class",
               _first_failure(cases, answers, ordinary, _ratio(2))),
        _check("zero_division", "0/0 gives 0 (a class never predicted, or never present), never NaN or an error",
               _first_failure(cases, answers, ZERO_KINDS, _zero)),
        _check("tutorial_example", "the tutorial's binary example: precision 85/95 ≈ 0.895, recall 0.85 for the "
               "positives", _first_failure(cases, answers, ("tutorial",), _tutorial)),
        _check("no_mutation", "leaves the confusion matrix it is given unchanged",
               "your function changed the matrix it was given (an in-place operation such as fill_diagonal_ or "
               "+= on cm): work on a copy, e.g. cm.clone() or cm.double()" if mutated else None),
    )
    return Verdict(KEY, checks, title=TITLE)


EXERCISE = Exercise(KEY, "07_metrics", "precision_recall_f1", TITLE, challenge, probe, judge)
