"""Does a notebook in ``notebooks/`` hold someone's work, which ``release`` must not overwrite?

``release`` regenerates ``notebooks/`` from ``solutions/``. It cannot regenerate the *previous*
release (that needs the previous solutions), so it cannot tell an old release from an edited one
by comparing texts. It recognises work by what only working in a notebook leaves behind:

1. outputs or execution counts: the notebook was run (a release never has them);
2. a cell whose id is not in the new release: a cell was added (a release keeps the ids of
   ``solutions/``, and a learner's new cell gets a new id);
3. an answer cell (nbgrader ``solution``) whose text is not the new release's: an answer was written.

Other text changes are taken for edits of ``solutions/`` since the last release, and are
overwritten. So a cell deleted from ``solutions/`` or a changed answer stub counts as work too
(``--force`` then), and an edited markdown or demonstration cell, saved without outputs, is not
recognised as work.
"""

from __future__ import annotations

import json


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _was_run(cells: list[dict]) -> bool:
    return any(c.get("cell_type") == "code" and (c.get("outputs") or c.get("execution_count") is not None)
               for c in cells)


def work_in(existing: str, release: dict | None) -> list[str]:
    """Why the notebook text ``existing`` holds work that writing ``release`` over it would lose.

    Args:
        existing: the text of the notebook file now in ``notebooks/``.
        release: the newly generated notebook (parsed JSON), or None where the lesson is gone
            from ``solutions/`` (then only rule 1 applies).

    Returns:
        One phrase per kind of work found, e.g. ``"it was run (outputs or execution counts)"``;
        empty when the file may be overwritten.
    """
    try:
        nb = json.loads(existing)
        cells = nb["cells"]
    except (ValueError, KeyError, TypeError):
        return ["it is not a readable notebook"]
    if release is not None and nb == release:
        return []
    reasons = ["it was run (outputs or execution counts)"] if _was_run(cells) else []
    if release is None:
        return reasons
    by_id = {c.get("id"): c for c in release["cells"]}
    sources = {_source(c) for c in release["cells"]}
    added = [c for c in cells if (c.get("id") not in by_id if c.get("id") else _source(c) not in sources)]
    if added:
        reasons.append(f"{len(added)} cell(s) not in the release were added")
    answered = [
        c["metadata"]["nbgrader"].get("grade_id", c.get("id"))
        for c in cells
        if c.get("metadata", {}).get("nbgrader", {}).get("solution") and c.get("id") in by_id
        and _source(c) != _source(by_id[c["id"]])
    ]
    if answered:
        reasons.append(f"answers were written in cell(s) {', '.join(answered)}")
    return reasons
