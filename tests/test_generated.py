"""Generate each combination, then hold it to the generated-code bar on real servers.

Per combination: ruff check, ruff format --check, mypy --strict, its own test suite
against the real database and Redis, alembic migrations on the real database, and a
real `python -m <package>` process (uvicorn, or granian for the combinations that ask for
it) answering HTTP that shuts down cleanly on SIGTERM.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from combos import MATRIX, TEST_SECRET, Combo
from fastapi_patterns.manifest import read_manifest
from fastapi_patterns.plan import MANIFEST
from service import Service, base_env, run

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
PARAMS = [pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(c.id)) for c in MATRIX]

# The test modules each generated project must run, written out here rather than taken
# from the generator, so that a module the plan drops (or a template that stops
# collecting) fails this suite. A new module belongs in this table too.
TESTS_EVERYWHERE = {
    "test_config",
    "test_errors",
    "test_health",
    "test_items",
    "test_logging",
    "test_middleware",
    "test_openapi",
}
TESTS_WITH_A_DATABASE = {"test_db", "test_migrations"}
TESTS_WITH_JWT = {"test_auth", "test_expiring", "test_security", "test_users"}
TESTS_WITH_REDIS = {"test_cache"}


def expected_test_modules(combo: Combo) -> set[str]:
    modules = set(TESTS_EVERYWHERE)
    if combo.db != "none":
        modules |= TESTS_WITH_A_DATABASE
    if combo.auth == "jwt":
        modules |= TESTS_WITH_JWT
    if combo.redis:
        modules |= TESTS_WITH_REDIS
    return modules


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
        # The worker's Redis is shared: keys of this test live under a prefix of its own
        # (the project's own tests add a prefix per test on top of it).
        values["REDIS_URL"] = request.getfixturevalue("redis_server").url_for_db(0)
        values["CACHE_PREFIX"] = f"{request.node.nodeid}:"
    # Shown, not hidden as by default, so the log check below can see an unclosed resource.
    values["PYTHONWARNINGS"] = "always::ResourceWarning"
    return base_env(**values)


def test_no_template_residue(project: Path) -> None:
    # The generated files, as the manifest names them: not whatever else is in the folder
    # by now (bytecode, caches, logs of other tests).
    generated = read_manifest((project / MANIFEST).read_text())["files"]
    assert isinstance(generated, dict) and len(generated) > 20, generated
    for name in generated:
        path = project / name
        text = path.read_text()
        # Every unrendered Jinja tag opens with one of these; a lone "}}" is Python closing
        # two dicts. Alembic's .mako template has tags of its own.
        if path.suffix != ".mako":
            assert not re.search(r"\{\{|\{%|%\}|\{#", text), f"Jinja residue in {path}"
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


def test_own_tests_pass_on_real_servers(
    combo: Combo, project: Path, service_env: dict[str, str], tmp_path: Path
) -> None:
    report = tmp_path / "report.xml"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    result = run([*command, f"--junitxml={report}"], project, service_env)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    outcomes = _outcomes(report)
    modules = Counter(module for module, outcome in outcomes if outcome == "passed")
    assert set(modules) == expected_test_modules(combo), sorted(modules)
    # Every test that ran passed: none skipped, none an expected failure.
    assert {outcome for _, outcome in outcomes} == {"passed"}, Counter(outcomes)


def _outcomes(report: Path) -> list[tuple[str, str]]:
    """(test module, outcome) for each test in a JUnit XML report."""
    found = []
    for case in ET.parse(report).iter("testcase"):
        module = case.get("classname", "").split(".")[-1]
        children = {child.tag for child in case} & {"skipped", "failure", "error"}
        found.append((module, children.pop() if children else "passed"))
    return found


def test_migrates_boots_serves_and_stops_cleanly(
    combo: Combo, project: Path, service_env: dict[str, str]
) -> None:
    if combo.db != "none":
        migrated = run([str(BIN / "alembic"), "upgrade", "head"], project, service_env)
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    service = Service(
        project, combo.package, service_env, src_layout=combo.layout == "src", server=combo.server
    )
    with service:
        live = service.client.get("/health/live")
        assert live.status_code == 200, live.text
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
