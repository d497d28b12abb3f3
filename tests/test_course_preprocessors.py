"""Tests of the course's own nbgrader preprocessors that need no grading run."""

import html.parser

import pytest
from nbformat import v4

pytest.importorskip("nbgrader")

import nbformat  # noqa: E402
from nbconvert import HTMLExporter  # noqa: E402
from traitlets.config import Config  # noqa: E402

from dropout_kit.course.preprocessors import MarkdownAsText, as_text  # noqa: E402

LESSON_TEXT = "## Part 1\n\nWrite **dropout** yourself."
HOSTILE = "<script>alert('md')</script> <img src=x onerror=alert(1)>\n\n[link](javascript:alert(2))"


def _feedback_html(tmp_path, cells) -> str:
    (tmp_path / "src" / "lesson").mkdir(parents=True)
    nbformat.write(v4.new_notebook(cells=[v4.new_markdown_cell(LESSON_TEXT)]), tmp_path / "src" / "lesson" / "lesson.ipynb")
    config = Config()
    config.CourseDirectory.source_directory = str(tmp_path / "src")
    resources = {"nbgrader": {"assignment": "lesson", "notebook": "lesson"}}
    nb, _ = MarkdownAsText(config=config).preprocess(v4.new_notebook(cells=cells), resources)
    return HTMLExporter().from_notebook_node(nb)[0]


def _live(page: str) -> list[str]:
    """Markup in ``page`` a browser would run: on* handlers, javascript: URLs, scripts that alert."""
    found = []

    class Parser(html.parser.HTMLParser):
        script = False

        def handle_starttag(self, tag, attrs):
            self.script = tag == "script"
            found.extend(f"{tag} {k}" for k, v in attrs if k.startswith("on") or (v or "").startswith("javascript:"))

        def handle_data(self, data):
            if self.script and "alert(" in data:
                found.append("script")

    Parser().feed(page)
    return found


def test_learner_markdown_is_text_and_lesson_markdown_is_rendered(tmp_path):
    """Is a learner's <script>, onerror= and javascript: link shown as text, while the lesson's markdown renders?"""
    page = _feedback_html(tmp_path, [v4.new_markdown_cell(LESSON_TEXT), v4.new_markdown_cell(HOSTILE)])
    assert "<strong>dropout</strong>" in page
    assert _live(page) == []
    assert "&lt;script&gt;alert" in page  # shown, as text
    unfiltered = HTMLExporter().from_notebook_node(v4.new_notebook(cells=[v4.new_markdown_cell(HOSTILE)]))[0]
    assert _live(unfiltered) != []  # without MarkdownAsText, the same markdown is live


def test_as_text_indents_every_line():
    """Does every line, blank ones and odd line breaks included, become part of one code block?"""
    assert as_text("a\n\n<b>b</b>\rc") == "*Your markdown, shown as text:*\n\n    a\n    \n    <b>b</b>\n    c"
    assert as_text("") == "*Your markdown, shown as text:*\n\n    "
