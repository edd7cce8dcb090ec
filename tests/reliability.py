"""Helpers for the reliability suite (tests/test_reliability_*.py).

The suite holds two generated combinations to the issue-6 bar: PostgreSQL + Redis + JWT
on real servers, and the SQLite default. These helpers generate and migrate a project,
point it at fresh databases, make users and tokens, poll with deadlines, check problem
documents, and record the figures the run prints at the end (see conftest.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from combos import TEST_SECRET, Combo
from servers import PostgresServer, Server
from service import base_env, run

PG_REDIS_JWT = Combo("postgresql", True, "jwt", "flat")
SQLITE_DEFAULT = Combo("sqlite", False, "jwt", "flat")
# The MySQL combination, run on MariaDB (test_reliability_mariadb.py and others).
MYSQL_REDIS_JWT = Combo("mysql", True, "jwt", "flat")
BIN = Path(sys.executable).parent
PASSWORD = "reliability-password-1"
PROBLEM_JSON = "application/problem+json"

# What must never reach a client: tracebacks, SQL statements, driver and library error
# classes, connection strings and the secret. Each pattern matches the internal thing, not
# a word a client may send and get back: an email address may well contain "sqlalchemy".
_DRIVERS = r"(?:sqlalchemy|asyncpg|aiosqlite|sqlite3|asyncmy|pymysql|psycopg2?|redis)"
LEAK_PATTERNS = tuple(
    re.compile(pattern)
    for pattern in (
        r"Traceback \(most recent call last\)",
        r'File "[^"\n]+", line \d+',
        r"site-packages/",
        # SQLAlchemy's error text around a statement, then the statements themselves.
        r"\[SQL: |\[parameters: |sqlalche\.me/e/",
        r"\bSELECT\b[^\n]{0,200}\bFROM\b",
        r"\bINSERT INTO\b",
        r"\bUPDATE \S+ SET\b",
        r"\bDELETE FROM\b",
        # A driver's exception class, qualified ("asyncpg.exceptions.UniqueViolationError",
        # "(sqlite3.IntegrityError)") or as the DB-API and SQLAlchemy name it.
        rf"\b{_DRIVERS}(?:\.\w+)*\.[A-Z]\w*(?:Error|Exception|Violation)",
        r"\b(?:DBAPI|Integrity|Operational|Programming|Interface|NotSupported|Redis)Error\b",
        r"\b(?:UniqueViolation|ForeignKeyViolation|NotNullViolation)Error\b",
        # Connection strings, with or without a driver suffix.
        r"\b(?:postgres(?:ql)?|mysql|mariadb|sqlite|rediss?)(?:\+\w+)?://",
        re.escape(TEST_SECRET),
    )
)
# What must never appear in a service's log: Python's own reports of leaked resources
# and coroutines (ResourceWarning is shown because service_env() turns it on).
LOG_ALARMS = ("Traceback", "unclosed", "Unclosed", "never awaited", "Task was destroyed")


def generate(combo: Combo, tmp_path_factory: pytest.TempPathFactory, label: str) -> Path:
    return combo.generate(tmp_path_factory.mktemp(f"{label}-{combo.id}") / combo.name)


def service_env(**values: str) -> dict[str, str]:
    """base_env() plus the test secret, with ResourceWarning (unclosed sockets,
    connections, transports) printed instead of ignored, so a leak shows in the log."""
    env = base_env(SECRET_KEY=TEST_SECRET, PYTHONWARNINGS="always::ResourceWarning")
    env.update(values)
    return env


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'app.db'}"


def migrate(project: Path, env: dict[str, str]) -> None:
    result = run([str(BIN / "alembic"), "upgrade", "head"], project, env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def sql(env: dict[str, str], statement: str, postgres: PostgresServer | None = None) -> str:
    """Run one SQL statement on the service's database (PostgreSQL or a SQLite file)."""
    url = env["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            rows = connection.execute(statement).fetchall()
        connection.close()
        return "\n".join("|".join(str(value) for value in row) for row in rows)
    assert postgres is not None, "a PostgreSQL URL needs the server to run SQL on"
    return postgres.execute(statement, database=database_name(url)).strip()


def sign_up(client: httpx.Client, email: str) -> dict[str, str]:
    """Register a user and return the Authorization header of a fresh token."""
    created = client.post("/users", json={"email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    return log_in(client, email)


def log_in(client: httpx.Client, email: str) -> dict[str, str]:
    token = client.post("/auth/token", data={"username": email, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def promote(env: dict[str, str], email: str, postgres: PostgresServer | None = None) -> None:
    # There is no route that makes an administrator, by design; the database does.
    sql(env, f"UPDATE users SET is_admin = true WHERE email = '{email}'", postgres)


def poll(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Call `condition` until it is true; returns the seconds it took, fails after `timeout`."""
    started = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what}: not true within {timeout:g}s")
        time.sleep(0.02)  # polling interval, bounded by the deadline above


def assert_problem(response: httpx.Response, status: int | None = None) -> dict[str, Any]:
    """An RFC 9457 problem document that leaks nothing; returns its body."""
    if status is not None:
        assert response.status_code == status, (response.status_code, response.text)
    assert response.headers.get("content-type") == PROBLEM_JSON, (
        response.status_code,
        response.headers.get("content-type"),
        response.text,
    )
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code, body
    assert isinstance(body["title"], str) and body["title"], body
    assert_no_leak(response.text)
    return body


def assert_no_leak(text: str) -> None:
    """No internals in a response body. A problem document's `instance` is left out: it is
    the path the client itself sent, which a fuzzer may well fill with "psycopg"."""
    checked = text
    with contextlib.suppress(ValueError):
        document = json.loads(text)
        if isinstance(document, dict):
            document.pop("instance", None)
        checked = "\n".join(_strings(document))  # unescaped, so 'File "' can match
    for pattern in LEAK_PATTERNS:
        found = pattern.search(checked)
        assert found is None, f"{found.group()!r} leaked into a response: {text[:2000]}"


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    else:
        yield str(value)


def assert_clean_log(log: str, *, supervisor_port: int | None = None) -> None:
    """No alarm in the log. `supervisor_port`: the service ran several workers, and
    uvicorn's supervisor (0.54) never closes the listening socket it binds for them, so
    Python reports that one socket, on that port, at the supervisor's exit."""
    if supervisor_port is not None:
        upstream = (
            "ResourceWarning: unclosed <socket.socket fd=",
            f"laddr=('127.0.0.1', {supervisor_port})>",
        )
        lines = log.splitlines()
        log = "\n".join(
            line
            for line in lines
            if not all(part in line for part in upstream)
            and "Enable tracemalloc to get the object allocation traceback" not in line
        )
    for alarm in LOG_ALARMS:
        assert alarm not in log, f"{alarm!r} in the service log:\n{log[-6000:]}"


def figure(record_property: Callable[[str, object], None], text: str) -> None:
    """A figure for the closing note: printed in the run's summary (see conftest.py)."""
    record_property("reliability", text)
    print(text)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(pid):
            found.append(int(stat.parent.name))
    return found


@contextlib.contextmanager
def frozen(server: Server) -> Iterator[None]:
    """SIGSTOP a server and its child processes, SIGCONT them on exit.

    A frozen server keeps its connections open and accepts TCP connections (the kernel
    does) but never answers: a network partition or a stuck server, the outage where only
    timeouts help. PostgreSQL's backends are children in sessions of their own, so they
    are stopped one by one.
    """
    process = server._process  # servers.py has no pause(); the pid is all this needs
    assert process is not None and process.poll() is None, f"{server!r} is not running"
    pids = [process.pid, *_children(process.pid)]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
