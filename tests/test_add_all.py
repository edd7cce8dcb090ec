"""`fastapi-patterns add all` on every fixture shape it accepts, end to end.

Each shape gets a small test suite of its own (tests/test_app.py, run with TestClient against
its own routes), committed with it. The suite runs in a subprocess before and after `add all`
and must pass both times; then one real uvicorn process per shape serves the patched app and
shows the new behaviour over HTTP. The SQLAlchemy-async and SQLModel (async and sync) shapes
run on a real PostgreSQL of their own, which is stopped (readiness 503 naming the database) and
restarted (readiness 200 again); the Motor and PyMongo shapes do the same against
tests/mongo_wire.py, a wire-protocol stand-in, because no MongoDB server installs here. The
add_event_handler shape no longer imports on Starlette 1 (its own tests fail before), and
passes them after. On every shape ruff finds nothing new in the patched module and a second
run changes nothing. Refusals of `all` (a dirty file, an own /health route, a module of
the user's on the path `add` writes) leave every file byte-identical.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from add_fixtures import (
    BASE_HTTP_MIDDLEWARE,
    FACTORY,
    FLAT,
    IN_INIT,
    OWN_HANDLERS,
    OWN_HEALTH,
    OWN_HEALTH_ROUTER,
    REDIS_CLIENT,
    SQLALCHEMY_ASYNC,
    SRC,
    Shape,
    git_commit_all,
    ruff_findings,
    snapshot,
    write,
)
from fastapi_patterns.add.engine import add_patterns
from fastapi_patterns.add.patterns import ALL
from fastapi_patterns.commands import main
from servers import MongoWireServer, PostgresServer, RedisServer, Server, require_binary
from service import Service, base_env
from test_add_health import PROBLEM, _until
from test_add_lifespan import _LOG_HELPER, ADD_EVENT_HANDLER, EXISTING_LIFESPAN, MODULE_LEVEL
from test_add_lifespan import FACTORY as FACTORY_WITH_HOOKS

# -- shapes not in add_fixtures ------------------------------------------------------------

_HOOKS_PYPROJECT = '[project]\nname = "shop"\nversion = "0.1.0"\ndependencies = ["fastapi"]\n'


def _hooks_shape(shape_id: str, main_source: str) -> Shape:
    """An app whose startup/shutdown hooks append words to the file HOOKS_LOG names."""
    files = {
        "pyproject.toml": _HOOKS_PYPROJECT,
        "shop/__init__.py": "",
        "shop/hooks.py": _LOG_HELPER,
        "shop/routers.py": FLAT.files["app/routers/items.py"],
        "shop/main.py": main_source.replace(
            "from .hooks import note\n", "from .hooks import note\nfrom .routers import router\n"
        )
        + "\n\napp.include_router(router)\n",
    }
    return Shape(shape_id, files, "shop/main.py", "shop.main:app", "shop")


ON_EVENT = _hooks_shape("on-event", MODULE_LEVEL)
LIFESPAN = _hooks_shape("existing-lifespan", EXISTING_LIFESPAN)
HOOKED_FACTORY = _hooks_shape("factory-with-hooks", FACTORY_WITH_HOOKS)
EVENT_HANDLERS = _hooks_shape("add-event-handler", ADD_EVENT_HANDLER)

# SQLModel on PostgreSQL the async way (asyncpg): SQLAlchemy's async engine, SQLModel's own
# AsyncSession, tables created in the lifespan.
SQLMODEL = Shape(
    "sqlmodel",
    {
        "pyproject.toml": """\
[project]
name = "heroes"
version = "0.1.0"
dependencies = ["fastapi", "uvicorn", "sqlmodel", "asyncpg"]
""",
        "app/__init__.py": "",
        "app/routers.py": FLAT.files["app/routers/items.py"],
        "app/models.py": """\
from sqlmodel import Field, SQLModel


class HeroCreate(SQLModel):
    name: str


class Hero(HeroCreate, table=True):
    id: int | None = Field(default=None, primary_key=True)
""",
        "app/db.py": """\
import os
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

engine = create_async_engine(os.environ["DATABASE_URL"])


async def get_session() -> AsyncIterator[AsyncSession]:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session
""",
        "app/main.py": """\
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from .db import engine, get_session
from .models import Hero, HeroCreate
from .routers import router


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    async with engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all)
    yield
    await engine.dispose()


app = FastAPI(title="Heroes", lifespan=lifespan)
app.include_router(router)

Session = Annotated[AsyncSession, Depends(get_session)]


@app.post("/heroes")
async def create_hero(hero: HeroCreate, session: Session) -> Hero:
    row = Hero.model_validate(hero)
    session.add(row)
    await session.commit()
    return row


@app.get("/heroes")
async def list_heroes(session: Session) -> list[Hero]:
    return list(await session.exec(select(Hero).order_by(Hero.id)))
""",
    },
    "app/main.py",
    "app.main:app",
    "app",
)

# SQLModel the sync way: psycopg 3, sync routes FastAPI runs in its thread pool; the
# readiness check `add` writes pings this engine in a thread.
SQLMODEL_SYNC = Shape(
    "sqlmodel-sync",
    {
        "pyproject.toml": SQLMODEL.files["pyproject.toml"].replace(
            '"asyncpg"', '"psycopg[binary]"'
        ),
        "app/__init__.py": "",
        "app/routers.py": FLAT.files["app/routers/items.py"],
        "app/models.py": SQLMODEL.files["app/models.py"],
        "app/db.py": """\
import os
from collections.abc import Iterator

from sqlmodel import Session, SQLModel, create_engine

engine = create_engine(os.environ["DATABASE_URL"])


def create_tables() -> None:
    SQLModel.metadata.create_all(engine)


def get_session() -> Iterator[Session]:
    with Session(engine) as session:
        yield session
""",
        "app/main.py": """\
from typing import Annotated

from fastapi import Depends, FastAPI
from sqlmodel import Session, select

from .db import create_tables, get_session
from .models import Hero, HeroCreate
from .routers import router

create_tables()
app = FastAPI(title="Heroes")
app.include_router(router)

SessionDep = Annotated[Session, Depends(get_session)]


@app.post("/heroes")
def create_hero(hero: HeroCreate, session: SessionDep) -> Hero:
    row = Hero.model_validate(hero)
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


@app.get("/heroes")
def list_heroes(session: SessionDep) -> list[Hero]:
    return list(session.exec(select(Hero).order_by(Hero.id)))
""",
    },
    "app/main.py",
    "app.main:app",
    "app",
)


def _mongo_shape(shape_id: str, client_module: str, main_source: str) -> Shape:
    """A notes API whose MongoDB client is made at module level in app/db.py."""
    files = {
        "pyproject.toml": f"""\
[project]
name = "notes"
version = "0.1.0"
dependencies = ["fastapi", "uvicorn", "{shape_id}"]
""",
        "app/__init__.py": "",
        "app/routers.py": FLAT.files["app/routers/items.py"],
        "app/db.py": client_module,
        "app/main.py": main_source,
    }
    return Shape(shape_id, files, "app/main.py", "app.main:app", "app")


# Both Mongo apps serve the server's answer to a ping.
_SERVER_ROUTE = """\
app.include_router(router)


@app.get("/server")
async def server_status() -> dict[str, Any]:
    return await client.admin.command("ping")
"""

# Motor, the asyncio driver most existing apps use (deprecated in favour of PyMongo's own
# async API, which the next shape uses), with nothing to close it.
MOTOR = _mongo_shape(
    "motor",
    """\
import os

from motor.motor_asyncio import AsyncIOMotorClient

client = AsyncIOMotorClient(os.environ["MONGODB_URL"], serverSelectionTimeoutMS=3000)
""",
    """\
from typing import Any

from fastapi import FastAPI

from .db import client
from .routers import router

app = FastAPI(title="Notes")
"""
    + _SERVER_ROUTE,
)

# PyMongo's AsyncMongoClient, closed by the app's own lifespan (which `add` composes with).
PYMONGO_ASYNC = _mongo_shape(
    "pymongo",
    """\
import os

from pymongo import AsyncMongoClient

client: AsyncMongoClient = AsyncMongoClient(
    os.environ["MONGODB_URL"], serverSelectionTimeoutMS=3000
)
""",
    """\
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from .db import client
from .routers import router


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    yield
    await client.aclose()


app = FastAPI(title="Notes", lifespan=lifespan)
"""
    + _SERVER_ROUTE,
)

# The tutorial shape: main.py and its neighbours at the top level, no package. The new
# modules go beside main.py, imported absolutely; ruff's isort rules are on, so the new
# imports must land in the project's own section.
TOP_LEVEL = Shape(
    "top-level",
    {
        "pyproject.toml": f"""\
{_HOOKS_PYPROJECT}
[tool.ruff.lint]
extend-select = ["I"]
""",
        "routers.py": FLAT.files["app/routers/items.py"],
        "main.py": """\
from fastapi import FastAPI

from routers import router

app = FastAPI(title="Shop")
app.include_router(router)


@app.get("/")
async def root() -> dict[str, str]:
    return {"name": "shop"}
""",
    },
    "main.py",
    "main:app",
    "",
)

# -- each shape's own test suite -----------------------------------------------------------

_ITEM_TESTS = """\


def test_create_item() -> None:
    with TestClient(app) as client:
        response = client.post("/items", json={{"name": "pen", "price": 2.5}})
    assert response.status_code == 200
    assert response.json() == {{"name": "pen", "price": 2.5}}


def test_price_must_be_a_number() -> None:
    with TestClient(app) as client:
        response = client.post("/items", json={{"name": "pen", "price": "free"}})
    assert response.status_code == {bad_body_status}
"""


def _hooks_test(while_serving: list[str], after: list[str]) -> str:
    """A test that the app's hooks ran, in order, around a TestClient's lifespan."""
    return f"""
import os
from pathlib import Path


def test_hooks_run_around_the_client() -> None:
    log = Path(os.environ["HOOKS_LOG"])
    log.unlink(missing_ok=True)
    with TestClient(app):
        assert log.read_text().split() == {while_serving}
    assert log.read_text().split() == {after}
"""


_ROOT_TEST = """

def test_root() -> None:
    assert TestClient(app).get("/").json() == {"name": "shop"}
"""

_SERVER_ANSWERS = """

def test_the_server_answers() -> None:
    with TestClient(app) as client:
        assert client.get("/server").json() == {"ok": 1.0}
"""

# What each shape's owner tests beyond the items route.
_EXTRA_TESTS = {
    FLAT.id: _ROOT_TEST,
    TOP_LEVEL.id: _ROOT_TEST,
    FACTORY.id: """
from app.main import create_app


def test_factory_takes_a_title() -> None:
    assert create_app(title="Test").title == "Test"
""",
    OWN_HANDLERS.id: """

def test_out_of_stock_is_a_conflict() -> None:
    response = TestClient(app).get("/stock")
    assert response.status_code == 409
    assert response.json() == {"message": "out of stock"}
""",
    BASE_HTTP_MIDDLEWARE.id: """

def test_timing_header() -> None:
    assert "x-elapsed" in TestClient(app).get("/docs").headers
""",
    ON_EVENT.id: _hooks_test(["startup"], ["startup", "shutdown"]),
    LIFESPAN.id: """
import os
from pathlib import Path


def test_lifespan_runs_around_the_client() -> None:
    log = Path(os.environ["HOOKS_LOG"])
    log.unlink(missing_ok=True)
    with TestClient(app):
        assert "lifespan-enter" in log.read_text().split()
    assert log.read_text().split()[-1] == "lifespan-exit"
""",
    HOOKED_FACTORY.id: _hooks_test(["warm", "startup"], ["warm", "startup", "shutdown"]),
    EVENT_HANDLERS.id: _hooks_test(["startup"], ["startup", "shutdown"]),
    SQLALCHEMY_ASYNC.id: """

def test_now_comes_from_the_database() -> None:
    with TestClient(app) as client:
        response = client.get("/now")
    assert response.status_code == 200
    assert response.json()["now"][:2] == "20"
""",
    REDIS_CLIENT.id: """

def test_visits_count_up() -> None:
    with TestClient(app) as client:
        first = client.get("/visits").json()["visits"]
        assert client.get("/visits").json() == {"visits": first + 1}
""",
    SQLMODEL.id: """
import uuid


def test_a_hero_is_stored() -> None:
    name = uuid.uuid4().hex
    with TestClient(app) as client:
        created = client.post("/heroes", json={"name": name})
        assert created.status_code == 200
        assert created.json()["id"] >= 1
        assert name in [hero["name"] for hero in client.get("/heroes").json()]
""",
    MOTOR.id: _SERVER_ANSWERS,
    PYMONGO_ASYNC.id: _SERVER_ANSWERS,
}
_EXTRA_TESTS[SQLMODEL_SYNC.id] = _EXTRA_TESTS[SQLMODEL.id]


def own_suite(shape: Shape) -> dict[str, str]:
    """tests/test_app.py for the shape, and pytest told where its code lives."""
    module, attr = shape.module.split(":")
    bad_body_status = 400 if shape is OWN_HANDLERS else 422  # its own handler answers 400
    test_app = (
        f"from fastapi.testclient import TestClient\n\nfrom {module} import {attr} as app\n"
        + _EXTRA_TESTS.get(shape.id, "")
        + _ITEM_TESTS.format(bad_body_status=bad_body_status)
    )
    pytest_config = f'\n[tool.pytest.ini_options]\npythonpath = ["{shape.app_dir}"]\n'
    return {
        "pyproject.toml": shape.files["pyproject.toml"] + pytest_config,
        "tests/test_app.py": test_app,
    }


def run_own_suite(root: Path, env: dict[str, str], *, broken_by: str = "") -> tuple[int, str]:
    """Run the project's own tests with this suite's Python; (tests passed, output).

    `broken_by`: the app cannot import on the installed FastAPI, and the output names why.
    """
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root,
        # Only pytest itself: this suite's plugins (randomly, xdist, ...) are not the project's.
        env={**env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    if broken_by:
        assert result.returncode != 0 and broken_by in output, output
        return 0, output
    assert result.returncode == 0, output
    passed = re.search(r"(\d+) passed", output)
    assert passed is not None, output
    return int(passed.group(1)), output


# -- one project per shape: own tests before and after `add all`, then served --------------

SERVED = [
    FLAT,
    TOP_LEVEL,
    SRC,
    FACTORY,
    IN_INIT,
    ON_EVENT,
    LIFESPAN,
    HOOKED_FACTORY,
    EVENT_HANDLERS,
    BASE_HTTP_MIDDLEWARE,
    OWN_HANDLERS,
    SQLALCHEMY_ASYNC,
    REDIS_CLIENT,
    SQLMODEL,
    SQLMODEL_SYNC,
    MOTOR,
    PYMONGO_ASYNC,
]
ON_POSTGRES = (SQLALCHEMY_ASYNC, SQLMODEL, SQLMODEL_SYNC)
ON_MONGO = (MOTOR, PYMONGO_ASYNC)
# The readiness checks `add all` finds in each shape's code (none: an empty list).
READINESS_CHECKS = {
    SQLALCHEMY_ASYNC.id: ["database"],
    SQLMODEL.id: ["database"],
    SQLMODEL_SYNC.id: ["database"],
    REDIS_CLIENT.id: ["redis"],
    MOTOR.id: ["mongodb"],
    PYMONGO_ASYNC.id: ["mongodb"],
}
# The SQLAlchemy URL scheme each PostgreSQL shape's driver needs.
_POSTGRES_DRIVER = {SQLMODEL_SYNC.id: "postgresql+psycopg://"}


def _postgres() -> PostgresServer:
    """A PostgreSQL of the test's own (not the session's): the test stops it."""
    for tool in PostgresServer.TOOLS:
        require_binary(PostgresServer.tool_path(tool), "the SQLAlchemy/SQLModel shapes need it")
    return PostgresServer()


# One test per shape, each with its one uvicorn: with pytest 9.2, xdist 3.8's --dist loadgroup
# no longer keeps an xdist_group on one worker (pytest-dev/pytest-xdist#1386), so tests
# sharing a module-scoped served app would set it up on both workers. Each worker runs one
# of these at a time, so CI's two workers serve at most two apps at once.
@pytest.mark.parametrize("shape", SERVED, ids=lambda shape: shape.id)
def test_add_all_keeps_the_apps_tests_passing_and_serves_every_pattern(
    shape: Shape, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env = base_env(HOOKS_LOG=str(tmp_path / "hooks.log"))
    with contextlib.ExitStack() as stack:
        backing: Server | None = None  # the server this test stops: the app's database
        if shape in ON_POSTGRES:
            postgres = backing = stack.enter_context(_postgres())
            url = postgres.create_database("shop")
            driver = _POSTGRES_DRIVER.get(shape.id, "postgresql+asyncpg://")
            env["DATABASE_URL"] = url.replace("postgresql://", driver, 1)
        if shape in ON_MONGO:
            mongo = backing = stack.enter_context(MongoWireServer())
            env["MONGODB_URL"] = mongo.url
        if shape is REDIS_CLIENT:
            redis: RedisServer = request.getfixturevalue("redis_server")
            env["REDIS_URL"] = redis.url_for_db(3)
        root = write(tmp_path / "project", {**shape.files, **own_suite(shape)})
        git_commit_all(root)

        if shape is EVENT_HANDLERS:
            # Starlette 1.0 removed add_event_handler and FastAPI did not bring it back, so
            # this app no longer imports; the lifespan `add` writes in its place mends it.
            before, _ = run_own_suite(root, env, broken_by="no attribute 'add_event_handler'")
            before = len(re.findall(r"^def test_", (root / "tests/test_app.py").read_text(), re.M))
        else:
            before, _ = run_own_suite(root, env)
        result = add_patterns(root, [ALL])
        assert result.patched == [shape.app_file]
        after, _ = run_own_suite(root, env)
        assert before == after >= 2

        package = shape.module.split(".")[0].split(":")[0]
        service = Service(root, package, env, uvicorn_cli=True, src_layout=shape is SRC)
        service.command[3] = shape.module  # not always package.main:app (svc:app)
        with service:
            check_request_context(service.client)
            check_problems(service.client, own_validation_handler=shape is OWN_HANDLERS)
            checks = READINESS_CHECKS.get(shape.id, [])
            check_health(service.client, checks)
            if backing is not None:
                check_outage(service.client, backing, checks[0])


def check_request_context(client: httpx.Client) -> None:
    response = client.post("/items", json={"name": "pen", "price": 2.5})
    assert response.status_code == 200
    assert len(response.headers["x-request-id"]) == 32
    assert response.headers["x-response-time"].endswith("ms")
    kept = client.get("/health/live", headers={"X-Request-ID": "trace-all"})
    assert kept.headers["x-request-id"] == "trace-all"


def check_problems(client: httpx.Client, *, own_validation_handler: bool) -> None:
    unknown = client.get("/nowhere", headers={"X-Request-ID": "req-404"})
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == PROBLEM
    body = unknown.json()
    assert (body["status"], body["instance"], body["request_id"]) == (404, "/nowhere", "req-404")

    bad = client.post("/items", json={"name": "pen", "price": "free"})
    if own_validation_handler:  # the app's own RequestValidationError handler wins
        assert (bad.status_code, bad.json()) == (400, {"message": "invalid body"})
        return
    assert bad.status_code == 422
    assert bad.headers["content-type"] == PROBLEM
    assert [error["loc"] for error in bad.json()["errors"]] == [["body", "price"]]
    assert "free" not in bad.text  # the input is not echoed back


def check_health(client: httpx.Client, checks: list[str]) -> None:
    live = client.get("/health/live")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    ready = client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert sorted(ready.json()["checks"]) == checks
    assert all(check["status"] == "ok" for check in ready.json()["checks"].values())


def check_outage(client: httpx.Client, server: Server, check: str) -> None:
    server.stop()
    down = client.get("/health/ready", headers={"X-Request-ID": "probe-all"})
    assert down.status_code == 503
    assert down.headers["content-type"] == PROBLEM
    problem = down.json()
    assert problem["failed"] == [check]
    assert problem["detail"] == f"Not ready: {check} failed."
    assert problem["request_id"] == "probe-all"
    assert client.get("/health/live").status_code == 200  # liveness never asks the server
    server.start()  # same port (and for PostgreSQL the same data)
    _until(lambda: client.get("/health/ready").status_code == 200, 30, "readiness 200")


# -- refusals of `all`: nothing written, every byte kept -----------------------------------


def _append(rel: str, text: str, *, stage: bool = False) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        with (root / rel).open("a") as stream:
            stream.write(text)
        if stage:
            subprocess.run(["git", "add", rel], cwd=root, check=True)

    return change


def _committed(rel: str, text: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        write(root, {rel: text})
        git_commit_all(root)  # a new commit on top of the fixture's

    return change


REFUSALS: dict[str, tuple[Shape, Callable[[Path], None], str]] = {
    "edited-app-module": (
        FLAT,
        _append("app/main.py", "# work in progress\n"),
        "app/main.py has uncommitted changes",
    ),
    "staged-app-module": (
        FACTORY,
        _append("app/main.py", "# staged, not committed\n", stage=True),
        "app/main.py has uncommitted changes",
    ),
    "edited-src-module": (
        SRC,
        _append("src/shop/main.py", "# work in progress\n"),
        "src/shop/main.py has uncommitted changes",
    ),
    "edited-lifespan-module": (
        SQLALCHEMY_ASYNC,
        _append("app/main.py", "# work in progress\n"),
        "app/main.py has uncommitted changes",
    ),
    "own-health": (OWN_HEALTH, lambda root: None, "(app/main.py:10: GET /health)"),
    "own-health-router": (
        OWN_HEALTH_ROUTER,
        lambda root: None,
        "(app/api/status.py:7: GET /health/live)",
    ),
    "own-module-named-health": (
        FLAT,
        _committed("app/core/health.py", "STATUS = 'mine'\n"),
        "app/core/health.py exists and is not the module `add` wrote",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusals_leave_the_tree_byte_identical(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shape, change, reason = REFUSALS[case]
    root = write(tmp_path / "project", shape.files)
    git_commit_all(root)
    change(root)
    before = snapshot(root)
    status = _git_status(root)
    assert main(["add", ALL, str(root)]) == 1
    _, err = capsys.readouterr()
    assert reason in err
    assert "Nothing was written" in err
    assert snapshot(root) == before
    assert _git_status(root) == status  # nothing staged, nothing new
    assert main(["add", ALL, str(root), "--dry-run"]) == 1  # the preview refuses alike
    assert snapshot(root) == before


def test_a_dirty_file_add_does_not_touch_is_no_reason_to_refuse(tmp_path: Path) -> None:
    root = write(tmp_path / "project", FLAT.files)
    git_commit_all(root)
    _append("app/routers/items.py", "# work in progress\n")(root)
    edited = (root / "app/routers/items.py").read_bytes()
    result = add_patterns(root, [ALL])
    assert result.patched == ["app/main.py"]
    assert (root / "app/routers/items.py").read_bytes() == edited


def _git_status(root: Path) -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.mark.parametrize("shape", SERVED, ids=lambda shape: shape.id)
def test_ruff_finds_nothing_new_and_a_second_run_changes_nothing(
    shape: Shape, tmp_path: Path
) -> None:
    root = write(tmp_path / "project", shape.files)
    git_commit_all(root)
    before = ruff_findings(root / shape.app_file)
    add_patterns(root, [ALL])
    assert ruff_findings(root / shape.app_file) == before
    git_commit_all(root)
    tree = snapshot(root)
    again = add_patterns(root, [ALL])
    assert (again.created, again.patched, again.diff) == ([], [], "")
    assert snapshot(root) == tree
