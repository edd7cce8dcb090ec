"""FPA308-FPA309 (rules_health) on small inline projects: real shapes that must be
found, and look-alikes that must not. Every FPA30x module runs on each fixture, so the
expected lists also say that the other rules stay quiet."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit_fixtures import FPA30X, assert_documented, fpa30x
from fastapi_patterns.audit import rules_config, rules_health
from fastapi_patterns.audit.project import build_index
from rendering import write_bundle_python


def test_rules_are_described() -> None:
    assert [rule.code for rule in rules_health.RULES] == ["FPA308", "FPA309"]
    assert_documented(rules_health.RULES)
    assert [rule.code for rule in rules_health.RULES if rule.fixable] == []


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
    assert fpa30x(tmp_path, files) == [
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
    assert fpa30x(tmp_path, files) == []


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
    assert fpa30x(tmp_path, files) == []


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
    assert fpa30x(tmp_path, files) == [("FPA309", "main.py", 14)]


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
    assert fpa30x(tmp_path, files) == []


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
    assert fpa30x(tmp_path, files) == []


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
    assert any(rules_health._is_readiness(route) for route in index.routes()), root.name
    found = [finding for check in (*FPA30X, rules_config.check) for finding in check(index)]
    return [f"{root.name}/{f.path}:{f.line}: {f.code} {f.message}" for f in found]
