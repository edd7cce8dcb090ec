"""references/backpressure.md against real servers: uvicorn's --limit-concurrency, and
statement timeouts, lock timeouts and cancellation on PostgreSQL.

The complete example (load shedding, deadlines) runs in test_references.py.
"""

from __future__ import annotations

import asyncio
import http.client
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from reference_blocks import WAIT_LIMIT, blocks, load, served, wait_until
from servers import PostgresServer
from service import Service

# A raw ASGI app: /hold answers its first line, then waits for the client to go away.
HOLD_APP = """
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    if scope["path"] != "/hold":
        await send({"type": "http.response.body", "body": b"ok"})
        return
    await send({"type": "http.response.body", "body": b"started\\n", "more_body": True})
    while (await receive())["type"] != "http.disconnect":
        pass
"""


def _limit_from_the_reference() -> int:
    (line,) = [code for code in blocks("backpressure.md", "sh") if "--limit-concurrency" in code]
    match = re.search(r"--limit-concurrency (\d+)", line)
    assert match
    return int(match.group(1))


@pytest.fixture
def hold_server(tmp_path: Path) -> Iterator[Service]:
    limit = str(_limit_from_the_reference())
    # Idle connections must stay open for the test: a long keep-alive timeout.
    service = served(tmp_path, "holdapp", HOLD_APP, "--limit-concurrency", limit,
                     "--timeout-keep-alive", "120")  # fmt: skip
    with service:
        service.client.close()  # its idle keep-alive connection would count
        yield service


def _connection(service: Service) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", service.port, timeout=WAIT_LIMIT)


def _get(connection: http.client.HTTPConnection, path: str) -> tuple[int, str, bytes]:
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.getheader("content-type") or "", response.read()


def _hold(service: Service) -> http.client.HTTPConnection:
    """A connection whose request is in progress in the app (its first line arrived)."""
    connection = _connection(service)
    connection.request("GET", "/hold")
    response = connection.getresponse()
    assert response.status == 200 and response.read(8) == b"started\n"
    return connection


def _served_on_a_new_connection(service: Service) -> http.client.HTTPConnection | None:
    connection = _connection(service)
    if _get(connection, "/")[0] == 200:
        return connection  # kept open, idle, keep-alive
    connection.close()
    return None


def test_limit_concurrency_refuses_when_n_minus_one_others_are_open(
    hold_server: Service,
) -> None:
    limit = _limit_from_the_reference()
    holds = [_hold(hold_server) for _ in range(limit - 1)]
    try:
        for path in ("/", "/health/live"):  # probes are refused like everything else
            connection = _connection(hold_server)
            status, content_type, body = _get(connection, path)
            connection.close()
            assert (status, content_type, body) == (
                503,
                "text/plain; charset=utf-8",
                b"Service Unavailable",
            )
    finally:
        for connection in holds:
            connection.close()
    # The 503 came from uvicorn, not the app: only uvicorn's warning is in the log.
    assert "Exceeded concurrency limit." in hold_server.log()


def test_idle_keep_alive_connections_use_up_the_limit(hold_server: Service) -> None:
    limit = _limit_from_the_reference()
    idle: list[http.client.HTTPConnection] = []
    try:
        for _ in range(limit - 1):
            # Each finished its request and stays open, as a proxy's pooled connection does.
            found: list[http.client.HTTPConnection] = []

            def served(found: list[http.client.HTTPConnection] = found) -> bool:
                connection = _served_on_a_new_connection(hold_server)
                found.extend([connection] if connection else [])
                return bool(found)

            wait_until(served, "a request served on a new connection")
            idle.extend(found)
        # No request is in progress, yet the next one is refused.
        connection = _connection(hold_server)
        assert _get(connection, "/")[0] == 503
        connection.close()
    finally:
        for connection in idle:
            connection.close()


# ----------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="module")
def timeouts() -> Any:
    return load("backpressure.md", defining="postgres_timeouts", name="reference_timeouts")


@pytest.fixture
def database_url(postgres_server: PostgresServer) -> str:
    url = postgres_server.create_database("timeouts")
    return url.replace("postgresql://", "postgresql+asyncpg://")


def _sleeping(server: PostgresServer) -> int:
    sql = (
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE state = 'active' AND query LIKE 'SELECT pg_sleep(600)%'"
    )
    return int(server.execute(sql).strip())


async def _show(engine: AsyncEngine, setting: str) -> str:
    async with engine.connect() as connection:
        return str(await connection.scalar(text(f"SHOW {setting}")))


def test_the_reference_engine_sets_both_timeouts_and_set_local_lasts_one_transaction(
    timeouts: Any, database_url: str
) -> None:
    async def check() -> None:
        engine = timeouts.create_engine(database_url)
        try:
            assert await _show(engine, "statement_timeout") == "5s"
            assert await _show(engine, "lock_timeout") == "1s"
            async with timeouts.AsyncSession(engine) as session, session.begin():
                await timeouts.allow_longer(session, 60_000)
                assert await session.scalar(text("SHOW statement_timeout")) == "1min"
            # The pool hands out the same connection: the setting did not stay on it.
            assert engine.pool.checkedin() == 1
            assert await _show(engine, "statement_timeout") == "5s"
        finally:
            await engine.dispose()

    asyncio.run(check())


def test_statement_and_lock_timeouts_are_dbapi_errors_not_operational_errors(
    timeouts: Any, database_url: str
) -> None:
    async def check() -> None:
        engine = create_async_engine(
            database_url, connect_args=timeouts.postgres_timeouts(statement_ms=100, lock_ms=100)
        )
        try:
            async with engine.connect() as connection:
                with pytest.raises(DBAPIError) as statement:
                    await connection.execute(text("SELECT pg_sleep(600)"))
                await connection.rollback()
                assert await connection.scalar(text("SELECT 1")) == 1  # still usable
            assert not isinstance(statement.value, OperationalError)
            assert statement.value.orig.sqlstate == "57014"  # type: ignore[union-attr]
            assert "statement timeout" in str(statement.value.orig)

        finally:
            await engine.dispose()
        # lock_timeout below statement_timeout, or the statement timeout fires first.
        engine = create_async_engine(
            database_url, connect_args=timeouts.postgres_timeouts(statement_ms=60_000, lock_ms=100)
        )
        try:
            async with engine.begin() as holder:
                await holder.execute(text("CREATE TABLE t (id int PRIMARY KEY)"))
                await holder.execute(text("INSERT INTO t VALUES (1)"))
            async with engine.connect() as holder, engine.connect() as waiter:
                await holder.execute(text("UPDATE t SET id = 1 WHERE id = 1"))  # row lock
                with pytest.raises(DBAPIError) as lock:
                    await waiter.execute(text("UPDATE t SET id = 1 WHERE id = 1"))
            assert not isinstance(lock.value, OperationalError)
            assert lock.value.orig.sqlstate == "55P03"  # type: ignore[union-attr]
        finally:
            await engine.dispose()

    asyncio.run(check())


def test_command_timeout_and_cancellation_stop_the_statement_on_the_server(
    postgres_server: PostgresServer, database_url: str
) -> None:
    async def command_timeout() -> None:
        engine = create_async_engine(database_url, connect_args={"command_timeout": 0.2})
        try:
            async with engine.connect() as connection:
                with pytest.raises(TimeoutError):
                    await connection.execute(text("SELECT pg_sleep(600)"))
        finally:
            await engine.dispose()

    async def cancelled() -> None:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as connection:
                with pytest.raises(TimeoutError):
                    async with asyncio.timeout(0.2):  # a per-request deadline
                        await connection.execute(text("SELECT pg_sleep(600)"))
        finally:
            await engine.dispose()

    for run in (command_timeout, cancelled):
        asyncio.run(run())
        # Without a cancel request the statement would sleep on for ten minutes.
        wait_until(lambda: _sleeping(postgres_server) == 0, f"{run.__name__}: no pg_sleep")
