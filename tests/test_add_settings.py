"""`fastapi-patterns add settings` (fastapi_patterns.add.settings): a pydantic-settings module
with one typed field per environment variable the app reads, the reads left as they are."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from add_fixtures import FLAT, git_commit_all, snapshot, write
from fastapi_patterns.add.patterns import ALL, PATTERNS, expand
from fastapi_patterns.commands import main
from test_add_patterns import RUFF_TOML

MODULE = "app/core/settings.py"
MANIFEST = ".create-fastapi-app.yml"

WITH_DEFAULTS = """\
import os
from os import getenv as env

from fastapi import FastAPI

DATABASE_URL = os.getenv("DATABASE_URL", "sqlite:///./shop.db")
PORT = int(os.environ.get("PORT", "8000"))
DEBUG = env("DEBUG", False)
TIMEOUT = float(os.getenv("TIMEOUT", default="2.5"))
GREETING = os.getenv("GREETING", 'say "hi"')
REPLICA_URL = os.getenv(
    "REPLICA_URL", "postgresql://reader:reader@replica-host-name.shop.example.com:5432/shop_orders_db"
)
DB_PASSWORD = os.getenv("DB_PASSWORD", "hunter2")

app = FastAPI()
"""

WITHOUT_DEFAULTS = """\
import os

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def root() -> dict[str, str | None]:
    return {"token": os.environ["API_TOKEN"][:2], "region": os.environ.get("REGION")}
"""

NON_LITERAL = """\
import os

from fastapi import FastAPI

DEFAULT_LIMIT = "10"
FLAG = "FEATURE_X"
ENABLED = os.getenv(FLAG)
LIMIT = int(os.getenv("RATE_LIMIT", DEFAULT_LIMIT))
LEVEL = os.environ[f"LOG_LEVEL_{FLAG}"]

app = FastAPI()
"""

EXISTING = """\
from pydantic_settings import BaseSettings


class AppSettings(BaseSettings):
    database_url: str = "sqlite:///./shop.db"
"""


# Every variable the fixtures read: unset in the processes that load the module, so the
# environment the suite runs in cannot fill a field.
READ_HERE = {
    "DATABASE_URL", "PORT", "DEBUG", "TIMEOUT", "GREETING", "REPLICA_URL", "DB_PASSWORD",
    "API_TOKEN", "REGION", "RATE_LIMIT", "LOG_LEVEL",
}  # fmt: skip


def environment(**values: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k.upper() not in READ_HERE}, **values}


def project(tmp_path: Path, main_py: str, **extra: str) -> Path:
    files = {**FLAT.files, "app/main.py": main_py, **extra}
    root = write(tmp_path / "project", files)
    git_commit_all(root)
    return root


def add(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["add", *args])
    out, err = capsys.readouterr()
    return code, out, err


def notes(out: str) -> list[str]:
    return [line.removeprefix("note: ") for line in out.splitlines() if line.startswith("note: ")]


def field_lines(root: Path) -> list[str]:
    text = (root / MODULE).read_text()
    body = text.split("    )\n\n", 1)[1].split("\n\n\n@lru_cache", 1)[0]
    return [line.strip() for line in body.splitlines()]


def load(root: Path, env: dict[str, str], expression: str) -> str:
    """`expression` evaluated on `get_settings()` of the added module, in a fresh process."""
    code = (
        "import json\n"
        "from app.core.settings import get_settings\n"
        "s = get_settings()\n"
        f"print(json.dumps({expression}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env=environment(**env),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# -- the module ------------------------------------------------------------------------------------


def test_one_typed_field_per_read_with_its_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, WITH_DEFAULTS)
    code, out, _ = add(capsys, "settings", str(root))
    assert code == 0, out
    assert field_lines(root) == [
        'database_url: str = "sqlite:///./shop.db"',
        'db_password: SecretStr = SecretStr("hunter2")',
        "debug: bool = False",
        "greeting: str = 'say \"hi\"'",
        "port: int = 8000",
        "replica_url: str = (",
        '"postgresql://reader:reader@replica-host-name.shop.example.com:5432/shop_orders_db"',
        ")",
        "timeout: float = 2.5",
    ]
    assert "def get_settings() -> Settings:" in (root / MODULE).read_text()
    assert "@lru_cache\n" in (root / MODULE).read_text()


def test_the_module_loads_the_environment_in_a_fresh_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, WITH_DEFAULTS)
    assert add(capsys, "settings", str(root))[0] == 0
    fields = "[s.port, s.debug, s.timeout, s.database_url, s.db_password.get_secret_value()]"
    set_ = {"PORT": "9001", "DEBUG": "true", "TIMEOUT": "0.5", "DB_PASSWORD": "s3cret"}
    assert json.loads(load(root, set_, fields)) == [
        9001,
        True,
        0.5,
        "sqlite:///./shop.db",
        "s3cret",
    ]
    assert json.loads(load(root, {}, fields)) == [
        8000,
        False,
        2.5,
        "sqlite:///./shop.db",
        "hunter2",
    ]
    # The cache: one Settings per process.
    assert load(root, {}, "get_settings() is s") == "true\n"


def test_reads_without_defaults_are_required_or_optional(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, WITHOUT_DEFAULTS)
    code, out, _ = add(capsys, "settings", str(root))
    assert code == 0, out
    # os.environ["X"] raises when unset: required; .get() gives None: optional.
    assert field_lines(root) == ["api_token: SecretStr", "region: str | None = None"]
    expression = "[s.api_token.get_secret_value(), s.region]"
    assert json.loads(load(root, {"API_TOKEN": "t0k", "REGION": "eu"}, expression)) == ["t0k", "eu"]
    assert json.loads(load(root, {"API_TOKEN": "t0k"}, expression)) == ["t0k", None]
    missing = subprocess.run(
        [sys.executable, "-c", "from app.core.settings import get_settings; get_settings()"],
        cwd=root,
        env=environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode != 0
    assert "api_token" in missing.stderr and "Field required" in missing.stderr


def test_names_it_cannot_read_are_listed_in_notes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, NON_LITERAL)
    code, out, _ = add(capsys, "settings", str(root))
    assert code == 0, out
    listed = notes(out)
    assert (
        "app/main.py:7: os.getenv(FLAG) reads a variable whose name is not a literal;"
        " add its field by hand." in listed
    )
    assert any(n.startswith("app/main.py:9: os.environ[f'LOG_LEVEL_{FLAG}'] reads") for n in listed)
    # A literal name with a computed default: a field defaulting to None, marked, and a note.
    assert field_lines(root) == [
        "# The app's default is computed at app/main.py:8: put it here.",
        "rate_limit: int | None = None",
    ]
    assert (
        "app/main.py:8: the default of RATE_LIMIT is not a literal; the field defaults to None:"
        " give it the app's default." in listed
    )


@pytest.mark.parametrize(
    "main_py", [WITH_DEFAULTS, WITHOUT_DEFAULTS, NON_LITERAL, FLAT.files["app/main.py"]],
    ids=["defaults", "no-defaults", "non-literal", "no-reads"],
)  # fmt: skip
def test_the_module_passes_ruff_and_mypy_strict(
    main_py: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, main_py)
    assert add(capsys, "settings", str(root))[0] == 0
    (root / "ruff.toml").write_text(RUFF_TOML)
    checks = [
        ["ruff", "check", MODULE],  # the generated project's rules
        ["ruff", "check", "--isolated", MODULE],  # ruff's defaults
        ["ruff", "format", "--check", MODULE],
        ["mypy", "--strict", "--no-incremental", MODULE],
    ]
    for args in checks:
        result = subprocess.run(
            [sys.executable, "-m", *args], cwd=root, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    # With pydantic's mypy plugin the ignore is unused, and says it may be.
    (root / "mypy.ini").write_text("[mypy]\nplugins = pydantic.mypy\n")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", MODULE],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout


# -- what it changes and says ----------------------------------------------------------------------


def test_only_the_module_and_manifest_are_written_and_every_read_is_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, WITH_DEFAULTS)
    before = snapshot(root)
    code, out, _ = add(capsys, "settings", str(root))
    assert code == 0
    after = snapshot(root)
    assert set(after) - set(before) == {MODULE, MANIFEST}
    assert {rel for rel in before if before[rel] != after[rel]} == set()  # reads untouched
    listed = notes(out)
    assert listed[0].startswith(f"{MODULE} declares 7 settings; the 7 reads below were left")
    assert "app/main.py:7: PORT -> get_settings().port" in listed
    assert "app/main.py:8: DEBUG -> get_settings().debug" in listed
    assert any("pydantic-settings is not among the project's dependencies" in n for n in listed)
    assert MODULE in (root / MANIFEST).read_text()


def test_no_dependency_note_when_the_project_depends_on_pydantic_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pyproject = FLAT.files["pyproject.toml"].replace('"uvicorn"', '"uvicorn", "pydantic-settings"')
    root = project(tmp_path, WITH_DEFAULTS, **{"pyproject.toml": pyproject})
    code, out, _ = add(capsys, "settings", str(root))
    assert code == 0
    assert not any("pydantic-settings" in n for n in notes(out))


def test_a_second_run_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, WITH_DEFAULTS)
    assert add(capsys, "settings", str(root))[0] == 0
    after = snapshot(root)
    code, out, _ = add(capsys, "settings", str(root))
    assert code == 0
    assert "nothing to do" in out
    assert snapshot(root) == after


def test_a_project_with_base_settings_gets_nothing_and_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, WITH_DEFAULTS, **{"app/config.py": EXISTING})
    before = snapshot(root)
    code, out, _ = add(capsys, "settings", str(root))
    assert code == 0
    assert snapshot(root) == before
    assert notes(out) == [
        "the project has pydantic settings already (app/config.py:4: AppSettings); settings"
        " added nothing. references/settings.md shows the cached get_settings() to read"
        " them through."
    ]


def test_refusal_leaves_the_tree_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A module of the project's own where the settings would go.
    root = project(tmp_path, WITH_DEFAULTS, **{MODULE: "TIMEOUT = 3\n"})
    before = snapshot(root)
    code, _, err = add(capsys, "settings", str(root))
    assert code == 1
    assert f"{MODULE} exists and is not the module `add` wrote" in err
    assert snapshot(root) == before


def test_dry_run_shows_the_module_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, WITHOUT_DEFAULTS)
    before = snapshot(root)
    code, out, _ = add(capsys, "settings", "--dry-run", str(root))
    assert code == 0
    assert f"--- /dev/null\n+++ b/{MODULE}\n" in out
    assert "+    api_token: SecretStr\n" in out
    assert snapshot(root) == before


def test_settings_is_a_pattern_of_all_without_wiring() -> None:
    assert "settings" in [p.name for p in expand([ALL])]
    assert PATTERNS["settings"].wiring is None
