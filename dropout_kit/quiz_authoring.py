"""Maintainer tool: build the quiz's questions file and key from a plain quiz, and back.

    python -m dropout_kit.quiz_authoring export /tmp/quiz_plain.json
    python -m dropout_kit.quiz_authoring build /tmp/quiz_plain.json [--questions FILE] [--key FILE] [--new-salt]

``export`` writes the quiz in plain text, answers included: it recovers every entry of the key
by trying every option letter or every grid point of a number's range, which shows that the
key hides answers from sight only (see ``dropout_kit.exercises.quiz``). Keep that file out of
git and out of anything shipped to learners.

The plain format: ``salt`` and ``grid`` at the top level, and a list ``questions``. Every
question has ``id``, ``kind``, ``points``, ``prompt`` (markdown), ``answer`` and
``explanation`` (the full explanation, shown once the answer is right and to instructors).
A ``"choice"`` adds ``options`` (letter -> text) and ``feedback``: for every *wrong* letter,
``why`` (why that option is wrong) and ``hint`` (toward the idea, not the letter). A
``"number"`` adds ``tolerance``, ``range`` ([low, high]), ``hint`` (for any wrong value that is
no known mistake) and ``mistakes``: typical wrong values, each with ``why`` (what mistake gives
it) and optionally its own ``hint``.

``build`` checks the plain quiz (every wrong option explained, answers in range, mistakes
outside the answer's tolerance, tolerances whole multiples of the grid, and no feedback that
gives the answer away: see ``revealing``), then writes the questions file (no answers) and the
key. It keeps the plain file's salt unless ``--new-salt`` is given. Not used by learners.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import secrets
from pathlib import Path

from dropout_kit.exercises.quiz import scan, seal, tag, unseal
from dropout_kit.quiz import KEY_FILE, QUESTIONS_FILE

GRID = 1e-5  # numeric answers are stored as round(value / GRID)
PAD = 64  # boxes are padded to a multiple of this many bytes
PUBLIC = {"choice": ("options",), "number": ("tolerance", "range", "hint")}

# Phrases that call something the right answer, and (per option letter) ones that name an option.
_RIGHT = re.compile(r"\b(the\s+)?(right|correct)\s+(answer|option|choice|letter)\b|\bthe\s+answer\s+is\b", re.I)
_NAMING = (r"\b(?i:options?|answers?|choices?|letters?)\s*[\"'(]?{L}\b",
           r"(?<![\w`])\(?{L}\)?\s+(?i:is|was)\s+(?i:right|correct|wrong)\b")


def revealing(p: dict, text: str) -> list[str]:
    """What in ``text``, wrong-answer feedback of plain question ``p``, would give its answer away."""
    found = [f"calls something the right answer ({m.group(0)!r})" for m in [_RIGHT.search(text)] if m]
    if p["kind"] == "choice":
        for letter in p["options"]:
            for pattern in _NAMING:
                if m := re.search(pattern.replace("{L}", letter), text):
                    found.append(f"names option {letter} ({m.group(0)!r})")
        right = re.sub(r"[`\s]", "", p["options"][p["answer"]])
        if len(right) >= 6 and right in re.sub(r"[`\s]", "", text):
            found.append("quotes the right option's text")
    else:
        for form in answer_forms(p["answer"]):
            if re.search(rf"(?<![\d.]){re.escape(form)}(?![\d])", text):
                found.append(f"states the answer ({form})")
    return sorted(set(found))


def answer_forms(value: float) -> list[str]:
    """The ways a number answer could be written in feedback: 2-4 decimals, %g, and percentages."""
    forms = {f"{value:.{d}f}" for d in (2, 3, 4)} | {f"{value:g}", f"{100 * value:g}%"}
    return sorted(forms | {f"{100 * value:.{d}f}%" for d in (0, 1, 2)})


def _check(p: dict, grid: float) -> None:
    qid = p["id"]
    if p["kind"] == "choice":
        wrong = set(p["options"]) - {p["answer"]}
        if p["answer"] not in p["options"] or set(p["feedback"]) != wrong:
            raise ValueError(f"{qid}: the answer must be an option, and every wrong option (only those) needs "
                             "feedback")
        texts = [t for f in p["feedback"].values() for t in (f["why"], f["hint"])]
    elif p["kind"] == "number":
        tol, (lo, hi) = p["tolerance"], p["range"]
        if not math.isclose(tol / grid, round(tol / grid)):
            raise ValueError(f"{qid}: tolerance {tol} is not a whole multiple of the grid {grid}")
        for v in [p["answer"]] + [m["value"] for m in p["mistakes"]]:
            if not lo <= v <= hi:
                raise ValueError(f"{qid}: {v} is outside the range {lo}..{hi}")
        for m in p["mistakes"]:
            if abs(m["value"] - p["answer"]) <= tol:
                raise ValueError(f"{qid}: mistake {m['value']} is within the tolerance of the answer")
        texts = [p["hint"]] + [t for m in p["mistakes"] for t in (m["why"], m.get("hint", ""))]
    else:
        raise ValueError(f"{qid}: unknown kind {p['kind']!r}; use 'choice' or 'number'")
    for text in texts:
        if problems := revealing(p, text):
            raise ValueError(f"{qid}: feedback gives the answer away ({'; '.join(problems)}): {text!r}")


def encode(plain: dict) -> tuple[dict, dict]:
    """The questions file and the key of a plain quiz; raises ValueError on a bad one."""
    salt, grid = plain.get("salt") or secrets.token_hex(16), plain.get("grid", GRID)
    seen, questions, key = set(), [], {}
    for p in plain["questions"]:
        qid = p["id"]
        if qid in seen:
            raise ValueError(f"question id {qid!r} appears twice")
        seen.add(qid)
        _check(p, grid)
        questions.append({k: p[k] for k in ("id", "kind", "points", "prompt", *PUBLIC[p["kind"]])})
        right = {"right": True, "text": p["explanation"], "hint": ""}
        if p["kind"] == "choice":
            entries = {k: {"right": False, "text": f["why"], "hint": f["hint"]} for k, f in p["feedback"].items()}
            entries[p["answer"]] = right
        else:
            entries = {round(m["value"] / grid): {"right": False, "text": m["why"], "hint": m.get("hint", "")}
                       for m in p["mistakes"]}
            entries[round(p["answer"] / grid)] = right
            if len(entries) != len(p["mistakes"]) + 1:
                raise ValueError(f"{qid}: two mistakes, or a mistake and the answer, share one grid point")
        longest = max(len(json.dumps(e, ensure_ascii=False, sort_keys=True).encode()) for e in entries.values())
        length = PAD * math.ceil(longest / PAD)
        boxes = {tag(salt, qid, c): seal(salt, qid, c, e, length) for c, e in entries.items()}
        key[qid] = {"entries": dict(sorted(boxes.items()))}
    return {"format": 2, "questions": questions}, {"format": 2, "salt": salt, "grid": grid, "questions": key}


def decode(questions: dict, key: dict) -> dict:
    """The plain quiz of a questions file and its key, every entry found by trying every answer."""
    salt, grid, out = key["salt"], key["grid"], []
    for q in questions["questions"]:
        qid, entries = q["id"], key["questions"][q["id"]]["entries"]
        p = dict(q)
        if q["kind"] == "choice":
            candidates = {tag(salt, qid, k): k for k in q["options"]}
        else:
            candidates = scan(salt, qid, *q["range"], grid)
        opened = {c: unseal(salt, qid, c, entries[t]) for t, c in candidates.items() if t in entries}
        if len(opened) != len(entries):
            raise ValueError(f"{qid}: {len(entries) - len(opened)} entries of the key match no answer")
        rights = [(c, e) for c, e in opened.items() if e["right"]]
        if len(rights) != 1:
            raise ValueError(f"{qid}: the key holds {len(rights)} right answers, not one")
        [(answer, right)] = rights
        p["explanation"] = right["text"]
        if q["kind"] == "choice":
            p["answer"] = answer
            p["feedback"] = {c: {"why": e["text"], "hint": e["hint"]} for c, e in sorted(opened.items())
                             if c != answer}
        else:
            p["answer"] = round(answer * grid, 10)
            p["mistakes"] = [{"value": round(c * grid, 10), "why": e["text"], **({"hint": e["hint"]} if e["hint"] else {})}
                             for c, e in sorted(opened.items()) if c != answer]
        out.append(p)
    return {"salt": salt, "grid": grid, "questions": out}


def _write(data: dict, path: Path) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    """``python -m dropout_kit.quiz_authoring export|build``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m dropout_kit.quiz_authoring", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export", help="write the quiz in plain text (answers included: do not commit)")
    e.add_argument("plain", type=Path)
    b = sub.add_parser("build", help="write the questions file and the key from a plain quiz")
    b.add_argument("plain", type=Path)
    b.add_argument("--new-salt", action="store_true", help="draw a fresh salt instead of the plain file's")
    for p in (e, b):
        p.add_argument("--questions", type=Path, default=QUESTIONS_FILE, help="the questions file")
        p.add_argument("--key", type=Path, default=KEY_FILE, help="the key file")
    args = parser.parse_args(argv)
    if args.command == "export":
        _write(decode(_read(args.questions), _read(args.key)), args.plain)
        print(f"wrote {args.plain} (plain answers: keep it out of git)")
        return 0
    plain = _read(args.plain)
    if args.new_salt:
        plain["salt"] = None
    try:
        questions, key = encode(plain)
    except KeyError as exc:
        parser.exit(2, f"error: a question lacks the field {exc}\n")
    except ValueError as exc:
        parser.exit(2, f"error: {exc}\n")
    _write(questions, args.questions)
    _write(key, args.key)
    print(f"wrote {len(questions['questions'])} questions to {args.questions} and their key to {args.key}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
