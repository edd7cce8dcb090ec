"""The async engine, session factory and read path; the lifespan creates and disposes of them."""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql import Select
from sqlalchemy.sql.compiler import SQLCompiler

from .core.config import Settings

# The keyword each driver takes for its connect timeout, in seconds.
_CONNECT_TIMEOUT_ARGUMENT = {
    "asyncpg": "timeout",
    "psycopg": "connect_timeout",
    "asyncmy": "connect_timeout",
    "aiomysql": "connect_timeout",
}
# The keyword each driver takes for the time one round trip may take, in seconds.
_COMMAND_TIMEOUT_ARGUMENT = {
    "asyncpg": "command_timeout",
    "asyncmy": "read_timeout",
}


def create_engine(settings: Settings) -> AsyncEngine:
    """An engine with a bounded pool, or the right pool for SQLite."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            # One shared connection, or every session would see its own empty database.
            engine = create_async_engine(url, poolclass=StaticPool, echo=settings.debug)
        else:
            engine = _sqlite_file_engine(
                url,
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_max_overflow,
                pool_timeout=settings.db_pool_timeout,
                echo=settings.debug,
            )
        event.listen(engine.sync_engine, "connect", _enable_sqlite_foreign_keys)
        return engine
    connect_args: dict[str, Any] = {}
    driver = url.get_driver_name()
    if driver in _CONNECT_TIMEOUT_ARGUMENT:
        connect_args[_CONNECT_TIMEOUT_ARGUMENT[driver]] = settings.db_connect_timeout
    if driver in _COMMAND_TIMEOUT_ARGUMENT:
        connect_args[_COMMAND_TIMEOUT_ARGUMENT[driver]] = settings.db_command_timeout
    engine = create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_recycle=settings.db_pool_recycle,
        # A ping costs round trips on every checkout (three on asyncpg: BEGIN, `;`,
        # ROLLBACK); asyncpg knows without one when the server has closed a connection.
        pool_pre_ping=driver != "asyncpg",
        connect_args=connect_args,
        echo=settings.debug,
    )
    if driver == "asyncpg":
        event.listen(engine.sync_engine, "checkout", _refuse_closed_connection)
    return engine


def _refuse_closed_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Replace a pooled connection the server has closed, before a request gets it.

    A restarted or failed-over PostgreSQL closes its connections; asyncpg sees the socket
    close, so this costs no round trip. The pool then discards the connection and opens
    a new one (or fails with a 503 while the server is down). A connection that dies
    silently (a network partition) still fails its first statement after
    DB_COMMAND_TIMEOUT, a 503 as well, and the pool replaces every older connection then.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("The server closed this pooled connection.")


def _sqlite_file_engine(url: Any, **options: Any) -> AsyncEngine:
    """A file-SQLite engine whose failed connects leave no driver work behind.

    When opening the file fails (directory gone, disk full, permissions), aiosqlite 0.22
    queues a stop for the connection's worker thread and raises without waiting for it.
    That connection never reaches the pool, so `engine.dispose()` cannot close it, and
    if the event loop closes first (a shutdown right after an outage) the thread dies with
    "RuntimeError: Event loop is closed". This creator waits for the thread instead.
    """
    # Imported here: projects on PostgreSQL or MySQL install aiosqlite for their tests only.
    import aiosqlite

    async def connect() -> aiosqlite.Connection:
        connection = aiosqlite.connect(*args, **kwargs)
        # aiosqlite has no public join(); SQLAlchemy's own connect uses _thread as well.
        worker = connection._thread
        worker.daemon = True  # as SQLAlchemy does: a leaked connection never blocks exit
        try:
            return await connection
        except Exception:
            # The open failed, so only the queued stop is left: the join is immediate.
            # Not on cancellation (a check's timeout): the open may still be running.
            await asyncio.to_thread(worker.join)
            raise

    engine = create_async_engine(url, async_creator=connect, **options)
    args, kwargs = engine.dialect.create_connect_args(engine.url)  # path and URL options
    return engine


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    # SQLite ignores foreign keys (and ON DELETE CASCADE) unless asked, per connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after commit without another query.
    return async_sessionmaker(engine, expire_on_commit=False)


@dataclass(frozen=True, slots=True)
class ReadEngine:
    """The engine for statements that only read (`read_rows`), and the turns they take.

    `turns` lets as many reads hold a connection as the pool has, and no more: the others
    wait in the order they came. The pool's own queue is not first come, first served (a
    new request can take a connection a waiting one was woken for), so under load some
    reads waited many times longer than the rest; in order, none waits much longer than
    the average (bench/RESULTS.md: the p99 of `GET /items`).
    """

    engine: AsyncEngine
    turns: asyncio.Semaphore
    wait_seconds: float


def create_read_engine(engine: AsyncEngine, settings: Settings) -> ReadEngine:
    """The engine, sharing its pool, for statements that only read (`read_rows`): on
    PostgreSQL each runs on its own (autocommit), with no BEGIN and no COMMIT round trip.
    SQLite and MySQL begin transactions without a round trip of their own."""
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="AUTOCOMMIT")
    return ReadEngine(
        engine=engine,
        turns=asyncio.Semaphore(settings.db_pool_size + settings.db_max_overflow),
        wait_seconds=settings.db_pool_timeout,
    )


async def read_rows(
    reads: ReadEngine, statement: Select[Any], params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The rows of one statement that only reads, as dicts of column name to value.

    No session and no transaction: the statement sees the data committed when it starts,
    so values that must agree come from one statement (as `ItemReader.page` does). On
    asyncpg the statement, compiled once, runs on the driver's own connection from the
    pool: SQLAlchemy's execution layer costs more CPU than the query (bench/RESULTS.md).
    Its parameters go to the driver as they are (ints and strings need no conversion).
    """
    await _take_turn(reads)
    try:
        async with reads.engine.connect() as connection:
            if reads.engine.dialect.driver != "asyncpg":
                result = await connection.execute(statement, params)
                return [dict(row) for row in result.mappings()]
            records = await _fetch(connection, statement, params)
    finally:
        reads.turns.release()
    return [dict(record) for record in records]


async def _take_turn(reads: ReadEngine) -> None:
    """Wait, in order, until a connection is free for one more read: DB_POOL_TIMEOUT at
    most, as for the pool itself, then the same error (answered with a 503)."""
    if not reads.turns.locked():
        await reads.turns.acquire()  # free: no waiting, no timer
        return
    try:
        async with asyncio.timeout(reads.wait_seconds):
            await reads.turns.acquire()
    except TimeoutError:
        raise PoolTimeoutError(
            f"No database connection came free within {reads.wait_seconds} s (DB_POOL_TIMEOUT)."
        ) from None


async def _fetch(
    connection: AsyncConnection, statement: Select[Any], params: Mapping[str, Any]
) -> list[Any]:
    """asyncpg's own fetch of the statement, compiled once, on the pooled connection."""
    compiled = _compiled(statement, connection.dialect)
    arguments = [params[name] for name in compiled.positiontup or ()]
    driver_connection: Any = (await connection.get_raw_connection()).driver_connection
    try:
        records: list[Any] = await driver_connection.fetch(compiled.string, *arguments)
    except Exception as exc:
        # A lost server closes the connection (asyncpg then raises its own errors); a
        # silent one times out. As SQLAlchemy does for its own statements: drop the
        # connection from the pool, raise OperationalError (answered with a 503).
        if not (isinstance(exc, OSError | TimeoutError) or driver_connection.is_closed()):
            raise
        await connection.invalidate(exc)
        raise OperationalError(compiled.string, arguments, exc) from exc
    return records


@lru_cache(maxsize=256)
def _compiled(statement: Select[Any], dialect: Dialect) -> SQLCompiler:
    # Statements are module constants with bound parameters, so this cache stays small.
    compiled = statement.compile(dialect=dialect)
    if not isinstance(compiled, SQLCompiler):
        raise TypeError(f"{statement!r} did not compile to SQL.")
    return compiled


async def ping(engine: AsyncEngine) -> None:
    """One round trip to the database; raises when it cannot be reached."""
    database = engine.url.database
    if engine.url.get_backend_name() == "sqlite" and database and database != ":memory:":
        # SQLite creates a missing file but not a missing directory; say so plainly.
        directory = Path(database).parent
        if not await asyncio.to_thread(directory.is_dir):
            raise FileNotFoundError(f"The directory {directory} of the SQLite file does not exist.")
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


_AFTER_COMMIT = "after_commit"


def after_commit(session: AsyncSession, callback: Callable[[], Awaitable[object]]) -> None:
    """Run `callback` once the request's transaction has committed; never if it rolls back.

    For side effects of a write that must not happen before it is visible, or at all when
    it is undone: invalidating a cache entry, for one.
    """
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


async def commit(session: AsyncSession) -> None:
    """Commit the session, then run what `after_commit` registered, in order."""
    callbacks: list[Callable[[], Awaitable[object]]] = session.info.pop(_AFTER_COMMIT, [])
    await session.commit()
    for callback in callbacks:
        await callback()
