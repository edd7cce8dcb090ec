"""One behavioural contract for both apps this bundle ships: the generated project and the
single-file template (assets/fastapi-app-template.py).

Each app is served by a real uvicorn process with the same environment (CORS for one
origin, a 1 KiB body limit, a SQLite file in a folder of its own) and three probe routes
added by a small launcher module, `contract_probe`, so both can be asked for what no
regular route answers on demand: a 422 from a body model, a 500 from an unhandled
exception, a 503 from a refused connection to a backing service. Everything else
(headers, ids, CORS, 404, 405, health, body limit) goes to the apps' own routes and
middleware.

`CHECKS` are the rules, each a function of one served app that fails with an
AssertionError naming what differs. `transcript()` records the answers of both apps to
the same requests with the per-request values (ids, times, latencies, the app's name)
blanked out, so test_contract.py can also require the two transcripts to be equal.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from combos import TEST_SECRET
from service import Service, base_env

ALLOWED_ORIGIN = "https://app.example"
OTHER_ORIGIN = "https://evil.example"
MAX_BODY_SIZE = 1024
PROBLEM_JSON = "application/problem+json"
REQUEST_ID_HEADER = "X-Request-ID"
RESPONSE_TIME_HEADER = "X-Response-Time"
EXPOSED = "X-Request-ID, X-Response-Time"
# What a fresh request id looks like: 128 random bits in hex.
FRESH_REQUEST_ID = re.compile(r"[0-9a-f]{32}")
RESPONSE_TIME = re.compile(r"\d+\.\d{2}ms")
ACCESS_LINE_FIELDS = {
    "event", "method", "path", "status", "duration_ms", "client", "request_id", "level",
    "timestamp",
}  # fmt: skip
PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "request_id", "errors"}
LOG_DEADLINE = 10.0

# The launcher uvicorn serves: the app under test plus the probe routes. `{load}` imports
# the app as `app`.
PROBE_MODULE = '''\
"""The app under contract, plus routes that answer 422, 500 and 503 on demand."""

from fastapi import APIRouter
from pydantic import BaseModel, Field

{load}

router = APIRouter(prefix="/contract")


class Note(BaseModel):
    text: str = Field(max_length=20)


@router.post("/notes")
async def create_note(note: Note) -> Note:
    return note


@router.get("/crash")
async def crash() -> None:
    raise RuntimeError("internal detail: postgres://admin:hunter2@db")


@router.get("/unavailable")
async def unavailable() -> None:
    raise ConnectionRefusedError("connecting to 10.0.0.9:5432 was refused")


app.include_router(router)
'''
LOAD_GENERATED = "from {package}.main import app"
LOAD_FILE = """\
import importlib.util
import sys

_spec = importlib.util.spec_from_file_location("single_file_app", {path!r})
assert _spec is not None and _spec.loader is not None
_module = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _module  # dataclasses look their module up by name
_spec.loader.exec_module(_module)
app = _module.app"""


@dataclass
class Served:
    """One app under uvicorn; `data` holds its SQLite file."""

    name: str
    service: Service
    data: Path

    @property
    def client(self) -> httpx.Client:
        return self.service.client

    def log_records(self) -> list[dict[str, Any]]:
        records = []
        for line in self.service.log().splitlines():
            if line.startswith("{"):
                records.append(json.loads(line))
        return records

    def access_lines(self, request_id: str) -> list[dict[str, Any]]:
        """The access lines of the request with this id, once at least one is written."""
        deadline = time.monotonic() + LOG_DEADLINE
        while True:
            found = [
                record
                for record in self.log_records()
                if record.get("event") == "request" and record.get("request_id") == request_id
            ]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.02)  # polling interval for the log file, bounded by the deadline


def contract_env(data: Path, **values: str) -> dict[str, str]:
    data.mkdir(parents=True, exist_ok=True)
    env = base_env(
        SECRET_KEY=TEST_SECRET,
        DATABASE_URL=f"sqlite:///{data / 'app.db'}",
        CORS_ORIGINS=ALLOWED_ORIGIN,
        MAX_BODY_SIZE=str(MAX_BODY_SIZE),
        HEALTH_CHECK_TIMEOUT="2",
        LOG_LEVEL="info",
        LOG_FORMAT="json",
        PYTHONDONTWRITEBYTECODE="1",  # no __pycache__ next to the template in assets/
    )
    env.update(values)
    return env


def _uvicorn(folder: Path, load: str, env: dict[str, str], name: str, data: Path) -> Served:
    (folder / "contract_probe.py").write_text(PROBE_MODULE.format(load=load), encoding="utf-8")
    service = Service(folder, "contract_probe", env, uvicorn_cli=True)
    service.command = [
        sys.executable, "-m", "uvicorn", "contract_probe:app", "--host", "127.0.0.1",
        "--port", "0", "--no-access-log",
    ]  # fmt: skip
    return Served(name, service, data)


def serve_generated(project: Path, package: str, data: Path) -> Served:
    """The generated project in `project` (flat layout), not yet started."""
    load = LOAD_GENERATED.format(package=package)
    return _uvicorn(project, load, contract_env(data), "generated", data)


def serve_single_file(template: Path, folder: Path, data: Path) -> Served:
    """The single-file template at `template`, run from `folder`, not yet started."""
    folder.mkdir(parents=True, exist_ok=True)
    load = LOAD_FILE.format(path=str(template.resolve()))
    return _uvicorn(folder, load, contract_env(data), "single-file", data)


# ---------------------------------------------------------------------------- helpers


def _assert_problem(
    response: httpx.Response, status: int, path: str, *, detail: str | None = None
) -> dict[str, Any]:
    """An RFC 9457 document for `status` at `path` that carries the request's id."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers.get("content-type") == PROBLEM_JSON, response.headers
    body: dict[str, Any] = response.json()
    assert set(body) <= PROBLEM_FIELDS, sorted(set(body) - PROBLEM_FIELDS)
    assert body["type"] == "about:blank", body
    assert body["status"] == status, body
    assert isinstance(body["title"], str) and body["title"], body
    assert body["instance"] == path, body
    request_id = response.headers.get(REQUEST_ID_HEADER)
    assert request_id and body["request_id"] == request_id, (request_id, body)
    if detail is not None:
        assert body.get("detail") == detail, body
    return body


def _header_list(response: httpx.Response, name: str) -> set[str]:
    return {part.strip() for part in response.headers.get(name, "").split(",") if part.strip()}


# ----------------------------------------------------------------------------- checks


def check_response_headers(app: Served) -> None:
    """Every answer carries X-Request-ID and X-Response-Time: successes, problems, 500s."""
    for method, path in (
        ("GET", "/health/live"),
        ("GET", "/no/such/path"),
        ("GET", "/contract/crash"),
    ):
        response = app.client.request(method, path)
        assert FRESH_REQUEST_ID.fullmatch(response.headers.get(REQUEST_ID_HEADER, "")), (
            path,
            response.headers,
        )
        assert RESPONSE_TIME.fullmatch(response.headers.get(RESPONSE_TIME_HEADER, "")), (
            path,
            response.headers,
        )


def check_request_id_rules(app: Served) -> None:
    """A safe incoming id is kept; an unsafe or overlong one is replaced by a fresh one."""
    for safe in ("trace-abc.123", "a" * 128, "Zz0._~:/+=@-"):
        response = app.client.get("/health/live", headers={REQUEST_ID_HEADER: safe})
        assert response.headers[REQUEST_ID_HEADER] == safe, (safe, response.headers)
    for unsafe in ("has space", "semi;colon", "a" * 129, "-leading-dash", 'quote"d', "ü"):
        response = app.client.get(
            "/health/live", headers={REQUEST_ID_HEADER: unsafe.encode("utf-8")}
        )
        replaced = response.headers[REQUEST_ID_HEADER]
        assert FRESH_REQUEST_ID.fullmatch(replaced), (unsafe, replaced)
    first = app.client.get("/health/live").headers[REQUEST_ID_HEADER]
    second = app.client.get("/health/live").headers[REQUEST_ID_HEADER]
    assert first != second


def check_access_line(app: Served) -> None:
    """One JSON line per request with exactly these fields; the path without its query."""
    request_id = f"contract-access-{app.name}"
    response = app.client.get("/health/live?token=secret", headers={REQUEST_ID_HEADER: request_id})
    assert response.status_code == 200
    lines = app.access_lines(request_id)
    assert len(lines) == 1, lines
    line = lines[0]
    assert set(line) == ACCESS_LINE_FIELDS, sorted(set(line) ^ ACCESS_LINE_FIELDS)
    assert line["event"] == "request" and line["level"] == "info", line
    assert (line["method"], line["path"], line["status"]) == ("GET", "/health/live", 200)
    assert line["client"] == "127.0.0.1", line
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0, line
    assert isinstance(line["timestamp"], float), line
    crash_id = f"contract-crash-{app.name}"
    app.client.get("/contract/crash", headers={REQUEST_ID_HEADER: crash_id})
    (crashed,) = app.access_lines(crash_id)
    assert crashed["status"] == 500, crashed
    assert '"GET /health/live' not in app.service.log()  # uvicorn's own access log is off


def check_cors_simple_requests(app: Served) -> None:
    """An allowed origin is granted and may read the two headers; others get nothing."""
    allowed = app.client.get("/health/live", headers={"Origin": ALLOWED_ORIGIN})
    assert allowed.status_code == 200
    assert allowed.headers.get("access-control-allow-origin") == ALLOWED_ORIGIN, allowed.headers
    assert allowed.headers.get("access-control-expose-headers") == EXPOSED, allowed.headers
    assert "access-control-allow-credentials" not in allowed.headers
    assert "Origin" in _header_list(allowed, "vary"), allowed.headers
    problem = app.client.get("/no/such/path", headers={"Origin": ALLOWED_ORIGIN})
    assert problem.headers.get("access-control-allow-origin") == ALLOWED_ORIGIN
    other = app.client.get("/health/live", headers={"Origin": OTHER_ORIGIN})
    assert other.status_code == 200
    granted = [name for name in other.headers if name.lower().startswith("access-control-")]
    assert granted == [], other.headers
    assert "Origin" in _header_list(other, "vary")
    plain = app.client.get("/health/live")
    assert "Origin" in _header_list(plain, "vary"), plain.headers


def check_cors_preflight_allowed(app: Served) -> None:
    """A preflight from the allowed origin: 200 with Starlette's CORS answer."""
    response = app.client.options(
        "/contract/notes",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, x-request-id",
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= _header_list(
        response, "access-control-allow-methods"
    ), response.headers
    assert {"authorization", "content-type", "x-request-id"} <= {
        name.lower() for name in _header_list(response, "access-control-allow-headers")
    }, response.headers
    assert response.headers["access-control-max-age"] == "600"
    assert "Origin" in _header_list(response, "vary")
    assert FRESH_REQUEST_ID.fullmatch(response.headers[REQUEST_ID_HEADER])


def check_cors_preflight_refused(app: Served) -> None:
    """A preflight from another origin: 400 as a problem document, no grant."""
    response = app.client.options(
        "/contract/notes",
        headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    _assert_problem(
        response,
        400,
        "/contract/notes",
        detail="The CORS preflight was refused; not allowed: origin.",
    )
    assert "access-control-allow-origin" not in response.headers


def check_problem_404(app: Served) -> None:
    body = _assert_problem(app.client.get("/no/such/path"), 404, "/no/such/path")
    assert "detail" not in body, body  # the title says it all


def check_problem_405(app: Served) -> None:
    response = app.client.delete("/health/live")
    _assert_problem(response, 405, "/health/live")
    assert response.headers.get("allow") == "GET", response.headers


def check_problem_422(app: Served) -> None:
    secret = "do-not-echo-" + "x" * 30
    response = app.client.post("/contract/notes", json={"text": secret})
    body = _assert_problem(
        response, 422, "/contract/notes", detail="The request is not valid; see `errors`."
    )
    assert body["errors"] == [
        {
            "loc": ["body", "text"],
            "msg": "String should have at most 20 characters",
            "type": "string_too_long",
        }
    ], body
    assert secret not in response.text  # the input is never echoed


def check_problem_500(app: Served) -> None:
    response = app.client.get("/contract/crash", headers={REQUEST_ID_HEADER: "contract-500"})
    _assert_problem(
        response,
        500,
        "/contract/crash",
        detail="An unexpected error occurred; quote the request id when reporting it.",
    )
    assert response.headers[REQUEST_ID_HEADER] == "contract-500"
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert "hunter2" in app.service.log()  # logged once with its traceback, for operators


def check_problem_503(app: Served) -> None:
    response = app.client.get("/contract/unavailable")
    _assert_problem(
        response,
        503,
        "/contract/unavailable",
        detail="A backing service is unavailable; retry shortly.",
    )
    assert response.headers.get("retry-after") == "5", response.headers
    assert "10.0.0.9" not in response.text


def check_health_bodies(app: Served) -> None:
    live = app.client.get("/health/live")
    assert live.status_code == 200
    assert live.headers["content-type"] == "application/json"
    assert live.json() == {"status": "ok"}
    ready = app.client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body.keys() == {"status", "checks"} and body["status"] == "ok", body
    assert body["checks"].keys() == {"database"}, body
    assert body["checks"]["database"].keys() == {"status", "latency_ms", "error"}, body
    database = body["checks"]["database"]
    assert database["status"] == "ok" and database["error"] is None, body
    combined = app.client.get("/health")
    assert combined.status_code == 200
    report = combined.json()
    assert report.keys() == {"status", "checks", "name", "version", "environment"}, report
    assert report["environment"] == "development" and report["checks"].keys() == {"database"}


def check_readiness_names_the_failed_check(app: Served) -> None:
    """The database's folder goes away: readiness 503 naming it, liveness still 200."""
    away = app.data.with_name(app.data.name + "-away")
    app.data.rename(away)
    try:
        for path in ("/health/ready", "/health"):
            response = app.client.get(path)
            assert response.status_code == 503, (path, response.text)
            assert response.headers["content-type"] == "application/json"  # the report
            body = response.json()
            assert body["status"] == "unavailable", body
            database = body["checks"]["database"]
            assert database["status"] == "error", body
            assert database["error"] == (
                f"FileNotFoundError: The directory {app.data} of the SQLite file does not exist."
            ), body
        assert app.client.get("/health/live").status_code == 200
    finally:
        away.rename(app.data)
    assert app.client.get("/health/ready").status_code == 200


def check_body_limit_announced(app: Served) -> None:
    response = app.client.post(
        "/contract/notes",
        content=b"x" * (MAX_BODY_SIZE + 1),
        headers={"Content-Type": "application/json"},
    )
    _assert_problem(
        response,
        413,
        "/contract/notes",
        detail=f"The request body exceeds {MAX_BODY_SIZE} bytes.",
    )


def check_body_limit_chunked(app: Served) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        for _ in range(4):
            yield b"x" * (MAX_BODY_SIZE // 2)

    response = app.client.post(
        "/contract/notes", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    _assert_problem(
        response,
        413,
        "/contract/notes",
        detail=f"The request body exceeds {MAX_BODY_SIZE} bytes.",
    )
    fits = app.client.post("/contract/notes", json={"text": "fits"})
    assert fits.status_code == 200 and fits.json() == {"text": "fits"}, fits.text


CHECKS: list[Callable[[Served], None]] = [
    check_response_headers,
    check_request_id_rules,
    check_access_line,
    check_cors_simple_requests,
    check_cors_preflight_allowed,
    check_cors_preflight_refused,
    check_problem_404,
    check_problem_405,
    check_problem_422,
    check_problem_500,
    check_problem_503,
    check_health_bodies,
    check_readiness_names_the_failed_check,
    check_body_limit_announced,
    check_body_limit_chunked,
]


# -------------------------------------------------------------------------- transcript

# The same requests for both apps; what differs per request or per app is blanked.
_TRANSCRIPT_REQUESTS: list[tuple[str, str, dict[str, str], bytes | None]] = [
    ("GET", "/health/live", {}, None),
    ("GET", "/health/ready", {}, None),
    ("GET", "/health", {}, None),
    ("GET", "/no/such/path", {"Origin": ALLOWED_ORIGIN}, None),
    ("DELETE", "/health/live", {"Origin": OTHER_ORIGIN}, None),
    ("POST", "/contract/notes", {"Content-Type": "application/json"}, b'{"text": 1}'),
    ("POST", "/contract/notes", {"Content-Type": "application/json"}, b"{"),
    ("POST", "/contract/notes", {"Content-Type": "text/plain"}, b'{"text": "a"}'),
    ("POST", "/contract/notes", {"Content-Type": "application/json"}, b"x" * 2000),
    ("GET", "/contract/crash", {}, None),
    ("GET", "/contract/unavailable", {}, None),
    (
        "OPTIONS",
        "/contract/notes",
        {"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "PATCH"},
        None,
    ),
    (
        "OPTIONS",
        "/contract/notes",
        {"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "POST"},
        None,
    ),
]
_VOLATILE = {"request_id", "latency_ms", "name", "version"}
# Response headers the transcript keeps (the server adds date and server itself).
_KEPT_HEADERS = {
    "content-type", "allow", "retry-after", "vary", "www-authenticate",
    "access-control-allow-origin", "access-control-allow-methods",
    "access-control-allow-headers", "access-control-expose-headers",
    "access-control-allow-credentials", "access-control-max-age",
}  # fmt: skip


def _blank(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: "…" if key in _VOLATILE else _blank(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_blank(item) for item in value]
    return value


def transcript(app: Served) -> list[dict[str, Any]]:
    """What the app answers to `_TRANSCRIPT_REQUESTS`, comparable across apps."""
    answers = []
    for method, path, headers, content in _TRANSCRIPT_REQUESTS:
        response = app.client.request(method, path, headers=headers, content=content)
        try:
            body: Any = _blank(response.json())
        except ValueError:
            body = response.text
        answers.append(
            {
                "request": f"{method} {path} {headers} {content[:40] if content else ''!r}",
                "status": response.status_code,
                "headers": sorted(
                    (name, value)
                    for name, value in response.headers.items()
                    if name in _KEPT_HEADERS
                ),
                "header_names": sorted(
                    name
                    for name in response.headers
                    if name not in {"date", "server", "content-length", "transfer-encoding"}
                ),
                "body": body,
            }
        )
    return answers
