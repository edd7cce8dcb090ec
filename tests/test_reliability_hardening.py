"""Issue 6.7: request hardening of a running service, over raw sockets where clients refuse.

X-Request-ID values that are not plain short tokens are replaced; bodies over
MAX_BODY_SIZE get 413 whether announced or chunked; malformed JSON gets 422; CORS
preflights from origins not listed get no allow headers; and no error body carries a
stack trace, SQL or a driver name with DEBUG off.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from combos import Combo
from reliability import (
    MYSQL_REDIS_JWT,
    PG_REDIS_JWT,
    SQLITE_DEFAULT,
    assert_clean_log,
    assert_no_leak,
    assert_problem,
    figure,
    generate,
    migrate,
    service_env,
    sign_up,
    sqlite_url,
)
from service import Service

pytestmark = pytest.mark.slow

MAX_BODY_SIZE = 2048
ALLOWED_ORIGIN = "https://app.example.com"
GENERATED_ID = re.compile(r"[0-9a-f]{32}")
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~:/+=@-]{0,127}")


def raw_request(port: int, request: bytes) -> tuple[int, dict[str, list[str]], bytes]:
    """Send bytes as they are; returns status, headers (lower-cased names) and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return status, headers, body


def get_with_request_id(port: int, header_line: bytes) -> tuple[int, dict[str, list[str]], bytes]:
    return raw_request(
        port,
        b"GET /health/live HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
        + header_line
        + b"\r\n\r\n",
    )


# Raw header lines whose value must not come back: too long, spaces, controls, non-ASCII,
# markup, and CR/LF in every form a parser might let through.
REPLACED = {
    "129 characters": b"X-Request-ID: " + b"a" * 129,
    "10 000 characters": b"X-Request-ID: " + b"b" * 10_000,
    "a space": b"X-Request-ID: abc def",
    "a tab": b"X-Request-ID: abc\tdef",
    "SOH control": b"X-Request-ID: abc\x01def",
    "DEL": b"X-Request-ID: abc\x7fdef",
    "NUL": b"X-Request-ID: abc\x00def",
    "ESC (terminal escape)": b"X-Request-ID: \x1b[31mred",
    "latin-1 byte": b"X-Request-ID: caf\xe9",
    "UTF-8 text": "X-Request-ID: café-☕".encode(),
    "markup": b"X-Request-ID: <script>alert(1)</script>",
    "JSON breaking quote": b'X-Request-ID: abc","level":"critical',
    "percent-encoded CRLF": b"X-Request-ID: abc%0d%0aSet-Cookie:%20x=1",
    "leading dot": b"X-Request-ID: ../../etc/passwd",
    "bare CR": b"X-Request-ID: abc\rX-Injected: yes",
    "bare LF": b"X-Request-ID: abc\nX-Injected: yes",
    "obs-fold continuation": b"X-Request-ID: abc\r\n X-Injected: yes",
    "empty": b"X-Request-ID:",
}


@pytest.mark.parametrize(
    "combo",
    [
        pytest.param(PG_REDIS_JWT, id=PG_REDIS_JWT.id, marks=pytest.mark.xdist_group("rel-hard")),
        pytest.param(
            MYSQL_REDIS_JWT, id=MYSQL_REDIS_JWT.id, marks=pytest.mark.xdist_group("rel-hard")
        ),
        pytest.param(
            SQLITE_DEFAULT, id=SQLITE_DEFAULT.id, marks=pytest.mark.xdist_group("rel-hard")
        ),
    ],
)
def test_hostile_requests_are_contained(
    combo: Combo,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
    record_property: Any,
) -> None:
    project: Path = generate(combo, tmp_path_factory, "hardening")
    if combo.db == "postgresql":
        env = service_env(DATABASE_URL=request.getfixturevalue("postgres_server").create_database())
    elif combo.db == "mysql":
        env = service_env(DATABASE_URL=request.getfixturevalue("mariadb_server").create_database())
    else:
        env = service_env(DATABASE_URL=sqlite_url(project))
    if combo.redis:
        env["REDIS_URL"] = request.getfixturevalue("redis_server").url_for_db(7)
        env["CACHE_PREFIX"] = f"hardening-{combo.id}:"
    env.update(MAX_BODY_SIZE=str(MAX_BODY_SIZE), CORS_ORIGINS=ALLOWED_ORIGIN, DEBUG="false")
    migrate(project, env)
    checks = 0
    with Service(project, combo.package, env) as service:
        client, port = service.client, service.port
        headers = sign_up(client, "hardening@example.com")

        # -- X-Request-ID ------------------------------------------------------------------
        for value in ("abc-123_XYZ.~:/+=@", "k" * 128):  # controls: plain tokens are kept
            status, got, _ = get_with_request_id(port, b"X-Request-ID: " + value.encode())
            assert status == 200 and got["x-request-id"] == [value], (value, got)
        rejected_by_server = []
        for name, line in REPLACED.items():
            status, got, _ = get_with_request_id(port, line)
            checks += 1
            assert "x-injected" not in got, (name, got)
            if status == 400 and "x-request-id" not in got:
                rejected_by_server.append(name)  # the HTTP parser refused it outright
                continue
            assert status == 200, (name, status, got)
            assert len(got["x-request-id"]) == 1, (name, got)
            assert GENERATED_ID.fullmatch(got["x-request-id"][0]), (name, got)
        # A dangerous value must not reach the log either (the log is JSON, one line each).
        log_lines = service.log().splitlines()
        assert not [line for line in log_lines if "X-Injected" in line or "<script>" in line]

        # -- body size -----------------------------------------------------------------------
        big = {"title": "x", "description": "d" * (MAX_BODY_SIZE * 2)}
        announced = client.post("/items", json=big, headers=headers)
        assert f"exceeds {MAX_BODY_SIZE} bytes" in assert_problem(announced, 413)["detail"]

        def chunks() -> Any:
            yield b'{"title": "x", "description": "'
            for _ in range(MAX_BODY_SIZE // 256 + 2):
                yield b"d" * 256
            yield b'"}'

        chunked = client.post(
            "/items", content=chunks(), headers={**headers, "Content-Type": "application/json"}
        )
        assert "content-length" not in chunked.request.headers  # really sent chunked
        assert_problem(chunked, 413)
        status, got, body = raw_request(
            port,
            b"POST /users HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n{}",
        )
        assert status == 413 and got["content-type"] == ["application/problem+json"], (status, body)
        form = client.post("/auth/token", data={"username": "u" * MAX_BODY_SIZE, "password": "p"})
        assert_problem(form, 413)
        padding = MAX_BODY_SIZE - len(b'{"title":"at the limit","description":""}')
        at_limit = b'{"title":"at the limit","description":"' + b"d" * padding + b'"}'
        assert len(at_limit) == MAX_BODY_SIZE
        accepted = client.post(
            "/items", content=at_limit, headers={**headers, "Content-Type": "application/json"}
        )
        assert accepted.status_code == 201, accepted.text  # the limit itself is allowed
        checks += 5

        # -- malformed bodies ----------------------------------------------------------------
        for raw in (b'{"title":', b'{"title": "a",}', b"{'title': 'a'}", b"\x00", b"{" * 1000):
            response = client.post(
                "/items", content=raw, headers={**headers, "Content-Type": "application/json"}
            )
            errors = assert_problem(response, 422)["errors"]
            assert errors[0]["type"] == "json_invalid", errors
            checks += 1
        # Python's json module reads NaN; the schema still refuses it where a string belongs.
        for raw, status in (
            (b"[]", 422),
            (b"null", 422),
            (b'"title"', 422),
            (b'{"title": NaN}', 422),
            (b'{"title": "caf\xe9"}', 400),  # Latin-1, not UTF-8: FastAPI's 400, documented
            (b"[" * 1020 + b"]" * 1020, 400),  # nested past Python's recursion limit: also 400
        ):
            response = client.post(
                "/items", content=raw, headers={**headers, "Content-Type": "application/json"}
            )
            assert_problem(response, status)
            checks += 1
        wrong_type = client.post(
            "/items", content=b'{"title": "a"}', headers={**headers, "Content-Type": "text/plain"}
        )
        assert_problem(wrong_type, 422)

        # -- CORS ----------------------------------------------------------------------------
        allowed = _preflight(client, ALLOWED_ORIGIN)
        assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN  # control
        for origin in (
            "https://evil.example",
            "null",
            f"{ALLOWED_ORIGIN}.evil.example",
            ALLOWED_ORIGIN.replace("https", "http"),
            f"{ALLOWED_ORIGIN}:8443",
        ):
            preflight = _preflight(client, origin)
            simple = client.get("/health/live", headers={"Origin": origin})
            # What grants access is Allow-Origin (and Allow-Credentials); Starlette's refused
            # preflight (400) still lists Allow-Methods/-Headers, which grant nothing alone.
            for response in (preflight, simple):
                granted = {"access-control-allow-origin", "access-control-allow-credentials"}
                assert not granted & set(response.headers), (origin, dict(response.headers))
            assert preflight.status_code == 400, (origin, preflight.status_code)
            assert not [h for h in simple.headers if h.startswith("access-control-")], origin
            checks += 2

        # -- no internals in any error body, DEBUG off ----------------------------------------
        errors_seen = [
            client.get("/no/such/route"),
            client.put("/items", headers=headers),
            client.get("/items/not-a-number", headers=headers),
            client.get("/items?limit=100000", headers=headers),
            client.get("/items/2147483648", headers=headers),
            client.post("/users", json={"email": "hardening@example.com", "password": "x" * 12}),
            client.post("/auth/token", data={"username": "nobody@example.com", "password": "x"}),
            client.get("/items", headers={"Authorization": "Bearer a.b.c"}),
        ]
        for response in errors_seen:
            assert response.status_code >= 400
            assert_problem(response)
        checks += len(errors_seen)
        code = service.stop()
    log = service.log()
    assert code == 0, log[-4000:]
    assert_clean_log(log)
    assert_no_leak("\n".join(line for line in log.splitlines() if '"event":"request"' in line))
    figure(
        record_property,
        f"{combo.id}: {checks} hostile requests contained ({len(REPLACED)} bad X-Request-IDs "
        f"replaced or refused by the HTTP parser: {', '.join(rejected_by_server) or 'none'}); "
        f"413 for announced, chunked and huge bodies over {MAX_BODY_SIZE} bytes",
    )


def _preflight(client: httpx.Client, origin: str) -> httpx.Response:
    return client.options(
        "/items",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
