"""FPA301-FPA308 on small inline projects: real shapes that must be found, and
look-alikes that must not."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fastapi_patterns.audit import rules_api, rules_config
from fastapi_patterns.audit.project import build_index
from rendering import write_bundle_python
from test_references import ROOT, anchors


def audit(root: Path, files: dict[str, str]) -> list[tuple[str, str, int]]:
    """(code, path, line) of every FPA30x finding in the project made of `files`."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    index = build_index(root)
    found = [(f.code, f.path, f.line) for f in rules_api.check(index)]
    return sorted(found, key=lambda item: (item[1], item[2], item[0]))


def codes(root: Path, files: dict[str, str]) -> list[str]:
    return [code for code, _, _ in audit(root, files)]


def test_rules_are_described() -> None:
    assert [rule.code for rule in rules_api.RULES] == [f"FPA30{n}" for n in range(1, 10)]
    headings = anchors(ROOT / "references" / "anti-patterns.md")
    for rule in rules_api.RULES:
        document, _, anchor = rule.reference.partition("#")
        assert document == "references/anti-patterns.md"
        assert anchor in headings, rule.code
    fixable = {rule.code for rule in rules_api.RULES if rule.fixable}
    assert fixable == {"FPA301", "FPA304"}


# FPA301 on_event ------------------------------------------------------------------------


def test_on_event_in_a_factory_and_on_a_router_in_another_module(tmp_path: Path) -> None:
    files = {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import FastAPI as Api
            from app.events import router

            def create_app() -> Api:
                application = Api()

                @application.on_event("startup")
                async def start() -> None: ...

                application.add_event_handler("shutdown", start)
                application.include_router(router)
                return application

            legacy_app = Api()
        """,
        "app/hooks.py": """
            from app.main import legacy_app as application

            async def warm() -> None: ...

            application.add_event_handler("startup", warm)

            @application.middleware("http")
            async def stamp(request, call_next):
                return await call_next(request)
        """,
        "app/events.py": """
            import fastapi

            router = fastapi.APIRouter()

            @router.on_event("shutdown")
            async def stop() -> None: ...

            legacy = fastapi.FastAPI(on_startup=[stop])
        """,
    }
    assert audit(tmp_path, files) == [
        ("FPA301", "app/events.py", 6),
        ("FPA301", "app/events.py", 9),
        ("FPA301", "app/hooks.py", 6),
        ("FPA302", "app/hooks.py", 8),
        ("FPA301", "app/main.py", 8),
        ("FPA301", "app/main.py", 11),
    ]


def test_on_event_lookalikes_are_fine(tmp_path: Path) -> None:
    files = {
        "bus.py": """
            class Bus:
                def on_event(self, name: str) -> None: ...

            bus = Bus()
            bus.on_event("startup")  # not a web framework module
        """,
        "main.py": """
            from contextlib import asynccontextmanager
            from fastapi import FastAPI

            @asynccontextmanager
            async def lifespan(app: FastAPI):
                yield

            app = FastAPI(lifespan=lifespan)
        """,
    }
    assert codes(tmp_path, files) == []


# FPA302 BaseHTTPMiddleware --------------------------------------------------------------


def test_base_http_middleware_shapes(tmp_path: Path) -> None:
    files = {
        "svc/__init__.py": "",
        "svc/middleware.py": """
            from starlette.middleware.base import BaseHTTPMiddleware as Base
            import starlette.middleware.base as mw

            class RequestId(Base):
                async def dispatch(self, request, call_next):
                    return await call_next(request)

            class Timing(mw.BaseHTTPMiddleware):
                pass
        """,
        "svc/main.py": """
            from fastapi import FastAPI
            from starlette.middleware import Middleware
            from starlette.middleware.base import BaseHTTPMiddleware

            async def stamp(request, call_next):
                return await call_next(request)

            app = FastAPI(middleware=[Middleware(BaseHTTPMiddleware, dispatch=stamp)])

            @app.middleware("http")
            async def timing(request, call_next):
                return await call_next(request)
        """,
    }
    assert audit(tmp_path, files) == [
        ("FPA302", "svc/main.py", 9),
        ("FPA302", "svc/main.py", 11),
        ("FPA302", "svc/middleware.py", 5),
        ("FPA302", "svc/middleware.py", 9),
    ]


def test_pure_asgi_middleware_is_fine(tmp_path: Path) -> None:
    files = {
        "main.py": """
            from fastapi import FastAPI
            from starlette.types import ASGIApp, Receive, Scope, Send

            class RequestId:
                def __init__(self, app: ASGIApp) -> None:
                    self.app = app

                async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
                    await self.app(scope, receive, send)

            app = FastAPI()
            app.add_middleware(RequestId)

            @app.middleware("websocket")  # not http: not a BaseHTTPMiddleware
            async def other(request, call_next):
                return await call_next(request)
        """,
        "bot.py": """
            class Bot:
                def middleware(self, kind): return lambda f: f

            bot = Bot()

            @bot.middleware("http")  # no FastAPI/Starlette in this module
            async def hook(request, call_next): ...
        """,
    }
    assert codes(tmp_path, files) == []


# FPA303 / FPA304 ORJSONResponse ---------------------------------------------------------


def test_deprecated_response_classes(tmp_path: Path) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/main.py": """
            from fastapi import FastAPI
            from fastapi.responses import ORJSONResponse as Fast

            app = FastAPI(default_response_class=Fast)
        """,
        "pkg/routes.py": """
            import fastapi
            from fastapi import responses

            router = fastapi.APIRouter(default_response_class=responses.UJSONResponse)

            @router.get("/items", response_class=fastapi.responses.ORJSONResponse)
            async def items() -> list[int]:
                return [1]
        """,
    }
    assert audit(tmp_path, files) == [
        ("FPA304", "pkg/main.py", 5),
        ("FPA304", "pkg/routes.py", 5),
        ("FPA303", "pkg/routes.py", 7),
    ]


def test_other_response_classes_are_fine(tmp_path: Path) -> None:
    files = {
        "main.py": """
            from fastapi import FastAPI
            from fastapi.responses import HTMLResponse, StreamingResponse

            class ORJSONResponse:  # the project's own class of that name
                pass

            app = FastAPI()

            @app.get("/", response_class=HTMLResponse)
            async def index() -> str:
                return "<p>hi</p>"

            @app.get("/x", response_class=ORJSONResponse)
            async def x() -> dict[str, int]:
                return {}
        """,
    }
    assert codes(tmp_path, files) == []


# FPA305 CORS ----------------------------------------------------------------------------


def test_cors_wildcard_with_credentials(tmp_path: Path) -> None:
    files = {
        "main.py": """
            from fastapi import FastAPI
            from fastapi.middleware.cors import CORSMiddleware as Cors
            from starlette.middleware import Middleware

            ORIGINS = ["*"]
            CREDENTIALS = True
            cors = Middleware(Cors, allow_origins=("*",), allow_credentials=True)
            app = FastAPI(middleware=[cors])

            def create_app() -> FastAPI:
                api = FastAPI()
                api.add_middleware(Cors, allow_origins=ORIGINS, allow_credentials=CREDENTIALS)
                return api
        """,
        "asgi.py": """
            from starlette.middleware.cors import CORSMiddleware
            from main import app

            application = CORSMiddleware(app, allow_origins={"*"}, allow_credentials=True)
        """,
    }
    assert audit(tmp_path, files) == [
        ("FPA305", "asgi.py", 5),
        ("FPA305", "main.py", 8),
        ("FPA305", "main.py", 13),
    ]


def test_cors_lookalikes_are_fine(tmp_path: Path) -> None:
    files = {
        "settings.py": "CORS = ['*']\n",
        "main.py": """
            from fastapi import FastAPI
            from fastapi.middleware.cors import CORSMiddleware
            from settings import CORS

            app = FastAPI()
            app.add_middleware(CORSMiddleware, allow_origins=["*"])  # no credentials
            app.add_middleware(
                CORSMiddleware, allow_origins=["https://app.example"], allow_credentials=True
            )
            app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=False)

            def build(origins: list[str]) -> None:
                app.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=True)
        """,
    }
    assert codes(tmp_path, files) == []


# FPA306 / FPA307 JWT --------------------------------------------------------------------


def test_jwt_decode_without_pinned_algorithms_or_exp(tmp_path: Path) -> None:
    files = {
        "auth/__init__.py": "",
        "auth/pyjwt.py": """
            import jwt as pyjwt

            class Tokens:
                def __init__(self, key: str) -> None:
                    self.key = key

                def read(self, token: str) -> dict:
                    return pyjwt.decode(token, self.key)

                def lenient(self, token: str) -> dict:
                    return pyjwt.decode(
                        token, self.key, algorithms=["HS256"], options={"verify_exp": False}
                    )

                def partial(self, token: str) -> dict:
                    return pyjwt.decode(
                        token, self.key, algorithms=["HS256"], options={"require": ["sub"]}
                    )
        """,
        "auth/jose.py": """
            from jose import jwt

            OPTIONS = {"verify_exp": False}

            def decode(token: str, key: str) -> dict:
                return jwt.decode(token, key, algorithms=None, options=OPTIONS)
        """,
    }
    assert audit(tmp_path, files) == [
        ("FPA306", "auth/jose.py", 7),
        ("FPA307", "auth/jose.py", 7),
        ("FPA306", "auth/pyjwt.py", 9),
        ("FPA307", "auth/pyjwt.py", 12),
        ("FPA307", "auth/pyjwt.py", 17),
    ]


def test_jwt_decode_done_right_is_fine(tmp_path: Path) -> None:
    files = {
        "security.py": """
            import json
            import jwt
            from jose import jwt as jose_jwt

            ALGORITHMS = ["RS256"]

            def verify(token: str, key: str, algorithm: str) -> dict:
                jwt.decode(token, key, [algorithm])
                jose_jwt.decode(token, key, algorithms=ALGORITHMS)
                jwt.decode(token, options={"verify_signature": False})  # a deliberate peek
                jwt.decode(token, key, algorithms=[algorithm], options={"require": ["exp", "sub"]})
                kwargs = {"algorithms": ["HS256"]}
                jwt.decode(token, key, **kwargs)
                return json.decoder.JSONDecoder().decode("{}")
        """,
    }
    assert codes(tmp_path, files) == []


# FPA308 readiness -----------------------------------------------------------------------

DATABASE = """
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    async def get_session() -> AsyncSession:
        raise NotImplementedError
"""


def test_readiness_route_that_checks_nothing(tmp_path: Path) -> None:
    files = {
        "app/__init__.py": "",
        "app/db.py": DATABASE,
        "app/routes/__init__.py": "",
        "app/routes/health.py": """
            from datetime import UTC, datetime
            from fastapi import APIRouter
            from pydantic import BaseModel

            router = APIRouter(prefix="/health")

            class Status(BaseModel):
                status: str
                at: str

            def now() -> str:
                return datetime.now(UTC).isoformat()

            @router.get("/ready")
            async def ready() -> Status:
                return Status(status="ok", at=now())

            @router.get("")
            def health_check() -> dict[str, str]:
                return {"status": "ok"}
        """,
        "app/routes/probe.py": """
            from fastapi import APIRouter
            from fastapi.responses import PlainTextResponse

            router = APIRouter(prefix="/health-check")

            @router.get("")
            async def get() -> PlainTextResponse:
                return PlainTextResponse("OK")
        """,
        "app/main.py": """
            from fastapi import FastAPI
            from app.routes.health import router

            app = FastAPI()
            app.include_router(router)

            @app.get("/healthz")
            async def healthz():
                return {"ok": True}
        """,
    }
    assert audit(tmp_path, files) == [
        ("FPA308", "app/main.py", 9),
        ("FPA308", "app/routes/health.py", 16),
        ("FPA308", "app/routes/health.py", 20),
        ("FPA308", "app/routes/probe.py", 8),
    ]


def test_readiness_routes_that_check_and_liveness_routes_are_fine(tmp_path: Path) -> None:
    files = {
        "app/__init__.py": "",
        "app/db.py": DATABASE,
        "app/deps.py": """
            from typing import Annotated
            from fastapi import Depends, Request
            from sqlalchemy.ext.asyncio import AsyncSession
            from app.db import get_session

            SessionDep = Annotated[AsyncSession, Depends(get_session)]

            def get_engine(request: Request):
                return request.app.state.engine
        """,
        "app/main.py": """
            from fastapi import Depends, FastAPI
            from sqlalchemy import text
            from app.deps import SessionDep, get_engine

            app = FastAPI()

            @app.get("/health/live")
            async def live() -> dict[str, str]:
                return {"status": "ok"}

            @app.get("/ping")
            def ping() -> str:
                return "pong"

            @app.get("/health/ready")
            async def ready(session: SessionDep) -> dict[str, str]:
                await session.execute(text("SELECT 1"))
                return {"status": "ok"}

            @app.get("/healthz")
            def healthz(engine=Depends(get_engine)) -> dict[str, str]:
                with engine.connect() as connection:
                    connection.exec_driver_sql("SELECT 1")
                return {"status": "ok"}
        """,
    }
    assert codes(tmp_path, files) == []


def test_health_route_of_an_app_without_backing_services_is_fine(tmp_path: Path) -> None:
    files = {
        "main.py": """
            from fastapi import FastAPI

            app = FastAPI()

            @app.get("/health")
            async def health() -> dict[str, str]:
                return {"status": "ok"}
        """,
    }
    assert codes(tmp_path, files) == []


def test_health_route_that_answers_200_when_its_check_fails(tmp_path: Path) -> None:
    files = {
        "main.py": """
            from fastapi import FastAPI
            from sqlalchemy import text

            app = FastAPI()

            @app.get("/health")
            async def health() -> dict[str, str]:
                try:
                    async with app.state.engine.connect() as conn:
                        await conn.execute(text("SELECT 1"))
                    return {"status": "healthy"}
                except Exception:
                    return {"status": "unhealthy"}
        """,
    }
    assert audit(tmp_path, files) == [("FPA309", "main.py", 14)]


def test_health_routes_that_answer_503_are_fine(tmp_path: Path) -> None:
    files = {
        "main.py": """
            from fastapi import FastAPI, HTTPException, Response
            from fastapi.responses import JSONResponse

            app = FastAPI()

            @app.get("/health/ready")
            async def ready(response: Response) -> dict[str, str]:
                try:
                    await app.state.redis.ping()
                except OSError:
                    response.status_code = 503
                    return {"status": "down"}
                return {"status": "ok"}

            @app.get("/healthz")
            async def healthz():
                try:
                    await app.state.redis.ping()
                except OSError:
                    return JSONResponse({"status": "down"}, status_code=503)
                return {"status": "ok"}

            @app.get("/readyz")
            async def readyz() -> str:
                try:
                    await app.state.redis.ping()
                except OSError as error:
                    raise HTTPException(503) from error
                return "ok"

            @app.get("/health/live")
            async def live() -> str:
                try:
                    return "ok"
                except Exception:
                    return "still alive"  # liveness: not judged
        """,
    }
    assert codes(tmp_path, files) == []


@pytest.mark.parametrize("path", ["/status", "/already-done", "/users/{id}/readme", "/"])
def test_routes_that_only_sound_alike_are_not_health_routes(tmp_path: Path, path: str) -> None:
    files = {
        "db.py": DATABASE,
        "main.py": f"""
            from fastapi import FastAPI

            app = FastAPI()

            @app.get("{path}")
            async def health() -> dict[str, str]:  # the path decides when it has words
                return {{"status": "ok"}}
        """,
    }
    assert codes(tmp_path, files) == []


# Generated projects and the single-file template ----------------------------------------


def test_every_generated_project_and_the_template_pass_the_fpa3xx_rules(
    tmp_path: Path,
) -> None:
    """What the bundle itself writes must not trip its own rules (all 28 combinations)."""
    findings: list[str] = []
    for root in write_bundle_python(tmp_path):
        findings += _fpa3xx(root)
    assert findings == []


def _fpa3xx(root: Path) -> list[str]:
    index = build_index(root)
    assert index.warnings == []
    # Not vacuous: the readiness rule saw the project's readiness route and judged it.
    assert any(rules_api._is_readiness(route) for route in index.routes()), root.name
    found = [*rules_api.check(index), *rules_config.check(index)]
    return [f"{root.name}/{f.path}:{f.line}: {f.code} {f.message}" for f in found]
