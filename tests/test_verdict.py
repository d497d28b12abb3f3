"""Tests of the one verdict type every judge returns."""

import pytest

from dropout_kit.verdict import Check, Verdict


def sample(*passed):
    return Verdict("toy", tuple(Check(f"c{i}", ok, "" if ok else f"bad {i}", f"rule {i}")
                                for i, ok in enumerate(passed)), title="Toy exercise")


def test_passes_only_when_every_check_passes():
    """Is a verdict passed exactly when it has checks and all passed?"""
    assert sample(True, True).passed
    assert not sample(True, False).passed
    assert not Verdict("toy", ()).passed  # nothing was judged: never a pass


def test_failed_and_lookup():
    """Does a verdict list its failed checks and find a check by name?"""
    v = sample(True, False, False)
    assert [c.name for c in v.failed] == ["c1", "c2"]
    assert v["c2"].message == "bad 2"
    with pytest.raises(KeyError, match="the checks are c0, c1, c2"):
        v["nope"]


def test_text_shows_marks_messages_and_notes():
    """Does the text form show a headline, one ✓/✗ line per check, failures' messages and the notes?"""
    v = Verdict("toy", (Check("a", True, summary="rule a"), Check("b", False, "saw 3, expected 2", "rule b")),
                title="Toy", notes=("Well done.",))
    assert str(v).splitlines() == ["Toy: NOT passed (1 of 2 checks failed)", "✓ a: rule a", "✗ b: rule b",
                                   "    saw 3, expected 2", "Well done."]
    assert sample(True).headline() == "Toy exercise: passed (1 of 1 checks)"


def test_html_escapes_everything():
    """Is text in the HTML form escaped, so that a message cannot inject markup?"""
    v = Verdict("t", (Check("<b>", False, "<script>alert(1)</script>", "a & b"),), title="<i>x</i>",
                notes=("<img src=x>",))
    page = v._repr_html_()
    assert "<script>" not in page and "<img" not in page and "<i>x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "a &amp; b" in page


def test_dict_round_trip_and_refusal():
    """Does to_dict/from_dict round-trip, and is a non-verdict refused?"""
    v = sample(True, False)
    assert Verdict.from_dict(v.to_dict()) == v
    assert v.to_dict()["passed"] is False
    with pytest.raises(ValueError, match="not a verdict"):
        Verdict.from_dict({"checks": 3})
    # A check only passes on a real JSON true, not on a truthy string.
    forged = v.to_dict()
    forged["checks"][1]["passed"] = "yes"
    assert not Verdict.from_dict(forged).passed


def test_fail_builds_one_failed_check():
    """Does Verdict.fail give a single failed check with the reason?"""
    v = Verdict.fail("toy", "reply", "no reply came")
    assert not v.passed and [(c.name, c.message) for c in v.checks] == [("reply", "no reply came")]


def test_code_spans_are_shown_as_code_and_still_escaped():
    """Do `code` spans become <code> in HTML, with their content escaped like everything else?"""
    v = Verdict("t", (Check("c", False, "set `answer_purpose` to `<b>`", "returns `x`"),), notes=("see `dropout`",))
    page = v._repr_html_()
    assert "<code>answer_purpose</code>" in page and "<code>&lt;b&gt;</code>" in page
    assert "<code>x</code>" in page and "<code>dropout</code>" in page and "<b>" not in page
