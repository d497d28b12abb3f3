"""Lesson 07's graded exercises: per-class metrics from a confusion matrix, and choosing p.

- ``prf`` (key ``precision_recall_f1``): the learner's ``precision_recall_f1(cm)`` on confusion
  matrices the judge draws, compared with ``dropout_kit.metrics`` (hints in ``prf_hints``);
- ``choose`` (key ``choose_p``): the learner's ``choose_p(table)`` on made-up sweep tables
  (``choose_tables``), compared with ``tuning.pick_rate``, the one-standard-error rule (hints in
  ``choose_hints``);
- ``shared``: the run-time watch both probes use and the no-delegation check both judges make.
"""

from dropout_kit.exercises.metrics import choose, prf

EXERCISES = [prf.EXERCISE, choose.EXERCISE]
