"""The verdict of a checker: one result per check, readable in a terminal and in a notebook."""

from __future__ import annotations

import html

from dropout_kit.verdict import Check


# One check's outcome is the course's common Check (name, passed, message, summary), under the name
# these checkers have always used.
CheckResult = Check


class Report:
    """All the checks run on one learner's function or class.

    ``report.passed`` is what a graded cell asserts. ``report["scale"]`` is the result of
    one check, ``report.failed`` the failed ones. In a notebook the report renders as a
    table; ``print(report)`` gives one ✓/✗ line per check with the messages of failures.
    """

    def __init__(self, subject: str, results: list[CheckResult]):
        self.subject = subject
        self.results = list(results)

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> list[CheckResult]:
        """The results of the checks that failed, in the order they ran."""
        return [r for r in self.results if not r.passed]

    @property
    def names(self) -> list[str]:
        """The names of all checks, in the order they ran."""
        return [r.name for r in self.results]

    def __getitem__(self, name: str) -> CheckResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(f"no check named {name!r}; the checks are {', '.join(self.names)}")

    def __iter__(self):
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def _headline(self) -> str:
        ok = sum(r.passed for r in self.results)
        verdict = "all passed" if self.passed else f"{len(self.results) - ok} failed"
        return f"Checks of {self.subject}: {ok} of {len(self.results)} passed ({verdict})"

    def __str__(self) -> str:
        return "\n".join([self._headline(), *(str(r) for r in self.results)])

    def __repr__(self) -> str:
        return f"<Report of {self.subject}: {'passed' if self.passed else 'failed'} " \
               f"({len(self.failed)} of {len(self.results)} checks failed)>"

    def _repr_html_(self) -> str:
        rows = []
        for r in self.results:
            colour = "#1a7f37" if r.passed else "#cf222e"
            mark = "✓" if r.passed else "✗"
            message = "" if r.passed else html.escape(r.message)
            rows.append(
                f'<tr><td style="color:{colour};font-weight:bold">{mark}</td>'
                f"<td><code>{html.escape(r.name)}</code></td>"
                f'<td style="text-align:left">{html.escape(r.summary)}'
                + (f'<br><span style="color:{colour}">{message}</span>' if message else "")
                + "</td></tr>"
            )
        return (
            f"<div><p><strong>{html.escape(self._headline())}</strong></p>"
            "<table><thead><tr><th></th><th>check</th>"
            '<th style="text-align:left">requirement</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>"
        )
