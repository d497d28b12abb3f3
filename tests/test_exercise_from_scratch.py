"""dropout_kit.exercises.from_scratch: lesson 02's judges pass correct dropouts written from scratch and
fail every mistake of tests/dropout_catalogue.py with the check meant for it, by a message naming it.

False failures. A correct function or layer fails its verdict with probability at most 5e-6
(union bound over its five checks that can fail one at all; see the module's docstring).
The 200-seed loops judge 5 function styles and 2 layer styles: 1,400 verdicts, so the
probability that a correct implementation fails anywhere in them is at most
1,400 * 5e-6 = 7e-3 (union bound), and less in truth, as mean_preserved's Hoeffding bound is
loose and p_zero can fail only the `rand_like(x) > p` style. Seeds are fixed (the judge's
rng and, with seed_everything, the learner's torch), so the tests are deterministic: they
passed when written and pass on every rerun with the same torch; a failure after an
upgrade is a real change of behaviour or (with the probability above) a new unlucky seed,
never a retry.
"""

from __future__ import annotations

import inspect
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import golden
from dropout_catalogue import (
    CORRECT_FUNCTIONS, CORRECT_MODULES, LIBRARY_FUNCTIONS, LIBRARY_MODULES, WRONG_FUNCTIONS, WRONG_MODULES,
    InheritsDropout, MaskInInit, NoExtraRepr, divide_by_p, dropout_bernoulli, dropout_rand_gt_p, dropout_torch, no_validation,
)
from dropout_kit import exercises
from dropout_kit.exercises import from_scratch, scan, wire
from dropout_kit.exercises.base import envelope_text
from dropout_kit.seeding import seed_everything

REPO = Path(__file__).resolve().parents[1]
LESSON = REPO / "solutions" / "02_from_scratch" / "02_from_scratch.ipynb"
SEEDS = range(200)
FUNCTION, MODULE = from_scratch.FUNCTION, from_scratch.MODULE


def judged(exercise, obj, seed: int, source: str | None = None):
    """The verdict of a self-study check with the judge's rng and the learner's torch both seeded."""
    seed_everything(seed)
    return exercises.check(exercise.key, obj, source=source, rng=np.random.default_rng(seed))


def source(obj) -> str:
    return inspect.getsource(obj)


def lesson_solution() -> tuple[dict, str]:
    """The lesson's solution cells run as the kernel would, and their source as the grader joins it."""
    nb = json.loads(LESSON.read_text())
    cells = [(str(i), "".join(c["source"])) for i, c in enumerate(nb["cells"])
             if c["metadata"].get("nbgrader", {}).get("solution")]
    namespace = {"torch": torch, "nn": nn}
    for _, code in cells:
        exec(compile(code, "<solution cell>", "exec"), namespace)
    return namespace, scan.join_cells(cells)


# --- correct implementations pass ------------------------------------------------------------


@pytest.mark.parametrize("fn", CORRECT_FUNCTIONS, ids=lambda f: f.__name__)
def test_correct_function_passes_under_200_seeds(fn):
    """Does each from-scratch style (bernoulli, rand > p, rand >= p, where, masked_fill) pass every check
    under 200 different seeds?"""
    text = source(fn)
    for seed in SEEDS:
        verdict = judged(FUNCTION, fn, seed, text)
        assert verdict.passed, f"seed {seed}:\n{verdict}"


@pytest.mark.parametrize("cls", CORRECT_MODULES, ids=lambda c: c.__name__)
def test_correct_module_passes_under_200_seeds(cls):
    """Do correct learner-style layers pass every check under 200 seeds?"""
    text = source(cls)
    for seed in SEEDS:
        verdict = judged(MODULE, cls, seed, text)
        assert verdict.passed, f"seed {seed}:\n{verdict}"


def test_the_lessons_solution_passes_as_grading_reads_it():
    """Do the notebook's own solution cells pass both judges, with their source joined as the grader does?"""
    namespace, text = lesson_solution()
    for seed in range(3):
        assert judged(FUNCTION, namespace["dropout"], seed, text).passed
        assert judged(MODULE, namespace["Dropout"], seed, text).passed


@pytest.mark.parametrize("obj", LIBRARY_FUNCTIONS + LIBRARY_MODULES, ids=lambda o: getattr(o, "__name__", repr(o)))
def test_pytorchs_dropout_passes_every_check_but_from_scratch(obj):
    """Does PyTorch's own dropout (the reference) pass every behaviour check, and fail only from_scratch?"""
    exercise = MODULE if isinstance(obj, type) else FUNCTION
    for seed in range(3):
        verdict = judged(exercise, obj, seed)
        assert [c.name for c in verdict.failed] == ["from_scratch"], str(verdict)


def test_pytorch_invalid_p_behaviour_is_what_the_judge_assumes():
    """Does PyTorch raise ValueError for p=-0.1 and p=1.5, but RuntimeError for NaN (so accepting RuntimeError
    for NaN, as the lesson says, is what F.dropout itself does)?"""
    x = torch.ones(3)
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            F.dropout(x, p)
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(p)
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.dropout(x, math.nan)
    with pytest.raises(RuntimeError):
        nn.Dropout(math.nan)(x)


def test_the_judge_never_seeds_torch(monkeypatch):
    """Do challenge, probe and judge run without ever calling torch.manual_seed or torch.seed?"""
    def forbidden(*args, **kwargs):
        raise AssertionError("the judge must not seed torch")

    for target, name in [(torch, "manual_seed"), (torch, "seed"), (torch.random, "manual_seed")]:
        monkeypatch.setattr(target, name, forbidden)
    assert exercises.check("dropout_function", dropout_bernoulli).passed
    assert exercises.check("dropout_module", CORRECT_MODULES[0]).passed


def test_any_state_of_the_learners_rng_is_fine():
    """Does a correct dropout pass when the learner seeded torch just before, whatever the seed?"""
    for seed in (0, 1, 12345):
        torch.manual_seed(seed)
        assert exercises.check("dropout_function", dropout_rand_gt_p).passed


# --- known mistakes are caught by the right check ---------------------------------------------


@pytest.mark.parametrize("mistake", WRONG_FUNCTIONS + WRONG_MODULES, ids=repr)
def test_wrong_implementation_fails_the_check_for_its_mistake(mistake):
    """Is each known-wrong function or layer rejected by the check meant for its mistake, with a message that
    names the mistake? (Each case's own question is mistake.question.)"""
    exercise = FUNCTION if mistake in WRONG_FUNCTIONS else MODULE
    for seed in range(3):
        verdict = judged(exercise, mistake.impl, seed)
        assert not verdict.passed
        check = verdict[mistake.check]
        assert not check.passed, (mistake.question, str(verdict))
        assert mistake.hint in check.message, (mistake.question, check.message)


ISOLATED = {
    "scale_in_eval_too": "eval_identity", "ignores_training": "eval_identity", "channel_mask": "independence",
    "cached_mask": "fresh_mask", "seeds_inside": "fresh_mask", "inplace_returns_new_tensor": "inplace",
    "no_validation": "invalid_p", "accepts_nan": "invalid_p", "asserts_instead": "invalid_p",
    "builds_new_tensor": "gradient", "masks_under_no_grad": "gradient", "masks_through_data": "gradient",
    "returns_float32": "shape_dtype", "stores_rate_not_p": "module_attributes", "no_extra_repr": "module_repr",
    "module_no_validation": "module_invalid_p", "mask_drawn_once": "fresh_mask",
}


@pytest.mark.parametrize("name", sorted(ISOLATED))
def test_a_single_mistake_fails_a_single_check(name):
    """Does an implementation with one mistake fail only the check for that mistake, so the verdict points at it
    rather than at a list of symptoms?"""
    mistake = next(m for m in WRONG_FUNCTIONS + WRONG_MODULES if m.name == name)
    verdict = judged(FUNCTION if mistake in WRONG_FUNCTIONS else MODULE, mistake.impl, 0)
    assert [c.name for c in verdict.failed] == [ISOLATED[name]], str(verdict)


def test_catalogue_is_large_and_covers_every_check():
    """Does the catalogue hold 28 wrong functions and 13 wrong layers, with every check the target of a mistake?
    (mean_preserved has no mistake of its own: for a mask drawn independently of x the mean follows from
    keep_fraction and scale; it backs them up, see the next test. from_scratch has its own tests.)"""
    assert (len(WRONG_FUNCTIONS), len(WRONG_MODULES)) == (28, 13)
    every = WRONG_FUNCTIONS + WRONG_MODULES
    assert len({m.name for m in every}) == len(every)
    assert {c[0] for c in from_scratch.VALUE_CHECKS} - {m.check for m in WRONG_FUNCTIONS} == {"mean_preserved"}
    assert {c[0] for c in from_scratch.MODULE_CHECKS} <= {m.check for m in WRONG_MODULES}


@pytest.mark.parametrize("name", ["no_scaling", "p_as_keep_probability", "divide_by_p"])
def test_mean_check_backs_up_scale_and_keep_fraction(name):
    """Is a biased mean (no scaling, p as keep probability, dividing by p) also caught by mean_preserved, with the
    ratio of means in the message?"""
    mistake = next(m for m in WRONG_FUNCTIONS if m.name == name)
    check = judged(FUNCTION, mistake.impl, 0)["mean_preserved"]
    assert not check.passed and "ratio" in check.message


def test_scale_message_is_the_one_the_lesson_quotes():
    """Does dividing by p give, for the rate the judge drew, the message the lesson quotes (at p=0.3)?"""
    seed = next(s for s in range(100)
                if [c["p"] for c in FUNCTION.new_requests(np.random.default_rng(s))["calls"]
                    if c["role"] == "scale"][0] == 0.3)
    message = judged(FUNCTION, divide_by_p, seed)["scale"].message
    assert message == ("kept values are multiplied by 3.33, expected 1/(1-p) = 1.43 for p=0.3: did you divide by "
                       "p instead of 1-p?")
    assert message in LESSON.read_text()


# --- learner code that raises, or returns the wrong thing ---------------------------------------


def test_raising_function_gives_failed_checks_not_a_crash():
    """Does a function that raises get failed checks naming the call, the exception type and its message?"""
    def broken(x, p=0.5, training=True, inplace=False):
        raise RuntimeError("shape mismatch in my mask")

    verdict = judged(FUNCTION, broken, 0)
    requests = FUNCTION.new_requests(np.random.default_rng(0))
    scale = next(c for c in requests["calls"] if c["role"] == "scale")
    assert verdict["scale"].message == (f"dropout(x of shape (64, 64), float32, p={scale['p']}, training=True, "
                                        "inplace=False) raised RuntimeError: shape mismatch in my mask")
    assert [c.name for c in verdict.checks if c.passed] == ["no_mutation", "from_scratch"]
    assert all("RuntimeError: shape mismatch" in c.message for c in verdict.failed if c.name != "invalid_p")


def test_function_returning_none_is_told_to_return():
    """Does a function that forgets `return` get a message about the missing return value?"""
    def no_return(x, p=0.5, training=True, inplace=False):
        x * 2

    assert "returned NoneType, expected a torch.Tensor" in judged(FUNCTION, no_return, 0)["shape_dtype"].message


def test_module_instance_instead_of_class_is_explained():
    """Does passing Dropout() instead of Dropout give one clear failed check (and the from_scratch rule)?"""
    verdict = judged(MODULE, CORRECT_MODULES[0](), 0)
    assert [c.name for c in verdict.checks] == ["module_init", "from_scratch"]
    assert verdict["module_init"].message == ("got a DropoutModule object, expected the class itself: pass "
                                              "Dropout, not Dropout()")


def test_module_without_inplace_argument_names_the_type_error():
    """Does a class whose __init__ lacks `inplace` fail module_init with the TypeError shown?"""
    class OnlyP(nn.Module):
        def __init__(self, p=0.5):
            super().__init__()
            self.p = p

    message = judged(MODULE, OnlyP, 0)["module_init"].message
    assert message.startswith("Dropout(p=") and ", inplace=False) raised TypeError: " in message


def test_verdicts_list_every_check_in_order():
    """Does each verdict hold the checks the lesson describes, in order, ending with from_scratch?"""
    names = [c[0] for c in from_scratch.VALUE_CHECKS]
    assert [c.name for c in judged(FUNCTION, dropout_bernoulli, 0).checks] == names + ["from_scratch"]
    module_names = [c[0] for c in from_scratch.MODULE_CHECKS + from_scratch.MODULE_VALUE_CHECKS]
    assert [c.name for c in judged(MODULE, CORRECT_MODULES[0], 0).checks] == module_names + ["from_scratch"]
    assert exercises.for_grade_id("test_dropout_function") is FUNCTION
    assert exercises.for_grade_id("test_dropout_module") is MODULE


# --- golden files: recorded replies judged again ------------------------------------------------


def _forged_for_other_inputs(exercise, obj, seed: int) -> str:
    """A correct implementation's reply to another seed's requests, sent as the reply to ``seed``'s."""
    other = exercise.new_requests(np.random.default_rng(seed + 1))
    return envelope_text(exercise, obj, wire.roundtrip(other))


def _golden_cases():
    namespace, text = lesson_solution()
    return [
        (FUNCTION, "solution", lambda: namespace["dropout"], text, None, []),
        (FUNCTION, "divide_by_p", lambda: divide_by_p, None, None, ["p_zero", "scale", "mean_preserved", "gradient"]),
        (FUNCTION, "no_validation", lambda: no_validation, None, None, ["invalid_p"]),
        (FUNCTION, "library_dropout", lambda: dropout_torch, None, None, ["from_scratch"]),
        (FUNCTION, "forged_other_inputs", lambda: namespace["dropout"], text,
         lambda: _forged_for_other_inputs(FUNCTION, namespace["dropout"], 7), None),
        (MODULE, "solution", lambda: namespace["Dropout"], text, None, []),
        (MODULE, "no_extra_repr", lambda: NoExtraRepr, None, None, ["module_repr"]),
        (MODULE, "mask_drawn_once", lambda: MaskInInit, None, None, ["fresh_mask"]),
        (MODULE, "library_dropout", lambda: InheritsDropout, None, None, ["from_scratch"]),
        (MODULE, "forged_other_inputs", lambda: namespace["Dropout"], text,
         lambda: _forged_for_other_inputs(MODULE, namespace["Dropout"], 7), None),
    ]


GOLDEN_CASES = _golden_cases()


@pytest.mark.parametrize("index", range(len(GOLDEN_CASES)), ids=[f"{c[0].key}-{c[1]}" for c in GOLDEN_CASES])
def test_golden_case_gives_the_recorded_verdict(request, index):
    """Does the judge give today the verdict recorded for each golden reply (solution, mistakes, forgeries), and is
    that verdict the expected one (the solution passes; a mistake fails exactly its checks; a forgery fails)?"""
    exercise, name, make_obj, text, forge, failing = GOLDEN_CASES[index]

    def make():
        seed_everything(7)
        obj = make_obj()
        return golden.record(exercise, obj, seed=7, source=text if text is not None else source(obj),
                             reply_text=forge() if forge else None)

    recorded = golden.case(request, exercise, name, make)
    assert golden.judge_again(exercise, recorded).to_dict() == recorded["verdict"]
    failed = [c["name"] for c in recorded["verdict"]["checks"] if not c["passed"]]
    if failing is None:
        assert failed and not recorded["verdict"]["passed"]
    else:
        assert failed == failing
    path = golden.GOLDEN / exercise.key / f"{name}.json.gz"
    assert path.stat().st_size < 300_000
