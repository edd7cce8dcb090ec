"""Tests of the real-server fixtures (tests/conftest.py) and tests/servers.py.

Every query goes through the async driver a generated app would use.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncmy
import asyncmy.errors
import asyncpg
import pytest
import redis.asyncio as aioredis
import redis.exceptions

import servers
from servers import (
    MariaDBServer,
    PostgresServer,
    RedisServer,
    Server,
    ServerError,
    require_binary,
)

# -- one round trip through each real driver -----------------------------------------


def pg_fetch(url: str, *statements: str) -> list[tuple[Any, ...]]:
    """Run the statements in order; return the rows of the last one."""

    async def run() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            for sql in statements[:-1]:
                await conn.execute(sql)
            return [tuple(row) for row in await conn.fetch(statements[-1])]
        finally:
            await conn.close()

    return asyncio.run(run())


def mysql_fetch(url: str, *statements: str) -> list[tuple[Any, ...]]:
    """Run the statements in order (autocommit); return the rows of the last one."""
    parts = urlsplit(url)

    async def run() -> list[tuple[Any, ...]]:
        conn = await asyncmy.connect(
            host=parts.hostname,
            port=parts.port,
            user=parts.username,
            password=parts.password or "",
            database=parts.path.lstrip("/"),
            autocommit=True,
            connect_timeout=5,
        )
        try:
            async with conn.cursor() as cursor:
                for sql in statements:
                    await cursor.execute(sql)
                return [tuple(row) for row in await cursor.fetchall()]
        finally:
            conn.close()

    return asyncio.run(run())


def redis_call(url: str, command: str, *args: Any) -> Any:
    async def run() -> Any:
        client = aioredis.from_url(url, socket_connect_timeout=5)
        try:
            return await client.execute_command(command, *args)
        finally:
            await client.aclose()

    return asyncio.run(run())


# -- shared servers -------------------------------------------------------------------


def test_postgres_answers_queries(postgres_server: PostgresServer) -> None:
    assert postgres_server.is_running
    [(user, version)] = pg_fetch(postgres_server.url, "SELECT current_user, version()")
    assert user == "postgres"
    assert version.startswith("PostgreSQL")


def test_postgres_create_database_gives_isolated_empty_databases(
    postgres_server: PostgresServer,
) -> None:
    url_a = postgres_server.create_database("isolation_a")
    url_b = postgres_server.create_database()
    assert url_a == f"postgresql://postgres@127.0.0.1:{postgres_server.port}/isolation_a"
    assert urlsplit(url_b).path.startswith("/test_")

    pg_fetch(url_a, "CREATE TABLE marker (x int)", "INSERT INTO marker VALUES (1)", "SELECT 1")
    tables = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'marker'"
    assert pg_fetch(url_a, tables) == [(1,)]
    assert pg_fetch(url_b, tables) == [(0,)]

    # The same name again gives a fresh, empty database.
    assert postgres_server.create_database("isolation_a") == url_a
    assert pg_fetch(url_a, tables) == [(0,)]


def test_postgres_databases_are_utf8(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database()
    assert pg_fetch(url, "SHOW server_encoding") == [("UTF8",)]


def test_mariadb_answers_queries(mariadb_server: MariaDBServer) -> None:
    assert mariadb_server.is_running
    [(user, version)] = mysql_fetch(mariadb_server.url, "SELECT current_user(), version()")
    assert user == "root@127.0.0.1"
    assert "MariaDB" in version


def test_mariadb_create_database_gives_isolated_empty_databases(
    mariadb_server: MariaDBServer,
) -> None:
    url_a = mariadb_server.create_database("isolation_a")
    url_b = mariadb_server.create_database()
    assert url_a == f"mysql://root@127.0.0.1:{mariadb_server.port}/isolation_a"

    mysql_fetch(url_a, "CREATE TABLE marker (x int)", "INSERT INTO marker VALUES (1)")
    tables = (
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = database() AND table_name = 'marker'"
    )
    assert mysql_fetch(url_a, tables) == [(1,)]
    assert mysql_fetch(url_b, tables) == [(0,)]

    assert mariadb_server.create_database("isolation_a") == url_a
    assert mysql_fetch(url_a, tables) == [(0,)]


def test_mariadb_databases_are_utf8mb4(mariadb_server: MariaDBServer) -> None:
    url = mariadb_server.create_database()
    assert mysql_fetch(url, "SELECT @@character_set_database") == [("utf8mb4",)]


def test_redis_databases_are_separate_and_flushall_clears_them(
    redis_server: RedisServer,
) -> None:
    db3, db4 = redis_server.url_for_db(3), redis_server.url_for_db(4)
    assert db3 == f"redis://127.0.0.1:{redis_server.port}/3"
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"

    redis_call(db3, "SET", "marker", "1")
    assert redis_call(db3, "GET", "marker") == b"1"
    assert redis_call(db4, "GET", "marker") is None

    redis_server.flushall()
    assert redis_call(db3, "GET", "marker") is None


def test_redis_rejects_databases_that_do_not_exist(redis_server: RedisServer) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        redis_server.url_for_db(16)


# -- outages on dedicated servers ----------------------------------------------------


def exercise_outage(
    server: Server,
    read: Callable[[], Any],
    expected: Any,
    errors: tuple[type[BaseException], ...],
    *,
    after_restart: Any,
) -> None:
    """stop() and kill() make clients fail; restart() brings the server back on its port."""
    port, directory = server.port, server.directory
    assert directory is not None and directory.is_dir()
    assert read() == expected

    server.stop()
    assert not server.is_running
    with pytest.raises(errors):
        read()
    server.restart()
    assert server.is_running and server.port == port
    assert read() == after_restart

    server.kill()
    assert not server.is_running
    with pytest.raises(errors):
        read()
    server.restart()
    assert server.is_running and server.port == port
    assert read() == after_restart

    server.close()
    assert not server.is_running
    assert not directory.exists()


def test_postgres_stop_kill_restart(fresh_postgres_server: Callable[..., PostgresServer]) -> None:
    server = fresh_postgres_server()
    url = server.create_database("outage")
    pg_fetch(url, "CREATE TABLE marker (x int)", "INSERT INTO marker VALUES (42)", "SELECT 1")

    # Committed rows survive a graceful stop and a SIGKILL alike.
    exercise_outage(
        server,
        lambda: pg_fetch(url, "SELECT x FROM marker"),
        [(42,)],
        (OSError, asyncpg.PostgresError),
        after_restart=[(42,)],
    )


def test_mariadb_stop_kill_restart(fresh_mariadb_server: Callable[..., MariaDBServer]) -> None:
    server = fresh_mariadb_server()
    url = server.create_database("outage")
    mysql_fetch(url, "CREATE TABLE marker (x int)", "INSERT INTO marker VALUES (42)")

    exercise_outage(
        server,
        lambda: mysql_fetch(url, "SELECT x FROM marker"),
        [(42,)],
        (asyncmy.errors.OperationalError,),
        after_restart=[(42,)],
    )


def test_redis_stop_kill_restart(fresh_redis_server: Callable[..., RedisServer]) -> None:
    server = fresh_redis_server()
    url = server.url_for_db(1)
    redis_call(url, "SET", "marker", "42")

    # Redis runs without persistence: it comes back empty.
    exercise_outage(
        server,
        lambda: redis_call(url, "GET", "marker"),
        b"42",
        (redis.exceptions.ConnectionError,),
        after_restart=None,
    )


def test_fresh_servers_are_separate_instances(
    fresh_redis_server: Callable[..., RedisServer], redis_server: RedisServer
) -> None:
    first, second = fresh_redis_server(), fresh_redis_server()
    assert len({first.port, second.port, redis_server.port}) == 3
    first.kill()
    assert second.is_running and redis_server.is_running


# -- start-up problems and clean-up ----------------------------------------------------


@pytest.fixture
def redis_binary() -> str:
    return require_binary(RedisServer.tool_path("redis-server"), "these tests start Redis")


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_start_retries_on_a_port_another_process_took(
    redis_binary: str, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    offered: list[int] = []
    real_free_port = servers._free_port

    def racy_free_port() -> int:
        # The first "free" port is the one someone else is listening on.
        offered.append(taken_port if not offered else real_free_port())
        return offered[-1]

    monkeypatch.setattr(servers, "_free_port", racy_free_port)
    with RedisServer() as server:
        assert offered[0] == taken_port
        assert server.port == offered[-1] != taken_port
        assert "Address already in use" in server.log_path.read_text()
        assert redis_call(server.url, "PING") is True


def test_failed_start_reports_the_log_and_cleans_up(redis_binary: str) -> None:
    server = RedisServer(extra_args=["--no-such-directive", "yes"])
    with pytest.raises(ServerError, match="exited with code") as failure, server:
        pass
    assert "Last lines of its log" in str(failure.value)
    assert "no-such-directive" in str(failure.value)
    assert server.directory is None


def test_atexit_safety_net_kills_servers_left_running(redis_binary: str) -> None:
    # A run that exits without closing its server (as an interrupted one would).
    script = (
        "import servers\n"
        "server = servers.RedisServer().start()\n"
        "print(server.port, server.directory, flush=True)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(servers.__file__).parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    port, directory = result.stdout.split()
    assert not Path(directory).exists()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", int(port))):
        pass


def test_unstarted_server_has_no_url() -> None:
    with pytest.raises(ServerError, match="has not been started"):
        _ = PostgresServer().url


@pytest.mark.parametrize("name", ["", "1abc", "a-b", 'x"; DROP', "a" * 64])
def test_create_database_rejects_unsafe_names(name: str) -> None:
    with pytest.raises(ValueError, match="must be 1-63 letters"):
        servers._database_name(name)


# -- require_binary -------------------------------------------------------------------


def test_require_binary_returns_the_full_path() -> None:
    assert require_binary("sh", "the shell is needed") == shutil.which("sh")


@pytest.mark.parametrize("program", ["no-such-server-binary", "/nonexistent/bin/initdb"])
def test_require_binary_skips_locally(program: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="is not installed, and the test needs it"):
        require_binary(program, "the test needs it")


@pytest.mark.parametrize("ci", ["true", "TRUE"])
def test_require_binary_fails_on_ci(ci: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="CI=true, so this is a failure"):
        require_binary("no-such-server-binary", "the test needs it")


def test_require_binary_skips_when_ci_is_not_true(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        require_binary("no-such-server-binary", "the test needs it")
