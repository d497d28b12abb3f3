"""Tests of reading notebook files: what is wrong with a file is said, never raised as a crash."""

import pytest

from dropout_kit.course.notebooks import read_notebook
from dropout_kit.errors import NotebookError


@pytest.mark.parametrize("text, problem", [
    ("[" * 100_000 + "]" * 100_000, "its JSON is nested too deeply"),
    ('{"cells": ' + "[" * 100_000 + "]" * 100_000 + ', "nbformat": 4}', "its JSON is nested too deeply"),
    ("{not json", "invalid JSON at line 1, column 2"),
    ('{"nbformat": 3, "cells": []}', "is not a version 4 Jupyter notebook"),
])
def test_a_file_that_is_no_notebook_is_a_notebook_error(tmp_path, text, problem):
    """Is JSON nested 100,000 deep (which makes Python's parser raise RecursionError), like other broken
    files, a NotebookError naming the problem, so that grading reports it instead of crashing?"""
    path = tmp_path / "03_quiz.ipynb"
    path.write_text(text)
    with pytest.raises(NotebookError, match=problem):
        read_notebook(path)
