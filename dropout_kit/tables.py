"""Plain tables (lists of dicts) that display well in a notebook and a terminal."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence


def _cell(value, percent: bool) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value * 100:.1f}" if percent else f"{value:.4g}"
    return str(value)


class Table(list):
    """A list of row dicts with a Markdown ``__str__`` and an HTML ``_repr_html_``.

    ``percent`` names columns holding fractions to show as percentages. Being a list,
    a Table is still plain data: index it, filter it, or write it with ``csv.DictWriter``.
    """

    def __init__(self, rows: Sequence[Mapping] = (), *, columns: Sequence[str] | None = None,
                 percent: Sequence[str] = ()) -> None:
        super().__init__(dict(r) for r in rows)
        self.columns = list(columns) if columns else (list(self[0]) if self else [])
        self.percent = set(percent)

    def _cells(self) -> list[list[str]]:
        return [[_cell(row.get(c, ""), c in self.percent) for c in self.columns] for row in self]

    def __str__(self) -> str:
        head = [f"{c} (%)" if c in self.percent else c for c in self.columns]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(cells) + " |" for cells in self._cells()]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}{' (%)' if c in self.percent else ''}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in cells) + "</tr>"
                       for cells in self._cells())
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
