"""Instructor tools of the course, on top of nbgrader: one module per verb.

- ``release``        regenerate ``notebooks/`` from ``solutions/`` (release.py)
- ``grade``          autograde learners' notebooks into ``grades.csv`` and feedback (grade.py)
- ``check_notebook`` run a notebook's tests for a learner, non-zero exit on failure (check.py)

Supporting modules: ``config`` (paths, lessons, nbgrader configuration), ``converters``
(nbgrader's steps in-process), ``worker`` (one learner's lesson in a child process),
``execute`` (the submission in a sandboxed kernel, test cells judged in the grader's process),
``outputs`` (what a learner's kernel sends, kept safe and small), ``report`` (results and
grades.csv), ``preprocessors`` (the holes of plain nbgrader closed), ``notebooks`` (reading and
writing). nbgrader itself is imported only when a verb runs.

These modules need the ``course`` extra (nbformat, traitlets, psutil; ``check`` also nbclient);
``release`` and ``grade`` need the ``instructor`` extra (nbgrader).
"""

from dropout_kit.optional import require

for _module in ("nbformat", "traitlets", "psutil"):
    require(_module, "course", "checking, releasing or grading notebooks")

from dropout_kit.course.check import check_notebook  # noqa: E402 -- after the check above
from dropout_kit.course.grade import grade  # noqa: E402
from dropout_kit.course.release import release  # noqa: E402

__all__ = ["release", "grade", "check_notebook"]
