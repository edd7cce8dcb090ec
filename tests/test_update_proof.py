"""The issue's proofs, end to end on real projects.

1. A project 0.1.0 generated, edited as users do, updates to the bundle's version: edits
   kept, template changes applied, the deleted file still deleted, exactly one labelled
   conflict; resolved and continued, its own tests, ruff, mypy --strict and
   `alembic upgrade head` pass.
2. Option changes on an edited project: SQLite -> PostgreSQL, then Redis added, each
   followed by the project's own tests against the real servers.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from combos import TEST_SECRET
from fastapi_patterns import __version__
from fastapi_patterns.commands import main
from fastapi_patterns.manifest import read_manifest
from fastapi_patterns.plan import MANIFEST
from fastapi_patterns.update.base import render_files
from service import base_env, run
from update_fixtures import (
    DELETED,
    OLD,
    OPTIONS,
    PACKAGE,
    README_EDITED,
    SSL_EDITED,
    apply_user_edits,
    document_notes_route,
    generate_at,
    take,
)

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
CONFIG = f"{PACKAGE}/core/config.py"


def update_json(
    capsys: pytest.CaptureFixture[str], project: Path, *args: str
) -> tuple[int, dict[str, Any]]:
    code = main(["update", str(project), "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def own_tests_pass(project: Path, env: dict[str, str], report: Path) -> None:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    result = run([*command, f"--junitxml={report}"], project, env)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    cases = list(ET.parse(report).iter("testcase"))
    assert cases and not any(
        child.tag in ("skipped", "failure", "error") for c in cases for child in c
    )
    assert any(c.get("name") == "test_notes_start_empty" for c in cases)


def migrates(project: Path, env: dict[str, str]) -> None:
    migrated = run([str(BIN / "alembic"), "upgrade", "head"], project, env)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert "0001 -> 0002, Create the notes table" in migrated.stderr


def test_proof_1_an_edited_010_project_updates(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    project = generate_at(OLD, tmp_path / "svc-up")
    apply_user_edits(project)
    code, report = update_json(capsys, project)
    assert code == 1, report
    actions = {entry["path"]: entry["action"] for entry in report["files"]}
    # Exactly one conflict, where both changed the same line.
    assert report["conflicts"] == [CONFIG] and report["warnings"] == []
    assert [e["conflicts"] for e in report["files"] if e["path"] == CONFIG] == [1]
    conflicted = (project / CONFIG).read_text()
    assert conflicted.count("<<<<<<< ours (your project)\n") == 1
    assert f"||||||| base ({OLD})\n" in conflicted
    assert f">>>>>>> theirs ({__version__})\n" in conflicted
    # The user's edits are kept: merged into files the template changed, kept elsewhere.
    assert (actions[f"{PACKAGE}/main.py"], actions["README.md"]) == ("merged", "merged")
    assert actions[f"{PACKAGE}/models.py"] == "kept"
    main_py = (project / f"{PACKAGE}/main.py").read_text()
    assert "import auth, health, items, notes, users" in main_py and "app = App(" in main_py
    readme = (project / "README.md").read_text()
    assert README_EDITED in readme and f"`create-fastapi-app` {__version__}" in readme
    assert "Field(default=60, ge=1, le=43200)" in conflicted
    assert "class Note(Base):" in (project / f"{PACKAGE}/models.py").read_text()
    for own in (f"{PACKAGE}/api/routes/notes.py", "migrations/versions/0002_notes.py"):
        assert own not in actions and (project / own).is_file()
    # The deleted file stays deleted; the template's changes are in.
    assert actions[DELETED] == "deleted" and not (project / DELETED).exists()
    theirs = render_files(__version__, OPTIONS)
    assert actions[f"{PACKAGE}/core/openapi.py"] == "created"
    for path, action in actions.items():
        if action in ("updated", "created"):
            assert (project / path).read_bytes() == theirs[path], path

    # Resolved (the template's side), continued, then the project's own bar.
    (project / CONFIG).write_text(take(conflicted, "theirs"))
    assert SSL_EDITED not in (project / CONFIG).read_text()
    assert main(["update", str(project), "--continue"]) == 0
    assert read_manifest((project / MANIFEST).read_text())["generator_version"] == __version__
    document_notes_route(project)
    env = base_env(SECRET_KEY=TEST_SECRET)
    own_tests_pass(project, env, tmp_path / "report.xml")
    for command in (
        ["ruff", "check", "--no-cache", "."],
        ["ruff", "format", "--check", "--no-cache", "."],
    ):
        checked = run([str(BIN / command[0]), *command[1:]], project)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    cache = tmp_path_factory.getbasetemp() / "mypy-cache"  # shared with test_generated
    typed = run([sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache)], project)
    assert typed.returncode == 0 and "Success" in typed.stdout, typed.stdout + typed.stderr
    migrates(project, base_env(DATABASE_URL=f"sqlite:///{tmp_path}/app.db", SECRET_KEY=TEST_SECRET))


def test_proof_2_option_changes_on_an_edited_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    project = generate_at(__version__, tmp_path / "svc-up")
    apply_user_edits(project, conflicting=False)
    document_notes_route(project)

    code, report = update_json(capsys, project, "--db", "postgresql")
    assert code == 0 and report["status"] == "updated", report
    assert report["options"] == {"db": {"from": "sqlite", "to": "postgresql"}}
    actions = {entry["path"]: entry["action"] for entry in report["files"]}
    assert actions[CONFIG] == "merged"  # the user's default kept, the database's in
    assert "Field(default=60, ge=1, le=43200)" in (project / CONFIG).read_text()
    assert "postgresql+asyncpg" in (project / CONFIG).read_text()
    assert "asyncpg" in (project / "pyproject.toml").read_text()
    assert "postgres" in (project / "docker-compose.yml").read_text()
    postgres = request.getfixturevalue("postgres_server")
    env = base_env(SECRET_KEY=TEST_SECRET, DATABASE_URL=postgres.create_database())
    own_tests_pass(project, env, tmp_path / "postgres.xml")
    migrates(project, base_env(SECRET_KEY=TEST_SECRET, DATABASE_URL=postgres.create_database()))

    code, report = update_json(capsys, project, "--redis")
    assert code == 0 and report["options"] == {"redis": {"from": False, "to": True}}, report
    actions = {entry["path"]: entry["action"] for entry in report["files"]}
    assert actions[f"{PACKAGE}/services/cache.py"] == "created"
    assert actions["tests/test_cache.py"] == "created"
    assert actions[CONFIG] == "merged"
    manifest = read_manifest((project / MANIFEST).read_text())
    assert manifest["options"]["db"] == "postgresql" and manifest["options"]["redis"] is True
    redis = request.getfixturevalue("redis_server")
    env = base_env(
        SECRET_KEY=TEST_SECRET,
        DATABASE_URL=postgres.create_database(),
        REDIS_URL=redis.url_for_db(0),
        CACHE_PREFIX=f"{request.node.nodeid}:",
    )
    own_tests_pass(project, env, tmp_path / "redis.xml")
    assert main(["update", str(project)]) == 0  # nothing left to do
    assert "nothing to do" in capsys.readouterr().out
