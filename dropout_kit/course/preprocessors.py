"""nbgrader preprocessors that close the holes of a plain nbgrader setup.

Each is named in ``autograder/nbgrader_config.py``, at the step where it runs:

- ``RestoreMissingCells`` (sanitizing a submission): stripped nbgrader metadata comes back, and
  deleted test cells are put back, even where nbgrader's own ``add_missing_cells`` fails.
- ``StripCellTags`` (sanitizing): no tag, such as ``skip-execution``, can change
  how a submission runs.
- ``TrustedExecute`` (``execute.py``, in place of nbgrader's ``Execute``): runs the submission in a
  sandboxed kernel and judges the test cells in the grader's process.
- ``FlagFindings`` (last step of autograding): writes what ``TrustedExecute`` found (verdicts,
  timeouts, limits hit, a dead kernel) into the notebook's metadata, and flags the submission in
  the gradebook when anything went wrong, so that plain ``nbgrader`` users see it too.
- ``WithholdHiddenTestOutputs`` (feedback): cells with hidden tests show their result, not
  their outputs or tracebacks, which would quote the hidden lines.
- ``MarkdownAsText`` (feedback): markdown the learner wrote or changed is shown as text, so that
  no ``<script>``, ``onerror=`` or ``javascript:`` link of theirs is live in the feedback HTML.

Findings go into the notebook's metadata under ``dropout_course``, where ``grade`` reads them.
"""

from __future__ import annotations

import copy
import os

from dropout_kit.optional import require

require("nbgrader", "instructor", "grading")

import nbformat  # noqa: E402
from nbformat.notebooknode import NotebookNode  # noqa: E402
from nbgrader.preprocessors import NbGraderPreprocessor  # noqa: E402

from dropout_kit.course.notebooks import METADATA_KEY  # noqa: E402

HIDDEN_TESTS_MARK = "BEGIN HIDDEN TESTS"


def source_notebook(preprocessor: NbGraderPreprocessor, resources) -> NotebookNode:
    """The instructor's notebook that a submission comes from (solutions/<lesson>/<lesson>.ipynb)."""
    info = resources["nbgrader"]
    source_dir = preprocessor.config.CourseDirectory.get("source_directory", "")
    return nbformat.read(os.path.join(source_dir, info["assignment"], f"{info['notebook']}.ipynb"), as_version=4)


def _grade_id(cell: NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


class RestoreMissingCells(NbGraderPreprocessor):
    """Give back the nbgrader metadata a submission lost, and put back deleted test cells.

    A cell whose nbgrader metadata was stripped is recognised by its cell id (or, for a locked
    cell, by its text) and gets the
    source notebook's metadata again (OverwriteCells then restores a locked cell's text). A test
    cell that is gone is inserted after the nearest earlier cell that is still there, or at the
    end. nbgrader's own ``add_missing_cells`` fails (KeyError) when the cell before a missing
    test cell has lost its metadata too.
    """

    def preprocess(self, nb, resources):
        source = source_notebook(self, resources)
        by_id = {c.get("id"): c for c in source.cells if _grade_id(c) and c.get("id")}
        by_text = {}
        for c in source.cells:
            if c.metadata.get("nbgrader", {}).get("locked"):
                by_text.setdefault(c.source, c)
                by_text.setdefault(without_hidden_tests(c.source), c)
        present = {_grade_id(c) for c in nb.cells if _grade_id(c)}
        for cell in nb.cells:
            original = by_id.get(cell.get("id")) if cell.get("id") else None
            original = original or by_text.get(cell.source)
            if not _grade_id(cell) and original is not None and _grade_id(original) not in present:
                cell.metadata["nbgrader"] = copy.deepcopy(original.metadata["nbgrader"])
                present.add(_grade_id(original))
        ids = {c.get("id") for c in nb.cells}
        for position, original in enumerate(source.cells):
            if not original.metadata.get("nbgrader", {}).get("grade") or _grade_id(original) in present:
                continue
            cell = copy.deepcopy(original)
            if cell.get("id") in ids:
                cell["id"] = f"{cell['id']}-restored"[:64]
            nb.cells.insert(self._after(nb, source.cells[:position]), cell)
            present.add(_grade_id(original))
            ids.add(cell.get("id"))
        return nb, resources

    @staticmethod
    def _after(nb, earlier) -> int:
        """Index just after the submission's copy of the nearest earlier source cell, else the end."""
        for original in reversed(earlier):
            for index, cell in enumerate(nb.cells):
                same_grade_id = _grade_id(original) and _grade_id(cell) == _grade_id(original)
                if same_grade_id or (original.get("id") and cell.get("id") == original.get("id")):
                    return index + 1
        return len(nb.cells)


class StripCellTags(NbGraderPreprocessor):
    """Remove every cell tag from a submission, so that none can skip or excuse a cell."""

    def preprocess_cell(self, cell, resources, index):
        cell.metadata.pop("tags", None)
        return cell, resources


class FlagFindings(NbGraderPreprocessor):
    """Record ``TrustedExecute``'s verdicts and findings; flag the submission when anything went wrong.

    Runs after ``SaveAutoGrades``. nbgrader's own ``ClearMetadataPreprocessor`` runs between the
    two and would drop notebook metadata, so the record travels in ``resources`` until here.
    A finding (a timeout, a dead kernel, a sandbox limit, output over the cap, a missing judge)
    sets nbgrader's ``flagged`` on the submitted notebook: the formgrader shows it, and
    ``dropout-kit grade`` reports the lesson as failed.
    """

    def preprocess(self, nb, resources):
        record = resources.get(METADATA_KEY)
        if record is None:
            raise RuntimeError("FlagFindings found no record of TrustedExecute: the course's autograde "
                               "preprocessors must run TrustedExecute instead of nbgrader's Execute")
        nb.metadata[METADATA_KEY] = record
        if record.get("findings"):
            from nbgrader.api import Gradebook

            info = resources["nbgrader"]
            with Gradebook(info["db_url"], self.config.CourseDirectory.get("course_id", "")) as gb:
                notebook = gb.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
                notebook.flagged = True
                gb.db.commit()
        return nb, resources


def without_hidden_tests(source: str) -> str:
    """``source`` without its BEGIN/END HIDDEN TESTS regions, as nbgrader's ClearHiddenTests cuts them."""
    kept, hidden = [], False
    for line in source.split("\n"):
        if HIDDEN_TESTS_MARK in line:
            hidden = True
        elif "END HIDDEN TESTS" in line:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept)


class WithholdHiddenTestOutputs(NbGraderPreprocessor):
    """Cut hidden tests from every cell, and replace those cells' outputs by their result.

    Any cell, not only test cells: nbgrader's ClearHiddenTests stops with an error when it
    meets hidden tests in a cell that lost its nbgrader metadata.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and HIDDEN_TESTS_MARK in cell.source:
            cell.source = without_hidden_tests(cell.source)
            errors = [o for o in cell.outputs if o.get("output_type") == "error"]
            result = f"failed ({errors[0].get('ename', 'error')})" if errors else "passed"
            text = f"Output withheld: this test cell has hidden tests. Result: {result}.\n"
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        return cell, resources


class MarkdownAsText(NbGraderPreprocessor):
    """Show the learner's own markdown in the feedback as text, never as HTML.

    nbconvert renders markdown with whatever HTML it holds, and feedback pages are opened in
    browsers (the instructor's too): a learner's ``<script>``, ``<img onerror=...>`` or
    ``[link](javascript:...)`` would run there. The lesson's own markdown cells (as in
    solutions/) are rendered as usual; any other markdown cell becomes an indented code block,
    which the renderer escapes, and loses its attachments.
    """

    def preprocess(self, nb, resources):
        given = {c.source for c in source_notebook(self, resources).cells if c.cell_type == "markdown"}
        for cell in nb.cells:
            if cell.cell_type == "markdown" and cell.source not in given:
                cell.source = as_text(cell.source)
                cell.pop("attachments", None)
        return nb, resources


def as_text(markdown: str) -> str:
    """``markdown`` as a markdown code block (every line indented), headed by a note: it renders as plain text."""
    lines = markdown.splitlines() or [""]
    return "*Your markdown, shown as text:*\n\n" + "\n".join("    " + line for line in lines)
