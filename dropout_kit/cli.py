"""The ``dropout-kit`` command: a thin layer over the Python API.

Each subcommand parses its arguments and calls one function; defaults live in
that function's signature, not here. Errors that a user can fix are printed as
one clear line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


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
    from dropout_kit import course

    written = course.release(**_given(args, "lessons"))
    print(f"released {len(written)} notebook(s) into notebooks/")
    return 0


def _cmd_grade(args: argparse.Namespace) -> int:
    from dropout_kit import course

    report = course.grade(args.submissions, sandbox=not args.no_sandbox,
                          **_given(args, "out", "lessons", "timeout", "db_url", "jobs"))
    print(report)
    return 0 if report.ok else 1


def _cmd_check(args: argparse.Namespace) -> int:
    from dropout_kit import course

    result = course.check_notebook(args.notebook, **_given(args, "timeout"))
    print(result)
    return 0 if result.passed else 1


def _given(args: argparse.Namespace, *names: str) -> dict:
    """Keyword arguments for the options the user actually gave."""
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``dropout-kit``."""
    parser = argparse.ArgumentParser(
        prog="dropout-kit",
        description="Tools of the dropout-course: the FashionMNIST experiment, data, and grading.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("experiment", help="run the FashionMNIST overfitting experiment (the main job)")
    p.add_argument("--epochs", type=_positive_int, help="training epochs (default: 10, the tutorial's)")
    p.add_argument("--p", type=_probability, help="dropout rate of the dropout model (default: 0.3)")
    p.add_argument("--subset", type=_positive_int,
                   help="train on a class-balanced subset of this many images (default: all 50,000)")
    p.add_argument("--seeds", type=_non_negative_int, nargs="+", help="seeds to run (default: 0)")
    p.add_argument("--batch-size", dest="batch_size", type=_positive_int, help="batch size (default: 64)")
    p.add_argument("--out", type=Path, help="output folder for the table and plots (default: runs/experiment)")
    p.add_argument("--root", type=Path, help="folder holding FashionMNIST (default: searched)")
    p.add_argument("--device", metavar="{auto,cpu,cuda,cuda:N,mps}",
                   help="where to train (default: auto = CUDA, then Apple MPS, then the CPU)")
    p.set_defaults(func=_cmd_experiment)

    p = sub.add_parser("data", help="say where FashionMNIST was found")
    p.add_argument("--root", type=Path, help="an explicit folder to look in first")
    p.add_argument("--download", action="store_true", help="allow a torchvision download if not found")
    p.set_defaults(func=_cmd_data)

    p = sub.add_parser("release", help="regenerate notebooks/ from solutions/ with nbgrader")
    p.add_argument("lessons", nargs="*", default=None, help="lessons to release (default: all)")
    p.set_defaults(func=_cmd_release)

    p = sub.add_parser("grade", help="autograde learner notebooks into grades.csv and feedback")
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

    p = sub.add_parser("check", help="run a notebook's visible tests; non-zero exit if any fails")
    p.add_argument("notebook", type=Path)
    p.add_argument("--timeout", type=_positive_int, help="seconds allowed per cell")
    p.set_defaults(func=_cmd_check)
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
