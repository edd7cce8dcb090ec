"""Issue 6.4: concurrent clients writing and reading against PostgreSQL, then counting rows.

CLIENTS clients, each its own user, run SEQUENCES rounds each of writing an item and
reading it back (by id, through the Redis cache, and as pages) on loopback. Afterwards
the items table must hold exactly the writes that were answered 201: nothing lost,
nothing duplicated, and no request may have failed. The same runs with two uvicorn
workers sharing PostgreSQL and Redis. The work is a fixed amount, not "as much as fits in
N seconds", so the outcome does not depend on the machine's speed; throughput and
latencies are recorded as figures (speed targets live in bench/).

When the pool's only connection is held (by a request waiting on a lock the test holds),
the other requests that need the database must get 503 problem documents with
Retry-After once DB_POOL_TIMEOUT has passed, never hang, and the held request completes
once the lock is released.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from bounds import hang_bound
from reliability import (
    PASSWORD,
    PG_REDIS_JWT,
    assert_clean_log,
    assert_problem,
    figure,
    generate,
    migrate,
    service_env,
    sign_up,
    sql,
)
from service import Service

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("rel-load")]

CLIENTS = 16
SEQUENCES = 12  # rounds per client: 16 x 12 = 192 writes, about 620 requests


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(PG_REDIS_JWT, tmp_path_factory, "load")


@dataclass
class Tally:
    written: dict[str, int] = field(default_factory=dict)  # title -> id from the 201
    statuses: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


async def _client(number: int, base_url: str, headers: dict[str, str], tally: Tally) -> None:
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as http:
        for sequence in range(1, SEQUENCES + 1):
            title = f"client-{number}-item-{sequence}"
            steps: list[tuple[str, str, Any, int]] = [("POST", "/items", {"title": title}, 201)]
            for method, path, body, expected in steps:
                await _request(http, method, path, body, expected, tally, title)
            item = tally.written.get(title)
            if item is not None:
                await _request(http, "GET", f"/items/{item}", None, 200, tally, title)
                await _request(http, "GET", f"/items/{item}", None, 200, tally, title)  # cached
            if sequence % 5 == 0:
                await _request(http, "GET", "/items?limit=5", None, 200, tally, None)


async def _request(
    http: httpx.AsyncClient,
    method: str,
    path: str,
    body: Any,
    expected: int,
    tally: Tally,
    title: str | None,
) -> None:
    started = time.monotonic()
    try:
        response = await http.request(method, path, json=body)
    except httpx.HTTPError as error:
        tally.errors.append(f"{method} {path}: {type(error).__name__}: {error}")
        return
    tally.latencies.append(time.monotonic() - started)
    tally.statuses[f"{method} {response.status_code}"] += 1
    if response.status_code != expected:
        tally.errors.append(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return
    if method == "POST" and title is not None:
        item_id = response.json()["id"]
        if title in tally.written:
            tally.errors.append(f"{title} answered 201 twice")
        tally.written[title] = item_id
    elif title is not None and response.json()["title"] != title:
        tally.errors.append(f"{path} returned {response.json()['title']!r}, not {title!r}")


async def _load(base_url: str, users: list[dict[str, str]]) -> tuple[Tally, float]:
    tally = Tally()
    started = time.monotonic()
    await asyncio.gather(*(_client(n, base_url, headers, tally) for n, headers in enumerate(users)))
    return tally, time.monotonic() - started


@pytest.mark.parametrize("workers", [1, 2])
def test_concurrent_writes_and_reads_lose_and_duplicate_nothing(
    workers: int,
    project: Path,
    postgres_server: Any,
    redis_server: Any,
    record_property: Any,
) -> None:
    env = service_env(
        DATABASE_URL=postgres_server.create_database(),
        REDIS_URL=redis_server.url_for_db(4),
        CACHE_PREFIX=f"load-{workers}:",
    )
    migrate(project, env)
    with Service(project, PG_REDIS_JWT.package, env, workers=workers) as service:
        users = [sign_up(service.client, f"load-{n}@example.com") for n in range(CLIENTS)]
        tally, elapsed = asyncio.run(_load(service.base_url, users))
        code = service.stop()
    log = service.log()
    assert code == 0, log[-4000:]
    assert_clean_log(log, supervisor_port=service.port if workers > 1 else None)
    if workers > 1:
        assert log.count("Application startup complete.") == workers, log[-4000:]

    rows = sql(env, "SELECT title, id FROM items ORDER BY id", postgres_server).splitlines()
    stored = [tuple(row.split("|")) for row in rows]
    titles = [title for title, _ in stored]
    duplicates = [title for title, count in Counter(titles).items() if count > 1]
    lost = sorted(set(tally.written) - set(titles))
    unexpected = sorted(set(titles) - set(tally.written))
    requests = sum(tally.statuses.values())
    latencies = sorted(tally.latencies)
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    figure(
        record_property,
        f"{workers} worker(s), {CLIENTS} clients for {elapsed:.1f}s: {requests} requests "
        f"({requests / elapsed:.0f}/s, p50 {p50:.0f}ms, p99 {p99:.0f}ms), "
        f"{len(tally.written)} writes answered 201, {len(stored)} rows: {len(lost)} lost, "
        f"{len(duplicates)} duplicated, {len(unexpected)} unexpected, "
        f"{len(tally.errors)} errors",
    )
    assert not tally.errors, tally.errors[:20]
    assert len(tally.written) == CLIENTS * SEQUENCES, tally.statuses  # every write was made
    assert not lost and not duplicates and not unexpected, (lost, duplicates, unexpected)
    assert {str(item) for item in tally.written.values()} == {row_id for _, row_id in stored}


# Requests that each need a database connection (the JWT user is loaded from it first).
NEED_THE_DATABASE: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/users/me", {}),
    ("POST", "/items", {"json": {"title": "while the pool is held"}}),
    ("GET", "/items?limit=5", {}),
    ("POST", "/auth/token", {"data": {"username": "pool@example.com", "password": PASSWORD}}),
]


@dataclass
class Exhaustion:
    held: httpx.Response  # the request that held the pool's only connection
    refused: list[tuple[str, httpx.Response, float]]  # path, answer, seconds
    ready: httpx.Response
    live: httpx.Response


async def _exhaust_the_pool(
    base_url: str, database_url: str, headers: dict[str, str]
) -> Exhaustion:
    """Hold the service's only pooled connection, then ask for more.

    The test locks the items table; a request that reads items then waits for the lock
    while holding the pool's connection. Nothing here depends on how fast anything is.
    """
    holder = await asyncpg.connect(database_url)
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute("LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120) as http:
            held = asyncio.create_task(http.get("/items"))
            await _until_someone_waits_for_the_lock(holder)
            refused = await asyncio.gather(
                *(
                    _timed(path, http.request(method, path, **body))
                    for method, path, body in NEED_THE_DATABASE
                )
            )
            ready = await http.get("/health/ready")
            live = await http.get("/health/live")
            await transaction.rollback()  # releases the lock: the held request goes on
            return Exhaustion(await held, refused, ready, live)
    finally:
        await holder.close()


async def _until_someone_waits_for_the_lock(connection: asyncpg.Connection) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        waiting = await connection.fetchval(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'items'::regclass"
        )
        if waiting:
            return
        await asyncio.sleep(0.02)  # polling interval, bounded by the deadline
    pytest.fail("no request came to wait for the items lock within 60s")


async def _timed(
    path: str, request: Awaitable[httpx.Response]
) -> tuple[str, httpx.Response, float]:
    started = time.monotonic()
    response = await request
    return path, response, time.monotonic() - started


def test_pool_exhaustion_answers_prompt_503s(
    project: Path, postgres_server: Any, redis_server: Any, record_property: Any
) -> None:
    pool_timeout = 1.0
    database_url = postgres_server.create_database()
    env = service_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_server.url_for_db(4),
        CACHE_PREFIX="load-pool:",
        DB_POOL_SIZE="1",
        DB_MAX_OVERFLOW="0",
        DB_POOL_TIMEOUT=str(pool_timeout),
    )
    migrate(project, env)
    with Service(project, PG_REDIS_JWT.package, env) as service:
        headers = sign_up(service.client, "pool@example.com")
        outcome = asyncio.run(_exhaust_the_pool(service.base_url, database_url, headers))
        after = service.client.get("/users/me", headers=headers)
        code = service.stop()
    log = service.log()
    assert code == 0, log[-4000:]
    assert_clean_log(log)
    for path, response, seconds in outcome.refused:
        assert_problem(response, 503)
        assert response.headers["retry-after"], (path, response.headers)
        # It waited for the pool for DB_POOL_TIMEOUT, then gave up: it did not hang.
        assert seconds < hang_bound(pool_timeout), (path, seconds)
    assert outcome.ready.status_code == 503, outcome.ready.text
    checks = outcome.ready.json()["checks"]
    assert checks["database"]["status"] == "error" and checks["redis"]["status"] == "ok", checks
    assert outcome.live.status_code == 200
    assert outcome.held.status_code == 200, outcome.held.text  # served once the lock went
    assert outcome.held.json()["total"] == 0  # the refused POST wrote nothing
    assert after.status_code == 200, after.text  # and the service is fine afterwards
    slowest = max(seconds for _, _, seconds in outcome.refused)
    figure(
        record_property,
        f"pool of 1 held by a request waiting on a lock, DB_POOL_TIMEOUT {pool_timeout:g}s: "
        f"{len(outcome.refused)} requests needing the database answered 503 problem+json "
        f"with Retry-After in at most {slowest:.2f}s, readiness 503 naming the database, "
        "the held request served 200 once the lock was released",
    )
