"""The CLI over a small template tree: options, errors, dry-run, JSON, conflicts."""

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from factories import make_detection, make_tree
from fastapi_patterns import cli, generate
from fastapi_patterns.detect import Detection

TEMPLATES = {
    "README.md.jinja": "# {{ title }}\n",
    "__package__/__init__.py": "",
    "__package__/main.py.jinja": "DB = '{{ db }}'\nREDIS = {{ redis }}\n",
    "__package__/db.py.jinja": "URL = '{{ database_url_default }}'\n",
    "dot-env.example.jinja": (
        "# Example header.\n\nDB={{ db }}\n{% if jwt %}\nSECRET_KEY=\n{% endif %}\n"
    ),
}


@pytest.fixture
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_tree(tmp_path / "templates", TEMPLATES)
    monkeypatch.setattr(generate, "project_templates", lambda: root)
    return root


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "work"
    directory.mkdir()
    monkeypatch.chdir(directory)
    return directory


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_generates_into_name_folder_with_manifest(
    templates: Path, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "orders-api", "--db", "postgresql")
    assert code == 0
    project = work / "orders-api"
    assert (project / "orders_api" / "main.py").read_text() == "DB = 'postgresql'\nREDIS = False\n"
    assert (project / "README.md").read_text() == "# Orders Api\n"
    assert "db: postgresql" in (project / ".create-fastapi-app.yml").read_text()
    assert "Next steps, in one shell" in out


def test_json_summary_reports_sources(
    templates: Path, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "svc", "--redis", "--json", "--dir", "out")
    assert code == 0
    summary = json.loads(out)
    assert summary["directory"] == str(work / "out")
    assert summary["options"]["redis"] == {"value": True, "source": "flag"}
    assert summary["options"]["db"] == {"value": "sqlite", "source": "default"}
    assert ".create-fastapi-app.yml" in summary["files"]
    assert sorted(summary["created"]) == summary["files"]
    assert summary["env_file"] == {"path": ".env", "status": "created"}
    assert any("pytest" in step for step in summary["next_steps"])


def test_dry_run_writes_nothing(
    templates: Path, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "svc", "--dry-run")
    assert code == 0
    assert out.startswith("Would write svc")
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("name", ["../evil", "a/b", "", "class", "ünï", "json"])
def test_bad_names_exit_2_with_one_line_and_write_nothing(
    templates: Path, work: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    code, out, err = run(capsys, name)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("create-fastapi-app: error: ")
    assert list(work.iterdir()) == []


def test_missing_name(templates: Path, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--json")
    assert code == 2
    assert "app name" in json.loads(out)["error"]
    assert "app name" in err


def test_conflicts_are_listed_and_force_overwrites(
    templates: Path, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = work / "svc"
    make_tree(project, {"README.md": "my notes\n"})
    code, _, err = run(capsys, "svc")
    assert code == 2
    assert "README.md" in err and "--force" in err
    assert sorted(p.name for p in project.iterdir()) == ["README.md"]
    assert run(capsys, "svc", "--force")[0] == 0
    assert (project / "README.md").read_text() == "# Svc\n"


def test_rerun_with_same_inputs_is_a_no_op(
    templates: Path, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "svc", "--json")[0] == 0
    code, out, _ = run(capsys, "svc", "--json")
    summary = json.loads(out)
    assert code == 0
    assert summary["created"] == [] and summary["overwritten"] == []
    assert sorted(summary["unchanged"]) == summary["files"]


def test_output_is_byte_identical_across_runs(
    templates: Path, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for folder in ("one", "two"):
        assert run(capsys, "svc", "--dir", folder, "--redis", "--db", "mysql")[0] == 0
    one = {p.relative_to(work / "one"): p.read_bytes() for p in (work / "one").rglob("*.*")}
    two = {p.relative_to(work / "two"): p.read_bytes() for p in (work / "two").rglob("*.*")}
    # All but the development .env, whose SECRET_KEY is fresh each time.
    assert one.pop(Path(".env")) != two.pop(Path(".env"))
    assert one == two and len(one) == 6


def test_existing_fastapi_app_is_refused_without_force(
    templates: Path, work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    found = make_detection(existing_fastapi=True, fastapi_app="shop.main:app")

    def fake_detect(path: Path) -> Detection:
        return found

    monkeypatch.setattr(generate, "detect_project", fake_detect)
    code, _, err = run(capsys, "svc", "--dir", ".")
    assert code == 2
    assert "shop.main:app" in err and "--force" in err
    assert list(work.iterdir()) == []
    assert run(capsys, "svc", "--dir", ".", "--force")[0] == 0
    assert (work / "svc" / "main.py").is_file()


def test_a_new_folder_beside_an_existing_app_is_allowed_with_a_warning(
    templates: Path, work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    found = make_detection(existing_fastapi=True, fastapi_app="shop.main:app")
    monkeypatch.setattr(generate, "detect_project", lambda path: found)
    code, out, _ = run(capsys, "svc", "--dir", "services/svc", "--json")
    assert code == 0
    warnings = json.loads(out)["warnings"]
    assert any("shop.main:app" in w and "separate service" in w for w in warnings)
    assert (work / "services" / "svc" / "svc" / "main.py").is_file()


def test_old_detected_python_is_a_clear_error(
    templates: Path, work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    found = make_detection(python_version="3.9", sources={"python_version": ".python-version"})
    monkeypatch.setattr(generate, "detect_project", lambda path: found)
    code, _, err = run(capsys, "svc")
    assert code == 2
    assert "3.9" in err and ".python-version" in err and "--python 3.11" in err
    assert run(capsys, "svc", "--python", "3.12")[0] == 0


def test_detect_json_prints_the_detection(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--detect", str(work), "--json")
    assert code == 0
    data = json.loads(out)
    assert {"python_version", "database", "redis", "layout", "fastapi_app"} <= set(data)


def test_shim_detects_without_jinja2(tmp_path: Path) -> None:
    # A bare interpreter without site-packages stands in for a machine with nothing installed.
    shim = Path(__file__).parents[1] / "scripts" / "create_fastapi_app.py"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    detected = subprocess.run(
        [sys.executable, "-S", str(shim), "--detect", str(tmp_path), "--json"],
        capture_output=True, text=True, env=env, check=False, timeout=60,
    )  # fmt: skip
    assert detected.returncode == 0, detected.stderr
    assert json.loads(detected.stdout)["database"] == "none"
    generated = subprocess.run(
        [sys.executable, "-S", str(shim), "svc", "--dir", str(tmp_path / "svc")],
        capture_output=True, text=True, env=env, check=False, timeout=60,
    )  # fmt: skip
    assert generated.returncode == 3
    assert "(jinja2, ruamel.yaml, libcst)" in generated.stderr and "pip install" in generated.stderr
    assert not (tmp_path / "svc").exists()


def test_shim_generates_without_pyyaml(tmp_path: Path) -> None:
    # Only the SKILL.md validator (fastapi_patterns.skill) reads YAML with PyYAML.
    shim = Path(__file__).parents[1] / "scripts" / "create_fastapi_app.py"
    without_pyyaml = (
        "import runpy, sys; sys.modules['yaml'] = None; sys.argv = sys.argv[1:];"
        " runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    generated = subprocess.run(
        [sys.executable, "-c", without_pyyaml, str(shim), "svc", "--dir", str(tmp_path / "svc")],
        capture_output=True, text=True, check=False, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    assert (tmp_path / "svc" / "svc" / "main.py").is_file()


def test_a_broken_template_is_one_line_and_exit_1(
    templates: Path, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (templates / "README.md.jinja").write_text("{{ no_such_variable }}\n")
    code, out, err = run(capsys, "svc")
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1 and "README.md.jinja" in err
    assert list(work.iterdir()) == []


# -- the development .env (issue 10) and the next steps (issue 19) ----------------------------

SECRET_LINE = re.compile(r"^SECRET_KEY=(.*)$", re.MULTILINE)


def secret_of(project: Path) -> str:
    match = SECRET_LINE.search((project / ".env").read_text())
    assert match, "no SECRET_KEY line"
    return match.group(1)


def test_env_file_is_private_random_and_never_shown(
    templates: Path, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "svc", "--json")
    assert code == 0
    project = work / "svc"
    env = project / ".env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    key = secret_of(project)
    assert len(key) >= 64 and re.fullmatch(r"[A-Za-z0-9_-]+", key)
    assert "DB=sqlite" in env.read_text() and "Example header" not in env.read_text()
    assert key not in out and key not in err
    manifest = (project / ".create-fastapi-app.yml").read_text()
    assert ".env:" not in manifest and ".env.example:" in manifest
    assert ".env" not in json.loads(out)["files"]
    # Text output does not show it either, and a second project gets another key.
    code, out, _ = run(capsys, "svc2")
    assert code == 0 and secret_of(work / "svc2") not in out
    assert secret_of(work / "svc2") != key


def test_existing_env_file_is_kept_even_with_force(
    templates: Path, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = work / "svc"
    make_tree(project, {".env": "SECRET_KEY=mine\n"})
    (project / ".env").chmod(0o640)
    code, out, _ = run(capsys, "svc", "--force", "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["env_file"] == {"path": ".env", "status": "kept"}
    assert ".env" not in summary["created"] + summary["overwritten"]
    assert any("kept" in note for note in summary["next_steps_notes"])
    assert (project / ".env").read_text() == "SECRET_KEY=mine\n"
    assert stat.S_IMODE((project / ".env").stat().st_mode) == 0o640
    code, out, _ = run(capsys, "svc")
    assert code == 0 and re.search(r"^  kept +\.env \(it exists", out, re.MULTILINE)


def test_no_env_flag_and_dry_run_write_no_env_file(
    templates: Path, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "svc", "--dry-run", "--json")
    assert code == 0 and json.loads(out)["env_file"]["status"] == "created"  # would be
    assert list(work.iterdir()) == []
    code, out, _ = run(capsys, "svc", "--no-env", "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["env_file"]["status"] == "skipped"
    assert any("--no-env" in note for note in summary["next_steps_notes"])
    assert (work / "svc" / "svc" / "main.py").is_file() and not (work / "svc" / ".env").exists()


def test_next_steps_are_shell_lines_and_text_prints_the_same(
    templates: Path, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "svc", "--dir", "with space", "--json")
    summary = json.loads(out)
    steps = summary["next_steps"]
    assert steps[0] == f"cd '{work / 'with space'}'"
    assert steps[-1].startswith("granian --interface asgi ")  # the default server
    assert steps[-1].endswith(" svc.main:app")
    for step in steps:
        syntax = subprocess.run(["bash", "-n", "-c", step], capture_output=True, check=False)
        assert syntax.returncode == 0, (step, syntax.stderr)
    assert not any("http" in step or "SECRET_KEY" in step for step in steps)
    assert any("/health/ready" in note for note in summary["next_steps_notes"])
    code, text, _ = run(capsys, "svc", "--dir", "with space")
    assert code == 0
    printed = text.split("Next steps, in one shell (the last one serves the app):\n", 1)[1]
    assert printed.splitlines()[: len(steps)] == [f"  {step}" for step in steps]


def test_granian_is_the_default_and_a_project_on_uvicorn_keeps_uvicorn(
    templates: Path, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "svc", "--dry-run", "--json")
    assert code == 0
    assert json.loads(out)["options"]["server"] == {"value": "granian", "source": "default"}
    # A repository whose service already runs on uvicorn: the new project follows it.
    (work / "pyproject.toml").write_text(
        '[project]\nname = "shop"\ndependencies = ["fastapi", "uvicorn[standard]>=0.30"]\n'
    )
    code, out, _ = run(capsys, "svc", "--dir", "services/svc", "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["options"]["server"] == {
        "value": "uvicorn",
        "source": "detected (pyproject.toml)",
    }
    assert summary["next_steps"][-1].startswith("uvicorn svc.main:app ")
    assert "server: uvicorn" in (work / "services/svc/.create-fastapi-app.yml").read_text()


def test_existing_app_is_refused_end_to_end(tmp_path: Path) -> None:
    # The real detector on a real project, through the installed command: no stand-ins.
    shop = tmp_path / "shop"
    files = {
        "pyproject.toml": '[project]\nname = "shop"\ndependencies = ["fastapi>=0.115"]\n',
        "shop/__init__.py": "",
        "shop/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
    }
    for name, text in files.items():
        (shop / name).parent.mkdir(parents=True, exist_ok=True)
        (shop / name).write_text(text)
    before = {p: p.read_bytes() for p in shop.rglob("*") if p.is_file()}
    command = Path(sys.executable).parent / "create-fastapi-app"
    refused = subprocess.run(
        [str(command), "svc", "--dir", "."],
        cwd=shop, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "shop.main:app" in refused.stderr and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert {p: p.read_bytes() for p in shop.rglob("*") if p.is_file()} == before
