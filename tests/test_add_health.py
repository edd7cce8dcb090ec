"""`fastapi-patterns add health` (fastapi_patterns.add.health, .resources, .routes): the checks it
finds in the app's code, the module it renders (ruff, ruff format, mypy --strict), conflicts with
the app's own routes, and apps served by a real uvicorn process on real PostgreSQL and Redis,
answering 503 problem+json naming the check when the server is stopped or stops answering."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from add_fixtures import (
    FLAT,
    OWN_HEALTH,
    OWN_HEALTH_ROUTER,
    REDIS_CLIENT,
    SHAPES,
    SQLALCHEMY_ASYNC,
    SRC,
    Shape,
    git_commit_all,
    run_module,
    snapshot,
    write,
)
from fastapi_patterns.add.engine import add_patterns
from fastapi_patterns.add.health import checks_for, render
from fastapi_patterns.add.patterns import ALL, PATTERNS, expand
from fastapi_patterns.add.resources import Resource
from fastapi_patterns.commands import main
from servers import PostgresServer, RedisServer
from service import Service, base_env
from test_add_patterns import RUFF_TOML

pytestmark = pytest.mark.xdist_group("add-health")
PROBLEM = "application/problem+json"


def add(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["add", *args])
    out, err = capsys.readouterr()
    return code, out, err


def project(tmp_path: Path, shape: Shape) -> Path:
    root = write(tmp_path / "project", shape.files)
    git_commit_all(root)
    return root


def checks_line(root: Path, shape: Shape) -> list[str]:
    """The entries of CHECKS in the module `add health` wrote."""
    text = (root / shape.modules_dir / "health.py").read_text()
    block = text.split("CHECKS: dict[str, Check] = {", 1)[1].split("}", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip()]


# -- what it finds -------------------------------------------------------------------------


def test_checks_the_engine_and_client_bound_at_module_level(tmp_path: Path) -> None:
    root = write(tmp_path, SQLALCHEMY_ASYNC.files)
    (root / "app/cache.py").write_text(
        "import redis\n\nclient = redis.Redis.from_url('redis://127.0.0.1:1/0')\n"
    )
    (root / "app/mongo.py").write_text(
        "from motor.motor_asyncio import AsyncIOMotorClient\n\n"
        "mongo: AsyncIOMotorClient = AsyncIOMotorClient('mongodb://127.0.0.1:1')\n"
    )
    result = add_patterns(root, ["health"])
    assert result.created == ["app/core/health.py", ".create-fastapi-app.yml"]
    assert checks_line(root, SQLALCHEMY_ASYNC) == [
        '"redis": _check_redis,',
        '"database": _check_database,',
        '"mongodb": _check_mongodb,',
    ]
    module = (root / "app/core/health.py").read_text()
    assert "    from app.db import engine  # imported here: app.db may import the app\n" in module
    assert "    await asyncio.to_thread(_ping_redis)\n" in module  # redis.Redis is sync
    assert '    await mongo.admin.command("ping")\n' in module
    assert result.notes == []


def test_engines_in_the_apps_tests_are_neither_checks_nor_notes(tmp_path: Path) -> None:
    root = write(tmp_path, SQLALCHEMY_ASYNC.files)
    (root / "app/tests").mkdir()
    (root / "app/tests/__init__.py").write_text("")
    (root / "app/tests/conftest.py").write_text(
        "from sqlalchemy.ext.asyncio import create_async_engine\n\n"
        "test_engine = create_async_engine('sqlite+aiosqlite://')\n\n\n"
        "def make():\n    return create_async_engine('sqlite+aiosqlite://')\n"
    )
    result = add_patterns(root, ["health"])
    assert checks_line(root, SQLALCHEMY_ASYNC) == ['"database": _check_database,']
    assert "from app.db import engine" in (root / "app/core/health.py").read_text()
    assert result.notes == []


@pytest.mark.parametrize("shape", [FLAT, SRC], ids=lambda s: s.id)
def test_a_client_made_inside_a_function_is_a_note_not_a_check(
    shape: Shape, tmp_path: Path
) -> None:
    root = write(tmp_path, shape.files)
    source = shape.files[shape.app_file] + (
        "\n\nasync def cache():\n"
        "    from redis.asyncio import from_url\n\n"
        "    return from_url('redis://127.0.0.1:1/0')\n"
    )
    (root / shape.app_file).write_text(source)
    line = source.splitlines().index("    return from_url('redis://127.0.0.1:1/0')") + 1
    result = add_patterns(root, ["health"])
    assert checks_line(root, shape) == []
    module = (root / shape.modules_dir / "health.py").read_text()
    assert "no backing service created at module" in module
    assert len(result.notes) == 1
    # The path as the person sees it, from the folder `add` was given (src/ included).
    assert result.notes[0].startswith(f"{shape.app_file}:{line}: a Redis client is created")


def test_several_engines_get_one_check_each_named_after_them(tmp_path: Path) -> None:
    root = write(tmp_path, SQLALCHEMY_ASYNC.files)
    (root / "app/replica.py").write_text(
        "from sqlalchemy import create_engine\n\n"
        "REPLICA_ENGINE = create_engine('postgresql://127.0.0.1:1/shop')\n"
    )
    add_patterns(root, ["health"])
    assert checks_line(root, SQLALCHEMY_ASYNC) == [
        '"database_engine": _check_database_engine,',
        '"database_replica_engine": _check_database_replica_engine,',
    ]


# -- the module it renders -----------------------------------------------------------------

# Stand-ins for the app's modules, typed like the real clients (motor has no stubs here).
_STUBS = {
    "db.py": """\
from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine("postgresql+asyncpg://127.0.0.1:1/shop")
sync_engine = create_engine("postgresql://127.0.0.1:1/shop")
cache = AsyncRedis.from_url("redis://127.0.0.1:1/0")
sync_cache = Redis.from_url("redis://127.0.0.1:1/0")
""",
    "a_module_with_a_long_name_that_pushes_the_import_line_past_the_limit.py": """\
class _Admin:
    async def command(self, name: str) -> dict[str, object]:
        return {"ok": 1, "name": name}


class _SyncAdmin:
    def command(self, name: str) -> dict[str, object]:
        return {"ok": 1, "name": name}


class Mongo:
    admin = _Admin()


class SyncMongo:
    admin = _SyncAdmin()


mongo_client_with_a_long_name = Mongo()
sync_mongo = SyncMongo()
""",
}
_LONG = "pkg.a_module_with_a_long_name_that_pushes_the_import_line_past_the_limit"
_RESOURCES = [
    Resource("database", True, "pkg.db", "engine", "pkg/db.py:6"),
    Resource("database", False, "pkg.db", "sync_engine", "pkg/db.py:7"),
    Resource("redis", True, "pkg.db", "cache", "pkg/db.py:8"),
    Resource("redis", False, "pkg.db", "sync_cache", "pkg/db.py:9"),
    Resource("mongodb", True, _LONG, "mongo_client_with_a_long_name", "pkg/x.py:19"),
    Resource("mongodb", False, _LONG, "sync_mongo", "pkg/x.py:20"),
]


@pytest.fixture(scope="module", params=["none", "one-of-each", "every-kind-twice"])
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("health-module")
    (root / "ruff.toml").write_text(RUFF_TOML)
    write(root / "pkg", {"__init__.py": "", **_STUBS})
    resources = {
        "none": [],
        "one-of-each": [_RESOURCES[0], _RESOURCES[3], _RESOURCES[4]],
        "every-kind-twice": _RESOURCES,
    }[request.param]
    (root / "pkg/health.py").write_bytes(render(checks_for(resources)))
    return root


def test_module_passes_ruff_with_the_generated_projects_rules(rendered: Path) -> None:
    result = run_module(rendered, "ruff", "check", "pkg/health.py")
    assert result.returncode == 0, result.stdout
    # Ruff's default rules too; long import lines are wrapped at the bundle's 100 columns.
    isolated = run_module(rendered, "ruff", "check", "--isolated", "--line-length", "100", "pkg")
    assert isolated.returncode == 0, isolated.stdout


def test_module_is_formatted(rendered: Path) -> None:
    result = run_module(rendered, "ruff", "format", "--diff", "pkg/health.py")
    assert result.returncode == 0, result.stdout


def test_module_passes_mypy_strict(rendered: Path) -> None:
    result = run_module(rendered, "mypy", "--strict", "--no-incremental", "pkg")
    assert result.returncode == 0, result.stdout


def test_rendering_is_deterministic() -> None:
    assert render(checks_for(_RESOURCES)) == render(checks_for(_RESOURCES))


# -- conflicts, second runs, `all` ---------------------------------------------------------


@pytest.mark.parametrize("shape", [OWN_HEALTH, OWN_HEALTH_ROUTER], ids=lambda s: s.id)
def test_an_existing_health_route_is_a_conflict_and_nothing_is_written(
    shape: Shape, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, shape)
    before = snapshot(root)
    code, out, err = add(capsys, "health", str(root))
    assert code == 1, out
    expected = {
        OWN_HEALTH.id: "(app/main.py:10: GET /health)",
        OWN_HEALTH_ROUTER.id: "(app/api/status.py:7: GET /health/live)",
    }
    assert expected[shape.id] in err
    assert "/api/health" not in err  # served under /api: not one of ours
    assert "# /health/ready: 503 application/problem+json" in out  # the manual lines
    assert snapshot(root) == before
    code, _, err = add(capsys, ALL, str(root))  # `all` refuses as a whole
    assert code == 1
    assert snapshot(root) == before


def test_a_second_run_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, SQLALCHEMY_ASYNC)
    code, out, _ = add(capsys, "health", str(root))
    assert code == 0, out
    patched = (root / "app/main.py").read_text()
    assert "from .core.health import health_router\n" in patched
    assert "app.include_router(health_router)\n" in patched
    git_commit_all(root)
    after = snapshot(root)
    code, out, _ = add(capsys, "health", str(root))
    assert code == 0, out
    assert "nothing to do" in out
    assert snapshot(root) == after


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.id)
def test_every_shape_serves_the_three_paths(shape: Shape, tmp_path: Path) -> None:
    root = write(tmp_path, shape.files)
    add_patterns(root, ["health"])
    module, attr = shape.module.split(":")
    script = (
        "import json, sys; from fastapi.testclient import TestClient;"
        f"from {module} import {attr} as app;"
        "c = TestClient(app);"
        "print(json.dumps([c.get(p).status_code for p in sys.argv[1:]]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, "/health/live", "/health/ready", "/health"],
        cwd=root / shape.app_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip() == "[200, 200, 200]", result.stderr


def test_all_includes_health(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert PATTERNS["health"] in expand([ALL])
    root = project(tmp_path, FLAT)
    code, out, _ = add(capsys, ALL, str(root))
    assert code == 0, out
    assert (root / "app/core/health.py").is_file()
    assert "app.include_router(health_router)\n" in (root / "app/main.py").read_text()


# -- served by uvicorn, on real servers ----------------------------------------------------


def _serve(root: Path, shape: Shape, **env: str) -> Service:
    add_patterns(root, ["errors", "request-context", "health"])
    package = shape.module.split(".")[0]
    service = Service(root, package, base_env(**env), uvicorn_cli=True)
    service.command[3] = shape.module
    return service


def _until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {seconds:g}s")
        time.sleep(0.05)  # polling interval, bounded by the deadline


def test_postgres_stopped_makes_readiness_503_naming_the_database(
    tmp_path: Path, fresh_postgres_server: Callable[..., PostgresServer]
) -> None:
    postgres = fresh_postgres_server()
    url = postgres.create_database("shop").replace("postgresql://", "postgresql+asyncpg://", 1)
    root = write(tmp_path, SQLALCHEMY_ASYNC.files)
    with _serve(root, SQLALCHEMY_ASYNC, DATABASE_URL=url) as service:
        client = service.client
        assert client.get("/now").status_code == 200  # the app's own route, on PostgreSQL
        assert client.get("/health/live").json() == {"status": "ok"}
        ready = client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ok"
        assert ready.json()["checks"]["database"]["status"] == "ok"
        health = client.get("/health").json()
        assert (health["name"], health["version"]) == ("Shop", "1.2.0")

        postgres.stop()
        down = client.get("/health/ready", headers={"X-Request-ID": "probe-1"})
        assert down.status_code == 503
        assert down.headers["content-type"] == PROBLEM
        assert down.headers["retry-after"] == "5"
        problem = down.json()
        assert problem["failed"] == ["database"]
        assert problem["detail"] == "Not ready: database failed."
        assert problem["checks"]["database"]["status"] == "error"
        assert problem["request_id"] == "probe-1"  # set by request-context, outermost
        assert client.get("/health").status_code == 503
        live = client.get("/health/live")
        assert live.status_code == 200  # liveness never touches the database

        postgres.start()  # same port, same data
        _until(lambda: client.get("/health/ready").status_code == 200, 30, "readiness 200")


@pytest.mark.parametrize("sync", [False, True], ids=["async-client", "sync-client"])
def test_redis_stopped_makes_readiness_503_naming_redis(
    sync: bool, tmp_path: Path, fresh_redis_server: Callable[..., RedisServer]
) -> None:
    redis = fresh_redis_server()
    root = write(tmp_path, REDIS_CLIENT.files)
    if sync:  # checked through a thread: the same answers
        cache = REDIS_CLIENT.files["shop/cache.py"].replace("from redis.asyncio", "from redis")
        (root / "shop/cache.py").write_text(cache)
    with _serve(root, REDIS_CLIENT, REDIS_URL=redis.url_for_db(2)) as service:
        client = service.client
        if not sync:
            assert client.get("/visits").json() == {"visits": 1}
        module = (root / "shop/health.py").read_text()
        assert ("await asyncio.to_thread(_ping_redis)" in module) is sync
        ready = client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        assert list(ready.json()["checks"]) == ["redis"]

        redis.stop()
        down = client.get("/health/ready")
        assert down.status_code == 503
        assert down.headers["content-type"] == PROBLEM
        assert down.json()["failed"] == ["redis"]
        assert client.get("/health/live").status_code == 200
        redis.start()
        _until(lambda: client.get("/health/ready").status_code == 200, 30, "readiness 200")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


def test_a_server_that_never_answers_cannot_hang_the_probe(
    tmp_path: Path, silent_port: int
) -> None:
    root = write(tmp_path, REDIS_CLIENT.files)
    url = f"redis://127.0.0.1:{silent_port}/0"
    with _serve(root, REDIS_CLIENT, REDIS_URL=url) as service:
        # The client would wait forever for the PING reply; the check's timeout ends it
        # (well inside the test client's own 10 s timeout, which would fail this test).
        down = service.client.get("/health/ready", timeout=httpx.Timeout(10.0))
        assert down.status_code == 503
        check = down.json()["checks"]["redis"]
        assert check["error"] == "TimeoutError: no answer within 2s"
        assert service.client.get("/health/live").status_code == 200
