"""Tests of the sandbox's policy as data: the bwrap command line, its binds and its environment.

Nothing here starts a process; the kernel tests check that the sandbox behaves as this argv says.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dropout_kit.course import config as course_config
from dropout_kit.errors import SandboxError
from dropout_kit.sandbox import policy
from dropout_kit.sandbox.policy import GiB, MiB, Limits, Policy


def _argv(tmp_path, the_policy=Policy(), **kwargs):
    workdir, ipc = tmp_path / "work", tmp_path / "private" / "ipc"
    workdir.mkdir(exist_ok=True)
    (workdir / "lesson.ipynb").write_text("{}")
    return policy.bwrap_argv("/usr/bin/bwrap", ["python", "-m", "ipykernel_launcher"], workdir=workdir,
                             ipc_dir=ipc, identity=tmp_path / "private" / "etc", policy=the_policy, **kwargs)


def _mounts(argv):
    """(option, source, destination) for every bind of the argv, in order."""
    found = []
    for i, arg in enumerate(argv[:argv.index("--")]):
        if arg in {"--ro-bind", "--bind", "--symlink"}:
            found.append((arg, argv[i + 1], argv[i + 2]))
        elif arg in {"--tmpfs", "--dev", "--proc", "--dir", "--remount-ro", "--chdir"}:
            found.append((arg, None, argv[i + 1]))
    return found


def _env(argv):
    return {argv[i + 1]: argv[i + 2] for i, arg in enumerate(argv) if arg == "--setenv"}


def test_argv_unshares_every_namespace_and_drops_privileges(tmp_path):
    """Does the command line ask for new user, PID, network, IPC and UTS namespaces, a new session,
    death with the parent, no capabilities, an empty environment and no nested user namespaces?"""
    argv = _argv(tmp_path)
    options = argv[:argv.index("--")]
    for flag in ("--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                 "--new-session", "--die-with-parent", "--clearenv", "--disable-userns"):
        assert flag in options, flag
    assert options[options.index("--cap-drop") + 1] == "ALL"
    assert options[options.index("--uid") + 1] == "1000"
    assert argv[argv.index("--") + 1:] == ["python", "-m", "ipykernel_launcher"]


def test_argv_without_disable_userns_where_bwrap_cannot(tmp_path):
    """Is --disable-userns left out when the probe found that bwrap cannot use it?"""
    assert "--disable-userns" not in _argv(tmp_path, disable_userns=False)


def test_only_workdir_and_sockets_are_writable(tmp_path):
    """Is the socket folder the only read-write bind, and the learner's folder a size-limited tmpfs inside
    that holds its notebook read-only (nothing written there reaches the host's disk)?"""
    argv = _argv(tmp_path, Policy(limits=Limits(work_bytes=8 * MiB)))
    writable = [(src, dest) for option, src, dest in _mounts(argv) if option == "--bind"]
    assert writable == [(str(tmp_path / "private" / "ipc"),) * 2]
    work = str(tmp_path / "work")
    at = argv.index(work)
    assert argv[at - 3:at + 1] == ["--size", str(8 * MiB), "--tmpfs", work]
    assert argv[at + 1:at + 4] == ["--ro-bind", f"{work}/lesson.ipynb", f"{work}/lesson.ipynb"]
    assert argv[argv.index("--chdir") + 1] == work


def test_read_only_binds_are_python_the_venv_and_the_package_only(tmp_path):
    """Are Python, the venv and the dropout_kit folder bound read-only, and not the repository?"""
    argv = _argv(tmp_path)
    read_only = {dest for option, _, dest in _mounts(argv) if option == "--ro-bind"}
    package = policy.package_dir()
    assert str(package) in read_only or any(Path(p) in package.parents for p in read_only)
    for prefix in (sys.base_prefix, sys.prefix):
        assert any(Path(p) == Path(prefix) or Path(p) in Path(prefix).parents for p in read_only)
    repository = package.parent
    assert str(repository) not in read_only
    assert not any((repository / "solutions").is_relative_to(p) for p in read_only if p != "/")
    assert not any(Path(p) in (Path("/"), Path("/root"), Path("/tmp"), Path("/work")) for p in read_only)


def test_extra_read_only_paths_are_bound_and_nested_ones_dropped(tmp_path):
    """Is a caller's dataset folder bound read-only, and a path inside the venv not bound twice?"""
    data = tmp_path / "datasets"
    data.mkdir()
    inside_venv = Path(sys.prefix) / "lib"
    paths = policy.read_only_paths(Policy(read_only=(data, inside_venv)))
    assert data in paths
    assert inside_venv not in paths


def test_hidden_files_and_folders_are_masked_after_the_binds_they_cover(tmp_path):
    """Is a hidden file covered by an empty file and a hidden folder by an empty read-only tmpfs, after
    the read-only binds and before a read-only path named inside a hidden folder?"""
    secret_file, secret_dir = tmp_path / "key.json", tmp_path / "answers"
    secret_file.write_text("{}")
    (secret_dir / "public").mkdir(parents=True)
    the_policy = Policy(read_only=(tmp_path, secret_dir / "public"), hidden=(secret_file, secret_dir))
    mounts = _mounts(_argv(tmp_path, the_policy))
    tree = mounts.index(("--ro-bind", str(tmp_path), str(tmp_path)))
    file_mask = mounts.index(("--ro-bind", str(tmp_path / "private" / "etc" / "empty"), str(secret_file)))
    dir_mask = mounts.index(("--tmpfs", None, str(secret_dir)))
    public = mounts.index(("--ro-bind", str(secret_dir / "public"), str(secret_dir / "public")))
    assert tree < file_mask < public and tree < dir_mask < public
    assert ("--remount-ro", None, str(secret_dir)) in mounts[public:]


def test_installed_datasets_are_hidden_unless_bound(tmp_path, monkeypatch):
    """Is Debian's dataset folder hidden by default, and a dataset in it visible once named read-only?"""
    datasets = tmp_path / "usr-share-datasets"
    (datasets / "fashion-mnist").mkdir(parents=True)
    monkeypatch.setattr(policy, "HIDDEN_ALWAYS", (str(datasets),))
    assert ("--tmpfs", None, str(datasets)) in _mounts(_argv(tmp_path))
    mounts = _mounts(_argv(tmp_path, Policy(read_only=(datasets / "fashion-mnist",))))
    bound = ("--ro-bind", str(datasets / "fashion-mnist"), str(datasets / "fashion-mnist"))
    assert mounts.index(("--tmpfs", None, str(datasets))) < mounts.index(bound)


def test_missing_read_only_path_is_a_clear_error(tmp_path):
    """Does a read-only path that does not exist raise SandboxError naming it?"""
    with pytest.raises(SandboxError, match=r"do not exist: .*nowhere"):
        _argv(tmp_path, Policy(read_only=(tmp_path / "nowhere",)))


def test_tmp_and_shm_are_size_limited_and_mounted_before_binds_under_tmp(tmp_path):
    """Are /tmp and /dev/shm private tmpfs of tmp_bytes, mounted before the binds that land in /tmp,
    and the sandbox's root and /dev made read-only after every mount?"""
    argv = _argv(tmp_path, Policy(limits=Limits(tmp_bytes=5 * MiB)))
    sizes = {argv[i + 1]: argv[i - 1] for i, arg in enumerate(argv) if arg == "--tmpfs" and argv[i - 2] == "--size"}
    assert sizes == {"/dev/shm": str(5 * MiB), "/tmp": str(5 * MiB), str(tmp_path / "work"): str(256 * MiB)}
    mounts = _mounts(argv)
    tmpfs_at = mounts.index(("--tmpfs", None, "/tmp"))
    bind_at = mounts.index(("--tmpfs", None, str(tmp_path / "work")))
    remounts = [i for i, m in enumerate(mounts) if m[0] == "--remount-ro"]
    assert tmpfs_at < bind_at < remounts[0] and remounts == list(range(len(mounts) - len(remounts), len(mounts)))
    assert {mounts[i][2] for i in remounts} >= {"/", "/dev"}


def test_environment_is_small_and_explicit(tmp_path, monkeypatch):
    """Is the sandbox's environment exactly the listed variables, with the thread settings passed
    through, no secret and no MPLBACKEND, and PYTHONPATH the package's parent?"""
    for name in ("DROPOUT_COURSE_DB_URL", "PGPASSWORD", "DATABASE_URL", "MPLBACKEND", "SOME_HOST_VAR"):
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    env = _env(_argv(tmp_path, Policy(env={"DROPOUT_KIT_CACHE": "/data/cache"})))
    assert env == {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp/home",
        "USER": "learner", "LOGNAME": "learner", "LANG": "C.UTF-8", "TMPDIR": "/tmp",
        "PYTHONPATH": str(policy.package_dir().parent), "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1", "DROPOUT_KIT_CACHE": "/data/cache",
    }


def test_plain_kernel_environment_drops_secrets(monkeypatch):
    """Does isolate=False keep the grader's environment but drop its secrets and MPLBACKEND?"""
    monkeypatch.setenv("PGPASSWORD", "hunter2")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    env = policy.host_env(Policy(isolate=False))
    assert "PGPASSWORD" not in env and "MPLBACKEND" not in env
    assert env["PYTHONPATH"] == f"{policy.package_dir().parent}:/elsewhere"
    assert env["HOME"] == __import__("os").environ["HOME"]


def test_secret_names_include_the_gradebook_url():
    """Is the course's gradebook URL variable among the secrets (the two lists must not drift)?"""
    assert course_config.DB_URL_ENV in policy.SECRET_ENV


def test_policy_refuses_secrets_relative_paths_and_non_strings():
    """Does Policy refuse a secret in env, a relative read-only path and a non-string value?"""
    with pytest.raises(ValueError, match="must not hand secrets to learner code: PGPASSWORD"):
        Policy(env={"PGPASSWORD": "x"})
    with pytest.raises(ValueError, match="Policy.read_only needs absolute paths, got data"):
        Policy(read_only=("data",))
    with pytest.raises(ValueError, match="Policy.hidden needs absolute paths, got key.json"):
        Policy(hidden=("key.json",))
    with pytest.raises(ValueError, match="maps names to strings; not so for 'N'"):
        Policy(env={"N": 1})


def test_policy_normalises_paths_and_freezes_env():
    """Are read-only paths stored as a tuple of Paths and env as a read-only mapping?"""
    the_policy = Policy(read_only=["/usr/share"], env={"A": "b"})
    assert the_policy.read_only == (Path("/usr/share"),)
    with pytest.raises(TypeError):
        the_policy.env["A"] = "c"


@pytest.mark.parametrize("field", ["memory_bytes", "address_space_bytes", "processes", "file_bytes",
                                   "tmp_bytes", "open_files"])
@pytest.mark.parametrize("value", [0, -1, 1.5, True])
def test_limits_must_be_positive_whole_numbers(field, value):
    """Is every limit refused unless it is a positive int?"""
    with pytest.raises(ValueError, match=f"Limits.{field} must be a positive whole number"):
        Limits(**{field: value})


def test_default_limits_and_rlimits():
    """Are the defaults the documented ones, and the rlimits the per-process subset with no cores?"""
    limits = Limits()
    assert (limits.memory_bytes, limits.address_space_bytes, limits.processes) == (4 * GiB, 16 * GiB, 256)
    assert limits.rlimits() == {"AS": 16 * GiB, "FSIZE": 64 * MiB, "NOFILE": 1024, "CORE": 0}


def test_identity_files_name_one_user(tmp_path):
    """Do the sandbox's passwd and group files know the learner (uid 1000) and nobody else real?"""
    folder = policy.write_identity(tmp_path / "etc")
    assert (folder / "passwd").read_text().splitlines()[0] == "learner:x:1000:1000:learner:/tmp/home:/bin/sh"
    assert (folder / "group").read_text().splitlines()[0] == "learner:x:1000:"
    assert (folder / "empty").read_text() == ""
