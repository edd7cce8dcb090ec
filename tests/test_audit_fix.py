"""`fastapi-patterns audit --fix`: each fixable rule fixed on a small fixture project, the
diff under --dry-run, the finding gone when the audit runs again, a second run a no-op, and
the refusals (uncommitted files, hooks the fix would drop) leaving the tree as it was."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from add_fixtures import git_commit_all, ruff_findings, snapshot, write
from fastapi_patterns.add.fixes import FIXABLE
from fastapi_patterns.audit import audit
from fastapi_patterns.audit.registry import all_rules
from fastapi_patterns.commands import main

_PYPROJECT = '[project]\nname = "shop"\nversion = "0.1.0"\ndependencies = ["fastapi"]\n'

DEFAULT_CLASS = """\
from fastapi import FastAPI
from fastapi.responses import ORJSONResponse

app = FastAPI(
    title="Shop",
    default_response_class=ORJSONResponse,  # fast JSON, once
)


@app.get("/")
async def root() -> dict[str, str]:
    return {"name": "shop"}
"""

DEFAULT_CLASS_STILL_USED = """\
from fastapi import FastAPI
from fastapi.responses import ORJSONResponse

app = FastAPI(default_response_class=ORJSONResponse, title="Shop")


@app.get("/raw")
async def raw() -> ORJSONResponse:
    return ORJSONResponse({"raw": True})
"""

REDIS_CLOSE = """\
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as redis
from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.redis = redis.Redis()
    yield
    await app.state.redis.close()  # release the pool


app = FastAPI(lifespan=lifespan)
"""

ON_EVENT = """\
from fastapi import FastAPI

app = FastAPI()


@app.on_event("startup")
async def connect() -> None:
    app.state.ready = True


@app.on_event("shutdown")
def disconnect() -> None:
    app.state.ready = False
"""

CASES = {
    "FPA304": (
        DEFAULT_CLASS,
        ["-from fastapi.responses import ORJSONResponse",
         "-    default_response_class=ORJSONResponse,  # fast JSON, once"],
    ),
    "FPA311": (
        REDIS_CLOSE,
        ["-    await app.state.redis.close()  # release the pool",
         "+    await app.state.redis.aclose()  # release the pool"],
    ),
    "FPA301": (
        ON_EVENT,
        ['-@app.on_event("startup")', "+app = FastAPI(lifespan=lifespan)",
         "+        disconnect()"],
    ),
}  # fmt: skip


def project(tmp_path: Path, source: str, **extra: str) -> Path:
    root = tmp_path / "shop-project"
    write(root, {"pyproject.toml": _PYPROJECT, "shop/__init__.py": "", "shop/main.py": source})
    write(root, extra)
    git_commit_all(root)
    return root


def codes(root: Path) -> list[str]:
    return [f.code for f in audit(root, use_ruff=False).findings]


def fix(capsys: pytest.CaptureFixture[str], root: Path, *options: str) -> tuple[int, str, str]:
    code = main(["audit", str(root), "--no-ruff", "--fix", *options])
    out, err = capsys.readouterr()
    return code, out, err


def test_fixable_flags_are_exactly_what_fix_does() -> None:
    assert {rule.code for rule in all_rules() if rule.fixable} == FIXABLE


@pytest.mark.parametrize("code", list(CASES))
def test_fix_removes_the_finding_and_a_second_run_changes_nothing(
    code: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, diff_lines = CASES[code]
    root = project(tmp_path, source)
    assert code in codes(root)
    tree = snapshot(root)
    ruff_before = ruff_findings(root / "shop/main.py")

    status, out, _ = fix(capsys, root, "--dry-run")
    assert status == 1  # the findings are still there
    assert "--- a/shop/main.py" in out
    for line in diff_lines:
        assert line in out.splitlines()
    assert f"would fix: shop/main.py ({code})" in out
    assert snapshot(root) == tree

    status, out, _ = fix(capsys, root)
    assert f"fixed: shop/main.py ({code})" in out
    assert code not in codes(root) and status == 0
    assert ruff_findings(root / "shop/main.py") == ruff_before

    subprocess.run(["git", "commit", "-qam", "fixed"], cwd=root, check=True)
    fixed_tree = snapshot(root)
    status, out, _ = fix(capsys, root)
    assert status == 0 and "fixed 0 findings." in out
    assert snapshot(root) == fixed_tree


def test_an_import_still_used_elsewhere_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, DEFAULT_CLASS_STILL_USED)
    fix(capsys, root)
    patched = (root / "shop/main.py").read_text()
    assert 'app = FastAPI(title="Shop")\n' in patched
    assert "from fastapi.responses import ORJSONResponse\n" in patched
    assert "FPA304" not in codes(root)


def test_the_fixed_app_imports_and_runs_its_hooks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, ON_EVENT)
    fix(capsys, root)
    check = (
        "import asyncio\nfrom shop.main import app\n"
        "async def main():\n"
        "    async with app.router.lifespan_context(app):\n"
        "        print(app.state.ready)\n"
        "    print(app.state.ready)\n"
        "asyncio.run(main())\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", check],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False"]


def test_uncommitted_files_are_refused_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, DEFAULT_CLASS)
    main_py = root / "shop/main.py"
    main_py.write_text(main_py.read_text() + "\n# edited\n")
    tree = snapshot(root)
    status, _, err = fix(capsys, root)
    assert status == 1 and "uncommitted changes" in err and "Nothing was written" in err
    assert snapshot(root) == tree
    status, _, _ = fix(capsys, root, "--force")
    assert status == 0 and "FPA304" not in codes(root)


def test_hooks_left_elsewhere_keep_the_app_on_on_event(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    router = (
        "from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n"
        "@router.on_event('startup')\nasync def hello() -> None:\n    pass\n"
    )
    root = project(tmp_path, ON_EVENT, **{"shop/routes.py": router})
    tree = snapshot(root)
    status, out, _ = fix(capsys, root)
    assert "not fixed: shop/main.py: FPA301 not fixed: shop/routes.py keep on_event" in out
    assert snapshot(root) == tree
    assert status == 1 and codes(root).count("FPA301") == 3


def test_json_output_stays_json_and_the_summary_goes_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, REDIS_CLOSE)
    status, out, err = fix(capsys, root, "--format", "json")
    assert status == 0 and json.loads(out)["findings"] == []
    assert "fixed: shop/main.py (FPA311)" in err


def test_dry_run_and_force_need_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, DEFAULT_CLASS)
    assert main(["audit", str(root), "--dry-run"]) == 2
    assert "--dry-run goes with --fix" in capsys.readouterr().err
