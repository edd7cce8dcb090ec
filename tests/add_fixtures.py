"""Small FastAPI apps in the shapes real projects take, for `fastapi-patterns add` tests.

Each shape is a mapping of path -> source, written here (not copied from any project). Every
app has a POST /items route taking a JSON body, so a bad body shows the validation answer.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

_ITEMS_ROUTER = """\
from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter(prefix="/items", tags=["items"])


class Item(BaseModel):
    name: str
    price: float


@router.post("")
async def create_item(item: Item) -> Item:
    return item
"""

_PYPROJECT = """\
[project]
name = "shop"
version = "0.1.0"
dependencies = ["fastapi", "uvicorn"]
"""


@dataclass(frozen=True)
class Shape:
    id: str
    files: dict[str, str]
    app_file: str  # the module `add` patches
    module: str  # what uvicorn serves, module:attr
    modules_dir: str  # where the new modules go
    app_dir: str = "."  # uvicorn --app-dir


FLAT = Shape(
    "flat",
    {
        "pyproject.toml": _PYPROJECT,
        "app/__init__.py": "",
        "app/core/__init__.py": "",
        "app/routers/__init__.py": "",
        "app/routers/items.py": _ITEMS_ROUTER,
        "app/main.py": '''\
"""The shop's API."""

from fastapi import FastAPI

# Routers, one per resource.
from .routers import items

app = FastAPI(title="Shop")  # the one app
app.include_router(items.router)


@app.get("/")
async def root() -> dict[str, str]:
    return {"name": 'shop'}
''',
    },
    "app/main.py",
    "app.main:app",
    "app/core",
)

SRC = Shape(
    "src",
    {
        "pyproject.toml": _PYPROJECT,
        "src/shop/__init__.py": "",
        "src/shop/utils/__init__.py": "",
        "src/shop/routers.py": _ITEMS_ROUTER,
        "src/shop/main.py": """\
from fastapi import FastAPI

from shop.routers import router

app = FastAPI()
app.include_router(router)
""",
    },
    "src/shop/main.py",
    "shop.main:app",
    "src/shop/utils",
    "src",
)

FACTORY = Shape(
    "factory",
    {
        "pyproject.toml": _PYPROJECT,
        "app/__init__.py": "",
        "app/routers.py": _ITEMS_ROUTER,
        "app/main.py": '''\
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from .routers import router


def create_app(*, title: str = "Shop") -> FastAPI:
    """The app; tests call this with their own title."""
    application = FastAPI(title=title)
    application.add_middleware(
        CORSMiddleware, allow_origins=["https://shop.example"], allow_methods=["*"]
    )
    application.include_router(router)
    return application


app = create_app()
''',
    },
    "app/main.py",
    "app.main:app",
    "app",
)

IN_INIT = Shape(
    "init",
    {
        "pyproject.toml": _PYPROJECT,
        "svc/__init__.py": """\
from fastapi import FastAPI

from .routers import router

app = FastAPI(title="Service")
app.include_router(router)
""",
        "svc/routers.py": _ITEMS_ROUTER,
    },
    "svc/__init__.py",
    "svc:app",
    "svc",
)

OWN_HANDLERS = Shape(
    "own-handlers",
    {
        "pyproject.toml": _PYPROJECT,
        "app/__init__.py": "",
        "app/routers.py": _ITEMS_ROUTER,
        "app/main.py": """\
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from .routers import router


class OutOfStockError(Exception):
    pass


async def invalid_body(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"message": "invalid body"}, status_code=400)


app = FastAPI(exception_handlers={RequestValidationError: invalid_body})
app.include_router(router)


@app.exception_handler(OutOfStockError)
async def out_of_stock(request: Request, exc: OutOfStockError) -> JSONResponse:
    return JSONResponse({"message": "out of stock"}, status_code=409)


@app.get("/stock")
async def stock() -> dict[str, int]:
    raise OutOfStockError


@app.get("/boom")
async def boom() -> dict[str, int]:
    raise RuntimeError("secret internals")
""",
    },
    "app/main.py",
    "app.main:app",
    "app",
)

BASE_HTTP_MIDDLEWARE = Shape(
    "base-http-middleware",
    {
        "pyproject.toml": _PYPROJECT,
        "app/__init__.py": "",
        "app/routers.py": _ITEMS_ROUTER,
        "app/timing.py": """\
import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from starlette.middleware.base import BaseHTTPMiddleware


class TimingMiddleware(BaseHTTPMiddleware):
    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["X-Elapsed"] = f"{time.perf_counter() - started:.4f}"
        return response
""",
        "app/main.py": """\
from fastapi import FastAPI

from .routers import router
from .timing import TimingMiddleware

app = FastAPI()
app.add_middleware(TimingMiddleware)
app.include_router(router)
""",
    },
    "app/main.py",
    "app.main:app",
    "app",
)

SHAPES = [FLAT, SRC, FACTORY, IN_INIT, OWN_HANDLERS, BASE_HTTP_MIDDLEWARE]


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def snapshot(root: Path) -> dict[str, str]:
    """Every file below root (outside .git) -> its sha256."""
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def git_commit_all(root: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    git("-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "fixture")


# -- shapes for `add health` (tests/test_add_health.py) -------------------------------------

_DB_PYPROJECT = """\
[project]
name = "shop"
version = "0.1.0"
dependencies = ["fastapi", "uvicorn", "sqlalchemy[asyncio]", "asyncpg", "redis"]
"""

SQLALCHEMY_ASYNC = Shape(
    "sqlalchemy-async",
    {
        "pyproject.toml": _DB_PYPROJECT,
        "app/__init__.py": "",
        "app/core/__init__.py": "",
        "app/routers.py": _ITEMS_ROUTER,
        "app/db.py": """\
import os
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

engine = create_async_engine(os.environ["DATABASE_URL"])
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def get_session() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session
""",
        "app/main.py": """\
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from .db import engine, get_session
from .routers import router


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    yield
    await engine.dispose()


app = FastAPI(title="Shop", version="1.2.0", lifespan=lifespan)
app.include_router(router)


@app.get("/now")
async def now(session: Annotated[AsyncSession, Depends(get_session)]) -> dict[str, str]:
    return {"now": str(await session.scalar(text("SELECT now()::text")))}
""",
    },
    "app/main.py",
    "app.main:app",
    "app/core",
)

REDIS_CLIENT = Shape(
    "redis",
    {
        "pyproject.toml": _DB_PYPROJECT,
        "shop/__init__.py": "",
        "shop/routers.py": _ITEMS_ROUTER,
        "shop/cache.py": """\
import os

from redis.asyncio import Redis

# No socket timeout of its own: a server that stops answering makes a command wait.
redis = Redis.from_url(os.environ["REDIS_URL"])
""",
        "shop/main.py": """\
from fastapi import FastAPI

from .cache import redis
from .routers import router

app = FastAPI()
app.include_router(router)


@app.get("/visits")
async def visits() -> dict[str, int]:
    return {"visits": int(await redis.incr("visits"))}
""",
    },
    "shop/main.py",
    "shop.main:app",
    "shop",
)

OWN_HEALTH = Shape(
    "own-health",
    {
        "pyproject.toml": _PYPROJECT,
        "app/__init__.py": "",
        "app/routers.py": _ITEMS_ROUTER,
        "app/main.py": """\
from fastapi import FastAPI

from .routers import router

app = FastAPI()
app.include_router(router)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
""",
    },
    "app/main.py",
    "app.main:app",
    "app",
)

# `/health/live` through a router's prefix; `/api/health` is not a conflict.
OWN_HEALTH_ROUTER = Shape(
    "own-health-router",
    {
        "pyproject.toml": _PYPROJECT,
        "app/__init__.py": "",
        "app/api/__init__.py": "",
        "app/api/status.py": """\
from fastapi import APIRouter

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live")
async def live() -> dict[str, str]:
    return {"status": "alive"}
""",
        "app/api/meta.py": """\
from fastapi import APIRouter

router = APIRouter()


@router.get("/health")
async def api_health() -> dict[str, str]:
    return {"status": "ok"}
""",
        "app/main.py": """\
from fastapi import FastAPI

from .api import meta, status

app = FastAPI()
app.include_router(status.router)
app.include_router(meta.router, prefix="/api")
""",
    },
    "app/main.py",
    "app.main:app",
    "app",
)


def run_module(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m ARGS` in `cwd` with this suite's Python (ruff, mypy), output captured."""
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def ruff_findings(path: Path) -> list[tuple[str, str]]:
    """ruff's findings on one file (a fixed rule set, no project configuration): what a
    patch must not add to."""
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "E,F,W,I,B,UP",
         "--line-length", "100", "--output-format", "json", str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return sorted((f["code"], f["message"]) for f in json.loads(result.stdout))
