"""Issue 6.4: concurrent clients writing and reading against PostgreSQL, then counting rows.

CLIENTS clients, each its own user, write items and read them back (by id, through the
Redis cache, and as pages) for DURATION seconds on loopback. Afterwards the items table
must hold exactly the writes that were answered 201: nothing lost, nothing duplicated,
and no request may have failed. The same runs with two uvicorn workers sharing
PostgreSQL and Redis. A pool of one connection under a burst of logins must answer
prompt 503s, never hang.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

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
DURATION = 5.0


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(PG_REDIS_JWT, tmp_path_factory, "load")


@dataclass
class Tally:
    written: dict[str, int] = field(default_factory=dict)  # title -> id from the 201
    statuses: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


async def _client(
    number: int, base_url: str, headers: dict[str, str], deadline: float, tally: Tally
) -> None:
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as http:
        sequence = 0
        while time.monotonic() < deadline:
            sequence += 1
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
    deadline = started + DURATION
    await asyncio.gather(
        *(_client(n, base_url, headers, deadline, tally) for n, headers in enumerate(users))
    )
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
    assert len(tally.written) >= CLIENTS * 2, tally.statuses  # the load was real
    assert not lost and not duplicates and not unexpected, (lost, duplicates, unexpected)
    assert {str(item) for item in tally.written.values()} == {row_id for _, row_id in stored}


def test_pool_exhaustion_answers_prompt_503s(
    project: Path, postgres_server: Any, redis_server: Any, record_property: Any
) -> None:
    pool_timeout = 0.2
    env = service_env(
        DATABASE_URL=postgres_server.create_database(),
        REDIS_URL=redis_server.url_for_db(4),
        CACHE_PREFIX="load-pool:",
        DB_POOL_SIZE="1",
        DB_MAX_OVERFLOW="0",
        DB_POOL_TIMEOUT=str(pool_timeout),
    )
    migrate(project, env)
    burst = 12
    with Service(project, PG_REDIS_JWT.package, env) as service:
        headers = sign_up(service.client, "pool@example.com")

        async def log_in_at_once() -> list[tuple[httpx.Response, float]]:
            # A login holds its connection while argon2 verifies the password (~50 ms),
            # so a burst of them needs more connections than the pool of one has.
            async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as http:

                async def one() -> tuple[httpx.Response, float]:
                    started = time.monotonic()
                    form = {"username": "pool@example.com", "password": PASSWORD}
                    response = await http.post("/auth/token", data=form)
                    return response, time.monotonic() - started

                return await asyncio.gather(*(one() for _ in range(burst)))

        answers = asyncio.run(log_in_at_once())
        statuses = Counter(response.status_code for response, _ in answers)
        refused = [seconds for response, seconds in answers if response.status_code == 503]
        for response, _ in answers:
            if response.status_code == 503:
                assert_problem(response, 503)
                assert response.headers["retry-after"]
        after = service.client.get("/users/me", headers=headers)
        code = service.stop()
    log = service.log()
    assert code == 0, log[-4000:]
    assert_clean_log(log)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[503] >= 1 and statuses[200] >= 1, statuses
    # Each refusal waited for the pool at most DB_POOL_TIMEOUT, plus the queue in front of
    # it (the argon2 threads and a busy event loop on two cores).
    assert max(refused) < pool_timeout + 2.0, refused
    assert after.status_code == 200, after.text  # and the service is fine afterwards
    figure(
        record_property,
        f"pool of 1, DB_POOL_TIMEOUT {pool_timeout}s, {burst} simultaneous logins: "
        f"{statuses[200]} x 200, {statuses[503]} x 503 problem+json in at most "
        f"{max(refused):.2f}s, no 500, no hang",
    )
