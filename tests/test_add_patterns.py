"""The modules `add` creates (fastapi_patterns.add.patterns): rendered from the generator's own
templates, standalone, and up to the generated code's bar (ruff, ruff format, mypy --strict)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from add_fixtures import run_module
from fastapi_patterns.add.patterns import ALL, PATTERNS, Pattern, expand, render_module

# The generated project's own ruff configuration (assets/project/pyproject.toml.jinja).
RUFF_TOML = """\
line-length = 100
target-version = "py311"
[lint]
select = ["E", "W", "F", "I", "N", "UP", "B", "A", "C4", "DTZ", "T20", "PIE", "PT", "RET", "SIM",
          "PTH", "ERA", "RUF", "ASYNC", "S", "FAST", "PERF"]
"""
ALLOWED_IMPORTS = {"fastapi", "starlette"}
# Rendered as they are; a pattern with a `build` makes its module from the project's code
# (settings: tests/test_add_settings.py).
RENDERED = [p for p in PATTERNS.values() if p.build is None]


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "sqlalchemy"])
def package(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("added")
    (root / "ruff.toml").write_text(RUFF_TOML)
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    for pattern in RENDERED:
        source = render_module(pattern, sqlalchemy=request.param)
        (root / "pkg" / f"{pattern.module}.py").write_bytes(source)
    return root


def test_ruff_check_with_the_generated_projects_rules(package: Path) -> None:
    result = run_module(package, "ruff", "check", "pkg")
    assert result.returncode == 0, result.stdout


def test_ruff_check_with_ruffs_defaults(package: Path) -> None:
    # A project without ruff configuration of its own.
    result = run_module(package, "ruff", "check", "--isolated", "pkg")
    assert result.returncode == 0, result.stdout


def test_ruff_format(package: Path) -> None:
    result = run_module(package, "ruff", "format", "--check", "pkg")
    assert result.returncode == 0, result.stdout


def test_mypy_strict(package: Path) -> None:
    result = run_module(package, "mypy", "--strict", "--no-incremental", "pkg")
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("pattern", RENDERED, ids=lambda p: p.name)
def test_depends_only_on_fastapi_and_starlette(pattern: Pattern) -> None:
    tree = ast.parse(render_module(pattern))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "an added module must stand alone"
            imported.add((node.module or "").split(".")[0])
    assert imported - set(sys.stdlib_module_names) <= ALLOWED_IMPORTS


def test_rendering_is_deterministic() -> None:
    for pattern in RENDERED:
        assert render_module(pattern) == render_module(pattern)


def test_all_expands_to_every_pattern_once_in_a_fixed_order() -> None:
    assert [p.name for p in expand([ALL])] == list(PATTERNS)
    assert [p.name for p in expand(["request-context", "errors", "errors"])] == [
        "errors",
        "request-context",
    ]


def test_sqlalchemy_apps_also_get_database_error_handlers() -> None:
    plain = render_module(PATTERNS["errors"]).decode()
    database = render_module(PATTERNS["errors"], sqlalchemy=True).decode()
    assert "IntegrityError" not in plain
    assert "        IntegrityError: _integrity_error,\n" in database
    assert "from sqlalchemy.exc import DBAPIError, IntegrityError" in database
