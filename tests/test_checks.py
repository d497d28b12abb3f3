"""Tests of dropout_kit.checks: PyTorch and correct implementations pass, and every mistake in
tests/dropout_catalogue.py is rejected by the check meant for it, with a message naming it.

False failures. Each check fails a correct implementation with probability <= 1e-6 by
construction (see dropout_kit/checks/stats.py). Only four checks per run are statistical
(keep_fraction, mean_preserved, fresh_mask, independence), plus p_zero for `rand_like(x) > p`
(<= 12 * 2**-24 = 7.2e-7, since torch.rand can return exactly 0.0); the others can only fail a
correct implementation when a mask of >= 1024 entries is all kept or all dropped (< 1e-99).
The 200-seed loops make 5 * 200 function runs and 2 * 200 module runs, so the family-wise
probability that a correct implementation fails anywhere is at most
    1400 runs * 4 checks * 1e-6 + 200 * 7.2e-7 ~= 5.7e-3   (union bound)
and less in truth, because the Hoeffding bound of mean_preserved is far looser than 1e-6.
The seeds are fixed with seed_everything, so these tests are deterministic: they passed
when written and pass on every rerun with the same torch; a failure after an upgrade is a
real change in behaviour or (with the probability above) a new unlucky seed, never a retry.
"""

from __future__ import annotations

import html
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dropout_catalogue import (
    CORRECT_FUNCTIONS, CORRECT_MODULES, WRONG_FUNCTIONS, WRONG_MODULES, divide_by_p,
    dropout_bernoulli, dropout_torch,
)
from dropout_kit import checks
from dropout_kit.checks import stats
from dropout_kit.seeding import seed_everything

SEEDS = range(200)


# --- the bounds ------------------------------------------------------------------------


def _pmf(n, prob):
    return [math.comb(n, k) * prob**k * (1 - prob) ** (n - k) for k in range(n + 1)]


@pytest.mark.parametrize("n, prob, alpha", [(30, 0.3, 0.01), (200, 0.5, 1e-4), (57, 0.81, 0.05)])
def test_binomial_interval_is_the_exact_tight_interval(n, prob, alpha):
    """Does binomial_interval leave at most alpha/2 in each tail, and is it the tightest such range?"""
    pmf = _pmf(n, prob)
    lo, hi = stats.binomial_interval(n, prob, alpha)
    assert sum(pmf[:lo]) <= alpha / 2 < sum(pmf[: lo + 1])
    assert sum(pmf[hi + 1:]) <= alpha / 2 < sum(pmf[hi:])


def test_binomial_upper_is_the_exact_one_sided_quantile():
    """Does binomial_upper leave at most alpha above it, and no less strict bound would?"""
    pmf = _pmf(100, 0.5)
    hi = stats.binomial_upper(100, 0.5, 1e-3)
    assert sum(pmf[hi + 1:]) <= 1e-3 < sum(pmf[hi:])


def test_hoeffding_halfwidth_solves_the_inequality():
    """Does hoeffding_halfwidth give the t where 2 exp(-2 t^2 / R) equals alpha?"""
    t = stats.hoeffding_halfwidth(50.0, 1e-6)
    assert 2 * math.exp(-2 * t**2 / 50.0) == pytest.approx(1e-6)


def test_pytorch_invalid_p_behaviour_is_what_the_checks_assume():
    """Does PyTorch raise ValueError for p=-0.1 and p=1.5, but RuntimeError for NaN (so the
    invalid_p checks must accept RuntimeError for NaN for the real F.dropout to pass)?"""
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


# --- correct implementations pass -----------------------------------------------------


@pytest.mark.parametrize("fn", CORRECT_FUNCTIONS[:5], ids=lambda f: f.__name__)
def test_correct_function_passes_under_200_seeds(fn):
    """Does each correct style (bernoulli, rand > p, where, masked_fill, F.dropout wrapper) pass
    every check under 200 different seeds?"""
    for seed in SEEDS:
        seed_everything(seed)
        report = checks.check_dropout_function(fn)
        assert report.passed, f"seed {seed}:\n{report}"


@pytest.mark.parametrize("cls", CORRECT_MODULES, ids=lambda c: c.__name__)
def test_correct_module_passes_under_200_seeds(cls):
    """Do nn.Dropout and correct learner-style modules pass every check under 200 seeds?"""
    for seed in SEEDS:
        seed_everything(seed)
        report = checks.check_dropout_module(cls)
        assert report.passed, f"seed {seed}:\n{report}"


def test_torch_functional_dropout_itself_passes():
    """Does torch.nn.functional.dropout, passed as it is, pass every check?"""
    seed_everything(0)
    report = checks.check_dropout_function(F.dropout)
    assert report.passed, str(report)
    assert report.subject == "dropout()"


def test_checker_never_seeds_torch(monkeypatch):
    """Does the checker run without ever calling torch.manual_seed or torch.seed?"""

    def forbidden(*args, **kwargs):
        raise AssertionError("the checker must not seed torch")

    monkeypatch.setattr(torch, "manual_seed", forbidden)
    monkeypatch.setattr(torch, "seed", forbidden)
    monkeypatch.setattr(torch.random, "manual_seed", forbidden)
    assert checks.check_dropout_function(dropout_bernoulli).passed
    assert checks.check_dropout_module(nn.Dropout).passed


# --- known mistakes are caught by the right check --------------------------------------


@pytest.mark.parametrize("mistake", WRONG_FUNCTIONS, ids=repr)
def test_wrong_function_fails_the_check_for_its_mistake(mistake):
    """Is each known-wrong function rejected by the check meant for its mistake, with a message
    that names the mistake? (Each case's own question is mistake.question.)"""
    check = getattr(checks, f"check_{mistake.check}")
    for seed in range(3):
        seed_everything(seed)
        result = check(mistake.impl)
        assert result.name == mistake.check
        assert not result.passed, mistake.question
        assert mistake.hint in result.message, (mistake.question, result.message)
        report = checks.check_dropout_function(mistake.impl)
        assert not report.passed
        assert not report[mistake.check].passed, (mistake.question, str(report))


@pytest.mark.parametrize("mistake", WRONG_MODULES, ids=repr)
def test_wrong_module_fails_the_check_for_its_mistake(mistake):
    """Is each known-wrong module rejected by the check meant for its mistake, with a message
    that names the mistake? (Each case's own question is mistake.question.)"""
    check = getattr(checks, f"check_{mistake.check}")
    target = mistake.impl if mistake.check.startswith("module_") else checks.as_function(mistake.impl)
    for seed in range(3):
        seed_everything(seed)
        result = check(target)
        assert not result.passed, mistake.question
        assert mistake.hint in result.message, (mistake.question, result.message)
        report = checks.check_dropout_module(mistake.impl)
        assert not report[mistake.check].passed, (mistake.question, str(report))


ISOLATED = {
    "scale_in_eval_too": "eval_identity", "ignores_training": "eval_identity",
    "channel_mask": "independence", "cached_mask": "fresh_mask", "seeds_inside": "fresh_mask",
    "inplace_returns_new_tensor": "inplace", "no_validation": "invalid_p",
    "accepts_nan": "invalid_p", "asserts_instead": "invalid_p", "builds_new_tensor": "gradient",
    "masks_under_no_grad": "gradient", "masks_through_data": "gradient",
}


@pytest.mark.parametrize("name", sorted(ISOLATED))
def test_a_single_mistake_fails_a_single_check(name):
    """Does a function with one mistake fail only the check for that mistake, so the report
    points at it rather than at a list of symptoms?"""
    mistake = next(m for m in WRONG_FUNCTIONS if m.name == name)
    seed_everything(0)
    report = checks.check_dropout_function(mistake.impl)
    assert [r.name for r in report.failed] == [ISOLATED[name]], str(report)


def test_catalogue_is_large_and_covers_every_check():
    """Does the catalogue hold at least 15 wrong functions, with every check the target of a
    mistake? (mean_preserved has no mistake of its own: for a mask drawn independently of x
    the mean follows from keep_fraction and scale; it backs them up, see the next test.)"""
    assert len(WRONG_FUNCTIONS) >= 15
    every = WRONG_FUNCTIONS + WRONG_MODULES
    assert len({m.name for m in every}) == len(every)
    function_checks = {c.check_name for c in checks.FUNCTION_CHECKS}
    assert function_checks - {m.check for m in WRONG_FUNCTIONS} == {"mean_preserved"}
    assert {c.check_name for c in checks.MODULE_CHECKS} <= {m.check for m in WRONG_MODULES}


@pytest.mark.parametrize("name", ["no_scaling", "p_as_keep_probability", "divide_by_p"])
def test_mean_check_backs_up_scale_and_keep_fraction(name):
    """Is a biased mean (no scaling, p as keep probability, dividing by p) also caught by
    mean_preserved, with the ratio of means in the message?"""
    mistake = next(m for m in WRONG_FUNCTIONS if m.name == name)
    seed_everything(0)
    result = checks.check_mean_preserved(mistake.impl)
    assert not result.passed
    assert "ratio" in result.message


def test_scale_message_matches_the_course_wording():
    """Does dividing by p give the exact message the lesson quotes?"""
    seed_everything(0)
    result = checks.check_scale(divide_by_p)
    assert result.message == ("kept values are multiplied by 3.33, expected 1/(1-p) = 1.43 for "
                              "p=0.3: did you divide by p instead of 1-p?")


# --- learner code that raises, or returns the wrong thing -------------------------------


def test_raising_function_gives_failed_checks_not_a_crash():
    """Does a function that raises produce failed checks naming the exception type and message?"""

    def broken(x, p=0.5, training=True, inplace=False):
        raise RuntimeError("shape mismatch in my mask")

    report = checks.check_dropout_function(broken)
    assert not report.passed
    assert len(report) == len(checks.FUNCTION_CHECKS)
    assert report["scale"].message == (
        "broken(x of shape (64, 64), float32, p=0.3, training=True, inplace=False) raised "
        "RuntimeError: shape mismatch in my mask"
    )
    assert all("RuntimeError" in r.message for r in report.failed if r.name != "invalid_p")


def test_function_returning_none_is_told_to_return():
    """Does a function that forgets `return` get a message about the missing return value?"""

    def no_return(x, p=0.5, training=True, inplace=False):
        x * 2

    result = checks.check_shape_dtype(no_return)
    assert not result.passed
    assert "returned NoneType, expected a torch.Tensor" in result.message


def test_module_instance_instead_of_class_is_explained():
    """Does passing Dropout() instead of Dropout give one clear failed check?"""
    report = checks.check_dropout_module(nn.Dropout())
    assert not report.passed
    assert report.names == ["module_init"]
    assert "pass Dropout, not Dropout()" in report["module_init"].message


def test_module_without_inplace_argument_names_the_type_error():
    """Does a class whose __init__ lacks `inplace` fail module_init with the TypeError shown?"""

    class OnlyP(nn.Module):
        def __init__(self, p=0.5):
            super().__init__()
            self.p = p

    result = checks.check_module_init(OnlyP)
    assert not result.passed
    assert "OnlyP(p=0.3, inplace=False) raised TypeError" in result.message


# --- the report ------------------------------------------------------------------------


def test_report_text_has_a_line_per_check_and_the_failure_message():
    """Does print(report) show a ✓/✗ line for every check and the failing check's message?"""
    seed_everything(0)
    report = checks.check_dropout_function(divide_by_p)
    text = str(report)
    lines = text.splitlines()
    assert lines[0] == f"Checks of divide_by_p(): {len(report) - len(report.failed)} of " \
                       f"{len(report)} passed ({len(report.failed)} failed)"
    for result in report:
        mark = "✓" if result.passed else "✗"
        assert f"{mark} {result.name}: {result.summary}" in lines
    assert "    " + report["scale"].message in lines


def test_report_html_has_every_check_and_the_escaped_failure_message():
    """Does the notebook rendering list every check and show each failure's message, escaped?"""
    seed_everything(0)
    report = checks.check_dropout_function(divide_by_p)
    page = report._repr_html_()
    for result in report:
        assert f"<code>{result.name}</code>" in page
        assert html.escape(result.summary) in page
    for result in report.failed:
        assert html.escape(result.message) in page
    assert page.count("✗") == len(report.failed)
    assert page.count("✓") == len(report) - len(report.failed)


def test_passing_report_says_all_passed():
    """Does a passing report say so in its headline, in text and in HTML?"""
    seed_everything(0)
    report = checks.check_dropout_module(nn.Dropout)
    assert str(report).splitlines()[0] == f"Checks of Dropout: {len(report)} of {len(report)} passed (all passed)"
    assert "all passed" in report._repr_html_()
    assert repr(report) == f"<Report of Dropout: passed (0 of {len(report)} checks failed)>"


def test_unknown_check_name_lists_the_real_ones():
    """Does report['nope'] raise KeyError naming the checks that exist?"""
    report = checks.check_dropout_function(dropout_torch)
    with pytest.raises(KeyError, match="keep_fraction"):
        report["nope"]


def test_every_check_in_a_report_is_importable():
    """Is every check that a report lists importable as checks.check_<name>?"""
    function_report = checks.check_dropout_function(dropout_torch)
    module_report = checks.check_dropout_module(nn.Dropout)
    for name in function_report.names + module_report.names:
        assert getattr(checks, f"check_{name}").check_name == name
