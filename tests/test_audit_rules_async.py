"""FPA101: blocking calls on the event loop, on small fixture projects written to tmp_path."""

from __future__ import annotations

from pathlib import Path

from audit_fixtures import run_rules, where
from fastapi_patterns.audit import rules_async, rules_resources
from fastapi_patterns.audit.entrypoints import entries
from fastapi_patterns.audit.model import Finding
from fastapi_patterns.audit.project import build_index
from rendering import write_bundle_python


def audit(tmp_path: Path, files: dict[str, str]) -> list[Finding]:
    found = run_rules(tmp_path, files, rules_async.check)
    assert all(f.code == "FPA101" and f.rule is rules_async.BLOCKING_CALL for f in found)
    return found


APP = """
from fastapi import FastAPI
from app.routes import router

app = FastAPI()
app.include_router(router)
"""


def test_sync_sqlalchemy_session_in_async_route_through_an_alias(tmp_path: Path) -> None:
    findings = audit(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/main.py": APP,
            "app/db.py": """
                from sqlalchemy import create_engine
                from sqlalchemy.orm import sessionmaker

                engine = create_engine("sqlite://")
                SessionLocal = sessionmaker(bind=engine)

                def get_db():
                    db = SessionLocal()
                    try:
                        yield db
                    finally:
                        db.close()
            """,
            "app/deps.py": """
                from typing import Annotated
                from fastapi import Depends
                from sqlalchemy.orm import Session as S
                from app.db import get_db

                DbDep = Annotated[S, Depends(get_db)]
            """,
            "app/routes.py": """
                from fastapi import APIRouter
                from app.deps import DbDep

                router = APIRouter()

                @router.get("/items")
                async def list_items(db: DbDep):
                    db.add(object())  # no I/O: staging only
                    return db.query(Item).filter(Item.id > 1).all()
            """,
        },
    )
    assert where(findings) == [("app/routes.py", 10)]
    message = findings[0].message
    assert "`db.query(Item).filter(Item.id > 1).all`" in message
    assert "sync SQLAlchemy session" in message and "async route `list_items`" in message


def test_module_level_sync_clients_used_in_async_code(tmp_path: Path) -> None:
    findings = audit(
        tmp_path,
        {
            "main.py": """
                import redis as r
                import psycopg2
                from fastapi import FastAPI
                from pymongo import MongoClient

                app = FastAPI()
                cache = r.Redis.from_url("redis://localhost")
                mongo = MongoClient("mongodb://localhost")

                @app.get("/a")
                async def a():
                    hits = cache.incr("hits")
                    doc = mongo.shop["orders"].find_one({"id": 1})
                    conn = psycopg2.connect("dbname=x")
                    cur = conn.cursor()
                    cur.execute("SELECT 1")
                    return hits, doc

                @app.get("/b")
                def b():  # FastAPI runs plain def routes in a thread pool
                    return cache.get("hits"), mongo.shop.orders.find_one({})
            """,
        },
    )
    assert where(findings) == [("main.py", n) for n in (13, 14, 15, 17)]
    assert "`cache.incr`" in findings[0].message and "sync redis client" in findings[0].message
    assert "pymongo" in findings[1].message
    assert "`psycopg2.connect`" in findings[2].message


def test_ruff_visible_calls_only_through_a_sync_helper(tmp_path: Path) -> None:
    findings = audit(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/main.py": APP,
            "app/services/__init__.py": "",
            "app/services/prices.py": """
                import time
                import requests as rq

                def fetch_prices(symbol):
                    return _get(f"https://example.com/{symbol}")

                def _get(url):
                    return rq.get(url, timeout=5).json()

                def pause():
                    time.sleep(1)
            """,
            "app/routes.py": """
                import time
                import requests
                from fastapi import APIRouter
                from app.services import prices
                from app.services.prices import pause

                router = APIRouter()

                @router.get("/prices/{symbol}")
                async def read_prices(symbol: str):
                    requests.get("https://example.com")  # ruff's ASYNC210: not ours
                    time.sleep(0.1)  # ruff's ASYNC251: not ours
                    pause()
                    return prices.fetch_prices(symbol)
            """,
        },
    )
    assert where(findings) == [("app/routes.py", 14), ("app/routes.py", 15)]
    assert findings[1].message == (
        "`rq.get` (sync HTTP call) blocks the event loop: called from async route "
        "`read_prices` via `fetch_prices`, `_get` (app/services/prices.py:9)"
    )
    assert "`time.sleep`" in findings[0].message and "via `pause`" in findings[0].message


def test_methods_of_a_service_injected_with_depends(tmp_path: Path) -> None:
    findings = audit(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/main.py": APP,
            "app/services.py": """
                from pathlib import Path
                from sqlalchemy.orm import Session

                class ItemService:
                    def __init__(self, db: Session) -> None:
                        self.db = db

                    async def count(self) -> int:
                        return self.db.scalar(select_count())

                    def template(self) -> str:
                        return Path("t.html").read_text()

                def get_item_service() -> "ItemService":
                    return ItemService(Session())
            """,
            "app/routes.py": """
                from typing import Annotated
                from fastapi import APIRouter, Depends
                from app.services import ItemService, get_item_service

                router = APIRouter()

                @router.get("/count")
                async def count(service: Annotated[ItemService, Depends(get_item_service)]):
                    page = service.template()
                    return {"count": await service.count(), "page": page}
            """,
        },
    )
    assert where(findings) == [("app/routes.py", 10), ("app/services.py", 10)]
    assert "`Path('t.html').read_text`" in findings[0].message
    assert "via `template`" in findings[0].message
    assert "async function `count` (reached from async route `count`)" in findings[1].message


def test_service_behind_an_annotated_alias_in_another_module(tmp_path: Path) -> None:
    findings = audit(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/main.py": APP,
            "app/services/__init__.py": "",
            "app/services/users.py": """
                import pymongo

                class UserService:
                    def __init__(self) -> None:
                        self.users = pymongo.MongoClient().app.users

                    def find(self, name):
                        return self.users.find_one({"name": name})
            """,
            "app/deps.py": """
                from typing import Annotated
                from fastapi import Depends
                from app.services.users import UserService

                UserServiceDep = Annotated[UserService, Depends(UserService)]
            """,
            "app/routes.py": """
                from fastapi import APIRouter
                from app.deps import UserServiceDep

                router = APIRouter()

                @router.get("/users/{name}")
                async def read_user(name: str, users: UserServiceDep):
                    return users.find(name)

                @router.get("/sync/{name}")
                def read_user_sync(name: str, users: UserServiceDep):
                    return users.find(name)
            """,
        },
    )
    assert where(findings) == [("app/routes.py", 9)]
    assert findings[0].message == (
        "`self.users.find_one` (pymongo) blocks the event loop: called from async route "
        "`read_user` via `find` (app/services/users.py:9)"
    )


def test_dependencies_middleware_and_lifespan_are_async_paths(tmp_path: Path) -> None:
    findings = audit(
        tmp_path,
        {
            "main.py": """
                from contextlib import asynccontextmanager
                import pymysql
                import redis
                from fastapi import Depends, FastAPI

                def load_config():  # file reads at startup are fine: nothing is served yet
                    with open("config.toml") as f:
                        return f.read()

                def check_cache(client: redis.Redis) -> None:
                    client.ping()

                @asynccontextmanager
                async def lifespan(app: FastAPI):
                    load_config()
                    check_cache(redis.Redis())
                    yield

                app = FastAPI(lifespan=lifespan)
                client = redis.StrictRedis()

                async def current_user():
                    conn = pymysql.connect(host="db")
                    return conn

                @app.middleware("http")
                async def count_requests(request, call_next):
                    client.incr("requests")
                    return await call_next(request)

                @app.get("/")
                async def index(user=Depends(current_user)):
                    return user
            """,
        },
    )
    assert where(findings) == [("main.py", 17), ("main.py", 24), ("main.py", 29)]
    assert findings[0].message == (
        "`client.ping` (sync redis client) blocks the event loop: called from async lifespan "
        "`lifespan` via `check_cache` (main.py:12)"
    )
    assert "async dependency `current_user`" in findings[1].message
    assert "async middleware `count_requests`" in findings[2].message


def test_exception_handlers_and_pure_asgi_middleware(tmp_path: Path) -> None:
    findings = audit(
        tmp_path,
        {
            "main.py": """
                import requests
                from fastapi import FastAPI
                from sqlalchemy import create_engine

                engine = create_engine("sqlite://")
                http = requests.Session()

                class Audit:
                    def __init__(self, app):
                        self.app = app

                    async def __call__(self, scope, receive, send):
                        with engine.begin() as conn:
                            conn.exec_driver_sql("INSERT INTO hits VALUES (1)")
                        await self.app(scope, receive, send)

                async def report(request, exc):
                    http.post("https://errors.example.com", json={"error": str(exc)})

                app = FastAPI()
                app.add_middleware(Audit)
                app.add_exception_handler(ValueError, report)
            """,
        },
    )
    assert where(findings) == [("main.py", 14), ("main.py", 15), ("main.py", 19)]
    assert "sync SQLAlchemy engine" in findings[0].message
    assert "async middleware `__call__`" in findings[1].message
    assert "`http.post` (requests session)" in findings[2].message
    assert "async exception handler `report`" in findings[2].message


def test_generic_and_optional_annotations(tmp_path: Path) -> None:
    findings = audit(
        tmp_path,
        {
            "main.py": """
                from typing import Any, Optional
                from fastapi import FastAPI
                from pymongo import MongoClient
                from pymongo.collection import Collection

                app = FastAPI()

                def first(collection: "Collection[dict[str, Any]]"):
                    return collection.find_one({})

                @app.get("/")
                async def index(client: Optional[MongoClient[dict[str, Any]]] = None):
                    assert client is not None
                    client.admin.command("ping")
                    return first(client.app.items)
            """,
        },
    )
    assert where(findings) == [("main.py", 15), ("main.py", 16)]
    assert "via `first` (main.py:10)" in findings[1].message


def test_nested_helpers_and_cycles(tmp_path: Path) -> None:
    findings = audit(
        tmp_path,
        {
            "main.py": """
                import time
                from fastapi import FastAPI

                app = FastAPI()

                def ping(n):
                    if n:
                        return pong(n - 1)
                    time.sleep(1)

                def pong(n):
                    return ping(n)

                @app.get("/")
                async def index():
                    def inner():
                        return ping(3)
                    return inner()
            """,
        },
    )
    assert where(findings) == [("main.py", 19)]
    assert "via `inner`, `ping` (main.py:10)" in findings[0].message


def test_offloaded_and_async_clients_are_fine(tmp_path: Path) -> None:
    findings = audit(
        tmp_path,
        {
            "main.py": """
                import asyncio
                import time
                from functools import partial

                import anyio.to_thread
                import httpx
                import redis.asyncio as aioredis
                import requests
                from fastapi import FastAPI, Request
                from fastapi.concurrency import run_in_threadpool
                from motor.motor_asyncio import AsyncIOMotorClient
                from sqlalchemy import create_engine, text
                from sqlalchemy.ext.asyncio import AsyncSession
                from sqlalchemy.orm import Session

                engine = create_engine("sqlite://")
                with Session(engine) as setup:  # import time: not a request path
                    setup.execute(text("SELECT 1"))
                cache = aioredis.Redis()
                mongo = AsyncIOMotorClient()
                app = FastAPI()

                def report(db: Session):
                    time.sleep(1)
                    return db.execute(text("SELECT 1")).all()

                def fetch(url):
                    return requests.get(url, timeout=5)

                @app.get("/a")
                async def a(request: Request, session: AsyncSession):
                    await run_in_threadpool(report, Session(engine))
                    await asyncio.to_thread(fetch, "https://example.com")
                    await anyio.to_thread.run_sync(partial(fetch, "https://example.com"))
                    loop = asyncio.get_running_loop()
                    await loop.run_in_executor(None, lambda: fetch("https://example.com"))
                    await session.execute(text("SELECT 1"))
                    await cache.get("k")
                    await mongo.shop.orders.find_one({})
                    async with httpx.AsyncClient() as http:
                        await http.get("https://example.com")
                    return await request.app.state.redis.get("k")

                @app.get("/b")
                def b():
                    return report(Session(engine)), fetch("https://example.com")
            """,
        },
    )
    assert findings == []


def test_generators_run_where_they_are_iterated(tmp_path: Path) -> None:
    findings = audit(
        tmp_path,
        {
            "main.py": """
                from contextlib import contextmanager
                import requests
                from fastapi import FastAPI
                from fastapi.responses import StreamingResponse

                app = FastAPI()

                def rows():  # StreamingResponse iterates a sync generator in a thread
                    yield requests.get("https://example.com/a", timeout=5).content

                @contextmanager
                def fetched():  # but a context manager's body runs at `with`
                    yield requests.get("https://example.com/b", timeout=5)

                @app.get("/export")
                async def export():
                    with fetched() as response:
                        pass
                    return StreamingResponse(rows())
            """,
        },
    )
    assert where(findings) == [("main.py", 18)]
    assert "via `fetched` (main.py:14)" in findings[0].message


def test_unresolved_and_shadowed_names_stay_quiet(tmp_path: Path) -> None:
    findings = audit(
        tmp_path,
        {
            "main.py": """
                from fastapi import FastAPI
                from mylib import helper  # not in the project: not followed

                app = FastAPI()

                def open(name):  # shadows the builtin
                    return name

                @app.get("/")
                async def index(db):
                    helper()
                    db.query("x")  # untyped: unknown
                    return open("x")
            """,
        },
    )
    assert findings == []


# Generated projects and the single-file template ----------------------------------------


def test_every_generated_project_and_the_template_pass_the_fpa1xx_and_fpa2xx_rules(
    tmp_path: Path,
) -> None:
    """What the bundle writes must not trip these rules (all 28 combinations). Each project's
    routes, lifespan and middleware must be found, or "no findings" would prove nothing."""
    findings: list[str] = []
    for root in write_bundle_python(tmp_path):
        index = build_index(root)
        assert index.warnings == []
        kinds = {entry.kind for entry in entries(index)}
        assert {"route", "dependency", "middleware", "lifespan"} <= kinds, root.name
        found = [*rules_async.check(index), *rules_resources.check(index)]
        findings += [f"{root.name}/{f.path}:{f.line}: {f.code} {f.message}" for f in found]
    assert findings == []
