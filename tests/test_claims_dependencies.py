"""references/dependencies.md's claims about the installed FastAPI.

Each test is named after the section that makes the claim.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.utils import get_dependant
from fastapi.exceptions import DependencyScopeError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


async def get_db() -> AsyncIterator[str]:
    yield "session"


SessionDep = Annotated[str, Depends(get_db, scope="function")]


async def audit(session: SessionDep) -> AsyncIterator[str]:
    yield f"audited {session}"


def test_why_scope_function_a_request_scoped_yield_dependency_cannot_take_session_dep() -> None:
    app = FastAPI()
    with pytest.raises(DependencyScopeError, match='"audit" has a scope of "request"'):

        @app.get("/refused")
        async def refused(entry: Annotated[str, Depends(audit)]) -> str:
            return entry


def test_why_scope_function_a_function_scoped_one_can() -> None:
    app = FastAPI()

    @app.get("/accepted")
    async def accepted(entry: Annotated[str, Depends(audit, scope="function")]) -> str:
        return entry

    async def run() -> str:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return str((await client.get("/accepted")).json())

    assert asyncio.run(run()) == "audited session"


def test_concurrency_limits_depends_has_max_concurrency() -> None:
    assert "max_concurrency" in inspect.signature(Depends).parameters


def _peak_concurrency(app: FastAPI, paths: list[str]) -> int:
    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            responses = await asyncio.gather(*(client.get(path) for path in paths))
        assert [r.status_code for r in responses] == [200] * len(paths), responses[0].text

    asyncio.run(run())
    return int(app.state.peak)


def _limited_app(*, shared: bool) -> FastAPI:
    """Routes /a and /b whose dependency records how many run at once."""
    app = FastAPI()
    app.state.active = app.state.peak = 0

    async def scarce() -> AsyncIterator[None]:
        app.state.active += 1
        app.state.peak = max(app.state.peak, app.state.active)
        for _ in range(5):  # give the other requests turns while this one holds a slot
            await asyncio.sleep(0)
        app.state.active -= 1
        yield

    first = Depends(scarce, max_concurrency=1)
    second = first if shared else Depends(scarce, max_concurrency=1)

    @app.get("/a", dependencies=[first])
    async def a() -> None:
        return None

    @app.get("/b", dependencies=[second])
    async def b() -> None:
        return None

    return app


def test_concurrency_limits_max_concurrency_is_per_depends_object() -> None:
    paths = ["/a", "/b"] * 3
    assert _peak_concurrency(_limited_app(shared=True), paths) == 1
    # Two Depends objects, even for the same function, count separately.
    assert _peak_concurrency(_limited_app(shared=False), paths) == 2


def test_routes_that_only_read_the_read_engine_shares_the_engines_pool(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    read_engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def run() -> tuple[int, int, bool]:
        async with read_engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        # The read engine's connection went back to the engine's own pool...
        returned = engine.pool.checkedin()
        await engine.dispose()
        # ...so disposing of the engine closed it, and both now share the fresh pool.
        return returned, engine.pool.checkedin(), read_engine.pool is engine.pool

    assert asyncio.run(run()) == (1, 0, True)


def test_what_each_dependency_costs_a_request_parameter_is_not_a_dependency() -> None:
    async def get_reader(request: Request) -> str:
        return str(request.url)

    dependant = get_dependant(path="/", call=get_reader)
    assert dependant.request_param_name == "request"
    assert dependant.dependencies == []
