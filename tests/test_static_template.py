"""assets/fastapi-app-template.py: boots with no environment, behaves, and is lint-clean.

The server tests run the file under a real uvicorn process on a free loopback port and
wait for uvicorn's own "running" line (read from its stderr) instead of sleeping. The
in-process tests load the module by path and drive it over ASGI for the paths that need
a broken database or a route added at test time.
"""

import asyncio
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import httpx
import jwt
import pytest
import structlog
from asgi_lifespan import LifespanManager
from fastapi import Depends
from sqlalchemy.exc import OperationalError

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "assets" / "fastapi-app-template.py"
BIN = Path(sys.executable).parent
BOOT_DEADLINE = 30.0
PASSWORD = "correct horse battery staple"


@dataclass
class Lines:
    """Lines read from a pipe by a background thread; waiters block on a condition."""

    lines: list[str] = field(default_factory=list)
    closed: bool = False
    cond: threading.Condition = field(default_factory=threading.Condition)

    def pump(self, stream: Any) -> None:
        for raw in iter(stream.readline, b""):
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.cond.notify_all()
        stream.close()
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def wait_for(self, predicate: Callable[[str], bool], timeout: float) -> str:
        with self.cond:
            found: list[str] = []

            def ready() -> bool:
                found[:] = [line for line in self.lines if predicate(line)]
                return bool(found) or self.closed

            self.cond.wait_for(ready, timeout)
            if not found:
                raise AssertionError(f"no matching line within {timeout}s: {self.lines[-20:]}")
            return found[0]

    def text(self) -> str:
        with self.cond:
            return "\n".join(self.lines)


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    stdout: Lines
    stderr: Lines
    threads: list[threading.Thread]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        for thread in self.threads:
            thread.join(timeout=5)
        return code

    def access_lines(self, request_id: str) -> list[dict[str, Any]]:
        self.stdout.wait_for(lambda line: request_id in line, 10)
        records = [json.loads(line) for line in self.stdout.text().splitlines() if line]
        return [r for r in records if r.get("request_id") == request_id]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(workdir: Path, *, as_script: bool = False) -> Server:
    """Start the template under uvicorn; ``as_script`` runs the file's own __main__ block."""
    port = _free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir)}
    python = [str(BIN / "python"), "-B"]  # -B: no __pycache__ inside assets/
    if as_script:
        env |= {"HOST": "127.0.0.1", "PORT": str(port)}
        argv = [*python, str(TEMPLATE)]
    else:
        argv = [
            *python,
            "-m",
            "uvicorn",
            "--app-dir",
            str(TEMPLATE.parent),
            "fastapi-app-template:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ]
    proc = subprocess.Popen(
        argv, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    stdout, stderr = Lines(), Lines()
    threads = [
        threading.Thread(target=stdout.pump, args=(proc.stdout,), daemon=True),
        threading.Thread(target=stderr.pump, args=(proc.stderr,), daemon=True),
    ]
    for thread in threads:
        thread.start()
    server = Server(proc, f"http://127.0.0.1:{port}", stdout, stderr, threads)
    try:
        stderr.wait_for(lambda line: "Uvicorn running on" in line, BOOT_DEADLINE)
    except AssertionError:
        server.stop()
        raise AssertionError(f"template did not boot:\n{stderr.text()}") from None
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("template"))
    yield running
    running.stop()


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http


def _register_and_login(client: httpx.Client, email: str) -> str:
    created = client.post("/users", json={"email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    issued = client.post("/auth/token", data={"username": email, "password": PASSWORD})
    assert issued.status_code == 200, issued.text
    token: str = issued.json()["access_token"]
    return token


# ------------------------------------------------------------------------ under uvicorn


def test_boots_with_no_environment_on_sqlite(server: Server) -> None:
    startup = json.loads(server.stdout.wait_for(lambda line: '"startup"' in line, 5))
    assert startup["checks"] == ["database"]  # no REDIS_URL, so no redis check
    warning = server.stdout.wait_for(lambda line: "ephemeral_secret_key" in line, 5)
    assert json.loads(warning)["level"] == "warning"


def test_liveness_answers_without_checks(client: httpx.Client) -> None:
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_readiness_reports_each_check(client: httpx.Client) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database"}  # no REDIS_URL, so no redis check
    assert body["checks"]["database"]["status"] == "ok"
    combined = client.get("/health").json()
    assert combined["checks"].keys() == {"database"}
    assert combined["name"] == "fastapi-app"
    assert combined["version"] and combined["environment"] == "development"


def test_unknown_path_is_problem_json(client: httpx.Client) -> None:
    response = client.get("/no/such/path")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404
    assert body["title"] == "Not Found"
    assert body["instance"] == "/no/such/path"
    assert body["request_id"] == response.headers["x-request-id"]


def test_safe_request_id_is_echoed(client: httpx.Client) -> None:
    response = client.get("/health/live", headers={"X-Request-ID": "trace-abc.123"})
    assert response.headers["x-request-id"] == "trace-abc.123"


@pytest.mark.parametrize("incoming", ["has space", "semi;colon", "x" * 200, "-leading-dash"])
def test_unsafe_request_id_is_replaced(client: httpx.Client, incoming: str) -> None:
    response = client.get("/health/live", headers={"X-Request-ID": incoming})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_response_time_header(client: httpx.Client) -> None:
    for path in ("/health/live", "/missing"):
        value = client.get(path).headers["x-response-time"]
        assert re.fullmatch(r"\d+\.\d{2}ms", value), value


def test_one_json_access_line_per_request(server: Server, client: httpx.Client) -> None:
    request_id = "access-log-probe-1"
    client.get("/health/live?token=secret", headers={"X-Request-ID": request_id})
    records = server.access_lines(request_id)
    assert len(records) == 1
    record = records[0]
    assert record["event"] == "request"
    assert record["method"] == "GET"
    assert record["path"] == "/health/live"  # no query string: it may carry secrets
    assert record["status"] == 200
    assert record["duration_ms"] >= 0
    assert record["client"] == "127.0.0.1"
    # uvicorn's own access log is off, so the request is not logged twice
    assert '"GET /health/live' not in server.stderr.text()


def test_auth_flow(client: httpx.Client) -> None:
    token = _register_and_login(client, "Alice@Example.com")
    me = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json() == {
        "id": me.json()["id"],
        "email": "alice@example.com",
        "full_name": None,
        "is_active": True,
        "is_admin": False,
    }

    taken = client.post("/users", json={"email": "alice@example.com", "password": PASSWORD})
    assert taken.status_code == 409
    assert taken.headers["content-type"] == "application/problem+json"

    wrong = client.post("/auth/token", data={"username": "alice@example.com", "password": "x" * 12})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"].startswith("Bearer")

    forbidden = client.get("/users", headers={"Authorization": f"Bearer {token}"})
    assert forbidden.status_code == 403
    assert forbidden.json()["detail"] == "Administrator role required."


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Bearer " + jwt.encode({"sub": "1"}, "k" * 40, algorithm="HS256")},
    ],
    ids=["missing", "wrong-scheme", "garbage", "foreign-key-no-exp"],
)
def test_bad_credentials_get_401_with_challenge(
    client: httpx.Client, headers: dict[str, str]
) -> None:
    response = client.get("/users/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"


def test_unsigned_token_is_refused(client: httpx.Client) -> None:
    token = _register_and_login(client, "mallory@example.com")
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(claims, None, algorithm="none")
    response = client.get("/users/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def test_validation_error_lists_errors_without_echoing_input(client: httpx.Client) -> None:
    response = client.post("/users", json={"email": "bob@example.com", "password": "short"})
    assert response.status_code == 422
    body = response.json()
    assert body["errors"] == [
        {
            "loc": ["body", "password"],
            "msg": "String should have at least 12 characters",
            "type": "string_too_short",
        }
    ]
    assert "short" not in response.text.replace("too_short", "")


def test_items_export_streams_json_lines(client: httpx.Client) -> None:
    token = _register_and_login(client, "carol@example.com")
    auth = {"Authorization": f"Bearer {token}"}
    titles = [f"item {n}" for n in range(25)]
    for title in titles:
        assert client.post("/items", json={"title": title}, headers=auth).status_code == 201
    with client.stream("GET", "/items/export", headers=auth) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/jsonl"
        rows = [json.loads(line) for line in response.iter_lines() if line]
    assert [row["title"] for row in rows] == titles


def test_sigterm_shuts_down_cleanly(tmp_path: Path) -> None:
    running = start_server(tmp_path)
    try:
        with httpx.Client(base_url=running.url) as http:
            assert http.get("/health/ready").status_code == 200
    finally:
        code = running.stop()
    # uvicorn re-raises the captured SIGTERM once its graceful shutdown has finished.
    assert code in (0, -signal.SIGTERM), running.stderr.text()
    assert "Finished server process" in running.stderr.text()
    assert "Application shutdown complete" in running.stderr.text()
    assert '"event":"shutdown"' in running.stdout.text()
    assert "Traceback" not in running.stderr.text()


def test_runs_as_a_script(tmp_path: Path) -> None:
    running = start_server(tmp_path, as_script=True)
    try:
        with httpx.Client(base_url=running.url) as http:
            response = http.get("/health/live", headers={"X-Request-ID": "script-run"})
            assert response.status_code == 200
        assert len(running.access_lines("script-run")) == 1
        assert '"GET /health/live' not in running.stderr.text()  # access_log=False
    finally:
        running.stop()
    assert (tmp_path / "app.db").is_file()  # SQLite file in the working directory


# ------------------------------------------------------------------------- in process


@pytest.fixture
def template(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[ModuleType]:
    """The template module, imported from a clean directory with a clean environment."""
    for name in list(os.environ):
        if name.upper() in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ENVIRONMENT"}:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # no __pycache__ inside assets/
    saved = structlog.get_config()
    spec = importlib.util.spec_from_file_location("fastapi_app_template", TEMPLATE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)
        structlog.configure(**saved)


def _drive(app: Any, scenario: Callable[[httpx.AsyncClient], Any]) -> Any:
    async def main() -> Any:
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                return await scenario(http)

    return asyncio.run(main())


def test_settings_refuse_insecure_values(template: ModuleType) -> None:
    settings_cls = template.Settings
    with pytest.raises(ValueError, match="at least 32 characters"):
        settings_cls(_env_file=None, secret_key="too-short")
    with pytest.raises(ValueError, match="SECRET_KEY is required"):
        settings_cls(_env_file=None, environment="production")
    with pytest.raises(ValueError, match="credentialed"):
        settings_cls(_env_file=None, cors_origins="*", cors_allow_credentials=True)
    ok = settings_cls(_env_file=None, cors_origins="https://a.example, https://b.example")
    assert ok.cors_origins == ["https://a.example", "https://b.example"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db/app", "postgresql+asyncpg://u:p@db/app"),
        ("postgresql://u:p@db/app", "postgresql+asyncpg://u:p@db/app"),
        ("postgresql+psycopg2://u@db/app", "postgresql+asyncpg://u@db/app"),
        ("postgresql+psycopg://u@db/app", "postgresql+psycopg://u@db/app"),
        ("mysql://u@db/app", "mysql+asyncmy://u@db/app"),
        ("sqlite:///./x.db", "sqlite+aiosqlite:///./x.db"),
        ("sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
    ],
)
def test_database_url_is_normalised_to_async_driver(
    template: ModuleType, given: str, expected: str
) -> None:
    assert template.to_async_url(given) == expected


def test_database_url_needs_its_driver_installed(
    template: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "sqlite:///./x.db"
    assert template.Settings(_env_file=None, database_url=url).database_url == (
        "sqlite+aiosqlite:///./x.db"
    )
    # As if only aiosqlite were installed (the template's own requirement).
    real_find_spec = template.find_spec
    monkeypatch.setattr(
        template, "find_spec", lambda name: real_find_spec(name) if name == "aiosqlite" else None
    )
    with pytest.raises(ValueError, match="needs the asyncpg package, which is not installed"):
        template.Settings(_env_file=None, database_url="postgres://u@db/app")


def test_startup_error_names_the_database(template: ModuleType, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/missing-dir/app.db"
    settings = template.Settings(_env_file=None, database_url=url, startup_timeout=0.3)
    app = template.create_app(settings)
    with pytest.raises(template.StartupError) as caught:
        _drive(app, lambda http: http.get("/health/live"))
    assert str(caught.value) == (
        "Startup check failed after 0.3s: database: FileNotFoundError: "
        f"The directory {tmp_path}/missing-dir of the SQLite file does not exist."
    )


def _sqlite_workers() -> set[threading.Thread]:
    # aiosqlite runs each connection on a thread named after its target function.
    return {t for t in threading.enumerate() if t.name.endswith("(_connection_worker_thread)")}


def test_failed_sqlite_connect_leaves_no_worker_thread(
    template: ModuleType, tmp_path: Path
) -> None:
    """aiosqlite raises a failed open before the connection's worker thread has stopped.

    That thread still resolves a future on the event loop; if the loop has closed by then
    it dies with "RuntimeError: Event loop is closed", and pytest reports it against
    whichever test runs next. The template's engine waits for the thread, so it is gone
    by the time the error reaches the caller. Working connections keep daemon threads.
    """
    missing = f"sqlite+aiosqlite:///{tmp_path}/missing-dir/app.db"
    broken = template.create_engine(template.Settings(_env_file=None, database_url=missing))
    working = template.create_engine(
        template.Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/ok.db")
    )

    async def main() -> tuple[set[threading.Thread], set[threading.Thread]]:
        before = _sqlite_workers()
        try:
            with pytest.raises(OperationalError, match="unable to open database file"):
                async with broken.connect():
                    pass
            left_behind = _sqlite_workers() - before
            async with working.connect():
                serving = _sqlite_workers() - before
        finally:
            await broken.dispose()
            await working.dispose()
        return left_behind, serving

    left_behind, serving = asyncio.run(main())
    assert left_behind == set()
    assert serving and all(thread.daemon for thread in serving)


def test_database_loss_gives_503_ready_and_problem(template: ModuleType, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    url = f"sqlite+aiosqlite:///{data_dir}/app.db"
    app = template.create_app(template.Settings(_env_file=None, database_url=url))

    @app.post("/test-only/drop-pool", status_code=204)
    async def drop_pool(resources: Annotated[Any, Depends(template.get_resources)]) -> None:
        # Pooled SQLite connections keep a deleted file alive; drop them so the next
        # connection has to open the (now missing) file.
        await resources.engine.dispose()

    async def scenario(http: httpx.AsyncClient) -> None:
        assert (await http.get("/health/ready")).status_code == 200
        assert (await http.post("/test-only/drop-pool")).status_code == 204
        shutil.rmtree(data_dir)
        ready = await http.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "unavailable"
        assert ready.json()["checks"]["database"] == {
            "status": "error",
            "latency_ms": ready.json()["checks"]["database"]["latency_ms"],
            "error": f"FileNotFoundError: The directory {data_dir} of the SQLite file does "
            "not exist.",
        }
        live = await http.get("/health/live")
        assert live.status_code == 200  # liveness does no I/O, so the pod is not restarted
        body = {"email": "dan@example.com", "password": PASSWORD}
        down = await http.post("/users", json=body)
        assert down.status_code == 503
        assert down.headers["retry-after"] == "5"
        assert down.headers["content-type"] == "application/problem+json"

    _drive(app, scenario)


def test_redis_is_used_only_when_configured(
    template: ModuleType, fresh_redis_server: Callable[..., Any]
) -> None:
    redis = fresh_redis_server()
    url = "sqlite+aiosqlite:///:memory:"
    app = template.create_app(
        template.Settings(_env_file=None, database_url=url, redis_url=redis.url)
    )

    async def scenario(http: httpx.AsyncClient) -> None:
        ready = await http.get("/health/ready")
        assert ready.status_code == 200
        assert ready.json()["checks"]["redis"]["status"] == "ok"
        redis.kill()
        down = await http.get("/health/ready")
        assert down.status_code == 503
        assert down.json()["checks"]["redis"]["status"] == "error"
        assert down.json()["checks"]["database"]["status"] == "ok"
        assert (await http.get("/health/live")).status_code == 200

    _drive(app, scenario)


def test_unreachable_redis_fails_startup_without_leaking_password(
    template: ModuleType,
) -> None:
    settings = template.Settings(
        _env_file=None,
        database_url="sqlite+aiosqlite:///:memory:",
        redis_url="redis://:hunter2@127.0.0.1:1/0",
        startup_timeout=0.3,
    )
    app = template.create_app(settings)
    with pytest.raises(template.StartupError) as caught:
        _drive(app, lambda http: http.get("/health/live"))
    message = str(caught.value)
    assert message.startswith("Startup check failed after 0.3s: redis: ConnectionError: ")
    assert "127.0.0.1:1" in message and "database" not in message
    assert "hunter2" not in message


def test_unhandled_error_is_500_problem_with_request_id(template: ModuleType) -> None:
    url = "sqlite+aiosqlite:///:memory:"
    app = template.create_app(template.Settings(_env_file=None, database_url=url))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("connection string postgres://admin:hunter2@db")

    async def scenario(http: httpx.AsyncClient) -> httpx.Response:
        return await http.get("/boom", headers={"X-Request-ID": "req-500"})

    response = _drive(app, scenario)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "req-500"
    assert response.json()["request_id"] == "req-500"
    assert "hunter2" not in response.text and "RuntimeError" not in response.text


def test_administrators_list_users(template: ModuleType, tmp_path: Path) -> None:
    # As in generated projects, no route makes an administrator: the database does.
    database = tmp_path / "app.db"
    settings = template.Settings(_env_file=None, database_url=f"sqlite:///{database}")
    app = template.create_app(settings)

    async def scenario(http: httpx.AsyncClient) -> Any:
        body = {"email": "root@example.com", "password": PASSWORD}
        assert (await http.post("/users", json=body)).status_code == 201
        with sqlite3.connect(database) as connection:
            connection.execute("UPDATE users SET is_admin = 1 WHERE email = 'root@example.com'")
        connection.close()
        form = {"username": body["email"], "password": PASSWORD}
        token = (await http.post("/auth/token", data=form)).json()["access_token"]
        listed = await http.get("/users", headers={"Authorization": f"Bearer {token}"})
        assert listed.status_code == 200
        return listed.json()

    page = _drive(app, scenario)
    assert page["total"] == 1 and page["items"][0]["is_admin"] is True


def test_expired_token_is_refused(template: ModuleType) -> None:
    settings = template.Settings(_env_file=None, database_url="sqlite+aiosqlite:///:memory:")
    app = template.create_app(settings)
    secret = settings.secret_key.get_secret_value()

    async def scenario(http: httpx.AsyncClient) -> httpx.Response:
        body = {"email": "erin@example.com", "password": PASSWORD}
        user_id = (await http.post("/users", json=body)).json()["id"]
        claims = {"sub": str(user_id), "iat": 0, "exp": 1}
        expired = jwt.encode(claims, secret, algorithm="HS256")
        return await http.get("/users/me", headers={"Authorization": f"Bearer {expired}"})

    response = _drive(app, scenario)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


# ------------------------------------------------------------------------------- lint


def test_ruff_clean() -> None:
    ruff = str(BIN / "ruff")
    selected = "E,F,W,I,B,UP,SIM,RUF,N,S"  # as generated projects, less their test rules
    check = subprocess.run(
        [ruff, "check", "--no-cache", "--select", selected, str(TEMPLATE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run(
        [ruff, "format", "--no-cache", "--check", str(TEMPLATE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_mypy_strict_clean() -> None:
    # The repository's (git-ignored) .mypy_cache keeps repeated runs fast.
    result = subprocess.run(
        [str(BIN / "mypy"), "--strict", str(TEMPLATE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
