"""Any benchmarked app, with its SQLite round trips counted (bench/dbpath.py serves this).

BENCH_TARGET names the app (`module:attribute`). Before importing it, aiosqlite's one
entry into its worker thread (`Connection._execute`: every execute, fetch, commit and
rollback passes there) is wrapped with a counter, so the count is the number of hops to
SQLite's thread, which is what a round trip is on SQLite. PostgreSQL statements are
counted by the server (pg_stat_statements) instead.

`GET /_bench/counters` answers the counts as JSON (with the requests the app has
answered and has in flight, so requests wrk left running are counted too) and
`GET /_bench/counters?reset=1` zeroes them; every other request goes to the app.
"""

from __future__ import annotations

import importlib
import json
import os
from typing import Any

import aiosqlite.core

_counts = {"sqlite_calls": 0, "requests": 0, "in_flight": 0}
_execute = aiosqlite.core.Connection._execute


async def _counted_execute(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
    _counts["sqlite_calls"] += 1
    return await _execute(self, fn, *args, **kwargs)


aiosqlite.core.Connection._execute = _counted_execute  # type: ignore[method-assign]

_module, _, _attribute = os.environ["BENCH_TARGET"].partition(":")
target = getattr(importlib.import_module(_module), _attribute)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope["path"] == "/_bench/counters":
        if b"reset=1" in scope["query_string"]:
            _counts["sqlite_calls"] = _counts["requests"] = 0
        body = json.dumps(_counts).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    if scope["type"] != "http":
        await target(scope, receive, send)
        return
    _counts["in_flight"] += 1
    try:
        await target(scope, receive, send)
    finally:
        _counts["in_flight"] -= 1
        _counts["requests"] += 1
