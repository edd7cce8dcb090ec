"""Baselines g: the generated `GET /items` written by hand on SQLAlchemy Core (async).

The same module serves PostgreSQL (asyncpg) and SQLite (aiosqlite), whichever
DATABASE_URL names. Written the way the SQLAlchemy documentation shows it: tables
declared once, `async with engine.connect()` per request (so BEGIN and ROLLBACK on
PostgreSQL), rows read as tuples, no ORM objects, no pool pre-ping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from handwritten import (
    DATABASE_URL,
    MAX_OVERFLOW,
    POOL_SIZE,
    ROUTE,
    Credentials,
    ItemPage,
    ItemRead,
    LimitQuery,
    OffsetQuery,
    unauthorized,
    user_id_from,
)
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """SQLite keeps naive UTC; mark it UTC again, as the generated models do."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


metadata = MetaData()
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320)),
    Column("is_active", Boolean),
    Column("is_admin", Boolean),
)
items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(200)),
    Column("description", Text),
    Column("owner_id", Integer),
    Column("created_at", UTCDateTime),
    Column("updated_at", UTCDateTime),
)


def _async_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    driver = "sqlite+aiosqlite" if scheme.startswith("sqlite") else "postgresql+asyncpg"
    return f"{driver}://{rest}"


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, AsyncEngine]]:
    engine = create_async_engine(
        _async_url(DATABASE_URL), pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW
    )
    yield {"engine": engine}
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.get(ROUTE)
async def list_items(
    request: Request, credentials: Credentials, limit: LimitQuery = 20, offset: OffsetQuery = 0
) -> ItemPage:
    user_id = user_id_from(credentials)
    engine: AsyncEngine = request.state.engine
    async with engine.connect() as connection:
        found = await connection.execute(
            select(users.c.is_active, users.c.is_admin).where(users.c.id == user_id)
        )
        user = found.first()
        if user is None or not user.is_active:
            raise unauthorized()
        count = select(func.count()).select_from(items)
        page = select(items).order_by(items.c.id).limit(limit).offset(offset)
        if not user.is_admin:
            count = count.where(items.c.owner_id == user_id)
            page = page.where(items.c.owner_id == user_id)
        total = (await connection.execute(count)).scalar_one()
        rows = (await connection.execute(page)).mappings().all()
    return ItemPage(
        items=[ItemRead(**row) for row in rows], total=total, limit=limit, offset=offset
    )
