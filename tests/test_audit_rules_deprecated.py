"""FPA301-FPA304 (rules_deprecated) on small inline projects: real shapes that must be
found, and look-alikes that must not. Every FPA30x module runs on each fixture, so the
expected lists also say that the other rules stay quiet."""

from __future__ import annotations

from pathlib import Path

from audit_fixtures import assert_documented, fpa30x
from fastapi_patterns.audit import rules_deprecated


def test_rules_are_described() -> None:
    assert [rule.code for rule in rules_deprecated.RULES] == [f"FPA30{n}" for n in range(1, 5)]
    assert_documented(rules_deprecated.RULES)
    fixable = {rule.code for rule in rules_deprecated.RULES if rule.fixable}
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
    assert fpa30x(tmp_path, files) == [
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
    assert fpa30x(tmp_path, files) == []


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
    assert fpa30x(tmp_path, files) == [
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
    assert fpa30x(tmp_path, files) == []


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
    assert fpa30x(tmp_path, files) == [
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
    assert fpa30x(tmp_path, files) == []
