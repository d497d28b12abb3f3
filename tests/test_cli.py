import argparse
import subprocess
import sys

import pytest

from dropout_kit import cli
from dropout_kit import data as data_module
from tests.conftest import make_fashion_folder


def run_cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "dropout_kit", *args], capture_output=True, text=True,
                          timeout=300, **kwargs)


@pytest.mark.parametrize("args, message", [
    (["experiment", "--p", "1.5"], "p must be in [0, 1)"),
    (["experiment", "--p", "abc"], "p must be a number"),
    (["experiment", "--epochs", "0"], "expected a positive whole number"),
    (["experiment", "--seeds", "-3"], "expected a whole number >= 0"),
    (["experiment", "--subset", "ten"], "expected a positive whole number"),
    (["no-such-command"], "invalid choice"),
    ([], "required"),
])
def test_bad_arguments_exit_2_with_a_message(args, message, capsys):
    """Does a bad argument give a clear message on stderr and exit status 2?"""
    with pytest.raises(SystemExit) as info:
        cli.main(args)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_data_command_says_where(isolated, capsys):
    """Does `dropout-kit data --root DIR` say where the data was found, exit 0?"""
    folder = make_fashion_folder(isolated / "d")
    assert cli.main(["data", "--root", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"FashionMNIST found in {folder} (explicit root, gzip files)" in out
    assert "300 training images, 60 test images" in out


def test_data_command_missing_is_exit_2(isolated, capsys):
    """With no data anywhere, does `dropout-kit data` exit 2 naming the remedies?"""
    assert cli.main(["data", "--root", str(isolated / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "FashionMNIST not found" in err and "apt-get install dataset-fashion-mnist" in err


def test_experiment_runs_end_to_end_on_tiny_data(isolated, capsys):
    """Does `dropout-kit experiment` train both models and write the table and the plot?"""
    folder = make_fashion_folder(isolated / "d", n_train=10_100, n_test=50)
    out = isolated / "out"
    status = cli.main(["experiment", "--root", str(folder), "--epochs", "1", "--subset", "100",
                       "--seeds", "0", "1", "--out", str(out)])
    assert status == 0
    printed = capsys.readouterr().out
    assert "| no dropout | 98% |" in printed and "| dropout p=0.3 | 90% |" in printed
    assert (out / "curves.png").stat().st_size > 10_000
    rows = (out / "results.csv").read_text().splitlines()
    assert rows[0].startswith("regime,label,n,p,") and len(rows) == 3
    assert all(row.startswith("custom,") for row in rows[1:])  # --epochs/--subset: one regime of your own


@pytest.mark.parametrize("device, message", [
    ("gpu", "device='gpu' is not a device torch knows; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"),
    ("cuda", "device='cuda' was asked for, but torch.cuda.is_available() is False on this machine"),
    ("mps", "device='mps' was asked for, but torch.backends.mps.is_available() is False on this machine"),
])
def test_experiment_refuses_a_device_it_cannot_use(isolated, monkeypatch, capsys, device, message):
    """Does `experiment --device` with a non-device or a missing GPU exit 2 with the message, before any work?"""
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    monkeypatch.setattr("torch.backends.mps.is_available", lambda: False)
    out = isolated / "out"
    assert cli.main(["experiment", "--device", device, "--root", str(isolated / "nowhere"), "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_experiment_names_its_device_in_the_table_and_csv(isolated, capsys):
    """Does `experiment --device cpu` say where it trained: in its first line, results.md and a results.csv column?"""
    from dropout_kit.device import describe_device

    folder = make_fashion_folder(isolated / "d", n_train=10_100, n_test=50)
    out = isolated / "out"
    status = cli.main(["experiment", "--root", str(folder), "--epochs", "1", "--subset", "100",
                       "--seeds", "0", "--out", str(out), "--device", "cpu"])
    assert status == 0
    name = describe_device("cpu")
    assert f"; device {name}" in capsys.readouterr().out
    assert f"Trained on {name}." in (out / "results.md").read_text()
    header, *rows = (out / "results.csv").read_text().splitlines()
    assert header.split(",")[-1] == "device" and all(r.endswith(f",{name}") for r in rows) and len(rows) == 2


def test_python_dash_m_and_console_script_agree():
    """Do `python -m dropout_kit --help` and the `dropout-kit` script both work?"""
    module = run_cli("--help")
    assert module.returncode == 0 and "experiment" in module.stdout
    script = subprocess.run(["dropout-kit", "--help"], capture_output=True, text=True, timeout=120)
    assert script.returncode == 0 and script.stdout == module.stdout.replace("__main__.py", "dropout-kit")


def test_default_lookup_is_used_without_root(monkeypatch, isolated, capsys):
    """Without --root, does `dropout-kit data` follow the lookup order (here DROPOUT_KIT_DATA)?"""
    env = make_fashion_folder(isolated / "env")
    monkeypatch.setenv(data_module.ENV_VAR, str(env))
    assert cli.main(["data"]) == 0
    assert f"found in {env} (${data_module.ENV_VAR}" in capsys.readouterr().out


def test_version(capsys):
    """Does `dropout-kit --version` print the package's version and exit 0?"""
    from dropout_kit import __version__

    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"dropout-kit {__version__}\n"


def test_every_command_and_argument_has_help():
    """Does every subcommand have a summary and a description, and every argument a help text?"""
    parser = cli.build_parser()
    [subparsers] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    summaries = {choice.dest: choice.help for choice in subparsers._choices_actions}
    assert set(summaries) == set(subparsers.choices) and len(summaries) >= 7
    missing = [name for name, text in summaries.items() if not text]
    for name, sub in subparsers.choices.items():
        if not sub.description:
            missing.append(f"{name}: description")
        missing += [f"{name} {a.dest}" for a in sub._actions if not a.help]
    missing += [a.dest for a in parser._actions if not a.help]
    assert missing == []
