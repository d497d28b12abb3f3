"""dropout_kit.course.learner_work: which notebooks in notebooks/ hold work that release must keep."""

import copy
import json

import pytest

from dropout_kit.course.learner_work import work_in

ANSWER_META = {"grade": False, "grade_id": "answer_scale", "locked": False, "schema_version": 3,
               "solution": True, "task": False}


def cell(cell_id: str, source: str, kind: str = "code", **metadata) -> dict:
    c = {"cell_type": kind, "id": cell_id, "metadata": metadata, "source": source}
    if kind == "code":
        c.update(execution_count=None, outputs=[])
    return c


def notebook(cells: list[dict]) -> dict:
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


RELEASE = notebook([
    cell("intro", "# Lesson", "markdown"),
    cell("answer", "def scale(X, p):\n    # YOUR CODE HERE\n    raise NotImplementedError()", nbgrader=ANSWER_META),
    cell("demo", "print(scale(1.0, 0.5))"),
])


def edited(change) -> str:
    nb = copy.deepcopy(RELEASE)
    change(nb)
    return json.dumps(nb)


def test_the_release_itself_may_be_overwritten():
    """Is a file equal to the new release free to overwrite?"""
    assert work_in(json.dumps(RELEASE), RELEASE) == []


def test_an_older_release_may_be_overwritten():
    """Is a previous release (other texts, a cell the new release added missing) free to overwrite?"""
    def older(nb):
        nb["cells"][0]["source"] = "# Lesson (old wording)"
        nb["cells"][2]["source"] = "print(scale(2.0, 0.5))"
        del nb["cells"][1]
    assert work_in(edited(older), RELEASE) == []


@pytest.mark.parametrize("change, reason", [
    (lambda nb: nb["cells"][2].update(outputs=[{"output_type": "stream", "name": "stdout", "text": "2.0\n"}]),
     "it was run (outputs or execution counts)"),
    (lambda nb: nb["cells"][2].update(execution_count=3), "it was run (outputs or execution counts)"),
    (lambda nb: nb["cells"].append(cell("3f9c2a1e", "scale(4.0, 0.5)")), "1 cell(s) not in the release were added"),
    (lambda nb: nb["cells"][1].update(source="def scale(X, p):\n    return X / (1 - p)"),
     "answers were written in cell(s) answer_scale"),
])
def test_work_is_recognised(change, reason):
    """Is a notebook that was run, has a cell added, or has an answer written, recognised as work?"""
    assert work_in(edited(change), RELEASE) == [reason]


def test_every_kind_of_work_is_named():
    """Does a notebook with all three kinds of work get all three reasons, in order?"""
    def worked(nb):
        nb["cells"][1]["source"] = "def scale(X, p):\n    return X"
        nb["cells"][1]["execution_count"] = 1
        nb["cells"].append(cell("new", "1 + 1"))
    assert work_in(edited(worked), RELEASE) == [
        "it was run (outputs or execution counts)", "1 cell(s) not in the release were added",
        "answers were written in cell(s) answer_scale"]


def test_cells_without_ids_are_matched_by_text():
    """In a notebook older than cell ids, is a cell whose text is in the release not taken for an added one?"""
    def no_ids(nb):
        for c in nb["cells"]:
            del c["id"]
        nb["cells"].append(cell("x", "mine = 1"))
        del nb["cells"][-1]["id"]
    assert work_in(edited(no_ids), RELEASE) == ["1 cell(s) not in the release were added"]


def test_an_unreadable_file_is_kept():
    """Is a file that is not a readable notebook (a broken save, merge markers) kept, not overwritten?"""
    assert work_in("<<<<<<< HEAD\n{", RELEASE) == ["it is not a readable notebook"]
    assert work_in("[]", RELEASE) == ["it is not a readable notebook"]


def test_a_lesson_gone_from_the_course():
    """Without a new release (a lesson removed from solutions/), does only having been run count as work?"""
    assert work_in(edited(lambda nb: nb["cells"].append(cell("new", "1"))), None) == []
    assert work_in(edited(lambda nb: nb["cells"][2].update(execution_count=1)), None) == [
        "it was run (outputs or execution counts)"]
