"""`fastapi-patterns add` end to end on fixture projects (fastapi_patterns.add.engine and the
CLI): what it writes, that a second run is a no-op, that untouched code stays byte-identical,
and that every refusal leaves the tree exactly as it was."""

from __future__ import annotations

import difflib
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from add_fixtures import (
    BASE_HTTP_MIDDLEWARE,
    FACTORY,
    FLAT,
    SHAPES,
    Shape,
    git_commit_all,
    snapshot,
    write,
)
from fastapi_patterns.commands import main

PATTERN_ARGS = ["errors", "request-context"]
MODULES = ("problem_details.py", "request_context.py")


def add(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["add", *args])
    out, err = capsys.readouterr()
    return code, out, err


def project(tmp_path: Path, shape: Shape, *, commit: bool = True) -> Path:
    root = write(tmp_path / "project", shape.files)
    if commit:
        git_commit_all(root)
    return root


def ruff_codes(path: Path) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "E,F,W,I,B,UP",
         "--line-length", "100", "--output-format", "json", str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return sorted(finding["code"] for finding in json.loads(result.stdout))


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.id)
def test_add_patches_the_app_and_a_second_run_changes_nothing(
    shape: Shape, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, shape)
    before = snapshot(root)
    original = (root / shape.app_file).read_text()
    ruff_before = ruff_codes(root / shape.app_file)

    code, out, _ = add(capsys, *PATTERN_ARGS, str(root))
    assert code == 0, out
    created = {f"{shape.modules_dir}/{name}" for name in MODULES} | {".create-fastapi-app.yml"}
    after = snapshot(root)
    assert set(after) - set(before) == created
    changed = {rel for rel in before if before[rel] != after[rel]}
    assert changed == {shape.app_file}  # every other file byte-identical
    assert f"patched: {shape.app_file}" in out

    # The app's module: only added lines, each one an import or a wiring call.
    patched = (root / shape.app_file).read_text()
    diff = list(difflib.unified_diff(original.splitlines(), patched.splitlines(), lineterm=""))
    removed = [line for line in diff[2:] if line.startswith("-")]
    added = [line[1:].strip() for line in diff[2:] if line.startswith("+")]
    assert removed == []
    assert [line for line in added if line] == [
        line
        for line in added
        if line.startswith("from .")
        or line.endswith(("install_problem_details(app)", "install_problem_details(application)"))
        or "add_middleware(RequestContextMiddleware)" in line
    ]
    assert len([line for line in added if line]) == 4
    assert ruff_codes(root / shape.app_file) == ruff_before  # nothing new

    code, out, _ = add(capsys, *PATTERN_ARGS, str(root))
    assert code == 0
    assert "nothing to do" in out
    assert snapshot(root) == after


def test_request_context_is_added_after_the_apps_own_middleware(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, BASE_HTTP_MIDDLEWARE)
    code, out, _ = add(capsys, "all", str(root))
    assert code == 0
    text = (root / "app/main.py").read_text()
    assert text.index("add_middleware(TimingMiddleware)") < text.index(
        "add_middleware(RequestContextMiddleware)"
    )
    assert (
        "note: app/timing.py:8: TimingMiddleware is a BaseHTTPMiddleware; if it does request" in out
    )
    assert (root / "app/timing.py").read_text() == BASE_HTTP_MIDDLEWARE.files["app/timing.py"]


def test_dry_run_prints_the_diff_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, FLAT)
    before = snapshot(root)
    code, out, _ = add(capsys, "all", "--dry-run", str(root))
    assert code == 0
    assert snapshot(root) == before
    assert "--- a/app/main.py\n+++ b/app/main.py\n" in out
    assert "+install_problem_details(app)\n" in out
    assert "--- /dev/null\n+++ b/app/core/request_context.py\n" in out
    assert "would patch: app/main.py" in out


def test_json_lists_created_and_patched_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, FACTORY)
    code, out, _ = add(capsys, "errors", str(root), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["app"] == "app.main:app"
    assert report["created"] == ["app/problem_details.py", ".create-fastapi-app.yml"]
    assert report["patched"] == ["app/main.py"]
    assert "request_context" not in (root / "app/main.py").read_text()


def refused(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[str, str]:
    before = snapshot(root)
    code, out, err = add(capsys, *args)
    assert code == 1, (out, err)
    assert snapshot(root) == before
    return out, err


def test_uncommitted_changes_are_refused_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, FLAT)
    with (root / "app/main.py").open("a") as stream:
        stream.write("# work in progress\n")
    _, err = refused(root, capsys, "all", str(root))
    assert "app/main.py has uncommitted changes" in err
    code, _, _ = add(capsys, "all", str(root), "--force")
    assert code == 0
    assert (root / "app/main.py").read_text().endswith("# work in progress\n")


def test_several_apps_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = {
        "one/__init__.py": "",
        "one/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
        "two/__init__.py": "",
        "two/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
    }
    root = write(tmp_path, files)
    _, err = refused(root, capsys, "all", str(root))
    assert "--app module:attr" in err
    code, _, _ = add(capsys, "all", str(root), "--app", "one.main:app")
    assert code == 0
    assert "install_problem_details(app)" in (root / "one/main.py").read_text()
    assert "install_problem_details" not in (root / "two/main.py").read_text()


def test_unsupported_shape_prints_the_lines_to_add(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {
        "svc/__init__.py": "",
        "svc/main.py": "from fastapi import FastAPI\n\n\ndef create_app() -> FastAPI:\n"
        "    return FastAPI()\n\n\napp = create_app()\n",
    }
    root = write(tmp_path, files)
    out, err = refused(root, capsys, "all", str(root))
    assert "does not end with `return <the app>`" in err
    assert "  from .problem_details import install_problem_details\n" in out
    assert "  app.add_middleware(RequestContextMiddleware)" in out


def test_a_module_of_the_same_name_is_never_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write(tmp_path, {**FLAT.files, "app/core/problem_details.py": "MINE = 1\n"})
    _, err = refused(root, capsys, "errors", str(root), "--force")
    assert "app/core/problem_details.py exists" in err


def test_manifest_comments_and_keys_survive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = (
        "# Keep this comment.\ngenerator: create-fastapi-app\noptions:\n  db: sqlite  # chosen\n"
        "files:\n  app/main.py: abc\n"
    )
    root = write(tmp_path, {**FLAT.files, ".create-fastapi-app.yml": manifest})
    code, _, _ = add(capsys, "errors", str(root))
    assert code == 0
    text = (root / ".create-fastapi-app.yml").read_text()
    assert text.startswith(manifest.removesuffix("  app/main.py: abc\n"))
    assert "  app/main.py: abc\n  app/core/problem_details.py: " in text
    assert "added_patterns:\n- errors\n" in text
    before = snapshot(root)
    code, _, _ = add(capsys, "errors", str(root))
    assert code == 0 and snapshot(root) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "unknown pattern nope"),
        (["errors", "no-such-folder"], "no-such-folder does not exist"),
        (["errors", "nope", "."], "unknown pattern nope"),
    ],
)
def test_usage_errors(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    code, _, err = add(capsys, *args)
    assert code == 2
    assert message in err


def test_console_script_with_path_after_options(tmp_path: Path) -> None:
    root = project(tmp_path, FLAT)
    script = Path(sys.executable).parent / "fastapi-patterns"
    result = subprocess.run(
        [str(script), "add", "all", "--dry-run", "--json", str(root)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["dry_run"] is True


def test_sqlalchemy_dependency_selects_the_database_handlers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pyproject = FLAT.files["pyproject.toml"].replace('"uvicorn"', '"uvicorn", "sqlalchemy>=2"')
    root = write(tmp_path, {**FLAT.files, "pyproject.toml": pyproject})
    code, _, _ = add(capsys, "errors", str(root))
    assert code == 0
    assert "IntegrityError: _integrity_error" in (root / "app/core/problem_details.py").read_text()


def test_an_unedited_module_recorded_by_an_earlier_run_is_refreshed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write(tmp_path, FLAT.files)
    code, _, _ = add(capsys, "errors", str(root))
    assert code == 0
    module = root / "app/core/problem_details.py"
    current = module.read_bytes()
    # As an older version would have left it: different content, its hash recorded.
    older = b"# an older version\n"
    module.write_bytes(older)
    manifest = root / ".create-fastapi-app.yml"
    manifest.write_text(
        manifest.read_text().replace(
            hashlib.sha256(current).hexdigest(), hashlib.sha256(older).hexdigest()
        )
    )
    code, out, _ = add(capsys, "errors", str(root))
    assert code == 0
    assert "patched: app/core/problem_details.py" in out
    assert module.read_bytes() == current


def test_refusal_under_json_carries_the_manual_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {
        "svc/__init__.py": "",
        "svc/main.py": "from fastapi import FastAPI\n\nif True:\n    app = FastAPI()\n",
    }
    root = write(tmp_path, files)
    before = snapshot(root)
    code, out, _ = add(capsys, "errors", str(root), "--json")
    assert code == 1
    report = json.loads(out)
    assert "is not assigned at the top level" in report["error"]
    assert "  install_problem_details(app)" in report["manual"]
    assert snapshot(root) == before


def test_a_project_the_generator_wrote_has_every_pattern_already(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fastapi_patterns.cli import main as create

    root = tmp_path / "svc"
    assert create(["svc", "--dir", str(root), "--no-env", "--python", "3.11"]) == 0
    git_commit_all(root)
    capsys.readouterr()
    before = snapshot(root)
    assert main(["add", "all", str(root)]) == 0
    out = capsys.readouterr().out
    assert "create-fastapi-app generated this project" in out
    assert "nothing to do" in out
    assert snapshot(root) == before
