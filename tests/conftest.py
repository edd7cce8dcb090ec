"""Shared pytest fixtures for the whole suite."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from servers import MariaDBServer, PostgresServer, RedisServer, Server
from servers import require_binary as require_binary  # re-exported for other fixtures
from wheel import build_wheel

# ===================================================================================
# Real database servers (PostgreSQL, MariaDB, Redis) -- see tests/servers.py
#
# Session-scoped servers are shared by every test of a pytest(-xdist) worker and are
# started only when a test asks for them; use create_database() / url_for_db() for
# isolation. Outage tests that stop, kill or restart a server call a fresh_*_server
# factory instead, which gives them their own instance and closes it afterwards:
#
#     def test_db_outage(fresh_postgres_server):
#         pg = fresh_postgres_server()
#         url = pg.create_database("app")
#         pg.kill()
#
# A missing server program skips these tests locally and fails them when CI=true.
# ===================================================================================

ServerT = TypeVar("ServerT", bound=Server)


def _require_tools(server_class: type[Server]) -> None:
    for tool in server_class.TOOLS:
        require_binary(
            server_class.tool_path(tool),
            f"the {server_class.kind} fixtures need it to run a throwaway server",
        )


def _shared_server(server_class: type[ServerT]) -> Iterator[ServerT]:
    _require_tools(server_class)
    with server_class() as server:
        yield server


def _server_factory(server_class: type[ServerT]) -> Iterator[Callable[..., ServerT]]:
    _require_tools(server_class)
    with contextlib.ExitStack() as servers:

        def make(**options: Any) -> ServerT:
            # Options go to the constructor, e.g. extra_args=["-c", "max_connections=5"].
            server = server_class(**options)
            servers.enter_context(server)  # starts it now, closes it after the test
            return server

        yield make


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A running PostgreSQL shared by the session; get a database with create_database()."""
    yield from _shared_server(PostgresServer)


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[MariaDBServer]:
    """A running MariaDB shared by the session; get a database with create_database()."""
    yield from _shared_server(MariaDBServer)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A running Redis shared by the session; pick a database with url_for_db(n)."""
    yield from _shared_server(RedisServer)


@pytest.fixture
def fresh_postgres_server() -> Iterator[Callable[..., PostgresServer]]:
    """Call it to get a started PostgreSQL of the test's own; closed after the test."""
    yield from _server_factory(PostgresServer)


@pytest.fixture
def fresh_mariadb_server() -> Iterator[Callable[..., MariaDBServer]]:
    """Call it to get a started MariaDB of the test's own; closed after the test."""
    yield from _server_factory(MariaDBServer)


@pytest.fixture
def fresh_redis_server() -> Iterator[Callable[..., RedisServer]]:
    """Call it to get a started Redis of the test's own; closed after the test."""
    yield from _server_factory(RedisServer)


# ===================================================================================
# (Other fixtures go below this line, in their own sections.)
# ===================================================================================


# ===================================================================================
# The bundle's wheel (tests/wheel.py), built once per session; tests using it share the
# "packaging" xdist group so a single worker builds it.
# ===================================================================================


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


# ===================================================================================
# Reliability figures (tests/test_reliability_*.py): each test records its measurements
# with record_property("reliability", text); the run prints them all at the end, also
# under pytest-xdist, whose workers send the properties back with their reports.
# ===================================================================================


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = [
        f"{report.nodeid.split('::')[-1]}: {value}"
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", [])
        if name == "reliability"
    ]
    if lines:
        terminalreporter.write_sep("-", "reliability figures")
        for line in lines:
            terminalreporter.write_line(line)
