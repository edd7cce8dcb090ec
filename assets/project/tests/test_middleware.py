"""The request middleware: request ids, timing, body-size limit, access log, and CORS."""

import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import structlog
from fastapi import APIRouter, FastAPI
from httpx import ASGITransport, AsyncClient, Response
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from structlog.contextvars import bind_contextvars

ORIGIN = "https://app.example.com"
OTHER_ORIGIN = "https://evil.example"
EXPOSED = "X-Request-ID, X-Response-Time"
ACCESS_FIELDS = {
    "event",
    "method",
    "path",
    "status",
    "duration_ms",
    "client",
    "request_id",
    "level",
    "timestamp",
}


@pytest.fixture(autouse=True)
def unbound_log_context() -> Iterator[None]:
    """In-process clients run the app in the test's own context, so what a route binds
    stays bound; cleared around every test, passed or failed, so none leaks into the next."""
    structlog.contextvars.clear_contextvars()
    yield
    structlog.contextvars.clear_contextvars()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"max_body_size": 200, "cors_origins": [ORIGIN]}


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    """The app, plus routes that log, bind context and fail."""
    router = APIRouter(prefix="/test")

    @router.get("/logs")
    async def logs() -> dict[str, str]:
        bind_contextvars(user="u-1")
        structlog.get_logger().info("probe", answer=42)
        return {}

    @router.get("/crash")
    async def crash() -> None:
        raise RuntimeError("boom")

    app.include_router(router)
    return app


def log_records(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    lines = capsys.readouterr().out.splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def access_lines(records: list[dict[str, Any]], request_id: str) -> list[dict[str, Any]]:
    return [r for r in records if r["event"] == "request" and r.get("request_id") == request_id]


def cors_headers(response: Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


async def test_safe_request_id_is_kept(client: AsyncClient) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": "trace-42.abc"})
    assert response.headers["x-request-id"] == "trace-42.abc"


@pytest.mark.parametrize(
    "incoming", ["has space", "semi;colon", "x" * 129, "-dash", "", "caf\u00e9", "a\tb"]
)
async def test_unsafe_request_id_is_replaced(client: AsyncClient, incoming: str) -> None:
    response = await client.get(
        "/health/live", headers={b"x-request-id": incoming.encode("latin-1")}
    )
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_each_request_gets_its_own_id(client: AsyncClient) -> None:
    first = await client.get("/health/live")
    second = await client.get("/health/live")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_response_time_header(client: AsyncClient) -> None:
    for path in ("/health/live", "/no/such/path"):
        response = await client.get(path)
        assert re.fullmatch(r"\d+\.\d{2}ms", response.headers["x-response-time"])


async def test_declared_large_body_is_413(
    client: AsyncClient, headers: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    body = json.dumps({"title": "x" * 300}).encode()
    response = await client.post(
        "/items", content=body, headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Content Too Large"  # RFC 9110's, on every Python
    assert response.json()["detail"] == "The request body exceeds 200 bytes."
    request_id = response.headers["x-request-id"]
    assert response.json()["request_id"] == request_id
    assert response.headers["vary"] == "Origin"
    [line] = access_lines(log_records(capsys), request_id)
    assert line["status"] == 413


async def test_streamed_large_body_is_413(client: AsyncClient, headers: dict[str, str]) -> None:
    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: sent chunked
        yield b'{"title": "'
        for _ in range(20):
            yield b"x" * 16
        yield b'"}'

    response = await client.post(
        "/items", content=chunks(), headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["request_id"] == response.headers["x-request-id"]
    assert (await client.get("/items", headers=headers)).json()["total"] == 0


async def test_streamed_small_body_is_accepted(
    client: AsyncClient, headers: dict[str, str]
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"title": '
        yield b'"short"}'

    response = await client.post(
        "/items", content=chunks(), headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code == 201, response.text


async def test_one_access_log_line_per_request(
    client: AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    before = time.time()
    await client.get("/health/live?token=secret", headers={"X-Request-ID": "log-probe"})
    [line] = access_lines(log_records(capsys), "log-probe")
    assert set(line) == ACCESS_FIELDS
    assert line["event"] == "request"
    assert line["level"] == "info"
    assert line["method"] == "GET"
    assert line["path"] == "/health/live"  # the query string may carry secrets
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    assert line["client"] == "127.0.0.1"
    assert before <= line["timestamp"] <= time.time()  # epoch seconds
    assert "secret" not in json.dumps(line)


async def test_request_id_reaches_application_log_lines(
    client: AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    await client.get("/test/logs", headers={"X-Request-ID": "app-probe"})
    records = log_records(capsys)
    [probe] = [r for r in records if r["event"] == "probe"]
    assert probe["request_id"] == "app-probe"
    assert probe["answer"] == 42
    # What the app bound during the request is in the access line too, as structlog merges it.
    [line] = access_lines(records, "app-probe")
    assert line["user"] == "u-1"
    # The request id is unbound afterwards. (In-process clients run the app in the test's
    # own context, so what the route bound is still there; servers give each request its own.)
    assert "request_id" not in structlog.contextvars.get_contextvars()


async def test_unhandled_error_is_logged_once_with_traceback(
    client: AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    response = await client.get("/test/crash", headers={"X-Request-ID": "crash-probe"})
    assert response.status_code == 500
    assert response.json()["request_id"] == "crash-probe"
    records = log_records(capsys)
    [error] = [r for r in records if r["event"] == "unhandled_exception"]
    assert error["request_id"] == "crash-probe"
    assert error["level"] == "error"
    assert error["exception"][0]["exc_type"] == "RuntimeError"
    [line] = access_lines(records, "crash-probe")
    assert line["status"] == 500


@pytest.mark.parametrize("settings_overrides", [{"cors_origins": [ORIGIN], "log_level": "warning"}])
async def test_log_level_warning_hides_the_access_line(
    client: AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    await client.get("/health/live", headers={"X-Request-ID": "quiet-probe"})
    assert access_lines(log_records(capsys), "quiet-probe") == []


@pytest.mark.parametrize(
    "settings_overrides", [{"cors_origins": [ORIGIN], "log_format": "console"}]
)
async def test_console_format_is_for_people(
    client: AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    await client.get("/health/live", headers={"X-Request-ID": "console-probe"})
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if "console-probe" in line]
    assert not line.startswith("{")
    assert "event=request" in line
    assert "path=/health/live" in line
    assert "status=200" in line


async def test_cors_allowed_origin(client: AsyncClient) -> None:
    for path in ("/health/live", "/no/such/path"):  # errors too, so browsers can read them
        response = await client.get(path, headers={"Origin": ORIGIN})
        assert cors_headers(response) == {
            "access-control-allow-origin": ORIGIN,
            "access-control-expose-headers": EXPOSED,
        }
        assert response.headers["vary"] == "Origin"


@pytest.mark.parametrize(
    "settings_overrides", [{"cors_origins": [ORIGIN], "cors_allow_credentials": True}]
)
async def test_cors_allowed_origin_with_credentials(client: AsyncClient) -> None:
    response = await client.get("/health/live", headers={"Origin": ORIGIN})
    assert cors_headers(response) == {
        "access-control-allow-origin": ORIGIN,
        "access-control-allow-credentials": "true",
        "access-control-expose-headers": EXPOSED,
    }


async def test_other_origins_get_no_cors_headers(client: AsyncClient) -> None:
    response = await client.get("/health/live", headers={"Origin": OTHER_ORIGIN})
    assert response.status_code == 200
    assert cors_headers(response) == {}
    assert response.headers["vary"] == "Origin"


async def test_vary_origin_without_an_origin(client: AsyncClient) -> None:
    response = await client.get("/health/live")
    assert cors_headers(response) == {}
    assert response.headers["vary"] == "Origin"


@pytest.mark.parametrize("settings_overrides", [{"cors_origins": ["*"]}])
async def test_cors_any_origin(client: AsyncClient) -> None:
    response = await client.get("/health/live", headers={"Origin": OTHER_ORIGIN})
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize("settings_overrides", [{"cors_origins": []}])
async def test_no_cors_configured(client: AsyncClient) -> None:
    response = await client.get("/health/live", headers={"Origin": ORIGIN})
    assert cors_headers(response) == {}
    assert "vary" not in response.headers


def starlette_cors(settings_overrides: dict[str, Any]) -> AsyncClient:
    """Starlette's own CORSMiddleware, configured as `create_app` configures CORS."""
    cors = Middleware(
        CORSMiddleware,
        allow_origins=settings_overrides["cors_origins"],
        allow_credentials=settings_overrides.get("cors_allow_credentials", False),
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Request-ID", "X-Response-Time"],
    )
    transport = ASGITransport(app=Starlette(middleware=[cors]))
    return AsyncClient(transport=transport, base_url="http://test")


PREFLIGHTS = [
    {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "DELETE",
        "Access-Control-Request-Headers": "authorization, content-type, x-request-id",
    },
    {"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "POST"},
    {"Origin": ORIGIN, "Access-Control-Request-Method": "BREW"},
    {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Private-Network": "true",
    },
]


@pytest.mark.parametrize(
    "settings_overrides",
    [{"cors_origins": [ORIGIN]}, {"cors_origins": [ORIGIN], "cors_allow_credentials": True}],
)
@pytest.mark.parametrize("request_headers", PREFLIGHTS)
async def test_preflight_is_answered_as_starlette_answers_it(
    client: AsyncClient, settings_overrides: dict[str, Any], request_headers: dict[str, str]
) -> None:
    ours = await client.options("/items", headers=request_headers)
    async with starlette_cors(settings_overrides) as reference:
        theirs = await reference.options("/items", headers=request_headers)
    assert ours.status_code == theirs.status_code
    if theirs.status_code == 200:
        assert ours.text == theirs.text
    else:  # a refusal is a problem document, as every other error
        assert ours.headers["content-type"] == "application/problem+json"
    assert cors_headers(ours) == cors_headers(theirs)
    assert ours.headers["vary"] == theirs.headers["vary"]
    assert "x-request-id" in ours.headers  # a preflight is a request like any other


async def test_preflight_from_other_origin_is_refused_with_a_problem(client: AsyncClient) -> None:
    response = await client.options(
        "/items",
        headers={
            "Origin": OTHER_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "X-Request-ID": "preflight-probe",
        },
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "preflight-probe"
    assert response.json() == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "The CORS preflight was refused; not allowed: origin.",
        "instance": "/items",
        "request_id": "preflight-probe",
    }


async def test_preflight_names_every_refused_part(client: AsyncClient) -> None:
    response = await client.options(
        "/items",
        headers={
            "Origin": OTHER_ORIGIN,
            "Access-Control-Request-Method": "BREW",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail == "The CORS preflight was refused; not allowed: origin, method, private-network."


async def test_options_without_request_method_is_not_a_preflight(client: AsyncClient) -> None:
    response = await client.options("/health/live", headers={"Origin": ORIGIN})
    assert response.status_code == 405  # routed like any request
    assert response.headers["access-control-allow-origin"] == ORIGIN
