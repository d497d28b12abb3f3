"""One verdict type for every graded exercise: the checks a judge made, and what each found.

A judge (see ``dropout_kit.exercises``) returns a :class:`Verdict`. The same object is what a
learner sees under a test cell while studying and what the grader records: it renders as ✓/✗
lines in a terminal and as a table in a notebook, and it round-trips through plain JSON
(``to_dict`` / ``from_dict``) so that a grading run can store it and feedback can show it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

_CODE = re.compile(r"`([^`\n]+)`")


def _inline(text: str) -> str:
    """``text`` escaped for HTML, with `code` spans shown as code (the only markup kept)."""
    return _CODE.sub(r"<code>\1</code>", html.escape(text))


@dataclass(frozen=True)
class Check:
    """The outcome of one check of a judge.

    Attributes:
        name: a short name, e.g. ``"scale"``.
        passed: whether the learner's work met it.
        message: what was observed and the likely mistake (failures); may hold a note on success.
        summary: one line saying what the check requires.
    """

    name: str
    passed: bool
    message: str = ""
    summary: str = ""

    def __str__(self) -> str:
        line = f"{'✓' if self.passed else '✗'} {self.name}"
        if self.summary:
            line += f": {self.summary}"
        if self.message and not self.passed:
            line += "\n    " + self.message.replace("\n", "\n    ")
        return line


@dataclass(frozen=True)
class Verdict:
    """What a judge decided about one exercise.

    ``passed`` is True when there is at least one check and every check passed; an empty
    verdict never passes. ``notes`` are shown after the checks (for example the explanation
    a quiz gives once an answer is right).
    """

    exercise: str
    checks: tuple[Check, ...]
    title: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self):
        object.__setattr__(self, "checks", tuple(self.checks))
        object.__setattr__(self, "notes", tuple(self.notes))

    @property
    def passed(self) -> bool:
        """True when there is at least one check and all of them passed."""
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        """The checks that failed, in the order they were made."""
        return [c for c in self.checks if not c.passed]

    def __getitem__(self, name: str) -> Check:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"no check named {name!r}; the checks are {', '.join(c.name for c in self.checks)}")

    @classmethod
    def fail(cls, exercise: str, name: str, message: str, *, title: str = "") -> "Verdict":
        """A verdict with one failed check: used when there is nothing to judge (no reply, bad reply)."""
        return cls(exercise, (Check(name, False, message),), title=title)

    def headline(self) -> str:
        """One line: which exercise, and how many checks passed."""
        subject = self.title or self.exercise
        ok = sum(c.passed for c in self.checks)
        if self.passed:
            return f"{subject}: passed ({ok} of {len(self.checks)} checks)"
        return f"{subject}: NOT passed ({len(self.checks) - ok} of {len(self.checks)} checks failed)"

    def __str__(self) -> str:
        return "\n".join([self.headline(), *(str(c) for c in self.checks), *self.notes])

    def __repr__(self) -> str:
        return f"<Verdict {self.exercise}: {'passed' if self.passed else 'not passed'}>"

    def _repr_html_(self) -> str:
        rows = []
        for c in self.checks:
            colour = "#1a7f37" if c.passed else "#cf222e"
            detail = _inline(c.summary)
            if c.message and not c.passed:
                detail += f'<br><span style="color:{colour}">{_inline(c.message)}</span>'
            rows.append(f'<tr><td style="color:{colour};font-weight:bold">{"✓" if c.passed else "✗"}</td>'
                        f'<td><code>{html.escape(c.name)}</code></td><td style="text-align:left">{detail}</td></tr>')
        notes = "".join(f"<p>{_inline(n)}</p>" for n in self.notes)
        return (f"<div><p><strong>{html.escape(self.headline())}</strong></p>"
                '<table><thead><tr><th></th><th>check</th><th style="text-align:left">requirement</th></tr>'
                f"</thead><tbody>{''.join(rows)}</tbody></table>{notes}</div>")

    def to_dict(self) -> dict:
        """Plain JSON-able form (what grading stores)."""
        return {"exercise": self.exercise, "title": self.title, "passed": self.passed,
                "checks": [{"name": c.name, "passed": c.passed, "message": c.message, "summary": c.summary}
                           for c in self.checks],
                "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, data: dict) -> "Verdict":
        """Inverse of ``to_dict``; raises ValueError on anything else."""
        try:
            checks = tuple(Check(str(c["name"]), c["passed"] is True, str(c.get("message", "")),
                                 str(c.get("summary", ""))) for c in data["checks"])
            return cls(str(data["exercise"]), checks, title=str(data.get("title", "")),
                       notes=tuple(str(n) for n in data.get("notes", ())))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a verdict: {exc!r}") from exc
