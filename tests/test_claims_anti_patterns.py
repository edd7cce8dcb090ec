"""references/anti-patterns.md's claims about the installed FastAPI and redis-py.

Each test is named after the section that makes the claim.
"""

from __future__ import annotations

import asyncio
import warnings

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from redis.asyncio import Redis


def test_startup_and_shutdown_on_event_still_runs_with_a_deprecation_warning() -> None:
    app = FastAPI()
    ran: list[str] = []
    with pytest.warns(DeprecationWarning, match="on_event is deprecated"):

        @app.on_event("startup")
        async def startup() -> None:
            ran.append("startup")

        @app.on_event("shutdown")
        async def shutdown() -> None:
            ran.append("shutdown")

    async def run() -> None:
        async with LifespanManager(app):
            assert ran == ["startup"]

    asyncio.run(run())
    assert ran == ["startup", "shutdown"]


def test_startup_and_shutdown_redis_close_is_deprecated_for_aclose() -> None:
    async def run() -> None:
        client = Redis()  # no connection is made until a command runs
        with pytest.warns(DeprecationWarning, match="aclose"):
            await client.close()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            await client.aclose()

    asyncio.run(run())
