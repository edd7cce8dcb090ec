"""references/existing-apps.md's claims about the installed FastAPI.

Each test is named after the section that makes the claim.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI


def test_lifespan_on_event_hooks_are_ignored_when_the_app_has_a_lifespan() -> None:
    ran: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ran.append("lifespan")
        yield

    app = FastAPI(lifespan=lifespan)
    with pytest.warns(DeprecationWarning, match="on_event is deprecated"):

        @app.on_event("startup")
        async def startup() -> None:
            ran.append("on_event hook")

    async def run() -> None:
        async with LifespanManager(app):
            pass

    asyncio.run(run())
    assert ran == ["lifespan"]
