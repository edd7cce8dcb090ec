"""Issue 6.3: backing services fail under a running service, and at startup.

PostgreSQL is stopped (fast shutdown: its connections are cut) and Redis is killed under
a live service: readiness must turn 503 naming the failed check within its timeout,
liveness must stay 200, requests that need the database must get a prompt 503 problem
document, and once the server is back the same process must recover on its own (pool
pre-ping), with the data written before the outage intact. At startup, a server that is
down must make the process exit, after STARTUP_TIMEOUT, with a message naming it.

No assertion here is about speed: each request must end within a generous multiple of
the timeout that should cut it short (bounds.hang_bound), which only a hang exceeds, and
the durations themselves are recorded as figures.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from bounds import hang_bound
from combos import Combo
from reliability import (
    PG_REDIS_JWT,
    SQLITE_DEFAULT,
    assert_clean_log,
    assert_problem,
    figure,
    frozen,
    generate,
    migrate,
    poll,
    service_env,
    sign_up,
    sqlite_url,
)
from service import Service, refused_port

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("rel-outage")]

HEALTH_CHECK_TIMEOUT = 1.0
DB_CONNECT_TIMEOUT = 2.0
DB_COMMAND_TIMEOUT = 2.0
DB_POOL_TIMEOUT = 2.0
REDIS_TIMEOUT = 0.5
OUTAGE_SETTINGS = {
    "HEALTH_CHECK_TIMEOUT": str(HEALTH_CHECK_TIMEOUT),
    "DB_CONNECT_TIMEOUT": str(DB_CONNECT_TIMEOUT),
    "DB_COMMAND_TIMEOUT": str(DB_COMMAND_TIMEOUT),
    "DB_POOL_TIMEOUT": str(DB_POOL_TIMEOUT),
    "REDIS_TIMEOUT": str(REDIS_TIMEOUT),
    "STARTUP_TIMEOUT": "5",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(PG_REDIS_JWT, tmp_path_factory, "outage")


def _ready(client: httpx.Client) -> httpx.Response:
    return client.get("/health/ready", timeout=HEALTH_CHECK_TIMEOUT + 5)


def _check_status(client: httpx.Client, name: str) -> str:
    body: dict[str, Any] = _ready(client).json()
    status: str = body["checks"][name]["status"]
    return status


def _timed(send: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = send()
    return response, time.monotonic() - started


def _migrated_env(project: Path, database_url: str, redis_url: str, prefix: str) -> dict[str, str]:
    """The service's environment on these servers, with the schema migrated."""
    env = service_env(
        DATABASE_URL=database_url, REDIS_URL=redis_url, CACHE_PREFIX=prefix, **OUTAGE_SETTINGS
    )
    migrate(project, env)
    return env


def test_postgres_outage_and_recovery(
    project: Path,
    fresh_postgres_server: Any,
    redis_server: Any,
    record_property: Any,
) -> None:
    postgres = fresh_postgres_server()
    env = _migrated_env(
        project, postgres.create_database("app"), redis_server.url_for_db(3), "outage-pg:"
    )
    with Service(project, PG_REDIS_JWT.package, env) as service:
        client = service.client
        pid = service.process.pid if service.process else None
        headers = sign_up(client, "outage@example.com")
        before = client.post("/items", json={"title": "before the outage"}, headers=headers)
        assert before.status_code == 201, before.text
        item = before.json()["id"]
        assert _ready(client).status_code == 200

        postgres.stop()
        detection = poll(
            lambda: _ready(client).status_code == 503, HEALTH_CHECK_TIMEOUT + 5, "readiness 503"
        )
        report = _ready(client)
        assert report.status_code == 503
        checks = report.json()["checks"]
        assert checks["database"]["status"] == "error", checks
        assert checks["redis"]["status"] == "ok", checks
        # The check was cut short by its timeout, not left to hang.
        assert 0 <= checks["database"]["latency_ms"] <= hang_bound(HEALTH_CHECK_TIMEOUT) * 1000
        live, live_seconds = _timed(lambda: client.get("/health/live"))
        assert live.status_code == 200, live.text

        slowest = 0.0
        for method, path, body in (
            ("GET", "/items", None),
            ("GET", f"/items/{item}", None),
            ("POST", "/items", {"title": "during the outage"}),
            ("PATCH", f"/items/{item}", {"title": "changed during the outage"}),
            ("GET", "/users/me", None),
        ):
            response, seconds = _timed(
                lambda m=method, p=path, b=body: client.request(m, p, json=b, headers=headers)
            )
            assert_problem(response, 503)
            assert response.headers["retry-after"], response.headers
            assert seconds < hang_bound(DB_CONNECT_TIMEOUT), (method, path, seconds)
            slowest = max(slowest, seconds)
        login, seconds = _timed(
            lambda: client.post(
                "/auth/token", data={"username": "outage@example.com", "password": "x" * 12}
            )
        )
        assert_problem(login, 503)
        assert login.headers["retry-after"], login.headers
        assert seconds < hang_bound(DB_CONNECT_TIMEOUT), ("login", seconds)
        slowest = max(slowest, seconds)

        postgres.start()  # same port, same data
        restarted = time.monotonic()
        recovery = poll(lambda: _ready(client).status_code == 200, 30, "readiness 200 again")
        listed = client.get("/items", headers=headers)
        first_request_after = time.monotonic() - restarted
        assert listed.status_code == 200, listed.text
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
        f"PostgreSQL stopped: readiness 503 after {detection:.2f}s, DB requests 503 in at most "
        f"{slowest:.2f}s, liveness 200 in {live_seconds * 1000:.0f}ms; after restart ready in "
        f"{recovery:.2f}s, first request served {first_request_after:.2f}s after the server "
        "was back, same process, nothing lost",
    )


def test_frozen_postgres_gets_prompt_503s_not_hangs(
    project: Path,
    fresh_postgres_server: Any,
    redis_server: Any,
    record_property: Any,
) -> None:
    """PostgreSQL stops answering but keeps its connections (SIGSTOP): only timeouts help."""
    postgres = fresh_postgres_server()
    env = _migrated_env(
        project, postgres.create_database("app"), redis_server.url_for_db(3), "outage-frozen:"
    )
    with Service(project, PG_REDIS_JWT.package, env) as service:
        client = service.client
        headers = sign_up(client, "frozen@example.com")
        assert client.post("/items", json={"title": "before"}, headers=headers).status_code == 201
        # Cancelling a hung check costs asyncpg a cancel request, itself bounded by the
        # connect timeout; requests are bounded by the command (or pool) timeout.
        ready_bound = hang_bound(HEALTH_CHECK_TIMEOUT, DB_CONNECT_TIMEOUT)
        request_bound = hang_bound(max(DB_COMMAND_TIMEOUT, DB_POOL_TIMEOUT), DB_CONNECT_TIMEOUT)
        requests = [
            ("GET", "/items", None),
            ("POST", "/items", {"title": "sent while frozen"}),
            ("GET", "/users/me", None),
            ("GET", "/health/ready", None),
        ] * 3

        def send(call: tuple[str, str, Any]) -> tuple[str, httpx.Response, float]:
            method, path, body = call
            started = time.monotonic()
            # Its own client, so the requests run concurrently; it waits past every bound.
            with httpx.Client(base_url=service.base_url, timeout=2 * request_bound) as own:
                response = own.request(method, path, json=body, headers=headers)
            return path, response, time.monotonic() - started

        with frozen(postgres):
            with ThreadPoolExecutor(len(requests)) as pool:
                answers = list(pool.map(send, requests))
            live = client.get("/health/live")
        slowest_ready = slowest_request = 0.0
        for path, response, seconds in answers:
            if path == "/health/ready":
                assert response.status_code == 503, response.text
                assert response.json()["checks"]["database"]["status"] == "error"
                assert seconds < ready_bound, (path, seconds, ready_bound)
                slowest_ready = max(slowest_ready, seconds)
            else:
                assert_problem(response, 503)
                assert response.headers["retry-after"], response.headers
                assert seconds < request_bound, (path, seconds, request_bound)
                slowest_request = max(slowest_request, seconds)
        assert live.status_code == 200

        recovery = poll(lambda: _ready(client).status_code == 200, 30, "readiness 200 again")
        listed = client.get("/items", headers=headers)
        assert listed.status_code == 200, listed.text
        # The writes answered 503 were not committed behind the client's back.
        assert [row["title"] for row in listed.json()["items"]] == ["before"]
        assert client.post("/items", json={"title": "after"}, headers=headers).status_code == 201
        code = service.stop()
    log = service.log()
    assert code == 0, log[-4000:]
    assert_clean_log(log)
    figure(
        record_property,
        f"PostgreSQL frozen (SIGSTOP): {len(answers)} concurrent requests, none hung: readiness "
        f"503 in at most {slowest_ready:.2f}s, DB requests 503 in at most {slowest_request:.2f}s "
        f"(DB_COMMAND_TIMEOUT {DB_COMMAND_TIMEOUT:g}s); ready {recovery:.2f}s after thawing, "
        "no 503-answered write committed",
    )


def test_redis_outage_degrades_and_recovers(
    project: Path,
    postgres_server: Any,
    fresh_redis_server: Any,
    record_property: Any,
) -> None:
    cache = fresh_redis_server()
    env = _migrated_env(project, postgres_server.create_database(), cache.url, "outage-redis:")
    with Service(project, PG_REDIS_JWT.package, env) as service:
        client = service.client
        headers = sign_up(client, "cache@example.com")
        created = client.post("/items", json={"title": "cached"}, headers=headers)
        item = created.json()["id"]
        assert client.get(f"/items/{item}", headers=headers).status_code == 200
        assert _cached_keys(cache.url) == [f"outage-redis:item:{item}"]

        cache.kill()
        detection = poll(
            lambda: _ready(client).status_code == 503, HEALTH_CHECK_TIMEOUT + 5, "readiness 503"
        )
        checks = _ready(client).json()["checks"]
        assert checks["redis"]["status"] == "error" and checks["database"]["status"] == "ok"
        assert client.get("/health/live").status_code == 200
        # The cache is best effort: reads and writes carry on from the database, each cache
        # call cut short by REDIS_TIMEOUT (a read misses and then fills the cache: two calls).
        bound = hang_bound(REDIS_TIMEOUT, REDIS_TIMEOUT)
        slowest = 0.0
        for method, path, body, status in (
            ("GET", f"/items/{item}", None, 200),
            ("PATCH", f"/items/{item}", {"title": "changed without a cache"}, 200),
            ("POST", "/items", {"title": "written without a cache"}, 201),
            ("DELETE", f"/items/{item}", None, 204),
        ):
            response, seconds = _timed(
                lambda m=method, p=path, b=body: client.request(m, p, json=b, headers=headers)
            )
            assert response.status_code == status, (method, path, response.text)
            assert seconds < bound, (method, path, seconds, bound)
            slowest = max(slowest, seconds)

        cache.start()
        recovery = poll(lambda: _ready(client).status_code == 200, 30, "readiness 200 again")
        listed = client.get("/items", headers=headers).json()["items"]
        assert [row["title"] for row in listed] == ["written without a cache"]
        again = listed[0]["id"]
        assert client.get(f"/items/{again}", headers=headers).status_code == 200
        assert _cached_keys(cache.url) == [f"outage-redis:item:{again}"]  # caching again
        code = service.stop()
    log = service.log()
    assert code == 0, log[-4000:]
    assert_clean_log(log)
    assert "cache_unavailable" in log
    figure(
        record_property,
        f"Redis killed: readiness 503 after {detection:.2f}s, item requests served from the "
        f"database in at most {slowest * 1000:.0f}ms; after restart ready in {recovery:.2f}s "
        "and caching again, same process",
    )


def test_sqlite_directory_outage_and_recovery(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, record_property: Any
) -> None:
    """The SQLite default has no server to stop; its outage is the database's folder
    going away (an unmounted volume). Pooled connections keep the open file; new ones fail."""
    project = generate(SQLITE_DEFAULT, tmp_path_factory, "outage")
    data = tmp_path / "data"
    data.mkdir()
    env = service_env(
        DATABASE_URL=sqlite_url(data),
        DB_POOL_SIZE="1",
        DB_MAX_OVERFLOW="3",
        **{k: v for k, v in OUTAGE_SETTINGS.items() if not k.startswith("REDIS")},
    )
    migrate(project, env)
    with Service(project, SQLITE_DEFAULT.package, env) as service:
        client = service.client
        headers = sign_up(client, "sqlite@example.com")
        assert client.post("/items", json={"title": "kept"}, headers=headers).status_code == 201

        data.rename(tmp_path / "unmounted")
        detection = poll(lambda: _ready(client).status_code == 503, 5, "readiness 503")
        checks = _ready(client).json()["checks"]
        assert "does not exist" in checks["database"]["error"], checks
        assert client.get("/health/live").status_code == 200

        def burst() -> list[tuple[httpx.Response, float]]:
            # More at once than the pool holds, so some need a new connection, which fails.
            def one(_: int) -> tuple[httpx.Response, float]:
                with httpx.Client(base_url=service.base_url, timeout=30) as own:
                    return _timed(lambda: own.get("/items", headers=headers))

            with ThreadPoolExecutor(6) as pool:
                return list(pool.map(one, range(6)))

        answers: list[tuple[httpx.Response, float]] = []
        for _ in range(5):  # bounded: until a request has needed a new connection
            answers += burst()
            if any(response.status_code == 503 for response, _ in answers):
                break
        statuses = Counter(response.status_code for response, _ in answers)
        assert set(statuses) <= {200, 503} and statuses[503], statuses
        for response, seconds in answers:
            if response.status_code == 503:
                assert_problem(response, 503)
                assert response.headers["retry-after"], response.headers
            # A new connection fails at once; a request may wait for a pooled one.
            assert seconds < hang_bound(DB_POOL_TIMEOUT), seconds

        (tmp_path / "unmounted").rename(data)
        recovery = poll(lambda: _ready(client).status_code == 200, 10, "readiness 200 again")
        for response, _ in burst():
            assert response.status_code == 200, response.text
        titles = [row["title"] for row in client.get("/items", headers=headers).json()["items"]]
        assert titles == ["kept"], titles
        code = service.stop()
    log = service.log()
    assert code == 0, log[-4000:]
    assert_clean_log(log)
    figure(
        record_property,
        f"SQLite folder gone: readiness 503 after {detection:.2f}s; requests {dict(statuses)} "
        f"(pooled connections still work, new ones 503), slowest "
        f"{max(seconds for _, seconds in answers):.2f}s; folder back: ready in "
        f"{recovery:.2f}s, same process",
    )


def _cached_keys(url: str) -> list[str]:
    client = redis.Redis.from_url(url)
    try:
        return sorted(key.decode() for key in client.keys("*"))
    finally:
        client.close()


@pytest.mark.parametrize("down", ["database", "redis", "sqlite-directory"])
def test_startup_with_a_server_down_fails_fast_naming_it(
    down: str,
    project: Path,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
    record_property: Any,
) -> None:
    startup_timeout = 2.0
    with refused_port() as port:
        nothing_listens = f"127.0.0.1:{port}"
        if down == "sqlite-directory":
            combo: Combo = SQLITE_DEFAULT
            project = generate(combo, tmp_path_factory, "startup")
            env = service_env(DATABASE_URL=sqlite_url(tmp_path / "missing"))
            expected = ["database", "does not exist"]
        else:
            combo = PG_REDIS_JWT
            if down == "database":
                env = service_env(
                    DATABASE_URL=f"postgresql://postgres@{nothing_listens}/app",
                    REDIS_URL=request.getfixturevalue("redis_server").url_for_db(3),
                )
            else:
                env = service_env(
                    DATABASE_URL=request.getfixturevalue("postgres_server").create_database(),
                    REDIS_URL=f"redis://{nothing_listens}/0",
                )
            expected = [
                f"{down}: ConnectionRefusedError" if down == "database" else "redis:",
                "refused",
            ]
        # Port 0: should it get as far as listening, no other process's port is at stake.
        env.update(STARTUP_TIMEOUT=str(startup_timeout), HOST="127.0.0.1", PORT="0")
        started = time.monotonic()
        try:
            result = subprocess.run(
                [sys.executable, "-m", combo.package],
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
    for fragment in expected:
        assert fragment in output, output
    # It retried for the configured time, not the default one, and then gave up.
    assert f"Startup check failed after {startup_timeout:g}s" in output, output
    line = [line for line in output.splitlines() if "Startup check failed" in line][-1]
    message = line[line.index("Startup check failed") :][:160]
    figure(
        record_property,
        f"{down} down at startup: exit {result.returncode} after {elapsed:.1f}s: {message}",
    )
