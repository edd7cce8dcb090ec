"""Baseline f: the generated `GET /items` written by hand on asyncpg, no ORM.

One pooled connection per request, three statements (user, count, page) outside any
transaction. The write routes do what a hand-written app does: the user check, then one
statement that writes and returns the row (`INSERT ... RETURNING`, `UPDATE ... RETURNING`),
which needs no transaction of its own. The pool's reset on release (`RESET ALL; UNLISTEN *;
...`, one more round trip) is switched off: this app never sets session state, so there is
nothing to reset.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg
from fastapi import FastAPI, HTTPException, Request
from handwritten import (
    DATABASE_URL,
    MAX_OVERFLOW,
    POOL_SIZE,
    ROUTE,
    Credentials,
    ItemCreate,
    ItemIdPath,
    ItemPage,
    ItemRead,
    ItemUpdate,
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
INSERT = (
    "INSERT INTO items (title, description, owner_id, created_at, updated_at)"
    f" VALUES ($1, $2, $3, $4, $4) RETURNING {_COLUMNS}"
)


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


async def _active_user(connection: asyncpg.Connection, user_id: int) -> asyncpg.Record:
    user = await connection.fetchrow(USER, user_id)
    if user is None or not user["is_active"]:
        raise unauthorized()
    return user


@app.post(ROUTE, status_code=201)
async def create_item(request: Request, credentials: Credentials, data: ItemCreate) -> ItemRead:
    user_id = user_id_from(credentials)
    pool: asyncpg.Pool = request.state.pool
    async with pool.acquire() as connection:
        await _active_user(connection, user_id)
        now = datetime.now(UTC)
        row = await connection.fetchrow(INSERT, data.title, data.description, user_id, now)
    return ItemRead(**dict(row))


@app.patch(ROUTE + "/{item_id}")
async def update_item(
    request: Request, credentials: Credentials, item_id: ItemIdPath, data: ItemUpdate
) -> ItemRead:
    user_id = user_id_from(credentials)
    changes = data.model_dump(exclude_unset=True)
    values = [item_id, datetime.now(UTC), *changes.values()]
    assignments = "".join(f", {name} = ${n}" for n, name in enumerate(changes, start=3))
    pool: asyncpg.Pool = request.state.pool
    async with pool.acquire() as connection:
        user = await _active_user(connection, user_id)
        scope = ""
        if not user["is_admin"]:
            values.append(user_id)
            scope = f" AND owner_id = ${len(values)}"
        row = await connection.fetchrow(
            f"UPDATE items SET updated_at = $2{assignments} WHERE id = $1{scope}"
            f" RETURNING {_COLUMNS}",
            *values,
        )
    if row is None:
        raise HTTPException(404, f"Item {item_id} does not exist.")
    return ItemRead(**dict(row))
