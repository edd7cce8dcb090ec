"""FPA201-203: resources and state with the wrong lifetime, on small fixture projects."""

from __future__ import annotations

from pathlib import Path

from audit_fixtures import assert_documented, run_rules, where
from fastapi_patterns.audit import rules_async, rules_resources
from fastapi_patterns.audit.model import Finding


def audit(tmp_path: Path, files: dict[str, str], code: str) -> list[Finding]:
    return [f for f in run_rules(tmp_path, files, rules_resources.check) if f.code == code]


# -- FPA201 -----------------------------------------------------------------------------------


def test_clients_and_sessions_built_in_routes(tmp_path: Path) -> None:
    findings = audit(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/main.py": """
                from fastapi import FastAPI
                from app.api.items import router
                app = FastAPI()
                app.include_router(router)
            """,
            "app/api/__init__.py": "",
            "app/api/items.py": """
                import boto3
                import httpx as hx
                from fastapi import APIRouter
                from sqlalchemy.ext.asyncio import AsyncSession as AS, create_async_engine
                from app.clients import make_redis

                router = APIRouter()

                @router.get("/weather")
                async def weather():
                    async with hx.AsyncClient() as client:
                        return (await client.get("https://example.com")).json()

                @router.post("/upload")
                def upload():
                    boto3.client("s3").put_object(Bucket="b", Key="k", Body=b"")

                @router.get("/items")
                async def items():
                    engine = create_async_engine("sqlite+aiosqlite://")
                    async with AS(engine) as session:
                        return await session.scalar("SELECT 1")

                @router.get("/cached")
                async def cached():
                    return await make_redis().get("k")
            """,
            "app/clients.py": """
                from redis.asyncio import Redis

                def make_redis():
                    return Redis.from_url("redis://localhost")
            """,
        },
        "FPA201",
    )
    assert where(findings) == [
        ("app/api/items.py", 12),
        ("app/api/items.py", 17),
        ("app/api/items.py", 21),
        ("app/api/items.py", 22),
        ("app/clients.py", 5),
    ]
    assert findings[0].message == (
        "`hx.AsyncClient(...)` (HTTP client) is created per request in async route `weather`"
    )
    assert "(session)" in findings[3].message
    assert "route `cached` via `make_redis`" in findings[4].message


def test_clients_made_once_are_fine(tmp_path: Path) -> None:
    findings = audit(
        tmp_path,
        {
            "main.py": """
                from contextlib import asynccontextmanager
                from functools import lru_cache
                from typing import Annotated

                import httpx
                from fastapi import Depends, FastAPI, Request
                from sqlalchemy.ext import asyncio as sa
                from sqlalchemy.ext.asyncio import AsyncSession

                def make_engine(url):  # a factory, called at module level
                    return sa.create_async_engine(url)

                engine = make_engine("sqlite+aiosqlite://")
                Sessions = sa.async_sessionmaker(engine)

                @lru_cache
                def get_http() -> httpx.AsyncClient:
                    return httpx.AsyncClient()

                @asynccontextmanager
                async def lifespan(app: FastAPI):
                    async with httpx.AsyncClient() as client:
                        app.state.http = client
                        yield

                async def get_session():
                    async with AsyncSession(engine) as session:
                        yield session

                app = FastAPI(lifespan=lifespan)

                @app.get("/")
                async def index(
                    request: Request,
                    session: Annotated[AsyncSession, Depends(get_session)],
                ):
                    http = get_http()
                    await http.get("https://example.com")
                    return await request.app.state.http.get("https://example.com")
            """,
        },
        "FPA201",
    )
    assert findings == []


# -- FPA202 -----------------------------------------------------------------------------------


def test_module_state_written_from_handlers(tmp_path: Path) -> None:
    findings = audit(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/state.py": """
                from collections import defaultdict

                SEEN: list[str] = []
                COUNTS = defaultdict(int)
                LIMITS = {"free": 10}
            """,
            "app/main.py": """
                from fastapi import FastAPI
                from app import state
                from app.state import SEEN as seen

                app = FastAPI()
                visits = 0
                _cache = {}

                def remember(key, value):
                    _cache[key] = value

                @app.get("/{name}")
                async def hello(name: str):
                    global visits
                    visits += 1
                    seen.append(name)
                    state.COUNTS[name] += 1
                    remember(name, len(name))
                    return {"limit": state.LIMITS["free"]}
            """,
        },
        "FPA202",
    )
    assert where(findings) == [("app/main.py", n) for n in (11, 15, 17, 18)]
    assert findings[0].message == (
        "module-level `_cache` (app/main.py:8) is written with `[...] =` in async route `hello` "
        "via `remember`"
    )
    assert (
        findings[1].message == "`global visits` rebinds module-level state in async route `hello`"
    )
    assert "module-level `SEEN` (app/state.py:4) is written with `.append()`" in findings[2].message
    assert "`COUNTS`" in findings[3].message


def test_reading_constants_and_request_state_is_fine(tmp_path: Path) -> None:
    findings = audit(
        tmp_path,
        {
            "main.py": """
                import asyncio
                from contextvars import ContextVar
                from fastapi import FastAPI, Request

                ALLOWED = {"a", "b"}
                DEFAULTS = {"limit": 10}
                request_id: ContextVar[str] = ContextVar("request_id")
                lock = asyncio.Lock()
                registry = []
                app = FastAPI()

                def register(func):  # runs at import, not per request
                    registry.append(func)
                    return func

                @register
                @app.get("/")
                async def index(request: Request, items: list[str]):
                    request_id.set("x")
                    request.state.user = "me"
                    request.app.state.hits = 1
                    items.append("local")
                    async with lock:
                        pass
                    ALLOWED = {"c"}  # a local that shadows the module name
                    ALLOWED.add("d")
                    return dict(DEFAULTS) | {"ok": "a" in ALLOWED}
            """,
        },
        "FPA202",
    )
    assert findings == []


# -- FPA203 -----------------------------------------------------------------------------------


def test_lifespans_that_leak(tmp_path: Path) -> None:
    findings = audit(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/db.py": """
                from sqlalchemy.ext.asyncio import create_async_engine

                def build_engine(url):
                    return create_async_engine(url)
            """,
            "app/main.py": """
                from contextlib import asynccontextmanager as acm
                import httpx
                from fastapi import FastAPI
                from redis import asyncio as aioredis
                from app.db import build_engine

                def make_lifespan(url):
                    @acm
                    async def lifespan(app):
                        app.state.engine = build_engine(url)
                        app.state.redis = aioredis.from_url("redis://localhost")
                        app.state.http = httpx.AsyncClient()
                        yield
                        await app.state.http.aclose()
                    return lifespan

                app = FastAPI(lifespan=make_lifespan("sqlite+aiosqlite://"))
            """,
            "legacy.py": """
                from fastapi import FastAPI
                from pymongo import MongoClient
                import redis

                app = FastAPI()

                @app.on_event("startup")
                def connect():
                    app.state.mongo = MongoClient()
                    app.state.redis = redis.Redis()

                @app.on_event("shutdown")
                def disconnect():
                    app.state.redis.close()
            """,
        },
        "FPA203",
    )
    assert where(findings) == [("app/main.py", 11), ("app/main.py", 12), ("legacy.py", 10)]
    assert findings[0].message == (
        "`build_engine(...)` (engine) opened in lifespan `lifespan` is never closed after the yield"
    )
    assert "startup handler `connect` is closed by no shutdown handler" in findings[2].message


def test_lifespans_that_close_what_they_open(tmp_path: Path) -> None:
    findings = audit(
        tmp_path,
        {
            "main.py": """
                from contextlib import AsyncExitStack, asynccontextmanager
                import httpx
                from fastapi import FastAPI
                from redis.asyncio import Redis
                from sqlalchemy.ext.asyncio import create_async_engine

                async def close_all(*resources):
                    for resource in resources:
                        await resource.aclose()

                @asynccontextmanager
                async def with_finally(app: FastAPI):
                    engine = create_async_engine("sqlite+aiosqlite://")
                    redis = Redis.from_url("redis://localhost")
                    http = httpx.AsyncClient()
                    try:
                        yield {"engine": engine}
                    finally:
                        await engine.dispose()
                        await close_all(redis, http)

                @asynccontextmanager
                async def with_context(app: FastAPI):
                    async with httpx.AsyncClient() as http:
                        yield {"http": http}

                @asynccontextmanager
                async def with_stack(app: FastAPI):
                    async with AsyncExitStack() as stack:
                        redis = Redis.from_url("redis://localhost")
                        stack.push_async_callback(redis.aclose)
                        yield {"redis": redis}

                @asynccontextmanager
                async def with_alias(app: FastAPI):
                    client = Redis.from_url("redis://localhost")
                    app.state.cache = client
                    yield
                    await app.state.cache.aclose()

                app = FastAPI(lifespan=with_finally)
            """,
        },
        "FPA203",
    )
    assert findings == []


def test_every_rule_links_to_its_section() -> None:
    rules = [*rules_async.RULES, *rules_resources.RULES]
    assert [rule.code for rule in rules] == ["FPA101", "FPA201", "FPA202", "FPA203"]
    assert_documented(rules)
    for rule in rules:
        assert rule.fixable is False and rule.severity in {"error", "warning"}
