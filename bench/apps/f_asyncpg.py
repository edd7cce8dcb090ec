"""Baseline f: the generated `GET /items` written by hand on asyncpg, no ORM.

One pooled connection per request, three statements (user, count, page) outside any
transaction. The pool's reset on release (`RESET ALL; UNLISTEN *; ...`, one more round
trip) is switched off: this app never sets session state, so there is nothing to reset.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
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

USER = "SELECT is_active, is_admin FROM users WHERE id = $1"
COUNT_ALL = "SELECT count(*) FROM items"
COUNT_OWN = "SELECT count(*) FROM items WHERE owner_id = $1"
_COLUMNS = "id, title, description, owner_id, created_at, updated_at"
PAGE_ALL = f"SELECT {_COLUMNS} FROM items ORDER BY id LIMIT $1 OFFSET $2"
PAGE_OWN = f"SELECT {_COLUMNS} FROM items WHERE owner_id = $3 ORDER BY id LIMIT $1 OFFSET $2"


async def _no_reset(_connection: asyncpg.Connection) -> None:
    return None


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, asyncpg.Pool]]:
    url = DATABASE_URL.replace("postgresql+asyncpg://", "postgresql://", 1)
    async with asyncpg.create_pool(
        url, min_size=POOL_SIZE, max_size=POOL_SIZE + MAX_OVERFLOW, reset=_no_reset
    ) as pool:
        yield {"pool": pool}


app = FastAPI(lifespan=lifespan)


@app.get(ROUTE)
async def list_items(
    request: Request, credentials: Credentials, limit: LimitQuery = 20, offset: OffsetQuery = 0
) -> ItemPage:
    user_id = user_id_from(credentials)
    pool: asyncpg.Pool = request.state.pool
    async with pool.acquire() as connection:
        user = await connection.fetchrow(USER, user_id)
        if user is None or not user["is_active"]:
            raise unauthorized()
        if user["is_admin"]:
            total = await connection.fetchval(COUNT_ALL)
            rows = await connection.fetch(PAGE_ALL, limit, offset)
        else:
            total = await connection.fetchval(COUNT_OWN, user_id)
            rows = await connection.fetch(PAGE_OWN, limit, offset, user_id)
    items = [ItemRead(**dict(row)) for row in rows]
    return ItemPage(items=items, total=total, limit=limit, offset=offset)
