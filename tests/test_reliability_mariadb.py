"""Issue 6.3 on MariaDB: the database fails under a running service, and at startup.

The same behaviour test_reliability_outage.py demands on PostgreSQL, for the MySQL
combination on a real MariaDB (asyncmy driver): stopped (its connections cut) or frozen
(SIGSTOP: connections stay open, nothing answers) under a live service, readiness turns
503 naming the database, liveness stays 200, requests that need the database get a 503
problem document with Retry-After instead of hanging, and once the server is back the
same process recovers on its own with the data written before intact. At startup, a
MariaDB that is down makes the process exit with a message naming it.

As in the PostgreSQL tests, nothing here asserts speed: each request must end within a
generous multiple of the timeout that should cut it short (bounds.hang_bound), and the
durations are recorded as figures.
"""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from bounds import hang_bound
from reliability import (
    MYSQL_REDIS_JWT,
    assert_clean_log,
    assert_problem,
    figure,
    frozen,
    generate,
    migrate,
    poll,
    service_env,
    sign_up,
)
from service import Service, refused_port

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("rel-mariadb")]

HEALTH_CHECK_TIMEOUT = 1.0
DB_CONNECT_TIMEOUT = 2.0
DB_COMMAND_TIMEOUT = 2.0
DB_POOL_TIMEOUT = 2.0
OUTAGE_SETTINGS = {
    "HEALTH_CHECK_TIMEOUT": str(HEALTH_CHECK_TIMEOUT),
    "DB_CONNECT_TIMEOUT": str(DB_CONNECT_TIMEOUT),
    "DB_COMMAND_TIMEOUT": str(DB_COMMAND_TIMEOUT),
    "DB_POOL_TIMEOUT": str(DB_POOL_TIMEOUT),
    "STARTUP_TIMEOUT": "5",
}
# A request cut short by the connect or the command timeout, one after the other at worst.
REQUEST_BOUND = hang_bound(max(DB_COMMAND_TIMEOUT, DB_POOL_TIMEOUT), DB_CONNECT_TIMEOUT)
READY_BOUND = hang_bound(HEALTH_CHECK_TIMEOUT, DB_CONNECT_TIMEOUT)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(MYSQL_REDIS_JWT, tmp_path_factory, "mariadb")


def _ready(client: httpx.Client) -> httpx.Response:
    return client.get("/health/ready", timeout=2 * READY_BOUND)


def _timed(
    client: httpx.Client, method: str, path: str, **kwargs: Any
) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    # The client waits past every bound, so a hang shows as a failed bound, not a timeout.
    response = client.request(method, path, timeout=2 * REQUEST_BOUND, **kwargs)
    return response, time.monotonic() - started


def _migrated_env(project: Path, database_url: str, redis_url: str, prefix: str) -> dict[str, str]:
    env = service_env(
        DATABASE_URL=database_url, REDIS_URL=redis_url, CACHE_PREFIX=prefix, **OUTAGE_SETTINGS
    )
    migrate(project, env)
    return env


def test_mariadb_outage_and_recovery(
    project: Path, fresh_mariadb_server: Any, redis_server: Any, record_property: Any
) -> None:
    mariadb = fresh_mariadb_server()
    env = _migrated_env(
        project, mariadb.create_database("app"), redis_server.url_for_db(9), "mariadb-outage:"
    )
    with Service(project, MYSQL_REDIS_JWT.package, env) as service:
        client = service.client
        pid = service.process.pid if service.process else None
        headers = sign_up(client, "outage@example.com")
        before = client.post("/items", json={"title": "before the outage"}, headers=headers)
        assert before.status_code == 201, before.text
        item = before.json()["id"]
        assert _ready(client).status_code == 200

        mariadb.stop()
        detection = poll(lambda: _ready(client).status_code == 503, READY_BOUND, "readiness 503")
        checks = _ready(client).json()["checks"]
        assert checks["database"]["status"] == "error", checks
        assert checks["redis"]["status"] == "ok", checks
        assert client.get("/health/live").status_code == 200

        slowest = 0.0
        for method, path, body in (
            ("GET", "/items", None),
            ("GET", f"/items/{item}", None),
            ("POST", "/items", {"title": "during the outage"}),
            ("PATCH", f"/items/{item}", {"title": "changed during the outage"}),
            ("DELETE", f"/items/{item}", None),
            ("GET", "/users/me", None),
        ):
            response, seconds = _timed(client, method, path, json=body, headers=headers)
            assert_problem(response, 503)
            assert response.headers["retry-after"], response.headers
            assert seconds < REQUEST_BOUND, (method, path, seconds)
            slowest = max(slowest, seconds)
        form = {"username": "outage@example.com", "password": "x" * 12}
        login, seconds = _timed(client, "POST", "/auth/token", data=form)
        assert_problem(login, 503)
        assert seconds < REQUEST_BOUND, ("login", seconds)
        slowest = max(slowest, seconds)

        mariadb.start()  # same port, same data
        recovery = poll(lambda: _ready(client).status_code == 200, 30, "readiness 200 again")
        listed = client.get("/items", headers=headers)
        assert listed.status_code == 200, listed.text
        # Nothing answered 503 was written; what was there before is intact.
        assert [row["title"] for row in listed.json()["items"]] == ["before the outage"]
        after = client.post("/items", json={"title": "after the outage"}, headers=headers)
        assert after.status_code == 201, after.text
        assert service.process is not None and service.process.pid == pid
        assert service.process.poll() is None  # recovered without a restart
        code = service.stop()
    log = service.log()
    assert code == 0, log[-4000:]
    assert_clean_log(log)
    assert "backing_service_unavailable" in log
    figure(
        record_property,
        f"MariaDB stopped: readiness 503 after {detection:.2f}s, DB requests 503 in at most "
        f"{slowest:.2f}s; after restart ready in {recovery:.2f}s, same process, nothing lost",
    )


def test_frozen_mariadb_gets_503s_not_hangs(
    project: Path, fresh_mariadb_server: Any, redis_server: Any, record_property: Any
) -> None:
    """MariaDB stops answering but keeps its connections (SIGSTOP): only timeouts help."""
    mariadb = fresh_mariadb_server()
    env = _migrated_env(
        project, mariadb.create_database("app"), redis_server.url_for_db(9), "mariadb-frozen:"
    )
    with Service(project, MYSQL_REDIS_JWT.package, env) as service:
        headers = sign_up(service.client, "frozen@example.com")
        created = service.client.post("/items", json={"title": "before"}, headers=headers)
        assert created.status_code == 201, created.text
        requests = [
            ("GET", "/items", None),
            ("POST", "/items", {"title": "sent while frozen"}),
            ("GET", "/users/me", None),
            ("GET", "/health/ready", None),
        ] * 3

        def send(call: tuple[str, str, Any]) -> tuple[str, httpx.Response, float]:
            method, path, body = call
            # Its own client, so the requests run concurrently.
            with httpx.Client(base_url=service.base_url) as own:
                response, seconds = _timed(own, method, path, json=body, headers=headers)
            return path, response, seconds

        with frozen(mariadb):
            with ThreadPoolExecutor(len(requests)) as pool:
                answers = list(pool.map(send, requests))
            live = service.client.get("/health/live")
        slowest_ready = slowest_request = 0.0
        for path, response, seconds in answers:
            if path == "/health/ready":
                assert response.status_code == 503, response.text
                assert response.json()["checks"]["database"]["status"] == "error"
                assert seconds < READY_BOUND, (path, seconds)
                slowest_ready = max(slowest_ready, seconds)
            else:
                assert_problem(response, 503)
                assert response.headers["retry-after"], response.headers
                assert seconds < REQUEST_BOUND, (path, seconds)
                slowest_request = max(slowest_request, seconds)
        assert live.status_code == 200, live.text

        recovery = poll(
            lambda: _ready(service.client).status_code == 200, 30, "readiness 200 again"
        )
        listed = service.client.get("/items", headers=headers)
        assert listed.status_code == 200, listed.text
        # The writes answered 503 were not committed behind the client's back.
        assert [row["title"] for row in listed.json()["items"]] == ["before"]
        again = service.client.post("/items", json={"title": "after"}, headers=headers)
        assert again.status_code == 201, again.text
        code = service.stop()
    log = service.log()
    assert code == 0, log[-4000:]
    assert_clean_log(log)
    figure(
        record_property,
        f"MariaDB frozen (SIGSTOP): {len(answers)} concurrent requests, none hung: readiness "
        f"503 in at most {slowest_ready:.2f}s, DB requests 503 in at most "
        f"{slowest_request:.2f}s (DB_COMMAND_TIMEOUT {DB_COMMAND_TIMEOUT:g}s); ready "
        f"{recovery:.2f}s after thawing, no 503-answered write committed",
    )


def test_startup_with_mariadb_down_fails_naming_it(
    project: Path, redis_server: Any, record_property: Any
) -> None:
    startup_timeout = 2.0
    with refused_port() as port:
        env = service_env(
            DATABASE_URL=f"mysql://root@127.0.0.1:{port}/app",
            REDIS_URL=redis_server.url_for_db(9),
            STARTUP_TIMEOUT=str(startup_timeout),
            HOST="127.0.0.1",
            PORT="0",
        )
        started = time.monotonic()
        try:
            result = subprocess.run(
                [sys.executable, "-m", MYSQL_REDIS_JWT.package],
                cwd=project,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,  # the process boots, retries for STARTUP_TIMEOUT, and exits
                check=False,
            )
        except subprocess.TimeoutExpired as hung:
            pytest.fail(f"still running after {hung.timeout:g}s instead of giving up: {hung}")
        elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"Startup check failed after {startup_timeout:g}s" in output, output
    line = [line for line in output.splitlines() if "Startup check failed" in line][-1]
    assert "database:" in line and "refused" in line.lower(), line
    figure(
        record_property,
        f"MariaDB down at startup: exit {result.returncode} after {elapsed:.1f}s: "
        f"{line[line.index('Startup check failed') :][:160]}",
    )
