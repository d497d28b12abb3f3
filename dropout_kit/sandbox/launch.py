"""The sandbox's launcher: join the sandbox's cgroups, set its rlimits, then exec bwrap.

    python -I -S launch.py [--cgroup DIR]... [--rlimit NAME=VALUE]... -- bwrap ...

Everything of the sandbox, bwrap included, starts from this process after the exec, so the
limits hold for every process in it before any of the learner's code runs. The file imports
only the standard library and is run by path with ``-I -S`` (no site, no PYTHONPATH): it starts
in ~20 ms and never imports the package it is part of.
"""

from __future__ import annotations

import os
import resource
import signal
import sys

RLIMITS = {"AS": resource.RLIMIT_AS, "FSIZE": resource.RLIMIT_FSIZE,
           "NOFILE": resource.RLIMIT_NOFILE, "CORE": resource.RLIMIT_CORE}


def command(inner: list[str], *, rlimits: dict[str, int], cgroups: list[str]) -> list[str]:
    """The launcher's command line that runs ``inner`` under ``rlimits`` inside ``cgroups``."""
    argv = [sys.executable, "-I", "-S", os.path.abspath(__file__)]
    for folder in cgroups:
        argv += ["--cgroup", folder]
    for name, value in rlimits.items():
        argv += ["--rlimit", f"{name}={value}"]
    return [*argv, "--", *inner]


def parse(argv: list[str]) -> tuple[list[str], dict[str, int], list[str]]:
    """(cgroup folders, rlimits by name, command) from the launcher's arguments."""
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        raise ValueError("usage: launch.py [--cgroup DIR]... [--rlimit NAME=VALUE]... -- COMMAND...")
    split = argv.index("--")
    options, inner = argv[:split], argv[split + 1:]
    if len(options) % 2:
        raise ValueError(f"options come in pairs, got {options}")
    cgroups, rlimits = [], {}
    for flag, value in zip(options[::2], options[1::2]):
        if flag == "--cgroup":
            cgroups.append(value)
        elif flag == "--rlimit":
            name, _, number = value.partition("=")
            if name not in RLIMITS or not number.isdigit():
                raise ValueError(f"--rlimit takes NAME=BYTES with NAME in {sorted(RLIMITS)}, got {value!r}")
            rlimits[name] = int(number)
        else:
            raise ValueError(f"unknown option {flag!r}")
    return cgroups, rlimits, inner


def main(argv: list[str]) -> None:
    """Join, limit, exec; never returns."""
    cgroups, rlimits, inner = parse(argv)
    for folder in cgroups:
        with open(os.path.join(folder, "cgroup.procs"), "w") as procs:
            procs.write(str(os.getpid()))
    for name, value in rlimits.items():
        # soft = hard: a process inside may lower a limit, never raise it again.
        resource.setrlimit(RLIMITS[name], (value, value))
    # A write past RLIMIT_FSIZE then fails with EFBIG instead of killing the writer (Python
    # ignores SIGXFSZ anyway; this holds for every other program the learner starts).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    os.execv(inner[0], inner)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except Exception as exc:  # the kernel's log shows why the sandbox did not start
        print(f"dropout_kit sandbox launcher: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(127)
