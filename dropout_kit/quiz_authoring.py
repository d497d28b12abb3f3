"""Maintainer tool: build the obfuscated ``quiz_questions.json`` from a plain quiz, and back.

    python -m dropout_kit.quiz_authoring export /tmp/quiz_plain.json
    python -m dropout_kit.quiz_authoring build /tmp/quiz_plain.json [--out FILE] [--new-salt]

``export`` writes the questions with their answers and explanations in plain text:
it recovers each answer by hashing every option letter or every grid point of the
question's range, which shows that the hashing hides answers from sight only.
Keep that file out of git and out of anything shipped to learners.

The plain format: ``salt`` and ``grid`` at the top level, and a list ``questions``.
Every question has ``id``, ``kind``, ``points`` and ``prompt`` (markdown). A
``"choice"`` adds ``options`` (letter -> text), ``answer`` (the right letter) and
``feedback`` (letter -> why that option is right or wrong). A ``"number"`` adds
``tolerance``, ``range`` ([low, high]), ``answer`` (the exact value),
``explanation`` and ``mistakes`` (a list of ``value`` and ``feedback``: typical
wrong values and why they are wrong).

``build`` checks the plain quiz (every option explained, answers in range, mistakes
outside the answer's tolerance, tolerances whole multiples of the grid) and keeps
the plain file's salt unless ``--new-salt`` is given. Not used by learners.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import secrets
from pathlib import Path

from dropout_kit.quiz import QUESTIONS_FILE, decode_text, digest, encode_text

GRID = 1e-5  # numeric answers are stored as round(value / GRID)


def _index(value: float, grid: float) -> int:
    return round(value / grid)


def encode(plain: dict) -> dict:
    """The stored (hashed, compressed) form of a plain quiz; raises ValueError on a bad one."""
    salt, grid = plain.get("salt") or secrets.token_hex(16), plain.get("grid", GRID)
    seen, out = set(), []
    for p in plain["questions"]:
        qid = p["id"]
        if qid in seen:
            raise ValueError(f"question id {qid!r} appears twice")
        seen.add(qid)
        q = {k: p[k] for k in ("id", "kind", "points", "prompt")}
        if p["kind"] == "choice":
            if p["answer"] not in p["options"] or set(p["feedback"]) != set(p["options"]):
                raise ValueError(f"{qid}: the answer must be an option and every option needs feedback")
            q["options"] = p["options"]
            q["answer_sha256"] = digest(salt, qid, p["answer"])
            q["feedback"] = {k: encode_text(p["feedback"][k]) for k in p["options"]}
        elif p["kind"] == "number":
            tol, (lo, hi) = p["tolerance"], p["range"]
            if not math.isclose(tol / grid, round(tol / grid)):
                raise ValueError(f"{qid}: tolerance {tol} is not a whole multiple of the grid {grid}")
            for v in [p["answer"]] + [m["value"] for m in p.get("mistakes", [])]:
                if not lo <= v <= hi:
                    raise ValueError(f"{qid}: {v} is outside the range {lo}..{hi}")
            for m in p.get("mistakes", []):
                if abs(m["value"] - p["answer"]) <= tol:
                    raise ValueError(f"{qid}: mistake {m['value']} is within the tolerance of the answer")
            q.update(tolerance=tol, range=[lo, hi],
                     answer_sha256=digest(salt, qid, _index(p["answer"], grid)),
                     explanation=encode_text(p["explanation"]),
                     mistakes=[{"answer_sha256": digest(salt, qid, _index(m["value"], grid)),
                                "feedback": encode_text(m["feedback"])} for m in p.get("mistakes", [])])
        else:
            raise ValueError(f"{qid}: unknown kind {p['kind']!r}; use 'choice' or 'number'")
        out.append(q)
    return {"format": 1, "salt": salt, "grid": grid, "questions": out}


def decode(stored: dict) -> dict:
    """The plain form of a stored quiz, answers recovered by trying every option or grid point."""
    salt, grid, out = stored["salt"], stored["grid"], []
    for s in stored["questions"]:
        qid, p = s["id"], {k: s[k] for k in ("id", "kind", "points", "prompt")}
        if s["kind"] == "choice":
            p["options"] = s["options"]
            p["answer"] = next(k for k in s["options"] if digest(salt, qid, k) == s["answer_sha256"])
            p["feedback"] = {k: decode_text(v) for k, v in s["feedback"].items()}
        else:
            lo, hi = s["range"]
            scale = round(1 / grid)
            prefix = hashlib.sha256(f"{salt}:{qid}:".encode())  # == digest(salt, qid, j), faster
            values = {}
            for j in range(math.floor(lo / grid), math.ceil(hi / grid) + 1):
                h = prefix.copy()
                h.update(str(j).encode())
                values[h.hexdigest()] = j / scale
            p.update(tolerance=s["tolerance"], range=s["range"], answer=values[s["answer_sha256"]],
                     explanation=decode_text(s["explanation"]),
                     mistakes=[{"value": values[m["answer_sha256"]], "feedback": decode_text(m["feedback"])}
                               for m in s.get("mistakes", [])])
        out.append(p)
    return {"salt": salt, "grid": grid, "questions": out}


def _write(data: dict, path: Path) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """``python -m dropout_kit.quiz_authoring export|build``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m dropout_kit.quiz_authoring", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export", help="write the quiz in plain text (answers included: do not commit)")
    e.add_argument("plain", type=Path)
    e.add_argument("--source", type=Path, default=QUESTIONS_FILE, help="stored quiz to read")
    b = sub.add_parser("build", help="hash and compress a plain quiz into the stored file")
    b.add_argument("plain", type=Path)
    b.add_argument("--out", type=Path, default=QUESTIONS_FILE, help="stored quiz to write")
    b.add_argument("--new-salt", action="store_true", help="draw a fresh salt instead of the plain file's")
    args = parser.parse_args(argv)
    if args.command == "export":
        _write(decode(json.loads(args.source.read_text(encoding="utf-8"))), args.plain)
        print(f"wrote {args.plain} (plain answers: keep it out of git)")
        return 0
    plain = json.loads(args.plain.read_text(encoding="utf-8"))
    if args.new_salt:
        plain["salt"] = None
    try:
        stored = encode(plain)
    except KeyError as exc:
        parser.exit(2, f"error: a question lacks the field {exc}\n")
    except ValueError as exc:
        parser.exit(2, f"error: {exc}\n")
    _write(stored, args.out)
    print(f"wrote {len(stored['questions'])} questions to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
