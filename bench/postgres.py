"""A throwaway PostgreSQL for variant e, pinned to the server CPU like the app it serves.

Reuses the suite's server library (tests/servers.py): free loopback port, private data
directory, runs as the `postgres` user under root, removed on close().
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from server import SERVER_CPU
from servers import PostgresServer

# pg_stat_statements loaded at start, so bench/dbpath.py can count statements per request.
STATEMENT_STATS = ("-c", "shared_preload_libraries=pg_stat_statements")


class PinnedPostgres(PostgresServer):
    """PostgreSQL whose processes share CPU 0 with uvicorn: wrk keeps CPU 1 to itself."""

    def _command(self, port: int) -> list[str]:
        return ["taskset", "-c", SERVER_CPU, *super()._command(port)]


def postgres_binary() -> str:
    return PostgresServer.tool_path("postgres")


def available() -> bool:
    return all(Path(PostgresServer.tool_path(tool)).is_file() for tool in PostgresServer.TOOLS)
