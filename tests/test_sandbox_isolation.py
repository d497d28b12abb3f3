"""Does a learner's code in the sandboxed kernel see, reach and change only what the policy allows?

One sandboxed kernel serves the whole module (these cells change nothing that another reads);
each test runs real code in it and asserts the exception or the output. The kernel is started
while the grader's environment holds secrets, beside a grading workspace with other files.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import tempfile
from pathlib import Path

import pytest

from dropout_kit import quiz, sandbox
from dropout_kit.sandbox import policy
from dropout_kit.sandbox.cells import run_cell

pytestmark = pytest.mark.sandbox
SECRETS = {"DROPOUT_COURSE_DB_URL": "postgresql://grader:pw@db/course", "PGPASSWORD": "pw",
           "DATABASE_URL": "postgresql://db", "DROPOUT_TEST_HOST_ONLY": "host"}


@pytest.fixture(scope="module")
def world(tmp_path_factory, bwrap_sandbox):
    """The grading workspace (gradebook, another learner, the learner's folder), a host /tmp file,
    and a kernel started in the sandbox with secrets in the grader's environment."""
    root = tmp_path_factory.mktemp("course")
    (root / "gradebook.db").write_text("grades")
    other = root / "submitted" / "learner2" / "lesson"
    other.mkdir(parents=True)
    (other / "lesson.ipynb").write_text("{}")
    workdir = root / "autograded" / "learner1" / "lesson"
    workdir.mkdir(parents=True)
    (workdir / "lesson.ipynb").write_text('{"cells": []}')
    host_tmp = Path(tempfile.mkdtemp(prefix="dropout-host-only-"))
    with pytest.MonkeyPatch.context() as patch:
        for name, value in SECRETS.items():
            patch.setenv(name, value)
        kernel = sandbox.start_kernel(workdir, sandbox.Policy(hidden=(quiz.KEY_FILE,)))
    yield {"root": root, "workdir": workdir, "other": other, "host_tmp": host_tmp, "kernel": kernel,
           "support": bwrap_sandbox}
    kernel.stop()
    host_tmp.rmdir()


def run(world, code: str) -> sandbox.CellResult:
    return run_cell(world["kernel"], code, timeout=30)


def test_no_connection_to_a_server_on_host_loopback(world):
    """Is a TCP server listening on the host's 127.0.0.1 unreachable (own network namespace)?"""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        result = run(world, f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=5)")
    assert (result.ename, result.evalue) == ("ConnectionRefusedError", "[Errno 111] Connection refused")


@pytest.mark.parametrize("name", ["localhost", "example.com", "pypi.org"])
def test_no_name_resolves(world, name):
    """Does resolving any host name fail (no resolver, no hosts file, no network)?"""
    result = run(world, f"import socket\nsocket.gethostbyname({name!r})")
    assert result.ename == "gaierror"


@pytest.mark.parametrize("where", ["sys.prefix", "sys.base_prefix", "os.path.dirname(dropout_kit.__file__)",
                                   "'/'", "'/etc'", "'/usr/lib'", "'/dev'"])
def test_file_system_is_read_only_outside_workdir_and_tmp(world, where):
    """Does creating a file in the venv, Python, the package, / , /etc, /usr or /dev fail with EROFS?"""
    result = run(world, f"import os, sys, dropout_kit\nopen(os.path.join({where}, 'planted.py'), 'w')")
    assert result.ename == "OSError"
    assert result.evalue.startswith(f"[Errno {errno.EROFS}] Read-only file system")


def test_repository_and_solutions_are_invisible(world):
    """Does the package's parent hold only the package (and the venv, where it lives in the repository)?"""
    package = policy.package_dir()
    # A venv inside the repository (.venv, as `make setup` makes it) is bound read-only at its own path.
    allowed = {"dropout_kit"} | {p.name for p in map(Path, (sys.prefix,)) if p.parent == package.parent}
    result = run(world, f"import os\nprint(sorted(os.listdir({str(package.parent)!r})), "
                        f"os.path.exists({str(package.parent / 'solutions')!r}))")
    assert result.stdout.split("\n")[0] == f"{sorted(allowed)} False"
    assert len(os.listdir(package.parent)) > 1  # on the host the parent holds more than the package


def test_grading_workspace_is_invisible(world):
    """Are the gradebook and another learner's notebook beside the workdir absent inside?"""
    paths = [world["root"] / "gradebook.db", world["other"] / "lesson.ipynb", world["root"] / "submitted"]
    result = run(world, f"import os\nprint([os.path.exists(p) for p in {[str(p) for p in paths]!r}], "
                        f"sorted(os.listdir({str(world['root'])!r})))")
    assert result.stdout.strip() == "[False, False, False] ['autograded']"


def test_root_home_and_host_tmp_are_invisible(world):
    """Does /root show only the way to the Python install, and /tmp none of the host's files?"""
    result = run(world, f"import os\nprint(sorted(os.listdir('/root')), os.path.exists({str(world['host_tmp'])!r}), "
                        "'home' in os.listdir('/tmp'))")
    expected_root = sorted({Path(p).relative_to("/root").parts[0] for p in (sys.base_prefix, sys.prefix)
                            if Path(p).is_relative_to("/root")})
    assert result.stdout.strip() == f"{expected_root} False True"


def test_hidden_file_reads_as_empty(world):
    """Does the quiz key, hidden by the policy, read as empty inside while the package's other files
    read as on the host?"""
    key, questions = quiz.KEY_FILE, quiz.KEY_FILE.with_name("quiz_questions.json")
    assert key.stat().st_size > 0
    result = run(world, f"print(len(open({str(key)!r}).read()), len(open({str(questions)!r}, 'rb').read()))")
    assert result.stdout.split() == ["0", str(questions.stat().st_size)]


def test_installed_datasets_are_hidden(world):
    """Is Debian's dataset folder (FashionMNIST with its test labels) empty inside?"""
    result = run(world, "import os\nprint(os.listdir('/usr/share/datasets') if os.path.isdir('/usr/share/datasets') else [])")
    assert result.stdout.strip() == "[]"


def test_a_dataset_named_read_only_is_visible(bwrap_sandbox, workdir):
    """Does a kernel whose policy binds a dataset folder read-only see its files (and cannot write there)?"""
    dataset = Path("/usr/share/datasets/fashion-mnist")
    if not dataset.is_dir():
        dataset = Path(policy.package_dir())  # any folder of files will do
    with sandbox.start_kernel(workdir, sandbox.Policy(read_only=(dataset,))) as kernel:
        result = run_cell(kernel, f"import os\nprint(sorted(os.listdir({str(dataset)!r})))\n"
                                  f"open(os.path.join({str(dataset)!r}, 'x'), 'w')")
    assert result.stdout.strip() == str(sorted(os.listdir(dataset)))
    assert result.evalue.startswith(f"[Errno {errno.EROFS}]")


def test_workdir_is_writable_and_holds_the_notebook(world):
    """Is the cwd the workdir, holding the notebook read-only, and does a file written there stay inside?"""
    result = run(world, "import os\nopen('answer.txt', 'w').write('42')\nprint(os.getcwd(), sorted(os.listdir()), "
                        "open('answer.txt').read())")
    assert result.stdout.strip() == f"{world['workdir']} ['answer.txt', 'lesson.ipynb'] 42"
    assert not (world["workdir"] / "answer.txt").exists()  # the host's disk never sees it
    result = run(world, "open('lesson.ipynb', 'w')")
    assert result.evalue.startswith(f"[Errno {errno.EROFS}]")


def test_tmp_and_home_are_private_and_writable(world):
    """Can the kernel write in /tmp and HOME, without the file appearing in the host's /tmp?"""
    result = run(world, "import os\nopen('/tmp/scratch-dropout-sandbox', 'w').write('x')\n"
                        "open(os.path.expanduser('~/cache-file'), 'w').write('y')\nprint(os.environ['HOME'])")
    assert result.stdout.strip() == "/tmp/home"
    assert not Path(tempfile.gettempdir(), "scratch-dropout-sandbox").exists()


def test_pid_namespace_hides_and_protects_host_processes(world):
    """Does the kernel see only the sandbox's processes, and is signalling the grader impossible?"""
    result = run(world, f"import os\nprint(os.getpid(), os.getppid(), "
                        "sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))\n"
                        f"os.kill({os.getpid()}, 9)")
    assert result.stdout.strip() == "2 1 [1, 2]"
    assert (result.ename, result.evalue) == ("ProcessLookupError", "[Errno 3] No such process")


def test_environment_holds_no_secret_and_nothing_of_the_host(world):
    """Are the grader's secrets and its other variables absent, and HOME, USER, PYTHONPATH the sandbox's?"""
    result = run(world, "import os, json\nprint(json.dumps(dict(os.environ)))")
    env = json.loads(result.stdout)
    assert not set(SECRETS) & set(env)
    assert not any(value in env.values() for value in SECRETS.values())
    assert (env["HOME"], env["USER"], env["PYTHONPATH"]) == ("/tmp/home", "learner", str(policy.package_dir().parent))


def test_kernel_imports_the_graders_dropout_kit(world):
    """Does the kernel import exactly the grader's dropout_kit package?"""
    result = run(world, "import dropout_kit\nprint(dropout_kit.__file__)")
    assert result.stdout.strip() == str(policy.package_dir() / "__init__.py")


def test_no_capabilities_no_new_privileges_not_root(world):
    """Is the kernel uid 1000 (learner) with no capabilities and no_new_privs set?"""
    result = run(world, "import os, getpass\nstatus = dict(l.split(':', 1) for l in open('/proc/self/status'))\n"
                        "print(os.getuid(), getpass.getuser(), status['CapEff'].strip(), status['CapBnd'].strip(), "
                        "status['NoNewPrivs'].strip())")
    assert result.stdout.split() == ["1000", "learner", "0000000000000000", "0000000000000000", "1"]


def test_no_nested_user_namespace(world):
    """Where bwrap can forbid them, does creating a user namespace inside fail (no way to regain root)?"""
    if not world["support"].disable_userns:
        pytest.fail("this machine's bwrap cannot forbid nested user namespaces (--disable-userns)")
    result = run(world, "import subprocess\nprint(subprocess.run(['unshare', '--user', 'true']).returncode)")
    assert result.stdout.strip() != "0"
