"""Issue 6.6: SIGTERM with requests in flight, and what the lifespan closes on the way out.

In flight, for real: a test session locks the items table, so writes sent to the service
(through its own entry point, `python -m package`) wait inside PostgreSQL; the test sees
them waiting in pg_stat_activity, sends SIGTERM, sees the listener close, and only then
releases the lock. The writes must complete with 201 and be stored, the process must
exit 0 with a clean log (ResourceWarning shown), and PostgreSQL must see every one of the
service's connections closed properly (at DEBUG1 it logs "unexpected EOF on client
connection" for one that was just dropped; a SIGKILLed run is the control).

Closed, seen from the servers: a script builds the app in-process, runs its lifespan,
and counts the service's PostgreSQL sessions, Redis clients and SQLite file handles while
it runs and after the lifespan has ended.
"""

from __future__ import annotations

import dataclasses
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import httpx
import pytest

from combos import Combo
from reliability import (
    PG_REDIS_JWT,
    SQLITE_DEFAULT,
    assert_clean_log,
    database_name,
    figure,
    generate,
    migrate,
    poll,
    service_env,
    sign_up,
    sqlite_url,
)
from servers import PostgresServer
from service import Service, run

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("rel-shutdown")]

IN_FLIGHT = 4
DIRTY_CLOSE = "unexpected EOF on client connection"
# What each server logs once it has begun its graceful shutdown.
SHUTDOWN_BEGUN = {"uvicorn": "Waiting for application shutdown.", "granian": "Stopping worker-1"}


def _lock_items(postgres: PostgresServer, database: str) -> subprocess.Popen[str]:
    """A psql session holding an exclusive lock on items until it is sent COMMIT."""
    holder = subprocess.Popen(
        [
            PostgresServer.tool_path("psql"),
            "-X", "-q", "-v", "ON_ERROR_STOP=1",
            "-h", postgres.host, "-p", str(postgres.port), "-U", postgres.user, "-d", database,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    assert holder.stdin is not None
    holder.stdin.write("BEGIN;\nLOCK TABLE items IN ACCESS EXCLUSIVE MODE;\n")
    holder.stdin.flush()
    return holder


def _count(postgres: PostgresServer, database: str, where: str) -> int:
    return int(postgres.execute(f"SELECT count(*) FROM pg_stat_activity WHERE {where}", database))


def _lock_granted(postgres: PostgresServer, database: str) -> bool:
    granted = postgres.execute(
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
        " WHERE c.relname = 'items' AND l.mode = 'AccessExclusiveLock' AND l.granted",
        database,
    )
    return int(granted) == 1


def _refuses_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except OSError:
        return True


@pytest.mark.parametrize("server", list(SHUTDOWN_BEGUN))
def test_sigterm_lets_in_flight_requests_finish_and_exits_cleanly(
    server: str,
    tmp_path_factory: pytest.TempPathFactory,
    fresh_postgres_server: Any,
    redis_server: Any,
    record_property: Any,
) -> None:
    combo = dataclasses.replace(PG_REDIS_JWT, server=server)
    project = generate(combo, tmp_path_factory, "shutdown")
    postgres = fresh_postgres_server(extra_args=["-c", "log_min_messages=debug1"])
    url = postgres.create_database("app")
    database = database_name(url)
    env = service_env(
        DATABASE_URL=url,
        REDIS_URL=redis_server.url_for_db(6),
        CACHE_PREFIX="shutdown:",
        GRACEFUL_SHUTDOWN_SECONDS="30",
    )
    migrate(project, env)
    service = Service(project, combo.package, env, server=server)
    with service:
        headers = sign_up(service.client, "shutdown@example.com")
        assert (
            service.client.post("/items", json={"title": "warm"}, headers=headers).status_code
            == 201
        )
        holder = _lock_items(postgres, database)
        try:
            poll(lambda: _lock_granted(postgres, database), 10, "the lock is held")
            answers: dict[str, httpx.Response | BaseException] = {}

            def write(title: str) -> None:
                try:
                    with httpx.Client(base_url=service.base_url, timeout=60) as own:
                        answers[title] = own.post("/items", json={"title": title}, headers=headers)
                except BaseException as error:  # reported by the assertions below
                    answers[title] = error

            titles = [f"in flight {n}" for n in range(IN_FLIGHT)]
            threads = [threading.Thread(target=write, args=(title,)) for title in titles]
            for thread in threads:
                thread.start()
            poll(
                lambda: _count(postgres, database, "wait_event_type = 'Lock'") == IN_FLIGHT,
                20,
                f"{IN_FLIGHT} writes waiting for the lock",
            )
            log_offset = postgres.log_path.stat().st_size
            assert service.process is not None
            service.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            poll(lambda: _refuses_connections(service.port), 20, "the listener closes")
            assert service.process.poll() is None, "exited with requests in flight"
            held = time.monotonic() - signalled
            assert holder.stdin is not None
            holder.stdin.write("COMMIT;\n")
            holder.stdin.close()
            for thread in threads:
                thread.join(60)
            code = service.process.wait(60)
            drained = time.monotonic() - signalled
        finally:
            holder.kill()
            holder.wait()
            if holder.stdin is not None:
                holder.stdin.close()
    log = service.log()
    assert code == 0, log[-4000:]
    assert_clean_log(log)
    assert SHUTDOWN_BEGUN[server] in log, log[-3000:]
    assert re.search(r'"event": ?"shutdown"', log), log[-3000:]  # the lifespan's last line
    for title in titles:
        answer = answers[title]
        assert isinstance(answer, httpx.Response), (title, answer)
        assert answer.status_code == 201, (title, answer.text)
    stored = postgres.execute("SELECT title FROM items ORDER BY id", database).splitlines()
    assert sorted(stored) == sorted(["warm", *titles]), stored
    server_log = postgres.log_path.read_text(errors="replace")[log_offset:]
    assert DIRTY_CLOSE not in server_log, server_log[-3000:]

    # Control: the same service SIGKILLed leaves PostgreSQL a dropped connection to log.
    killed = Service(project, combo.package, env, server=server)
    with killed:
        assert killed.client.get("/users/me", headers=headers).status_code == 200
        offset = postgres.log_path.stat().st_size
        killed.kill()
    poll(
        lambda: DIRTY_CLOSE in postgres.log_path.read_text(errors="replace")[offset:],
        10,
        "PostgreSQL logs the SIGKILLed service's dropped connection",
    )
    figure(
        record_property,
        f"{server}, SIGTERM with {IN_FLIGHT} writes in flight (waiting on a table lock):"
        f" listener closed {held:.2f}s after the signal, all {IN_FLIGHT} completed 201 and"
        f" stored, exit 0 {drained:.2f}s after the signal, no connection dropped (control:"
        " SIGKILL drops one), no unclosed/never-awaited warnings",
    )


DISPOSAL_SCRIPT = """
import asyncio
import json
import os
from pathlib import Path

from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient

from {package}.core.config import Settings
from {package}.main import create_app


async def counts(settings):
    result = {{}}
    url = settings.database_url
    if url.startswith("postgresql"):
        import asyncpg

        connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        result["postgres_sessions"] = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        await connection.close()
    else:
        database = os.path.realpath(url.split("///", 1)[1])
        fds = Path("/proc/self/fd")
        result["sqlite_handles"] = sum(
            1 for fd in fds.iterdir() if os.path.realpath(fd) == database
        )
    if os.environ.get("REDIS_URL"):
        from redis.asyncio import Redis

        client = Redis.from_url(settings.redis_url)
        result["redis_clients"] = len(await client.client_list()) - 1  # not this one
        await client.aclose()
    return result


async def main():
    settings = Settings()
    app = create_app(settings)
    report = {{"before": await counts(settings)}}
    async with LifespanManager(app) as manager:
        transport = ASGITransport(app=manager.app)
        async with AsyncClient(transport=transport, base_url="http://test") as http:
            account = {{"email": "close@example.com", "password": "closing-password-1"}}
            assert (await http.post("/users", json=account)).status_code == 201
            form = {{"username": account["email"], "password": account["password"]}}
            token = (await http.post("/auth/token", data=form)).json()["access_token"]
            headers = {{"Authorization": f"Bearer {{token}}"}}
            created = await http.post("/items", json={{"title": "x"}}, headers=headers)
            await http.get(f"/items/{{created.json()['id']}}", headers=headers)
            ready = await http.get("/health/ready")
            assert ready.status_code == 200, ready.text
            report["running"] = await counts(settings)
    report["after"] = await counts(settings)
    print(json.dumps(report))


asyncio.run(main())
"""


@pytest.mark.parametrize("combo", [PG_REDIS_JWT, SQLITE_DEFAULT], ids=lambda c: c.id)
def test_lifespan_end_disposes_the_engine_and_closes_redis(
    combo: Combo,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
    record_property: Any,
) -> None:
    project = generate(combo, tmp_path_factory, "dispose")
    if combo.db == "postgresql":
        env = service_env(DATABASE_URL=request.getfixturevalue("postgres_server").create_database())
    else:
        env = service_env(DATABASE_URL=sqlite_url(project))
    if combo.redis:
        # A Redis database of its own is not enough: CLIENT LIST counts the whole server.
        env["REDIS_URL"] = request.getfixturevalue("fresh_redis_server")().url
    migrate(project, env)
    script = project.parent / "dispose.py"
    script.write_text(DISPOSAL_SCRIPT.format(package=combo.package))
    env["PYTHONPATH"] = str(project)
    env["PYTHONWARNINGS"] = "error::ResourceWarning"
    result = run([sys.executable, "-X", "dev", str(script)], project, env, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    report: dict[str, dict[str, int]] = json.loads(result.stdout.strip().splitlines()[-1])
    for resource, idle in report["before"].items():
        assert report["running"][resource] > idle, report  # the check can see them
        assert report["after"][resource] == idle, report  # and they are gone
    for alarm in ("unclosed", "Unclosed", "never awaited", "Task was destroyed"):
        assert alarm not in result.stderr, result.stderr[-4000:]
    figure(
        record_property,
        f"{combo.id}: lifespan end closed everything: "
        + ", ".join(
            f"{name} {report['running'][name]} -> {report['after'][name]}"
            for name in report["after"]
        ),
    )
