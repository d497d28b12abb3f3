"""Checkers for lesson 07's two exercises: per-class metrics, and choosing p from a sweep table.

The graded cells call::

    report = metric_checks.check_precision_recall_f1(precision_recall_f1)
    report = metric_checks.check_choose_p(choose_p)

and assert ``report.passed``. Both are deterministic (fixed matrices and tables, no
randomness), so a correct answer always passes. A failed check names the likely mistake:
each test case is built so that the usual wrong answers (precision and recall swapped,
NaN on 0/0, the test column, the std instead of the standard error, ...) give a result
different from the right one, and the message says which mistake matches.

Reports are ``dropout_kit.metric_checks.report.Report`` objects: a table in a notebook, ✓/✗ lines in print.
"""

from dropout_kit.metric_checks.choose import CHOOSE_P_CHECKS, check_choose_p, choose_p_rule
from dropout_kit.metric_checks.prf import PRF_CHECKS, check_precision_recall_f1

__all__ = [
    "CHOOSE_P_CHECKS", "PRF_CHECKS", "check_choose_p", "check_precision_recall_f1", "choose_p_rule",
]
