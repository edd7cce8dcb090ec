"""Generate each combination, then hold it to the generated-code bar on real servers.

Per combination: ruff check, ruff format --check, mypy --strict, its own test suite
against the real database and Redis, alembic migrations on the real database, and a
real uvicorn process answering HTTP that shuts down cleanly on SIGTERM.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from combos import MATRIX, TEST_SECRET, Combo
from service import Service, base_env, run

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
PARAMS = [pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(c.id)) for c in MATRIX]


@pytest.fixture(scope="module", params=PARAMS)
def combo(request: pytest.FixtureRequest) -> Combo:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def project(combo: Combo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return combo.generate(tmp_path_factory.mktemp(combo.id) / combo.name)


@pytest.fixture
def service_env(combo: Combo, request: pytest.FixtureRequest) -> dict[str, str]:
    """Environment pointing the project at fresh databases on the real servers."""
    values = {"SECRET_KEY": TEST_SECRET}
    if combo.db == "postgresql":
        values["DATABASE_URL"] = request.getfixturevalue("postgres_server").create_database()
    elif combo.db == "mysql":
        values["DATABASE_URL"] = request.getfixturevalue("mariadb_server").create_database()
    elif combo.db == "sqlite":
        values["DATABASE_URL"] = f"sqlite:///{request.getfixturevalue('tmp_path')}/app.db"
    if combo.redis:
        redis = request.getfixturevalue("redis_server")
        redis.flushall()
        values["REDIS_URL"] = redis.url_for_db(0)
    # Shown, not hidden as by default, so the log check below can see an unclosed resource.
    values["PYTHONWARNINGS"] = "always::ResourceWarning"
    return base_env(**values)


def test_no_template_residue(project: Path) -> None:
    for path in project.rglob("*"):
        if path.is_file():
            text = path.read_text()
            if path.suffix != ".mako":
                assert not re.search(r"\{\{|\{%|%\}|\}\}", text), f"Jinja residue in {path}"
            assert "\n\n\n\n" not in text, f"blank-line run in {path}"
            assert text.endswith("\n"), f"no final newline in {path}"


def test_ruff_check_and_format(project: Path) -> None:
    check = run([str(BIN / "ruff"), "check", "--no-cache", "."], project)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = run([str(BIN / "ruff"), "format", "--check", "--no-cache", "."], project)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_mypy_strict(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    cache = tmp_path_factory.getbasetemp() / "mypy-cache"
    result = run([sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache)], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


def test_own_tests_pass_on_real_servers(project: Path, service_env: dict[str, str]) -> None:
    result = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project, service_env
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed.group(1)) >= 15, result.stdout[-2000:]
    assert "skipped" not in result.stdout.splitlines()[-1]


def test_migrates_boots_serves_and_stops_cleanly(
    combo: Combo, project: Path, service_env: dict[str, str]
) -> None:
    if combo.db != "none":
        migrated = run([str(BIN / "alembic"), "upgrade", "head"], project, service_env)
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    service = Service(project, combo.package, service_env, src_layout=combo.layout == "src")
    with service:
        ready = service.client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        checks = ready.json()["checks"]
        assert ("database" in checks) == (combo.db != "none")
        assert ("redis" in checks) == combo.redis
        assert all(check["status"] == "ok" for check in checks.values())

        missing = service.client.get("/no/such/path", headers={"X-Request-ID": "boot-check-1"})
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["status"] == 404
        assert missing.headers["x-request-id"] == "boot-check-1"

        headers = {}
        if combo.auth == "jwt":
            signup = service.client.post(
                "/users", json={"email": "boot@example.com", "password": "a-long-password-1"}
            )
            assert signup.status_code == 201, signup.text
            token = service.client.post(
                "/auth/token",
                data={"username": "boot@example.com", "password": "a-long-password-1"},
            )
            assert token.status_code == 200, token.text
            headers["Authorization"] = f"Bearer {token.json()['access_token']}"
            assert service.client.get("/items").status_code == 401
        created = service.client.post("/items", json={"title": "booted"}, headers=headers)
        assert created.status_code == 201, created.text
        listed = service.client.get("/items", headers=headers)
        assert [item["title"] for item in listed.json()["items"]] == ["booted"]
        code = service.stop()
    log = service.log()
    assert code == 0, log
    for bad in ("Traceback", "unclosed", "never awaited", "Unclosed"):
        assert bad not in log, log
