"""The sandbox policy as data (``Limits``, ``Policy``) and the bubblewrap command line that enforces it.

Nothing here starts a process: ``bwrap_argv`` is a function of its arguments (and of where
Python and dropout_kit are installed), so the policy can be read and tested as a list of strings.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping, Sequence

from dropout_kit.errors import SandboxError

MiB = 1 << 20
GiB = 1 << 30
# Never handed to learner code. DROPOUT_COURSE_DB_URL is dropout_kit.course.config.DB_URL_ENV,
# spelled out because importing the course package costs a second (nbgrader); a test ties them.
SECRET_ENV = frozenset({"DROPOUT_COURSE_DB_URL", "PGPASSWORD", "PGPASSFILE", "DATABASE_URL"})
# Thread settings the grader chose for this machine; nothing else of its environment goes in.
PASSED_THROUGH = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Of /etc only what programs in /usr need: the loader's cache, alternatives' links, the time zone.
# Not /etc/hosts or resolv.conf (no names resolve), not /etc/ssl (it holds private keys).
ETC_PATHS = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
             "/etc/localtime")
# Data, not system: Debian installs datasets here (dataset-fashion-mnist, with its test labels).
# A kernel sees a dataset only where the caller binds one (Policy.read_only).
HIDDEN_ALWAYS = ("/usr/share/datasets",)
HOME = "/tmp/home"
USER = "learner"
# The sandbox's user: not root inside its user namespace, so it holds no capabilities there.
UID = 1000


@dataclass(frozen=True)
class Limits:
    """What one sandbox may use; the package docstring says what happens when each is reached."""

    memory_bytes: int = 4 * GiB          # whole sandbox: cgroup memory (RSS, page cache, tmpfs) or watchdog PSS
    address_space_bytes: int = 16 * GiB  # RLIMIT_AS per process; torch alone reserves ~3.4 GB
    processes: int = 256                 # processes + threads of the whole sandbox
    file_bytes: int = 64 * MiB           # RLIMIT_FSIZE: any one file written, the kernel's log included
    tmp_bytes: int = 256 * MiB           # size of the private tmpfs on /tmp, and of the one on /dev/shm
    work_bytes: int = 256 * MiB          # size of the tmpfs the kernel works in (its cwd, holding the notebook)
    open_files: int = 1024               # RLIMIT_NOFILE per process

    def __post_init__(self):
        for name, value in vars(self).items():
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive whole number, got {value!r}")

    def rlimits(self) -> dict[str, int]:
        """The per-process limits the launcher sets (soft = hard, so the learner cannot raise them)."""
        return {"AS": self.address_space_bytes, "FSIZE": self.file_bytes, "NOFILE": self.open_files,
                "CORE": 0}


@dataclass(frozen=True)
class Policy:
    """How a learner's kernel is started: in the sandbox (``isolate``) or as a plain local kernel.

    ``read_only``: extra host folders bound read-only at the same path (a dataset, a cache).
    ``hidden``: files or folders inside the visible trees that must look empty inside (e.g. a
    quiz key in the package); /usr/share/datasets always is, unless ``read_only`` names a part.
    ``env``: extra environment variables inside (never a secret of ``SECRET_ENV``).
    ``cgroups``: False skips cgroups even where writable, leaving processes and memory to the
    watchdog (tests use it; so can a host whose cgroups should not be touched).
    """

    isolate: bool = True
    read_only: tuple[Path, ...] = ()
    limits: Limits = Limits()
    env: Mapping[str, str] = field(default_factory=dict)
    cgroups: bool = True
    hidden: tuple[Path, ...] = ()

    def __post_init__(self):
        for name in ("read_only", "hidden"):
            paths = tuple(Path(p) for p in getattr(self, name))
            relative = [str(p) for p in paths if not p.is_absolute()]
            if relative:
                raise ValueError(f"Policy.{name} needs absolute paths, got {', '.join(relative)}")
            object.__setattr__(self, name, paths)
        env = dict(self.env)
        wrong = [repr(k) for k, v in env.items() if not (isinstance(k, str) and isinstance(v, str))]
        if wrong:
            raise ValueError(f"Policy.env maps names to strings; not so for {', '.join(wrong)}")
        secrets = sorted(SECRET_ENV & env.keys())
        if secrets:
            raise ValueError(f"Policy.env must not hand secrets to learner code: {', '.join(secrets)}")
        object.__setattr__(self, "env", MappingProxyType(env))


def package_dir() -> Path:
    """The dropout_kit package this process imported; the sandbox shows it, not its repository."""
    import dropout_kit

    return Path(dropout_kit.__file__).resolve().parent


def read_only_paths(policy: Policy) -> list[Path]:
    """Host folders bound read-only at the same path: Python, the venv, dropout_kit, the extras.

    A path inside a system folder or inside another listed path is left out (already visible).
    """
    missing = [str(p) for p in policy.read_only if not p.exists()]
    if missing:
        raise SandboxError(f"Policy.read_only names paths that do not exist: {', '.join(missing)}")
    wanted = [Path(sys.base_prefix), Path(sys.prefix), package_dir(), *policy.read_only]
    # The same folder under its resolved name too: symlinks (a venv's python) point there.
    wanted += [p.resolve() for p in wanted]
    hidden = hidden_paths(policy)
    kept: list[Path] = []
    for path in sorted(set(wanted), key=lambda p: (len(p.parts), str(p))):
        covering = [*map(Path, SYSTEM_PATHS), *kept]
        if not any(_within(path, c) for c in covering) or any(_within(path, h) for h in hidden):
            kept.append(path)
    return kept


def hidden_paths(policy: Policy) -> list[Path]:
    """The existing paths that look empty inside: /usr/share/datasets and ``policy.hidden``."""
    return [p for p in (*map(Path, HIDDEN_ALWAYS), *policy.hidden) if p.exists()]


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def sandbox_env(policy: Policy) -> dict[str, str]:
    """The kernel's whole environment inside the sandbox (bwrap starts from an empty one)."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": HOME, "USER": USER, "LOGNAME": USER, "LANG": "C.UTF-8", "TMPDIR": "/tmp",
        # The package's parent holds only the package in the sandbox: the kernel imports exactly
        # the grader's dropout_kit, whether it is installed editable or found through PYTHONPATH.
        "PYTHONPATH": str(package_dir().parent),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update({name: os.environ[name] for name in PASSED_THROUGH if name in os.environ})
    env.update(policy.env)
    return env


def host_env(policy: Policy) -> dict[str, str]:
    """The environment of a plain local kernel (``isolate=False``): the grader's, less its secrets."""
    # MPLBACKEND stays out so that ipykernel picks its inline backend, as in the sandbox.
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV and k != "MPLBACKEND"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(package_dir().parent), env.get("PYTHONPATH")]))
    env.update(policy.env)
    return env


def write_identity(folder: Path) -> Path:
    """Write the sandbox's /etc/passwd and /etc/group (one user, ``learner``), and an empty file, into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "passwd").write_text(f"{USER}:x:{UID}:{UID}:{USER}:{HOME}:/bin/sh\n"
                                   "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    (folder / "group").write_text(f"{USER}:x:{UID}:\nnogroup:x:65534:\n")
    (folder / "empty").write_text("")  # what a hidden file shows
    return folder


def namespace_args(*, disable_userns: bool = True) -> list[str]:
    """bwrap's options for the namespaces, the session, capabilities and the environment."""
    args = ["--unshare-user", "--uid", str(UID), "--gid", str(UID), "--unshare-pid", "--unshare-net",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox",
            # A new session: the learner cannot push keystrokes into the grader's terminal
            # (TIOCSTI, CVE-2017-5226). Die with the parent: a crashed grader leaves nothing behind.
            "--new-session", "--die-with-parent", "--cap-drop", "ALL", "--clearenv"]
    if disable_userns:
        args.append("--disable-userns")
    return args


def system_args() -> list[str]:
    """Read-only binds of the system folders and the few /etc files; symlinks stay symlinks."""
    args = []
    for path in (*SYSTEM_PATHS, *ETC_PATHS):
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args


def bwrap_argv(bwrap: str, command: Sequence[str], *, workdir: Path, ipc_dir: Path, identity: Path,
               policy: Policy, disable_userns: bool = True) -> list[str]:
    """The bwrap command line that runs ``command`` in the sandbox ``policy`` describes.

    ``workdir`` (the cwd) is a size-limited tmpfs inside, holding read-only binds of the files the
    host's ``workdir`` holds (the learner's notebook): what the learner writes there stays in the
    sandbox's memory, counted by its memory limit, and never reaches the host's disk. ``ipc_dir``
    (the kernel's sockets) is the only writable host folder; ``identity`` holds the files of
    ``write_identity``; each ``hidden`` path is covered by an empty file or an empty read-only tmpfs.
    """
    limits = policy.limits
    argv = [bwrap, *namespace_args(disable_userns=disable_userns)]
    for name, value in sandbox_env(policy).items():
        argv += ["--setenv", name, value]
    argv += system_args()
    argv += ["--ro-bind", str(identity / "passwd"), "/etc/passwd",
             "--ro-bind", str(identity / "group"), "/etc/group"]
    argv += ["--dev", "/dev", "--size", str(limits.tmp_bytes), "--tmpfs", "/dev/shm", "--proc", "/proc",
             "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp", "--dir", HOME]
    hidden = hidden_paths(policy)
    read_only = read_only_paths(policy)
    # Masks come after the binds they cover, and before a read-only path the caller named inside.
    inside = [p for p in read_only if any(_within(p, h) for h in hidden)]
    for path in [p for p in read_only if p not in inside]:
        argv += ["--ro-bind", str(path), str(path)]
    for path in hidden:
        argv += ["--tmpfs", str(path)] if path.is_dir() else ["--ro-bind", str(identity / "empty"), str(path)]
    for path in inside:
        argv += ["--ro-bind", str(path), str(path)]
    argv += ["--size", str(limits.work_bytes), "--tmpfs", str(workdir)]
    for entry in sorted(Path(workdir).iterdir()):
        argv += ["--ro-bind", str(entry), str(entry)]
    argv += ["--bind", str(ipc_dir), str(ipc_dir)]
    # The sandbox's own root, /dev and the masks are tmpfs bwrap made: nothing may be added to them.
    argv += ["--chdir", str(workdir)]
    for path in ["/", "/dev", *(str(p) for p in hidden if p.is_dir())]:
        argv += ["--remount-ro", path]
    return [*argv, "--", *command]
