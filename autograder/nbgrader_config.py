"""nbgrader configuration of the dropout-course.

``dropout-kit release`` / ``grade`` load this file and then point it at one run's folders
(see dropout_kit/course/config.py). nbgrader's own commands load it too, through the
``nbgrader_config.py`` of the course's folder: ``nbgrader autograde 02_from_scratch`` there
works on the workspace ``grading/`` (or $DROPOUT_COURSE_WORKSPACE), which this file creates.

Every option below says why it is set; autograder/README.md explains them for instructors.
"""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

c = get_config()  # noqa: F821 -- provided by traitlets when it runs this file

# --- Where things are ------------------------------------------------------------------------
# The course id names the course in the gradebook. It must not be empty: with PostgreSQL the
# assignments' foreign key to the course table is enforced, and an empty id is never created.
c.CourseDirectory.course_id = "dropout-course"
# The grading workspace: gradebook.db, submitted/, autograded/, feedback/. Outside the tracked
# tree, so grading never dirties the repository. `dropout-kit grade --out DIR` replaces it.
c.CourseDirectory.root = os.environ.get("DROPOUT_COURSE_WORKSPACE", str(REPO / "grading"))
# nbgrader changes into the workspace first and fails with a bare FileNotFoundError when it is
# missing: create it. A folder that cannot be created (a read-only checkout) is left to the
# command that needs it; `dropout-kit grade --out DIR` does not.
try:
    os.makedirs(c.CourseDirectory.root, exist_ok=True)
except OSError:
    pass
# The only notebook source. Absolute: nbgrader joins it to `root` with os.path.join, and an
# absolute path replaces the root, so the source stays in the repository.
c.CourseDirectory.source_directory = str(REPO / "solutions")
# What learners get. `dropout-kit release` writes here; `grade` releases into the workspace.
c.CourseDirectory.release_directory = str(REPO / "notebooks")
# The gradebook: SQLite in the workspace unless a URL is given, e.g.
# postgresql://user@/dropout_course?host=/var/run/postgresql (needs psycopg2-binary).
if os.environ.get("DROPOUT_COURSE_DB_URL"):
    c.CourseDirectory.db_url = os.environ["DROPOUT_COURSE_DB_URL"]

# --- Time limits -----------------------------------------------------------------------------
# Seconds allowed per cell. Execute.timeout is the one that counts: once it is set,
# ExecutePreprocessor.timeout is ignored. 300 s leaves room for the experiment lesson's test
# cell, which trains for about 45 s idle and over 120 s on a loaded 2-core machine. On timeout the kernel is interrupted and the cell fails.
c.Execute.timeout = 300
# Wall-clock seconds for one learner's lesson as a whole (kernel start, all cells, feedback).
# A loop that ignores the interrupt, or a hung kernel, is killed here; the lesson is reported
# as failed, and the other learners are graded as usual.
c.CourseLimits.notebook_timeout = 900

# --- Holes closed ----------------------------------------------------------------------------
# nbclient skips cells tagged "skip-execution"; a learner who tags the test cells that way got
# full marks. Only this never-used tag would be skipped, and StripCellTags (below) removes
# every tag from a submission before it runs anyway.
c.Execute.skip_cells_with_tag = "dropout-course-never-skip-this-tag-is-not-used"
# A learner who deletes a test cell would otherwise not be tested by it: put it back.
c.OverwriteCells.add_missing_cells = True

# Sanitizing a submission, in order: clear outputs, drop duplicated grade ids, restore the
# kernel, give stripped cells their nbgrader metadata back and put deleted test cells back
# (RestoreMissingCells: nbgrader's add_missing_cells raises KeyError when the metadata of the
# cell before a missing test is gone too), restore locked cells (test text, points, lock) from
# the gradebook, and strip tags.
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "dropout_kit.course.preprocessors.RestoreMissingCells",
    "nbgrader.preprocessors.OverwriteCells",
    "dropout_kit.course.preprocessors.StripCellTags",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# Autograding. TrustedExecute replaces nbgrader's Execute: the learner's kernel runs in a
# bubblewrap sandbox (no network, no course files, limits), test cells are never run in it, and
# each test cell's points come from its exercise's judge, run here, in the grader's process, on
# data the sandboxed kernel returns (see autograder/README.md, "Threat model"). FlagFindings,
# last, records the verdicts and flags a submission whose grading hit a timeout or a limit.
c.Autograde.autograde_preprocessors = [
    "dropout_kit.course.execute.TrustedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
    "dropout_kit.course.preprocessors.FlagFindings",
]
# The sandbox is on unless an instructor turns it off for trusted notebooks (dropout-kit grade
# --no-sandbox sets this for one run). Without bubblewrap, grading refuses to start.
c.TrustedExecute.sandbox = True
# Lessons whose kernel may read FashionMNIST (read-only); the others see no dataset at all.
c.TrustedExecute.data_lessons = ["07_metrics"]
# Feedback HTML must not show hidden tests: remove their text (ClearHiddenTests) and withhold
# the outputs and tracebacks of cells that had any (WithholdHiddenTestOutputs), which would
# otherwise quote the hidden lines.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "dropout_kit.course.preprocessors.WithholdHiddenTestOutputs",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
