"""Run nbgrader's converters (generate_assignment, autograde, generate_feedback) in-process.

nbgrader catches every error of a notebook, logs it, and ends with a generic "there was an
error"; these wrappers keep the first real exception, so that ``grade`` can say *why* a
learner's lesson failed (the kernel died, a cell hung, the notebook is broken).
"""

from __future__ import annotations

import copy

from dropout_kit.optional import require

require("nbgrader", "instructor", "releasing or grading notebooks")

from nbgrader.converters import Autograde, GenerateAssignment, GenerateFeedback  # noqa: E402
from nbgrader.converters.base import NbGraderException  # noqa: E402
from nbgrader.coursedir import CourseDirectory  # noqa: E402
from nbgrader.preprocessors import SaveCells  # noqa: E402
from traitlets.config import Config  # noqa: E402


class ConversionError(Exception):
    """An nbgrader step failed; ``cause`` is the exception that made it fail."""

    def __init__(self, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause


class _Recording:
    """Mixin: remember the first exception raised while converting a notebook."""

    failure: BaseException | None = None

    def convert_single_notebook(self, notebook_filename: str) -> None:
        try:
            super().convert_single_notebook(notebook_filename)
        except Exception as exc:
            self.failure = self.failure or exc
            raise


class _GenerateAssignment(_Recording, GenerateAssignment):
    pass


class _Autograde(_Recording, Autograde):
    pass


class _GenerateFeedback(_Recording, GenerateFeedback):
    pass


def _run(converter_class: type, config: Config, lesson: str, learner: str | None = None) -> None:
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = lesson
    if learner is not None:
        coursedir.student_id = learner
    converter = converter_class(coursedir=coursedir, config=config)
    converter.force = True
    try:
        converter.start()
    except (NbGraderException, Exception) as exc:
        cause = converter.failure or exc
        raise ConversionError(f"{type(cause).__name__}: {cause}", cause) from cause


def generate(config: Config, lesson: str, *, database: bool = True) -> None:
    """Release ``lesson`` into ``release_directory``; with ``database``, record it in the gradebook.

    Without the database the gradebook is neither needed nor written (used by ``release``).
    """
    if not database:
        config = copy.deepcopy(config)
        config.GenerateAssignment.no_database = True
        config.GenerateAssignment.preprocessors = [
            p for p in GenerateAssignment.class_traits()["preprocessors"].default() if p is not SaveCells
        ]
    _run(_GenerateAssignment, config, lesson)


def autograde(config: Config, lesson: str, learner: str) -> None:
    """Autograde ``submitted/<learner>/<lesson>`` into ``autograded/`` and the gradebook."""
    _run(_Autograde, config, lesson, learner)


def feedback(config: Config, lesson: str, learner: str) -> None:
    """Write ``feedback/<learner>/<lesson>/<lesson>.html`` from the autograded notebook."""
    _run(_GenerateFeedback, config, lesson, learner)
