"""references/middleware.md's claims about the installed FastAPI, Starlette and structlog.

Each test is named after the section that makes the claim, so an upgrade that changes the
behaviour fails here and names the text to correct.
"""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi._body_limit import AppBodyLimitMiddleware
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import PlainTextResponse
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ORIGIN = "https://app.example"


class MarkResponses:
    """A pure ASGI user middleware that marks every response passing through it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (b"x-user-layer", b"1")]
            await send(message)

        await self.app(scope, receive, marked)


def _layers(app: FastAPI) -> list[str]:
    """The classes of the middleware stack FastAPI builds, outermost first."""
    names = []
    layer: Any = app.build_middleware_stack()
    while not isinstance(layer, type(app.router)):
        names.append(type(layer).__name__)
        layer = layer.app
    return names


def _call(app: FastAPI, request: Callable[[httpx.AsyncClient], Any]) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response: httpx.Response = await request(client)
            return response

    return asyncio.run(run())


def _echo_app(**kwargs: Any) -> FastAPI:
    app = FastAPI(**kwargs)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    return app


# ------------------------------------------------------------------ Order of layers


def test_layers_include_fastapi_body_limit() -> None:
    app = FastAPI()
    app.add_middleware(MarkResponses)
    assert _layers(app) == [
        ServerErrorMiddleware.__name__,
        "ExceptionTelemetryMiddleware",
        AppBodyLimitMiddleware.__name__,
        MarkResponses.__name__,
        ExceptionMiddleware.__name__,
        AsyncExitStackMiddleware.__name__,
    ]


def test_layers_fastapi_body_limit_answers_outside_user_middleware() -> None:
    app = _echo_app(max_body_size=10)
    app.add_middleware(MarkResponses)
    refused = _call(
        app,
        lambda client: client.post(
            "/echo", content=b"x" * 100, headers={"Content-Type": "application/json"}
        ),
    )
    # A plain-text 413 that never passed the user middleware: no request id, CORS or log.
    assert refused.status_code == 413
    assert refused.headers["content-type"].startswith("text/plain")
    assert refused.text == "Content Too Large"
    assert "x-user-layer" not in refused.headers
    fits = _call(app, lambda client: client.post("/echo", content=b"x" * 5))
    assert fits.json() == {"size": 5} and fits.headers["x-user-layer"] == "1"


def test_layers_fastapi_body_limit_is_off_without_max_body_size() -> None:
    app = _echo_app()
    app.add_middleware(MarkResponses)
    response = _call(app, lambda client: client.post("/echo", content=b"x" * 100_000))
    assert response.json() == {"size": 100_000}


def test_layers_exception_handler_runs_outside_user_middleware() -> None:
    async def on_error(request: Request, exc: Exception) -> PlainTextResponse:
        return PlainTextResponse("handled", status_code=500)

    app = FastAPI(exception_handlers={Exception: on_error})

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("boom")

    app.add_middleware(MarkResponses)
    assert _layers(app)[0] == ServerErrorMiddleware.__name__
    response = _call(app, lambda client: client.get("/crash"))
    assert response.status_code == 500 and response.text == "handled"
    assert "x-user-layer" not in response.headers


# ---------------------------------------------------------- Fast structured logging


def test_fast_logging_import_structlog_loads_dev_and_rich() -> None:
    probe = "import sys, structlog; print('structlog.dev' in sys.modules, 'rich' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    # Importing structlog imports structlog.dev, and with it rich whenever rich is installed.
    assert loaded == ["True", str(importlib.util.find_spec("rich") is not None)]


# --------------------------------------------------------------------------- CORS


def _preflight(app: FastAPI) -> httpx.Response:
    return _call(
        app,
        lambda client: client.options(
            "/echo",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "Authorization, Content-Type",
            },
        ),
    )


def test_cors_allow_origins_alone_refuses_a_post_preflight_with_authorization() -> None:
    app = _echo_app()
    app.add_middleware(CORSMiddleware, allow_origins=[ORIGIN])
    refused = _preflight(app)
    assert refused.status_code == 400
    assert refused.text == "Disallowed CORS method, headers"


def test_cors_allow_methods_and_headers_star_accept_it() -> None:
    app = _echo_app()
    app.add_middleware(
        CORSMiddleware, allow_origins=[ORIGIN], allow_methods=["*"], allow_headers=["*"]
    )
    allowed = _preflight(app)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN


def test_cors_without_expose_headers_browsers_cannot_read_the_request_id() -> None:
    app = _echo_app()
    app.add_middleware(MarkResponses)
    app.add_middleware(CORSMiddleware, allow_origins=[ORIGIN])
    plain = _call(app, lambda client: client.post("/echo", headers={"Origin": ORIGIN}))
    assert "access-control-expose-headers" not in plain.headers
    app = _echo_app()
    app.add_middleware(CORSMiddleware, allow_origins=[ORIGIN], expose_headers=["X-Request-ID"])
    exposed = _call(app, lambda client: client.post("/echo", headers={"Origin": ORIGIN}))
    assert exposed.headers["access-control-expose-headers"] == "X-Request-ID"


def test_cors_star_with_credentials_echoes_any_origin() -> None:
    app = _echo_app()
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True)
    evil = "https://evil.example"
    response = _call(app, lambda client: client.post("/echo", headers={"Origin": evil}))
    assert response.headers["access-control-allow-origin"] == evil
    assert response.headers["access-control-allow-credentials"] == "true"


def test_cors_every_response_varies_on_origin() -> None:
    app = _echo_app()
    app.add_middleware(CORSMiddleware, allow_origins=[ORIGIN])
    response = _call(app, lambda client: client.post("/echo"))  # no Origin at all
    assert response.headers["vary"] == "Origin"
