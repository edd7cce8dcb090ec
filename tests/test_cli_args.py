"""How the command line is read: `--detect` and its optional PATH, in any order, and the
combinations that are refused with one line instead of being silently ignored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from factories import make_tree
from fastapi_patterns import cli, commands

SHIM = Path(__file__).resolve().parents[1] / "scripts" / "create_fastapi_app.py"
FLASK_PROJECT = {
    "Procfile": "web: gunicorn app:app\n",
    "app.py": "from flask import Flask\n\napp = Flask(__name__)\n",
    "requirements.txt": "flask\n",
}


@pytest.fixture
def projects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`here` (the working directory, a FastAPI project) beside `svc` (a Flask project)."""
    make_tree(tmp_path / "here", {"main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n"})
    make_tree(tmp_path / "svc", FLASK_PROJECT)
    monkeypatch.chdir(tmp_path / "here")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "args",
    [
        ["--detect", "--json", "../svc"],
        ["--detect", "../svc", "--json"],
        ["--detect=../svc", "--json"],
        ["--json", "../svc", "--detect"],
    ],
    ids=["flag-json-path", "flag-path-json", "equals", "path-first"],
)
def test_detect_reads_the_given_path_in_any_order(
    projects: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, out, err = run(capsys, *args)
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert report["root"] == str(projects / "svc")
    assert report["existing_fastapi"] is False
    assert "Procfile runs app:app, a Flask app; not a FastAPI app." in report["warnings"]


def test_detect_without_a_path_reads_the_working_directory(
    projects: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--detect", "--json")
    assert code == 0
    assert json.loads(out)["root"] == str(projects / "here")
    assert json.loads(out)["fastapi_app"] == "main:app"
    code, out, _ = run(capsys, "--detect")
    assert code == 0 and "existing FastAPI app: main:app" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--detect", "../svc", "orders-api"], "an app name cannot be given with --detect"),
        (["orders-api", "--detect=../svc"], "an app name cannot be given with --detect"),
        (["--detect", "--db", "postgresql"], "--db cannot be used with --detect"),
        (["--detect", "--server", "granian"], "--server cannot be used with --detect"),
        (["--detect", "../svc", "--dir", "out"], "--dir cannot be used with --detect"),
        (["--detect", "--no-redis", "--force"], "--no-redis, --force cannot be used"),
        (["--detect", "../missing"], "../missing does not exist"),
        (["--detect", "../svc/app.py"], "../svc/app.py is not a folder"),
        (["orders-api", "--detect"], "orders-api does not exist; with --detect it names the"),
        (["--detect", "../new\nline"], "'../new\\nline' does not exist"),
        (["--detect="], "'' does not exist"),
    ],
    ids=[
        "name-after-path",
        "name-before-equals",
        "db",
        "server",
        "dir",
        "several",
        "missing",
        "file",
        "name-read-as-path",
        "newline",
        "empty",
    ],
)
def test_refused_combinations_are_one_line_and_exit_2(
    projects: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert err.startswith("create-fastapi-app: error: ") and err.count("\n") == 1, err
    assert message in err
    code, out, _ = run(capsys, *args, "--json")
    assert code == 2 and message in json.loads(out)["error"]
    assert sorted(p.name for p in projects.iterdir()) == ["here", "svc"]


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
@pytest.mark.parametrize("command", ["create-fastapi-app", "fastapi-patterns new"])
def test_the_server_flag_is_read_and_reported(
    projects: Path, capsys: pytest.CaptureFixture[str], server: str, command: str
) -> None:
    args = ["svc", "--dir", "../new", "--server", server, "--dry-run", "--json"]
    if command == "fastapi-patterns new":
        code = commands.main(["new", *args])
        out, err = capsys.readouterr()
    else:
        code, out, err = run(capsys, *args)
    assert (code, err) == (0, "")
    assert json.loads(out)["options"]["server"] == {"value": server, "source": "flag"}


def test_an_unknown_server_is_one_line_and_exit_2(
    projects: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["svc", "--dir", "../new", "--server", "hypercorn"])
    assert exited.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1
    assert errors[0].startswith(
        "create-fastapi-app: error: argument --server: invalid choice: 'hypercorn'"
    )
    assert "uvicorn" in errors[0] and "granian" in errors[0]
    assert sorted(p.name for p in projects.iterdir()) == ["here", "svc"]


def test_abbreviated_flags_are_not_guessed(
    projects: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--det", "../svc"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --det" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [["--detect", "--json", "../svc"], ["--detect=../svc", "--json"]],
    ids=["flag-json-path", "equals"],
)
def test_the_shim_reads_the_same_path_with_the_standard_library_only(
    projects: Path, args: list[str]
) -> None:
    # -S: no site-packages, so neither jinja2 nor ruamel.yaml nor pyyaml can be imported.
    result = subprocess.run(
        [sys.executable, "-S", str(SHIM), *args],
        cwd=projects / "here",
        env={"PATH": os.environ["PATH"], "HOME": str(projects)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    report = json.loads(result.stdout)
    assert report["root"] == str(projects / "svc") and report["existing_fastapi"] is False


def test_the_shim_refuses_a_name_with_detect_before_asking_for_packages(
    projects: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-S", str(SHIM), "--detect", "../svc", "orders-api"],
        cwd=projects / "here",
        env={"PATH": os.environ["PATH"], "HOME": str(projects)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "an app name cannot be given with --detect" in result.stderr
    assert "pip install" not in result.stderr
