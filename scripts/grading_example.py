"""The grading example in autograder/README.md: lesson 03_quiz handed in by learners with planted faults.

Builds a submissions folder from the course's own solution and release of 03_quiz (a good learner,
a blank one, and one learner per fault: a hang, ending Python, a corrupt file, deleted or edited
test cells, a replaced checker, a forged verdict), runs the real command
``dropout-kit grade SUBMISSIONS --lessons 03_quiz --out OUT`` in a child process, and prints what it
printed, its exit code and grades.csv. The README's example is a copy of this output.

    .venv/bin/python scripts/grading_example.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LESSON = "03_quiz"


def _cells(nb: dict) -> list[dict]:
    for cell in nb["cells"]:
        if isinstance(cell["source"], list):
            cell["source"] = "".join(cell["source"])
    return nb["cells"]


def _meta(cell: dict) -> dict:
    return cell["metadata"].get("nbgrader", {})


def _prefix_first_answer(nb: dict, code: str) -> dict:
    nb = copy.deepcopy(nb)
    answer = next(c for c in _cells(nb) if _meta(c).get("solution"))
    answer["source"] = code + "\n" + answer["source"]
    return nb


def _tests(nb: dict, *, source: str | None = None, keep: bool = True) -> dict:
    nb = copy.deepcopy(nb)
    nb["cells"] = [c for c in _cells(nb) if keep or not _meta(c).get("grade")]
    for cell in nb["cells"]:
        if source is not None and _meta(cell).get("grade"):
            cell["source"] = source
    return nb


def submissions(solution: dict, release: dict) -> dict[str, dict | str]:
    """The learners of the example and what each hands in."""
    text = json.dumps(solution, indent=1)
    return {
        "good": solution,
        "blank": release,
        "infinite_loop": _prefix_first_answer(solution, "while True:\n    pass"),
        "exits_python": _prefix_first_answer(solution, "import os\nos._exit(1)"),
        "corrupt_json": text[: len(text) // 2],
        "deleted_tests_solved": _tests(solution, keep=False),
        "edited_tests": _tests(release, source="print('all checks passed')"),
        "replaces_checker": _prefix_first_answer(
            release, "from dropout_kit import quiz\n"
                     "quiz.check = lambda *args, **kwargs: type('Forged', (), {'passed': True})()"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build and grade in this folder (kept) instead of a temporary one")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from dropout_kit.course import release

    with tempfile.TemporaryDirectory() as scratch:
        work = args.keep or Path(scratch)
        [released] = release([LESSON], course_root=REPO, into=work / "release", force=True)
        solution = json.loads((REPO / "solutions" / LESSON / f"{LESSON}.ipynb").read_text())
        blank = json.loads(Path(released).read_text())
        for learner, nb in submissions(solution, blank).items():
            (work / "submissions" / learner).mkdir(parents=True, exist_ok=True)
            text = nb if isinstance(nb, str) else json.dumps(nb, indent=1)
            (work / "submissions" / learner / f"{LESSON}.ipynb").write_text(text)
        command = [str(Path(sys.executable).parent / "dropout-kit"), "grade", str(work / "submissions"),
                   "--lessons", LESSON, "--out", str(work / "grading")]
        run = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
        print(f"$ dropout-kit grade submissions --lessons {LESSON} --out grading")
        print(run.stdout.replace(str(work) + "/", "").rstrip())
        print(f"(exit code {run.returncode})\n")
        print((work / "grading" / "grades.csv").read_text().replace(str(work), "...").rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
