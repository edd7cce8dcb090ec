"""What getting the active user for a request costs: a cache hit in process, in Redis, or none.

Every authenticated request of the generated service needs the user its token names
(issue 15). Measured in one process and one run, with the generated project's own code
(a PostgreSQL + Redis + JWT project made by the real generator, imported, not served):

- i. a hit in `ActiveUsers`, the in-process cache of the user by token subject;
- ii. a GET of the cached user from Redis as a generated app reads its cache
  (`services.cache.Cache.get`, then `UserRead.model_validate_json`), on redis.asyncio;
- iii. the lookup the cache saves: `ActiveUsers` with no cache, i.e. `db.read_rows` of the
  user's columns by primary key on asyncpg (no transaction), then `UserRead`;
- iv. for reference, the same row from an asyncpg pool's `fetchrow` (prepared once per
  connection by asyncpg's statement cache), then `UserRead`.

Per lookup: the CPU time of this process (time.process_time; the servers' CPU is not
counted), and wall time at concurrency 1 (latency) and 16 (elapsed ÷ lookups: the cost
per lookup with 16 in flight, as under load; the pool holds 15 connections, so the 16th
waits, as a request would). The ways run interleaved, in an order rotated each round;
CPU is also given per round as a ratio to iii of the same round, which cancels most of a
shared machine's drift. PostgreSQL and Redis run on loopback pinned to CPU 0, this
process on CPU 1.

    .venv/bin/python bench/usercache.py           # 7 rounds of 2,000 lookups per way
    .venv/bin/python bench/usercache.py --smoke   # 2 rounds of 200
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import postgres  # puts tests/ on sys.path for servers
import project
from fastapi_patterns.generate import generate
from server import SERVER_CPU, clean_env
from servers import RedisServer

HERE = Path(__file__).resolve().parent
CONCURRENCY = (1, 16)
BASE = "postgres"  # CPU ratios are against the lookup the cache saves
PACKAGE = "svc"


@dataclass(frozen=True)
class Way:
    key: str
    label: str
    lookup: Callable[[], Awaitable[object]]
    # Cheap ways run more lookups per block, so each block lasts long enough to time.
    scale: int = 1


class PinnedRedis(RedisServer):
    """Redis on the servers' CPU, like PostgreSQL (bench/postgres.py)."""

    def _command(self, port: int) -> list[str]:
        return ["taskset", "-c", SERVER_CPU, *super()._command(port)]


def make_project(work: Path, database_url: str) -> Path:
    """A PostgreSQL + Redis + JWT project from the real generator, migrated; its app dir."""
    target = work / PACKAGE
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    generate(PACKAGE, target, env=False, db="postgresql", redis=True, auth="jwt", python="3.11")
    svc = project.Project(target, PACKAGE)
    project.migrate(svc, clean_env(DATABASE_URL=database_url))
    return svc.app_dir


def _import(app_dir: Path, name: str) -> ModuleType:
    if str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))
    return importlib.import_module(f"{PACKAGE}.{name}")


async def open_ways(
    stack: contextlib.AsyncExitStack, app_dir: Path, database_url: str, redis_url: str
) -> list[Way]:
    """The four lookups, on the generated project's engine, cache and schema."""
    import asyncpg
    from redis.asyncio import Redis

    config, db = _import(app_dir, "core.config"), _import(app_dir, "db")
    users, cache = _import(app_dir, "services.users"), _import(app_dir, "services.cache")
    models, schemas = _import(app_dir, "models"), _import(app_dir, "schemas")
    settings = config.Settings(
        _env_file=None,
        database_url=database_url,
        redis_url=redis_url,
        secret_key=project.SECRET_KEY,
    )
    # As the lifespan builds them: the engine, its autocommit read twin, the Redis client.
    engine = db.create_engine(settings)
    stack.push_async_callback(engine.dispose)
    read_engine = db.create_read_engine(engine, settings)
    client = Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=settings.redis_timeout,
        socket_timeout=settings.redis_timeout,
    )
    stack.push_async_callback(client.aclose)
    user_read = schemas.UserRead

    async with db.create_sessionmaker(engine)() as session:
        row = models.User(email=project.EMAIL, hashed_password="-", full_name="Bench User")
        session.add(row)
        await session.commit()
        user_id = row.id

    cached = users.ActiveUsers(read_engine, ttl_seconds=3600)
    uncached = users.ActiveUsers(read_engine, ttl_seconds=0)
    user = await cached.get(user_id)
    if user is None:
        raise RuntimeError(f"User {user_id} was not found active after its insert.")

    redis_cache = cache.Cache(
        client, prefix=settings.cache_prefix, ttl_seconds=settings.cache_ttl_seconds
    )
    key = f"user:{user_id}"
    await redis_cache.set(key, user.model_dump_json(), ttl_seconds=3600)  # outlives the run

    async def from_redis() -> object:
        document = await redis_cache.get(key)
        if document is None:
            raise RuntimeError(f"Redis lost {key}.")
        return user_read.model_validate_json(document)

    pool = await asyncpg.create_pool(
        database_url, min_size=settings.db_pool_size, max_size=settings.db_pool_size
    )
    stack.push_async_callback(pool.close)
    columns = ", ".join(user_read.model_fields)
    sql = f"SELECT {columns} FROM {models.User.__tablename__} WHERE id = $1"

    async def from_asyncpg() -> object:
        record = await pool.fetchrow(sql, user_id)
        return user_read.model_validate(dict(record))

    ways = [
        Way("memory", "i. in-process cache hit (ActiveUsers)", lambda: cached.get(user_id), 20),
        Way("redis", "ii. Redis GET of the cached user (Cache.get + UserRead JSON)", from_redis),
        Way(
            "postgres",
            "iii. PostgreSQL by primary key, no cache (ActiveUsers: db.read_rows)",
            lambda: uncached.get(user_id),
        ),
        Way("asyncpg", "iv. reference: asyncpg pool fetchrow, prepared, + UserRead", from_asyncpg),
    ]
    for way in ways:  # every way answers the same user
        answer = await way.lookup()
        if answer != user:
            raise RuntimeError(f"{way.key} answered {answer!r}, not {user!r}.")
    return ways


async def timed(way: Way, lookups: int, concurrency: int) -> dict[str, float]:
    """CPU and wall µs per lookup over `lookups` lookups, `concurrency` at a time."""
    each = max(lookups // concurrency, 1)

    async def worker() -> None:
        for _ in range(each):
            await way.lookup()

    gc.collect()  # garbage left by the previous block is not this block's cost
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    done = each * concurrency
    return {"cpu_us": cpu * 1e6 / done, "wall_us": wall * 1e6 / done, "lookups": done}


async def measure(ways: list[Way], rounds: int, lookups: int) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {way.key: [] for way in ways}
    for way in ways:  # warm-up, thrown away: connections opened, statements prepared
        for concurrency in CONCURRENCY:
            await timed(way, max(lookups // 10, concurrency), concurrency)
    for n in range(rounds):
        shift = n % len(ways)
        for way in ways[shift:] + ways[:shift]:
            run = {str(c): await timed(way, lookups * way.scale, c) for c in CONCURRENCY}
            runs[way.key].append(run)
        print(f"  round {n + 1}/{rounds}: " + _round_line(ways, runs), flush=True)
    return runs


def _round_line(ways: list[Way], runs: dict[str, list[dict[str, Any]]]) -> str:
    return "  ".join(f"{w.key} {runs[w.key][-1]['1']['cpu_us']:.1f} µs" for w in ways)


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarise(ways: list[Way], runs: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    rows = []
    for way in ways:
        mine = runs[way.key]
        row: dict[str, Any] = {"key": way.key, "label": way.label, "runs": mine}
        for c in map(str, CONCURRENCY):
            row[f"cpu_us_c{c}"] = _spread([r[c]["cpu_us"] for r in mine])
            row[f"wall_us_c{c}"] = _spread([r[c]["wall_us"] for r in mine])
            # Per round against the lookup the cache saves, measured in the same round.
            ratios = [
                m[c]["cpu_us"] / b[c]["cpu_us"] for m, b in zip(mine, runs[BASE], strict=True)
            ]
            row[f"cpu_ratio_c{c}"] = _spread(ratios)
        rows.append(row)
    return rows


def _cell(spread: dict[str, float], digits: int = 1) -> str:
    return f"{spread['median']:.{digits}f} ({spread['min']:.{digits}f}-{spread['max']:.{digits}f})"


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| way | CPU µs/lookup, c=1 | CPU ÷ iii | CPU µs/lookup, c=16 "
        "| wall µs/lookup, c=1 | wall µs/lookup, c=16 |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = (
            _cell(row["cpu_us_c1"]),
            _cell(row["cpu_ratio_c1"], 3),
            _cell(row["cpu_us_c16"]),
            _cell(row["wall_us_c1"]),
            _cell(row["wall_us_c16"]),
        )
        lines.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _machine() -> dict[str, Any]:
    from redis.utils import HIREDIS_AVAILABLE

    return {
        "python": sys.version.split()[0],
        "loadavg": os.getloadavg(),
        "hiredis": HIREDIS_AVAILABLE,  # the generated app does not depend on it
        "cpus": os.cpu_count(),
    }


async def _run(work: Path, database_url: str, redis_url: str, args: argparse.Namespace) -> Any:
    async with contextlib.AsyncExitStack() as stack:
        app_dir = make_project(work, database_url)
        ways = await open_ways(stack, app_dir, database_url, redis_url)
        # What outlives startup is frozen, as the generated lifespan does.
        gc.collect()
        gc.freeze()
        runs = await measure(ways, args.rounds, args.lookups)
        return summarise(ways, runs)


def _new_loop() -> asyncio.AbstractEventLoop:
    # The generated service runs on uvloop (uvicorn[standard]); so do these lookups.
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="2 rounds of 200 lookups")
    parser.add_argument("--rounds", type=int, help="rounds (default 7)")
    parser.add_argument("--lookups", type=int, help="lookups per way and block (default 2000)")
    parser.add_argument("--out", type=Path, default=HERE / ".work" / "usercache.json")
    parser.add_argument("--work", type=Path, default=HERE / ".work" / "usercache")
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (2 if args.smoke else 7)
    args.lookups = args.lookups or (200 if args.smoke else 2000)
    if args.rounds < 1 or args.lookups < max(CONCURRENCY):
        parser.error(f"--rounds must be at least 1 and --lookups at least {max(CONCURRENCY)}.")
    client_cpus = set(range(os.cpu_count() or 1)) - {int(SERVER_CPU)}
    if client_cpus:
        os.sched_setaffinity(0, client_cpus)  # the servers keep CPU 0
    with postgres.PinnedPostgres() as pg, PinnedRedis() as redis:
        database_url = pg.create_database("usercache")
        with asyncio.Runner(loop_factory=_new_loop) as runner:
            rows = runner.run(_run(args.work, database_url, redis.url, args))
    text = table(rows)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "rounds": args.rounds,
        "lookups": args.lookups,
        "concurrency": list(CONCURRENCY),
        "machine": _machine(),
        "rows": rows,
        "table": text,
    }
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
