"""`fastapi-patterns` as users run it: the installed console script, in real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from audit_fixtures import ON_EVENT_AND_SLEEP, write_files

COMMAND = Path(sys.executable).parent / "fastapi-patterns"
CREATE = Path(sys.executable).parent / "create-fastapi-app"
SARIF_SCHEMA = json.loads((Path(__file__).parent / "data/sarif-schema-2.1.0.json").read_text())
CLEAN = "from fastapi import FastAPI\napp = FastAPI()\n@app.get('/')\ndef root():\n    return {}\n"


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COMMAND), *map(str, args)],
        cwd=cwd, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def assert_one_line_error(done: subprocess.CompletedProcess[str], text: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("fastapi-patterns: error: ") and text in lines[-1], lines


def test_version_and_help(tmp_path: Path) -> None:
    version = run("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("fastapi-patterns ")
    helped = run("--help", cwd=tmp_path)
    assert helped.returncode == 0
    assert all(command in helped.stdout for command in ("new", "detect", "audit"))
    missing = run(cwd=tmp_path)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_audit_clean_project_exits_0(tmp_path: Path) -> None:
    write_files(tmp_path, {"app/main.py": CLEAN})
    done = run("audit", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == "All checks passed (1 file audited).\n"
    assert done.stderr == ""


def test_audit_findings_exit_1_with_paths_relative_to_the_current_folder(tmp_path: Path) -> None:
    write_files(tmp_path, {"svc/app/main.py": ON_EVENT_AND_SLEEP, "svc/app/ok.py": CLEAN})
    done = run("audit", "--select", "FPA301,ASYNC", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[:3] == [
        "svc/app/main.py:4:2: FPA301 `app.on_event(...)` registers a deprecated hook",
        "svc/app/main.py:6:5: ASYNC251 Async functions should not call `time.sleep`",
        "Found 2 findings in 1 file.",
    ]
    inside = run("audit", "app", "--select", "FPA301", cwd=tmp_path / "svc")
    assert inside.stdout.startswith("app/main.py:4:2: FPA301 ")
    # a path outside the current folder: relative to the project around it
    (tmp_path / "svc/pyproject.toml").write_text("")
    (tmp_path / "elsewhere").mkdir()
    outside = run(
        "audit", tmp_path / "svc/app/main.py", "--select", "FPA301", cwd=tmp_path / "elsewhere"
    )
    assert outside.stdout.startswith("app/main.py:4:2: FPA301 "), outside.stdout


def test_audit_json_and_its_alias(tmp_path: Path) -> None:
    write_files(tmp_path, {"main.py": ON_EVENT_AND_SLEEP})
    done = run("audit", "--format", "json", cwd=tmp_path)
    alias = run("audit", "--json", cwd=tmp_path)
    assert done.returncode == alias.returncode == 1
    document = json.loads(done.stdout)
    assert {"FPA301", "ASYNC251"} <= {f["code"] for f in document["findings"]}
    assert {s["code"]: s["count"] for s in document["summary"]}["FPA301"] == 1
    assert document["ruff"]["ran"] is True
    again = json.loads(alias.stdout)
    for varying in ("seconds", "ruff_seconds"):
        del document[varying], again[varying]
    assert document == again


def test_audit_without_python_files_says_so(tmp_path: Path) -> None:
    write_files(tmp_path, {"README.md": "# hello\n", ".venv/lib/x.py": "x = 1\n"})
    done = run("audit", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stderr == "fastapi-patterns: warning: no Python files found to audit\n"


def test_audit_no_ruff(tmp_path: Path) -> None:
    write_files(tmp_path, {"main.py": ON_EVENT_AND_SLEEP})
    document = json.loads(run("audit", "--json", "--no-ruff", cwd=tmp_path).stdout)
    assert all(f["source"] == "fastapi-patterns" for f in document["findings"])
    assert document["ruff"]["ran"] is False and document["warnings"] == []


def test_audit_sarif_validates(tmp_path: Path) -> None:
    write_files(tmp_path, {"main.py": ON_EVENT_AND_SLEEP, "bad.py": "def f(:\n"})
    done = run("audit", "--format", "sarif", cwd=tmp_path)
    assert done.returncode == 1
    document = json.loads(done.stdout)
    jsonschema.validate(document, SARIF_SCHEMA)
    results = [r["ruleId"] for run_ in document["runs"] for r in run_["results"]]
    assert {"FPA301", "ASYNC251"} <= set(results)


def test_audit_github_annotations(tmp_path: Path) -> None:
    write_files(tmp_path, {"main.py": ON_EVENT_AND_SLEEP})
    done = run("audit", "--format", "github", "--select", "FPA301", cwd=tmp_path)
    assert done.returncode == 1
    [line] = done.stdout.splitlines()
    assert line.startswith("::warning file=main.py,line=4,col=2,") and ",title=FPA301::" in line


def test_unparsable_file_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    write_files(
        tmp_path, {"main.py": CLEAN, "broken.py": "def f(:\n", "deep.py": "x = " + "(" * 300}
    )
    (tmp_path / "latin1.py").write_bytes(b"x = '\xe9'\n")
    done = run("audit", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    warnings = sorted(done.stderr.splitlines())
    assert len(warnings) == 3
    assert all(w.startswith("fastapi-patterns: warning: ") for w in warnings)
    assert "broken.py:1: does not parse" in warnings[0]
    assert "deep.py" in warnings[1] and "latin1.py" in warnings[2]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["audit", "missing"], "missing does not exist"),
        (["audit", "--select", "E501"], "'E501' is not a rule code"),
        (["audit", "--json", "--format", "sarif"], "two different outputs"),
        (["detect", "missing"], "missing does not exist"),
        (["new", "svc", "--detect"], "fastapi-patterns detect"),
        (["new"], "give the app name"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    assert_one_line_error(run(*args, cwd=tmp_path), message)


def test_usage_errors_under_json_also_print_json(tmp_path: Path) -> None:
    done = run("audit", "missing", "--json", cwd=tmp_path)
    assert_one_line_error(done, "missing does not exist")
    assert json.loads(done.stdout) == {"error": "missing does not exist"}


def test_bad_pyproject_is_a_usage_error(tmp_path: Path) -> None:
    write_files(tmp_path, {"main.py": CLEAN, "pyproject.toml": "[tool.fastapi-patterns]\nx = 1\n"})
    assert_one_line_error(run("audit", cwd=tmp_path), "unknown keys: x")


def test_detect_is_create_fastapi_apps_detect(tmp_path: Path) -> None:
    write_files(tmp_path, {"requirements.txt": "fastapi\n", "main.py": CLEAN})
    ours = run("detect", ".", "--json", cwd=tmp_path)
    theirs = subprocess.run(
        [str(CREATE), "--detect", ".", "--json"],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert ours.returncode == theirs.returncode == 0
    assert json.loads(ours.stdout) == json.loads(theirs.stdout)
    assert (
        run("detect", cwd=tmp_path).stdout
        == subprocess.run(
            [str(CREATE), "--detect"], cwd=tmp_path, capture_output=True, text=True, check=False
        ).stdout
    )


def test_new_is_create_fastapi_app(tmp_path: Path) -> None:
    args = ["orders-api", "--db", "sqlite", "--dry-run", "--json", "--no-env"]
    ours = run("new", *args, cwd=tmp_path)
    theirs = subprocess.run(
        [str(CREATE), *args], cwd=tmp_path, capture_output=True, text=True, check=False, timeout=120
    )
    assert ours.returncode == theirs.returncode == 0, ours.stderr
    assert json.loads(ours.stdout) == json.loads(theirs.stdout)
    assert not (tmp_path / "orders-api").exists()
    written = run("new", "orders-api", "--no-env", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert (tmp_path / "orders-api/pyproject.toml").is_file()
    refused = run("new", "orders-api", "--db", "postgresql", cwd=tmp_path)
    assert_one_line_error(refused, "--force")
