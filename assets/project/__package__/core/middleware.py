"""Per-request work in one pure ASGI middleware, the only one the app installs.

`RequestContextMiddleware` runs outermost (inside Starlette's own error middleware) and does,
per request: the request id, CORS, the body-size limit, `X-Response-Time`, one access-log
line, and the last-resort 500 for exceptions nothing else handled. FastAPI's exception
handlers and routes run inside it; known errors become problem+json there.

Why one class, and why written this way: each `BaseHTTPMiddleware` layer adds a task group
and re-streams the body (about ten times the cost of a bare request), and context variables
set inside it do not reach the endpoint. A separate `CORSMiddleware` layer cost about as
much as the rest of this class, so simple CORS requests are answered here from header
tuples computed in `__init__`; preflights are answered by Starlette's `CORSMiddleware`
rules, with the same status and headers, and a refused one gets a problem document like
every other error instead of Starlette's plain text. (One deliberate difference on simple
requests: an origin that is not allowed gets no `Access-Control-*` header at all, where
Starlette still sends `Expose-Headers` and `Allow-Credentials`, which grant nothing
without `Allow-Origin`.)
"""

import random
import re
from collections.abc import Awaitable, Sequence
from contextvars import ContextVar
from time import perf_counter
from typing import Any

import structlog
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import bind_contextvars

from .errors import PROBLEM_JSON, problem_body
from .logging import AccessLog

# An incoming X-Request-ID is kept only if it is a plain token (so it is safe in logs
# and headers); anything else is replaced by a fresh id.
_SAFE_REQUEST_ID = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._~:/+=@-]{0,127}")
# Browsers may read these response headers of a cross-origin request.
EXPOSED_HEADERS = ("X-Request-ID", "X-Response-Time")
_Headers = tuple[tuple[bytes, bytes], ...]
_VARY_ORIGIN = (b"vary", b"Origin")
_VARY_ONLY: _Headers = (_VARY_ORIGIN,)
_NO_BODY = (None, b"0")  # Content-Length values that announce no body
_HTTP_1 = ("1.1", "1.0")
_PROBLEM_JSON = PROBLEM_JSON.encode()
_INTERNAL_ERROR = "An unexpected error occurred; quote the request id when reporting it."


def _structlog_request_id_var() -> ContextVar[Any]:
    # The context variable `bind_contextvars(request_id=...)` sets, found through public
    # API: setting it directly is several times cheaper, and structlog's
    # `merge_contextvars` and `get_contextvars` see the request id exactly as if bound.
    token = bind_contextvars(request_id=None)["request_id"]
    token.var.reset(token)
    return token.var


_REQUEST_ID = _structlog_request_id_var()


class ContentTooLarge(HTTPException):
    """The request body grew past MAX_BODY_SIZE while it was being read."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=f"The request body exceeds {limit} bytes.")


class _Preflight(CORSMiddleware):
    """Answers CORS preflights by Starlette's rules; a refusal is a problem document."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self.preflight_response(request_headers=Headers(scope=scope))
        if response.status_code >= 400:
            # Starlette's plain-text reason names what was refused: "Disallowed CORS origin".
            reason = bytes(response.body).decode().removeprefix("Disallowed CORS ")
            body = problem_body(
                response.status_code,
                detail=f"The CORS preflight was refused; not allowed: {reason}.",
                instance=scope["path"],
                request_id=scope["state"]["request_id"],
            )
            headers = {
                name: value
                for name, value in response.headers.items()
                if name not in ("content-type", "content-length")
            }
            response = Response(body, response.status_code, headers, media_type=PROBLEM_JSON)
        await response(scope, receive, send)


class _LimitedReceive:
    """`receive` for a body of unknown length: raises once more than `limit` bytes came."""

    __slots__ = ("limit", "receive", "received")

    def __init__(self, receive: Receive, limit: int) -> None:
        self.receive = receive
        self.limit = limit
        self.received = 0

    async def __call__(self) -> Message:
        message = await self.receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                raise ContentTooLarge(self.limit)
        return message


class _Response:
    """The send side of one request: adds the headers and remembers the status.

    Not a coroutine: it edits the message and hands back the server's own awaitable,
    which saves a coroutine per message.
    """

    __slots__ = ("cors_headers", "request_id", "send", "started", "status")

    def __init__(
        self,
        send: Send,
        started: float,
        request_id: bytes,
        cors_headers: _Headers,
    ) -> None:
        self.send = send
        self.started = started
        self.request_id = request_id
        self.cors_headers = cors_headers
        self.status = 0  # 0 until the response starts

    def __call__(self, message: Message) -> Awaitable[None]:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            elapsed_ms = (perf_counter() - self.started) * 1000
            message["headers"] = [
                *message.get("headers", ()),
                (b"x-request-id", self.request_id),
                (b"x-response-time", b"%.2fms" % elapsed_ms),
                *self.cors_headers,
            ]
        return self.send(message)


class RequestContextMiddleware:
    """Request id, CORS, body-size limit, `X-Response-Time`, access log, last-resort 500.

    The request id is echoed as `X-Request-ID`, stored as `request.state.request_id`, and
    bound into structlog's context so every log line of the request carries it.

    `cors_origins` empty turns CORS off; otherwise every response carries `Vary: Origin`,
    and a request from an allowed origin gets `Access-Control-Allow-Origin` (plus
    `Access-Control-Allow-Credentials` when `cors_allow_credentials`, and
    `Access-Control-Expose-Headers`). A request from any other origin gets no
    `Access-Control-*` header at all.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_size: int,
        access_log: AccessLog | None,
        cors_origins: Sequence[str] = (),
        cors_allow_credentials: bool = False,
    ) -> None:
        self.app = app
        self.max_body_size = max_body_size
        self.access_log = access_log
        self.logger = structlog.get_logger()
        # A response's CORS headers, computed here once: by Origin for allowed origins,
        # `cors_others` for other origins, `Vary: Origin` alone without an Origin.
        self.cors = bool(cors_origins)
        allowed_tail = [(b"access-control-expose-headers", ", ".join(EXPOSED_HEADERS).encode())]
        if cors_allow_credentials:  # settings refuse it together with "*"
            allowed_tail.insert(0, (b"access-control-allow-credentials", b"true"))
        allowed_tail.append(_VARY_ORIGIN)
        self.cors_by_origin: dict[bytes, _Headers] = {}
        self.cors_others: _Headers = _VARY_ONLY
        if "*" in cors_origins:
            self.cors_others = ((b"access-control-allow-origin", b"*"), *allowed_tail)
        else:
            for origin in map(str.encode, cors_origins):
                allow = (b"access-control-allow-origin", origin)
                self.cors_by_origin[origin] = (allow, *allowed_tail)
        # Answers preflights only: every other request goes straight to `app`.
        self.preflight: ASGIApp = _Preflight(
            app,
            allow_origins=cors_origins,
            allow_credentials=cors_allow_credentials,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=EXPOSED_HEADERS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        headers: dict[bytes, bytes] = dict(scope["headers"])
        request_id_bytes = headers.get(b"x-request-id")
        if request_id_bytes is not None and _SAFE_REQUEST_ID.fullmatch(request_id_bytes):
            request_id = request_id_bytes.decode("ascii")
        else:
            # A correlation id, not a secret: the stdlib generator (reseeded in forked
            # workers) is enough and spares a system call per request.
            request_id = random.randbytes(16).hex()  # noqa: S311
            request_id_bytes = request_id.encode("ascii")
        state = scope.get("state")
        if state is None:
            scope["state"] = state = {}
        state["request_id"] = request_id
        app = self.app
        cors_headers: _Headers = ()
        if self.cors:
            origin = headers.get(b"origin")
            if origin is None:
                cors_headers = _VARY_ONLY
            elif scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
                app = self.preflight  # which adds its own CORS headers
            else:
                cors_headers = self.cors_by_origin.get(origin, self.cors_others)
        respond = _Response(send, started, request_id_bytes, cors_headers)
        token = _REQUEST_ID.set(request_id)
        try:
            limit = self.max_body_size
            declared = headers.get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                # Refused before the body is read; the endpoint never runs.
                await _problem(scope, respond, request_id, 413, ContentTooLarge(limit).detail)
                return
            if (
                declared not in _NO_BODY
                or b"transfer-encoding" in headers
                or scope.get("http_version", "1.1") not in _HTTP_1
            ):
                # A body may come: count it as it arrives. (An HTTP/1 request with neither
                # header has none; an HTTP/2 body may come without a Content-Length.)
                receive = _LimitedReceive(receive, limit)
            await app(scope, receive, respond)
        except Exception:
            self.logger.exception("unhandled_exception", method=scope["method"], path=scope["path"])
            if not respond.status:
                await _problem(scope, respond, request_id, 500, _INTERNAL_ERROR)
        finally:
            if self.access_log is not None:
                client = scope.get("client")
                self.access_log(
                    scope["method"],
                    scope["path"],  # without the query string, which may carry secrets
                    respond.status or 500,
                    round((perf_counter() - started) * 1000, 2),
                    client[0] if client else None,
                    request_id,
                )
            _REQUEST_ID.reset(token)


async def _problem(
    scope: Scope, respond: _Response, request_id: str, status: int, detail: str
) -> None:
    body = problem_body(status, detail=detail, instance=scope["path"], request_id=request_id)
    headers = [(b"content-type", _PROBLEM_JSON), (b"content-length", b"%d" % len(body))]
    await respond({"type": "http.response.start", "status": status, "headers": headers})
    await respond({"type": "http.response.body", "body": body})
