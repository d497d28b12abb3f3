"""The ``dropout-kit`` command: a thin layer over the Python API.

Each subcommand parses its arguments and calls one function; defaults live in
that function's signature, not here. Errors that a user can fix are printed as
one clear line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dropout_kit import __version__
from dropout_kit.optional import require


class UsageError(Exception):
    """A problem with the command line or its inputs that the user can fix."""


def _whole_number(low: int, expected: str):
    """An argparse type accepting whole numbers >= ``low``; ``expected`` words the error."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value
    return parse


_positive_int = _whole_number(1, "a positive whole number")
_non_negative_int = _whole_number(0, "a whole number >= 0")


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"p must be a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(
            f"p must be in [0, 1) for training (p=1 drops every unit), got {value}"
        )
    return value


def _cmd_data(args: argparse.Namespace) -> int:
    from dropout_kit import data

    print(data.describe(root=args.root, download=args.download))
    return 0


def _cmd_experiment(args: argparse.Namespace) -> int:
    from dropout_kit import experiment

    kwargs = {k: v for k, v in vars(args).items() if k not in {"func", "command"} and v is not None}
    experiment.run_experiment(**kwargs)
    return 0


def _cmd_release(args: argparse.Namespace) -> int:
    require("nbgrader", "instructor", "releasing notebooks")
    from dropout_kit import course

    written = course.release(**_given(args, "lessons"), force=args.force)
    print(f"released {len(written)} notebook(s) into notebooks/")
    return 0


def _cmd_grade(args: argparse.Namespace) -> int:
    require("nbgrader", "instructor", "grading")
    from dropout_kit import course

    report = course.grade(args.submissions, sandbox=not args.no_sandbox,
                          **_given(args, "out", "lessons", "timeout", "db_url", "jobs"))
    print(report)
    return 0 if report.ok else 1


def _cmd_check(args: argparse.Namespace) -> int:
    require("nbclient", "course", "checking a notebook")
    from dropout_kit import course

    result = course.check_notebook(args.notebook, **_given(args, "timeout"))
    print(result)
    return 0 if result.passed else 1


def _cmd_start(args: argparse.Namespace) -> int:
    from dropout_kit import lab, workspace

    if not args.no_lab:
        require("jupyterlab", "course", "opening the lessons in JupyterLab")
    report = workspace.start(**_given(args, "workspace", "replace"), update=args.update)
    print(report, flush=True)
    if args.no_lab:
        return 0
    return lab.open_lab(report.workspace, _lab_args(args))


def _cmd_formgrader(args: argparse.Namespace) -> int:
    from dropout_kit import lab

    return lab.open_formgrader(lab_args=_lab_args(args))


def _cmd_kernel(args: argparse.Namespace) -> int:
    from dropout_kit import lab

    folder = lab.register_kernel(**_given(args, "name", "display_name"))
    print(f"registered this Python as the Jupyter kernel {folder.name!r} in {folder}; "
          "choose it in JupyterLab's kernel menu to run the lessons")
    return 0


def _lab_args(args: argparse.Namespace) -> list[str]:
    """JupyterLab's own arguments, given after ``--``."""
    return args.lab_args[1:] if args.lab_args[:1] == ["--"] else args.lab_args


def _given(args: argparse.Namespace, *names: str) -> dict:
    """Keyword arguments for the options the user actually gave."""
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``dropout-kit``."""
    parser = argparse.ArgumentParser(
        prog="dropout-kit",
        description="Tools of the dropout-course: the learner's workspace and JupyterLab, the FashionMNIST "
                    "experiment, the data, checking a notebook, and (for instructors) release and grading.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}",
                        help="print the version of dropout-kit and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", help="what to do (each has its own --help)")
    sub.required = True

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=summary, description=description)

    p = command("start", "copy the lessons into your workspace and open JupyterLab there",
                "Copy the course's lessons (notebooks/) into your own workspace the first time, then open "
                "JupyterLab there. Work in the workspace: a file that exists there is never overwritten. "
                "JupyterLab runs with nbgrader's instructor tools turned off.")
    p.add_argument("--workspace", type=Path, help="your folder for the lessons (default: workspace/ in the course)")
    p.add_argument("--update", action="store_true",
                   help="also copy lessons that are in the course but not in your workspace")
    p.add_argument("--replace", nargs="+", metavar="LESSON",
                   help="replace these lessons with the course's current version; yours is kept as "
                        "<lesson>.backup-<time>.ipynb")
    p.add_argument("--no-lab", dest="no_lab", action="store_true", help="only copy; do not open JupyterLab")
    p.add_argument("lab_args", nargs=argparse.REMAINDER,
                   help="after --, arguments for JupyterLab, e.g. -- --no-browser --port 8890")
    p.set_defaults(func=_cmd_start)

    p = command("kernel", "register this Python as the course's Jupyter kernel",
                "For a JupyterLab installed elsewhere: register this Python, where dropout-kit is "
                "installed, as a Jupyter kernel for your user, then choose it in JupyterLab to run the lessons.")
    p.add_argument("--name", help="the kernel's name (default: dropout-course)")
    p.add_argument("--display-name", dest="display_name",
                   help="the name JupyterLab shows (default: Python (dropout-course))")
    p.set_defaults(func=_cmd_kernel)

    p = command("experiment", "run the FashionMNIST overfitting experiment (the main job)",
                "Train the tutorial's MLP with and without dropout over several seeds, in the tutorial's "
                "setup (50,000 images, 10 epochs) and in an overfitting regime (3,000 images, 50 epochs); "
                "write a table (results.md, results.csv) and learning curves (curves.png).")
    p.add_argument("--regimes", nargs="+", choices=["tutorial", "overfitting"],
                   help="which regimes to run (default: both)")
    p.add_argument("--epochs", type=_positive_int,
                   help="a regime of your own: training epochs (with --subset; default 10)")
    p.add_argument("--p", type=_probability, help="dropout rate of the dropout model (default: 0.3)")
    p.add_argument("--subset", type=_positive_int,
                   help="a regime of your own: a class-balanced subset of this many images (default: all 50,000)")
    p.add_argument("--seeds", type=_non_negative_int, nargs="+", help="seeds to run (default: 0)")
    p.add_argument("--batch-size", dest="batch_size", type=_positive_int, help="batch size (default: 64)")
    p.add_argument("--out", type=Path, help="output folder for the table and plots (default: runs/experiment)")
    p.add_argument("--root", type=Path, help="folder holding FashionMNIST (default: searched)")
    p.add_argument("--device", metavar="{auto,cpu,cuda,cuda:N,mps}",
                   help="where to train (default: auto = CUDA, then Apple MPS, then the CPU)")
    p.set_defaults(func=_cmd_experiment)

    p = command("data", "say where FashionMNIST was found",
                "Find FashionMNIST (an explicit --root, $DROPOUT_KIT_DATA, data/, Debian's "
                "dataset-fashion-mnist, then a torchvision download if allowed) and say where it was found.")
    p.add_argument("--root", type=Path, help="an explicit folder to look in first")
    p.add_argument("--download", action="store_true", help="allow a torchvision download if not found")
    p.set_defaults(func=_cmd_data)

    p = command("check", "run a notebook's visible tests; non-zero exit if any fails",
                "Execute a lesson notebook and report which graded test cells fail, with the course's "
                "released test cells. Exit 0 when all pass, 1 when a test fails, 2 when the file is not a notebook.")
    p.add_argument("notebook", type=Path, help="the lesson notebook to check, e.g. a file in your workspace")
    p.add_argument("--timeout", type=_positive_int, help="seconds allowed per cell")
    p.set_defaults(func=_cmd_check)

    p = command("release", "instructors: regenerate notebooks/ from solutions/ with nbgrader",
                "Regenerate the learners' notebooks (notebooks/) from the source (solutions/): answers and "
                "hidden tests removed, test cells locked, no outputs. Refuses to overwrite a notebook that "
                "holds someone's work (it was run, has cells added or answers written) unless --force.")
    p.add_argument("lessons", nargs="*", default=None, help="lessons to release (default: all)")
    p.add_argument("--force", action="store_true", help="overwrite notebooks that hold work")
    p.set_defaults(func=_cmd_release)

    p = command("formgrader", "instructors: open JupyterLab on the course with nbgrader's formgrader",
                "Open JupyterLab in the course's folder with nbgrader's tools on: the Nbgrader menu's "
                "Formgrader lists the lessons, their submissions and grades (grading/gradebook.db).")
    p.add_argument("lab_args", nargs=argparse.REMAINDER,
                   help="after --, arguments for JupyterLab, e.g. -- --no-browser --port 8890")
    p.set_defaults(func=_cmd_formgrader)

    p = command("grade", "instructors: autograde learner notebooks into grades.csv and feedback",
                "Autograde every learner's graded lessons with nbgrader, each in a child process with "
                "time limits; write grades.csv and HTML feedback. Exit 1 if a learner's lesson failed to grade.")
    p.add_argument("submissions", type=Path,
                   help="SUBMISSIONS_DIR/<learner>/<lesson>.ipynb, or nbgrader's submitted/ layout")
    p.add_argument("--out", type=Path, help="where grades.csv and feedback/ go (default: ./grading)")
    p.add_argument("--lessons", nargs="+", help="only these lessons (default: all graded lessons)")
    p.add_argument("--timeout", type=_positive_int,
                   help="seconds allowed per cell (default: Execute.timeout in autograder/nbgrader_config.py)")
    p.add_argument("--db-url", dest="db_url",
                   help="gradebook URL, e.g. postgresql://... (default: $DROPOUT_COURSE_DB_URL, else SQLite in --out)")
    p.add_argument("--jobs", type=_positive_int,
                   help="learners' lessons graded at once, each in its own sandbox (default: 1)")
    p.add_argument("--no-sandbox", dest="no_sandbox", action="store_true",
                   help="run learners' kernels WITHOUT the bubblewrap sandbox (only for notebooks you trust); "
                        "grades.csv records it")
    p.set_defaults(func=_cmd_grade)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``dropout-kit`` with ``argv``; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from dropout_kit.errors import DropoutKitError

    try:
        return args.func(args)
    except (DropoutKitError, UsageError, ValueError, FileNotFoundError) as exc:
        print(f"dropout-kit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"dropout-kit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
