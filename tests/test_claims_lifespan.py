"""references/lifespan.md's claims about the installed SQLAlchemy and aiosqlite.

Each test is named after the section that makes the claim.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, StaticPool

MEMORY = "sqlite+aiosqlite:///:memory:"


def test_choosing_the_pool_aiosqlite_memory_gets_static_pool() -> None:
    engine = create_async_engine(MEMORY)
    assert isinstance(engine.pool, StaticPool)


def test_choosing_the_pool_aiosqlite_file_gets_a_queue_pool(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}", pool_size=3)
    assert isinstance(engine.pool, AsyncAdaptedQueuePool)
    assert engine.pool.size() == 3


@pytest.mark.parametrize("argument", ["pool_size", "max_overflow", "pool_timeout"])
def test_choosing_the_pool_static_pool_refuses_queue_arguments(argument: str) -> None:
    with pytest.raises(TypeError, match=argument):
        create_async_engine(MEMORY, poolclass=StaticPool, **{argument: 5})


def test_choosing_the_pool_check_same_thread_is_not_needed_under_aiosqlite() -> None:
    # sqlite3's default check_same_thread=True stays on: aiosqlite makes every call on the
    # connection's own thread, so sessions from many tasks share it without complaint.
    engine = create_async_engine(MEMORY, poolclass=StaticPool)

    async def run() -> list[int]:
        async def one(n: int) -> int:
            async with engine.connect() as conn:
                return int((await conn.execute(text(f"SELECT {n}"))).scalar_one())

        try:
            first = await one(0)  # opens the one connection, as a startup check does
            return [first, *await asyncio.gather(*(one(n) for n in range(1, 8)))]
        finally:
            await engine.dispose()

    assert asyncio.run(run()) == list(range(8))


def test_pitfalls_without_dispose_pooled_connections_stay_open(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    closed: list[object] = []
    event.listen(engine.sync_engine.pool, "close", lambda *_: closed.append(1))

    async def run() -> tuple[int, int, int]:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        # Returned to the pool, not closed: it stays open as long as the process lives.
        idle, closed_before = engine.pool.checkedin(), len(closed)
        await engine.dispose()
        return idle, closed_before, len(closed)

    assert asyncio.run(run()) == (1, 0, 1)
