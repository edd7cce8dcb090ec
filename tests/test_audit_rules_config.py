"""FPA311-FPA315 on small inline projects: real shapes that must be found, and
look-alikes that must not."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit_fixtures import assert_documented, code_places, run_rules
from fastapi_patterns.audit import rules_config


def audit(root: Path, files: dict[str, str]) -> list[tuple[str, str, int]]:
    """(code, path, line) of every FPA31x finding in the project made of `files`."""
    return code_places(run_rules(root, files, rules_config.check))


def test_rules_are_described() -> None:
    assert [rule.code for rule in rules_config.RULES] == [f"FPA31{n}" for n in range(1, 6)]
    assert_documented(rules_config.RULES)
    assert [rule.code for rule in rules_config.RULES if rule.fixable] == ["FPA311"]


# FPA311 redis close ---------------------------------------------------------------------


def test_redis_asyncio_close(tmp_path: Path) -> None:
    files = {
        "svc/__init__.py": "",
        "svc/cache.py": """
            import redis.asyncio as aioredis

            class Cache:
                def __init__(self, url: str) -> None:
                    self._client = aioredis.Redis.from_url(url)

                async def stop(self) -> None:
                    await self._client.close()
        """,
        "svc/clients.py": """
            import redis.asyncio as redis

            async def get_redis():
                return redis.from_url("redis://localhost")
        """,
        "svc/main.py": """
            from fastapi import FastAPI
            from svc.clients import get_redis

            async def lifespan(app: FastAPI):
                app.redis = await get_redis()
                yield
                await app.redis.close()
        """,
        "svc/lifespan.py": """
            from contextlib import asynccontextmanager
            from redis.asyncio import Redis

            @asynccontextmanager
            async def lifespan(app):
                app.state.redis = Redis.from_url("redis://localhost")
                yield
                await app.state.redis.close()

            async def shutdown(client: Redis) -> None:
                await client.close()
        """,
    }
    assert audit(tmp_path, files) == [
        ("FPA311", "svc/cache.py", 9),
        ("FPA311", "svc/lifespan.py", 9),
        ("FPA311", "svc/lifespan.py", 12),
        ("FPA311", "svc/main.py", 8),
    ]


def test_close_on_other_clients_is_fine(tmp_path: Path) -> None:
    files = {
        "sync_cache.py": """
            import redis

            client = redis.Redis()
            client.close()  # the sync client's close() is not deprecated
        """,
        "app.py": """
            import httpx
            from redis.asyncio import Redis

            async def main(redis: Redis, http: httpx.AsyncClient, stream) -> None:
                await redis.aclose()
                await http.aclose()
                await stream.close()
        """,
        "legacy.py": """
            import aioredis  # aioredis 2: close() was its API

            async def stop(redis: aioredis.Redis) -> None:
                await redis.close()
        """,
    }
    assert audit(tmp_path, files) == []


# FPA312 init typo -----------------------------------------------------------------------


def test_init_instead_of_constructor(tmp_path: Path) -> None:
    files = {
        "services/__init__.py": "",
        "services/orders.py": """
            from sqlalchemy.ext.asyncio import AsyncSession

            class OrderService:
                def init(self, session: AsyncSession) -> None:
                    self.session = session

                async def list(self) -> list[int]:
                    return []
        """,
    }
    assert audit(tmp_path, files) == [("FPA312", "services/orders.py", 5)]


def test_init_lookalikes_are_fine(tmp_path: Path) -> None:
    files = {
        "hooks.py": """
            class Plugin:
                def __init__(self) -> None:
                    self.ready = False
                    self.init()

            class Db(Plugin):
                def init(self) -> None:  # a hook the base constructor calls
                    self.ready = True
        """,
        "other.py": """
            class Both:
                def __init__(self) -> None:
                    self.x = 0

                def init(self) -> None:
                    self.x = 1

            class Stateless:
                def init(self) -> None:
                    print("no attributes set")
        """,
    }
    assert audit(tmp_path, files) == []


# FPA313 request default None ------------------------------------------------------------


def test_request_default_none_in_routes_and_dependencies(tmp_path: Path) -> None:
    files = {
        "app/__init__.py": "",
        "app/deps.py": """
            from typing import Optional, Union
            from starlette.requests import Request as StarletteRequest

            def get_user(request: StarletteRequest = None) -> str:
                return request.headers["user"]

            def get_tenant(*, request: "Optional[StarletteRequest]" = None) -> str:
                return "t"

            def unused(request: Union[StarletteRequest, None] = None) -> str:
                return "never a dependency"
        """,
        "app/main.py": """
            from typing import Annotated
            from fastapi import Depends, FastAPI, Request
            from app.deps import get_tenant, get_user

            app = FastAPI()

            @app.get("/me")
            async def me(
                user: Annotated[str, Depends(get_user)],
                tenant: str = Depends(get_tenant),
                request: Request | None = None,
            ) -> str:
                return user
        """,
    }
    assert audit(tmp_path, files) == [
        ("FPA313", "app/deps.py", 5),
        ("FPA313", "app/deps.py", 8),
        ("FPA313", "app/main.py", 12),
    ]


def test_request_parameters_done_right_are_fine(tmp_path: Path) -> None:
    files = {
        "main.py": """
            from fastapi import FastAPI, Request

            app = FastAPI()

            @app.get("/")
            async def index(request: Request, limit: int | None = None) -> str:
                return request.url.path

            def log(request: Request = None) -> None:  # a plain helper, not a handler
                pass
        """,
    }
    assert audit(tmp_path, files) == []


# FPA314 os.environ in handlers ----------------------------------------------------------


def test_environ_read_in_routes_dependencies_and_their_helpers(tmp_path: Path) -> None:
    files = {
        "api/__init__.py": "",
        "api/util.py": """
            from os import environ

            def bucket() -> str:
                return environ["BUCKET"]
        """,
        "api/routes.py": """
            import os as system
            from os import getenv
            from fastapi import APIRouter, Depends
            from api.util import bucket

            router = APIRouter()

            def feature_flag() -> bool:
                return system.environ.get("FLAG") == "1"

            class Uploader:
                def target(self) -> str:
                    return bucket()

            @router.post("/upload")
            def upload(flag: bool = Depends(feature_flag)) -> str:
                region = getenv("REGION", "eu")
                uploader = Uploader()
                return uploader.target() + region
        """,
    }
    assert audit(tmp_path, files) == [
        ("FPA314", "api/routes.py", 10),
        ("FPA314", "api/routes.py", 18),
        ("FPA314", "api/util.py", 5),
    ]


def test_environ_read_outside_requests_is_fine(tmp_path: Path) -> None:
    files = {
        "main.py": """
            import os
            from functools import lru_cache
            from fastapi import FastAPI

            DEBUG = os.getenv("DEBUG") == "1"  # module level: read once at import

            def create_app() -> FastAPI:
                app = FastAPI(debug=os.environ.get("DEBUG") == "1")

                @app.get("/")
                async def index() -> dict[str, bool]:
                    return {"debug": DEBUG}

                return app

            def cli() -> None:
                print(os.environ["HOME"])
        """,
        "deps.py": """
            import functools
            import os
            from typing import Annotated
            from fastapi import APIRouter, Depends

            router = APIRouter()

            def database_url() -> str:
                return os.environ["DATABASE_URL"]

            @functools.lru_cache
            def get_settings() -> dict[str, str]:
                return {"url": database_url(), "mode": os.getenv("MODE", "prod")}

            @router.get("/config")
            def config(settings: Annotated[dict[str, str], Depends(get_settings)]) -> str:
                return settings["mode"]
        """,
    }
    assert audit(tmp_path, files) == []


# FPA315 class Config --------------------------------------------------------------------


def test_class_config_in_pydantic_v2_classes(tmp_path: Path) -> None:
    files = {
        "core/__init__.py": "",
        "core/config.py": """
            import pydantic_settings as ps

            class Settings(ps.BaseSettings):
                secret_key: str

                class Config:
                    env_file = ".env"
        """,
        "core/schemas.py": """
            from pydantic import BaseModel as Model

            class Base(Model):
                pass

            class Item(Base):
                name: str

                class Config:
                    from_attributes = True
        """,
    }
    assert audit(tmp_path, files) == [
        ("FPA315", "core/config.py", 7),
        ("FPA315", "core/schemas.py", 10),
    ]


def test_class_config_elsewhere_is_fine(tmp_path: Path) -> None:
    files = {
        "config.py": """
            from pydantic import BaseModel, ConfigDict
            from pydantic_settings import BaseSettings, SettingsConfigDict

            class Settings(BaseSettings):
                model_config = SettingsConfigDict(env_file=".env")

            class Item(BaseModel):
                model_config = ConfigDict(from_attributes=True)

            class Plain:
                class Config:  # not pydantic
                    debug = True
        """,
    }
    assert audit(tmp_path, files) == []


@pytest.mark.parametrize(
    ("where", "pin"),
    [
        ("requirements.txt", "pydantic>=1.10,<2\n"),
        ("backend/requirements.txt", "fastapi==0.65.2\n"),
        ("pyproject.toml", '[tool.poetry.dependencies]\npydantic = "^1.10"\n'),
        ("services/api/requirements-dev.txt", "pydantic[email]<2.0\n"),
    ],
)
def test_class_config_in_a_pydantic_v1_project_is_fine(
    tmp_path: Path, where: str, pin: str
) -> None:
    files = {
        where: pin,
        "config.py": """
            from pydantic import BaseModel

            class Item(BaseModel):
                class Config:
                    orm_mode = True
        """,
    }
    assert audit(tmp_path, files) == []


@pytest.mark.parametrize(
    "pin", ["pydantic>=2.7\n", "fastapi==0.115.0\n", "pydantic-settings<3\nfastapi-users==0.5\n"]
)
def test_pins_that_allow_pydantic_2_do_not_silence_the_rule(tmp_path: Path, pin: str) -> None:
    files = {
        "requirements.txt": pin,
        "config.py": """
            from pydantic import BaseModel

            class Item(BaseModel):
                class Config:
                    from_attributes = True
        """,
    }
    assert audit(tmp_path, files) == [("FPA315", "config.py", 5)]
