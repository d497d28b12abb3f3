"""Checkers for a learner's dropout function and module (lesson ``02_from_scratch``).

The graded cells of the lesson call::

    report = checks.check_dropout_function(dropout)
    report = checks.check_dropout_module(Dropout)

and assert ``report.passed``. Every check is statistical or deterministic, never tied
to a seed: a correct implementation fails any one check with probability at most 1e-6
(each check's docstring states its bound), and a wrong one gets a message saying what
was observed and the likely mistake.

Each check is also an importable function (``check_scale(fn)``, ``check_module_repr(cls)``)
returning a :class:`CheckResult`, so tests can target one check.
"""

from __future__ import annotations

from torch import nn

from dropout_kit.checks.contract import (
    check_eval_identity, check_gradient, check_inplace, check_invalid_p, check_no_mutation,
    check_p_one, check_p_zero, check_scale, check_shape_dtype,
)
from dropout_kit.checks.module import (
    MODULE_CHECKS, as_function, check_module_attributes, check_module_init,
    check_module_invalid_p, check_module_repr, check_module_train_eval,
)
from dropout_kit.checks.report import CheckResult, Report
from dropout_kit.checks.statistical import (
    check_fresh_mask, check_independence, check_keep_fraction, check_mean_preserved,
)
from dropout_kit.checks.stats import ALPHA

FUNCTION_CHECKS = [
    check_shape_dtype, check_eval_identity, check_p_zero, check_p_one, check_invalid_p,
    check_keep_fraction, check_scale, check_mean_preserved, check_fresh_mask,
    check_independence, check_no_mutation, check_inplace, check_gradient,
]
"""Every check of :func:`check_dropout_function`, in the order they run."""

# The function checks that also apply to a module through ``as_function``. Eval mode and
# invalid p are covered by module_train_eval and module_invalid_p instead.
MODULE_VALUE_CHECKS = [c for c in FUNCTION_CHECKS if c not in (check_eval_identity, check_invalid_p)]


def check_dropout_function(fn) -> Report:
    """Run every check on a dropout function and return the report.

    Used in lesson 02_from_scratch's graded cell. Each check fails a correct function
    with probability at most 1e-6, so with 13 checks a correct function fails the
    report with probability at most 1.3e-5 (union bound); most checks are deterministic,
    so the true figure is far smaller.

    Args:
        fn: the learner's ``dropout(x, p=0.5, training=True, inplace=False)``.

    Returns:
        A :class:`Report`: ``report.passed``, one :class:`CheckResult` per check,
        shown as a table in a notebook and as ✓/✗ lines by ``print``.
    """
    name = getattr(fn, "__name__", "dropout")
    return Report(f"{name}()", [c(fn) for c in FUNCTION_CHECKS])


def check_dropout_module(cls) -> Report:
    """Run every check on a dropout ``nn.Module`` class and return the report.

    Used in lesson 02_from_scratch's graded cell. The class is built as
    ``cls(p=..., inplace=...)``; the module-only checks come first, then the value,
    mask and gradient checks of :func:`check_dropout_function`, run through
    :func:`as_function`. Each check fails a correct class with probability at most 1e-6.

    Args:
        cls: the learner's ``Dropout`` class (not an instance).

    Returns:
        A :class:`Report`, as :func:`check_dropout_function` does.
    """
    if isinstance(cls, nn.Module):
        results = [CheckResult("module_init", False,
                               f"got an instance ({cls!r}), expected the class itself: "
                               "pass Dropout, not Dropout()", check_module_init.summary)]
        return Report("Dropout", results)
    name = getattr(cls, "__name__", "Dropout")
    results = [c(cls) for c in MODULE_CHECKS]
    # A fresh adapter per check: the module instances one check builds never leak into the next.
    results += [c(as_function(cls)) for c in MODULE_VALUE_CHECKS]
    return Report(name, results)


__all__ = [
    "ALPHA", "CheckResult", "FUNCTION_CHECKS", "MODULE_CHECKS", "MODULE_VALUE_CHECKS", "Report",
    "as_function", "check_dropout_function", "check_dropout_module",
    "check_eval_identity", "check_fresh_mask", "check_gradient", "check_independence",
    "check_inplace", "check_invalid_p", "check_keep_fraction", "check_mean_preserved",
    "check_module_attributes", "check_module_init", "check_module_invalid_p",
    "check_module_repr", "check_module_train_eval", "check_no_mutation", "check_p_one",
    "check_p_zero", "check_scale", "check_shape_dtype",
]
