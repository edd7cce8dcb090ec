"""A production-shaped FastAPI service in one module.

The design `create-fastapi-app` generates, in a single file for people who want one module
instead of a package. Each section below is the generated project's module of the same
name (``core/config.py``, ``core/middleware.py``, ...), joined into one namespace:

* settings from the environment or ``.env``, validated once, refusing insecure values;
* structlog configured for speed, with one JSON access line per request;
* RFC 9457 ``application/problem+json`` for every error (404, 405, 409, 413, 422, 500,
  503), each with the request id; an OpenAPI document with one ``Problem`` schema and
  operation ids taken from the endpoint names;
* one pure ASGI middleware for request id, CORS, body-size limit, ``X-Response-Time``,
  the access line and the last-resort 500;
* lifespan-managed resources: one engine with the right pool, an optional Redis client,
  readiness checks that gate startup, ``engine.dispose()`` and ``aclose()`` at shutdown;
* ``Annotated`` dependency aliases, one ``AsyncSession`` per request as a unit of work,
  class-based services; JWT bearer auth with argon2 password hashes;
* liveness, readiness and combined health; return-type serialization and a JSON Lines
  export streamed in constant memory.

Where it differs from a generated project, on purpose: it boots with no configuration at
all (SQLite file ``./app.db`` in the working directory, no Redis, an ephemeral signing
key), creates its tables at startup instead of running Alembic migrations, and Redis,
when REDIS_URL is set, is only checked, not used as a cache.

    python assets/fastapi-app-template.py      # uvicorn on HOST:PORT, 127.0.0.1:8000
    uvicorn --app-dir assets fastapi-app-template:app --no-access-log

``importlib`` accepts the dashes in the module name, so the second form works as written,
``--workers N`` included (give several workers one SECRET_KEY). Rename the file when it
becomes the start of a real project, and replace the ``create_all`` at startup with
Alembic migrations run once per deployment.
Requirements (the floors generated projects declare): fastapi>=0.165,
uvicorn[standard]>=0.54, pydantic-settings>=2.16, email-validator>=2.3,
python-multipart>=0.0.20, sqlalchemy[asyncio]>=2.1, aiosqlite>=0.22, redis>=8.1,
structlog>=26.1, orjson>=3.13, pyjwt>=2.15, pwdlib[argon2]>=0.3.

Environment (all optional in development), named as in generated projects: ENVIRONMENT,
DATABASE_URL, REDIS_URL, SECRET_KEY (32+ characters; required when
ENVIRONMENT=production), CORS_ORIGINS (comma-separated or a JSON list),
CORS_ALLOW_CREDENTIALS, MAX_BODY_SIZE, LOG_LEVEL, LOG_FORMAT, HEALTH_CHECK_TIMEOUT,
STARTUP_TIMEOUT, ACCESS_TOKEN_EXPIRE_MINUTES; HOST and PORT when run as a script.
Without SECRET_KEY a random key is generated at startup and a warning is logged: tokens
then stop working when the process restarts, and each worker signs with its own key.
"""

import asyncio
import gc
import json
import logging
import os
import random
import re
import secrets
import signal
import sys
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Mapping,
    Sequence,
)
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from contextvars import ContextVar, copy_context
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from http import HTTPStatus
from importlib.util import find_spec
from pathlib import Path
from time import perf_counter
from types import FrameType
from typing import Annotated, Any, BinaryIO, Literal, Self

import aiosqlite
import jwt
import orjson
import structlog
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2PasswordRequestForm
from pwdlib import PasswordHash
from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from redis.asyncio import Redis
from sqlalchemy import ForeignKey, String, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import StaticPool
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import STRUCTLOG_KEY_PREFIX, bind_contextvars
from structlog.typing import Processor

__version__ = "0.1.0"

# ------------------------------------------------------------- settings (core/config.py)

Environment = Literal["development", "test", "staging", "production"]
LogLevel = Literal["debug", "info", "warning", "error", "critical"]

_ORIGIN = re.compile(r"https?://[^/\s?#]+")
# Backend -> (the async driver this module expects, drivers that are already async).
_ASYNC_DRIVERS = {
    "postgresql": ("asyncpg", ("asyncpg", "psycopg")),
    "mysql": ("asyncmy", ("asyncmy", "aiomysql")),
    "mariadb": ("asyncmy", ("asyncmy", "aiomysql")),
    "sqlite": ("aiosqlite", ("aiosqlite",)),
}
_BACKEND_ALIASES = {"postgres": "postgresql"}


def to_async_url(value: str) -> str:
    """Rewrite a database URL to use an async driver.

    `postgres://u:p@db/app` becomes `postgresql+asyncpg://u:p@db/app`, `mysql://` and
    `mariadb://` get asyncmy, `sqlite://` gets aiosqlite; async URLs are kept as given.
    """
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError(
            "is not a database URL; expected e.g. postgresql://user:password@host:5432/name"
        ) from None
    backend, _, driver = url.drivername.partition("+")
    backend = _BACKEND_ALIASES.get(backend, backend)
    if backend not in _ASYNC_DRIVERS:
        raise ValueError(f"uses {backend!r}; supported are postgresql, mysql, mariadb and sqlite")
    default_driver, async_drivers = _ASYNC_DRIVERS[backend]
    if driver not in async_drivers:
        driver = default_driver
    if driver == "asyncpg" and "sslmode" in url.query:
        # libpq spells it sslmode, asyncpg spells it ssl (same values: require, verify-full, ...).
        # A repeated parameter arrives as a tuple; the last one wins, as in libpq.
        sslmode = url.query["sslmode"]
        ssl = sslmode if isinstance(sslmode, str) else sslmode[-1]
        url = url.difference_update_query(["sslmode"]).update_query_dict({"ssl": ssl})
        return url.set(drivername=f"{backend}+{driver}").render_as_string(hide_password=False)
    # Only the scheme changes; the rest is kept exactly as written.
    return f"{backend}+{driver}://{value.strip().partition('://')[2]}"


def _ephemeral_secret() -> SecretStr:
    return SecretStr(secrets.token_urlsafe(48))


class Settings(BaseSettings):
    """All settings of the service. Build one explicitly in tests: `Settings(...)`."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", env_ignore_empty=True, extra="ignore"
    )

    app_name: str = Field(
        default="fastapi-app",
        description="Shown in the API docs and the health report.",
    )
    environment: Environment = "development"
    # Turns on SQL statement logging; error responses never include tracebacks either way.
    debug: bool = False
    log_level: LogLevel = "info"
    log_format: Literal["json", "console"] = "json"

    database_url: str = Field(
        default="sqlite+aiosqlite:///./app.db",
        description="Any SQLAlchemy URL; the driver is switched to an async one.",
    )
    # Connections are opened as requests need them and then kept: with no overflow, a
    # busy worker never opens and closes connections (PostgreSQL forks a process for each)
    # on every request beyond the pool size. Workers x DB_POOL_SIZE must stay below the
    # server's max_connections.
    db_pool_size: int = Field(default=15, ge=1, le=100)
    db_max_overflow: int = Field(default=0, ge=0, le=100)
    # Seconds to wait for a pooled connection; when the pool is exhausted a request gets
    # a prompt 503 instead of hanging.
    db_pool_timeout: float = Field(default=5.0, gt=0, le=60)
    # Seconds after which a pooled connection is replaced (servers drop idle connections).
    db_pool_recycle: int = Field(default=1800, ge=60, le=86400)
    # Seconds the driver may take to connect, so an unreachable database fails fast.
    db_connect_timeout: float = Field(default=5.0, gt=0, le=60)
    # Seconds one round trip to the database may take (PostgreSQL and MySQL).
    db_command_timeout: float = Field(default=30.0, gt=0, le=3600)

    # Unset: no Redis. Set: checked at startup and by readiness.
    redis_url: str | None = None
    # Seconds a Redis command may take.
    redis_timeout: float = Field(default=1.0, gt=0, le=30)

    # Unset in development: a random key per process (see the module docstring).
    secret_key: SecretStr = Field(default_factory=_ephemeral_secret)
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    access_token_expire_minutes: int = Field(default=30, ge=1, le=43200)
    jwt_audience: str | None = None
    jwt_issuer: str | None = None

    # Comma-separated (`https://a.example,https://b.example`) or a JSON list.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cors_allow_credentials: bool = False

    # Largest accepted request body in bytes; larger bodies get 413.
    max_body_size: int = Field(default=1_048_576, ge=1)
    # Seconds each readiness check (database, Redis) may take.
    health_check_timeout: float = Field(default=2.0, gt=0, le=30)
    # Seconds the backing services get to become reachable at startup.
    startup_timeout: float = Field(default=10.0, gt=0, le=300)

    @field_validator("environment", "log_level", mode="before")
    @classmethod
    def _lower_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _use_async_driver(cls, value: str) -> str:
        url = to_async_url(value)
        driver = make_url(url).drivername.partition("+")[2]
        if find_spec(driver) is None:
            raise ValueError(f"needs the {driver} package, which is not installed")
        return url

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("secret_key")
    @classmethod
    def _long_secret(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value().encode()) < 32:
            raise ValueError(
                "must be at least 32 characters; generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(64))'`"
            )
        return value

    @field_validator("jwt_algorithm")
    @classmethod
    def _secret_fits_algorithm(cls, value: str, info: ValidationInfo) -> str:
        # RFC 7518: an HMAC key must be at least as long as the hash output.
        needed = {"HS256": 32, "HS384": 48, "HS512": 64}[value]
        secret = info.data.get("secret_key")
        if secret is not None and len(secret.get_secret_value().encode()) < needed:
            raise ValueError(f"{value} needs a SECRET_KEY of at least {needed} bytes")
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, origins: list[str]) -> list[str]:
        cleaned = [origin.rstrip("/") for origin in origins]
        for origin in cleaned:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin such as https://app.example.com")
        return cleaned

    @field_validator("cors_allow_credentials")
    @classmethod
    def _no_credentials_for_any_origin(cls, value: bool, info: ValidationInfo) -> bool:
        if value and "*" in info.data.get("cors_origins", []):
            raise ValueError(
                "cannot be true while CORS_ORIGINS contains '*': any website could make "
                "credentialed requests; list the allowed origins instead"
            )
        return value

    @model_validator(mode="after")
    def _secret_in_production(self) -> Self:
        if self.environment == "production" and self.secret_is_ephemeral:
            raise ValueError("SECRET_KEY is required when ENVIRONMENT=production")
        return self

    @property
    def secret_is_ephemeral(self) -> bool:
        return "secret_key" not in self.model_fields_set


def describe_settings_error(error: ValidationError) -> str:
    """One line per bad variable, e.g. `SECRET_KEY: must be at least 32 characters`."""
    lines = []
    for problem in error.errors(include_url=False):
        name = str(problem["loc"][0]).upper() if problem["loc"] else "SETTINGS"
        if problem["type"] == "missing":
            message = "is required but not set"
        else:
            message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"  {name}: {message}")
    return "Invalid configuration:\n" + "\n".join(lines)


@lru_cache
def get_settings() -> Settings:
    """The settings of this process, read once. Tests pass their own to `create_app`."""
    return Settings()


# -------------------------------------------------------------- logging (core/logging.py)

_PREFIX_LENGTH = len(STRUCTLOG_KEY_PREFIX)
# method, path, status, duration_ms, client, request_id
AccessLog = Callable[[str, str, int, float, str | None, str], None]


def configure_logging(settings: Settings) -> None:
    """One line per event: JSON rendered by orjson and written as bytes, or key=value
    lines for humans with LOG_FORMAT=console. Context bound with `structlog.contextvars`
    (the request id, by the middleware) is merged into every line."""
    processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
    ]
    logger_factory: structlog.BytesLoggerFactory | structlog.WriteLoggerFactory
    if settings.log_format == "json":
        processors += [
            structlog.processors.TimeStamper(),  # epoch seconds: the cheapest timestamp
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            ),
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ]
        logger_factory = structlog.BytesLoggerFactory()
    else:
        processors += [
            structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
            structlog.processors.format_exc_info,
            structlog.processors.LogfmtRenderer(
                key_order=["timestamp", "level", "event"], drop_missing=True
            ),
        ]
        logger_factory = structlog.WriteLoggerFactory()
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(_level(settings)),
        logger_factory=logger_factory,
        cache_logger_on_first_use=True,
    )


def access_log(settings: Settings) -> AccessLog | None:
    """What the middleware calls once per request; None when LOG_LEVEL hides INFO lines."""
    if _level(settings) > logging.INFO:
        return None
    if settings.log_format == "json":
        return _json_access_line
    return _structlog_access_line


def _level(settings: Settings) -> int:
    return logging.getLevelNamesMapping()[settings.log_level.upper()]


def _json_access_line(
    method: str, path: str, status: int, duration_ms: float, client: str | None, request_id: str
) -> None:
    # The one line hot enough to skip structlog: rendered with orjson straight into
    # stdout's buffer, with the fields and order structlog would give it, and flushed
    # once per turn of the event loop rather than once per line.
    line: dict[str, Any] = {
        "event": "request",
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": duration_ms,
        "client": client,
        "request_id": request_id,
        "level": "info",
        "timestamp": time.time(),
    }
    # Whatever else the app bound during the request, as `merge_contextvars` adds it
    # (the same loop, inlined: this runs for every request).
    for var, value in copy_context().items():
        name = var.name
        if name.startswith(STRUCTLOG_KEY_PREFIX) and value is not Ellipsis:
            line.setdefault(name[_PREFIX_LENGTH:], value)
    # Looked up per line, as structlog's BytesLogger does when it is created, so a
    # replaced sys.stdout (pytest's capsys) receives the line.
    out = sys.stdout.buffer
    out.write(orjson.dumps(line, default=repr, option=orjson.OPT_APPEND_NEWLINE))
    _flush_soon(out)


class _Flusher:
    """Flushes a stream once the running event loop has run the callbacks ready now."""

    __slots__ = ("loop", "pending")

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pending: BinaryIO | None = None

    def __call__(self, out: BinaryIO) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop in this thread: nothing would flush later
            out.flush()
            return
        if out is self.pending and loop is self.loop:
            return  # a flush is already scheduled
        if self.pending is not None and self.pending is not out:
            self.pending.flush()  # sys.stdout was replaced (tests): flush the old one now
        self.loop, self.pending = loop, out
        loop.call_soon(self.flush)

    def flush(self) -> None:
        out, self.pending = self.pending, None
        if out is not None:
            out.flush()


_flush_soon = _Flusher()


def _structlog_access_line(
    method: str, path: str, status: int, duration_ms: float, client: str | None, request_id: str
) -> None:
    structlog.get_logger().info(
        "request",
        method=method,
        path=path,
        status=status,
        duration_ms=duration_ms,
        client=client,
        request_id=request_id,
    )


# -------------------------------------------------------------------- models (models.py)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    hashed_password: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    is_admin: Mapped[bool] = mapped_column(default=False)


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))


# ------------------------------------------------------------------ schemas (schemas.py)

# The largest id and offset accepted: INTEGER columns are 32-bit on PostgreSQL and MySQL.
MAX_ID = 2_147_483_647
# Stored text may not hold NUL, which PostgreSQL refuses.
NO_NUL = r"^[^\x00]*$"


class UserCreate(BaseModel):
    email: EmailStr
    password: str = Field(min_length=12, max_length=1024)
    full_name: str | None = Field(default=None, max_length=200, pattern=NO_NUL)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str | None
    is_active: bool
    is_admin: bool


class UserPage(BaseModel):
    items: list[UserRead]
    total: int
    limit: int
    offset: int


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a token type, not a secret
    expires_in: int = Field(description="Seconds until the token expires.")


class ItemCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200, pattern=NO_NUL)


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    owner_id: int


class Problem(BaseModel):
    """An RFC 9457 problem document, the body of every error response."""

    type: str = "about:blank"
    title: str = Field(description="The HTTP status phrase, e.g. `Not Found`.")
    status: int = Field(description="The HTTP status code, repeated.")
    detail: str | None = Field(default=None, description="What went wrong, for people.")
    instance: str | None = Field(default=None, description="The request path.")
    request_id: str | None = Field(
        default=None, description="The `X-Request-ID` of the request; quote it when reporting."
    )


class ValidationIssue(BaseModel):
    """One reason a request was refused: where, what and which rule (never the input)."""

    loc: list[str | int] = Field(
        description="Where: `body`, `query`, `path` or `header`, then the field."
    )
    msg: str
    type: str = Field(description="The rule, e.g. `string_too_long`.")


class ValidationProblem(Problem):
    """The problem document of a 422: what in the request is not valid."""

    errors: list[ValidationIssue]


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class CheckResult(BaseModel):
    status: Literal["ok", "error"]
    latency_ms: float
    error: str | None = Field(default=None, description="Why the check failed; no secrets.")


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, CheckResult]


class HealthReport(Readiness):
    name: str
    version: str
    environment: str


# ---------------------------------------------------------------- errors (core/errors.py)

PROBLEM_JSON = "application/problem+json"
# Seconds a client should wait before retrying a 503.
RETRY_AFTER = "5"


# RFC 9110's names where Python's differ by version (3.13 renamed these four), so the
# same service gives the same titles on every Python.
_RFC9110_TITLES = {
    413: "Content Too Large",
    414: "URI Too Long",
    416: "Range Not Satisfiable",
    422: "Unprocessable Content",
}


def _python_phrase(status: int) -> str | None:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return None


def status_phrase(status: int) -> str:
    """The problem title for `status`: its RFC 9110 reason phrase."""
    return _RFC9110_TITLES.get(status) or _python_phrase(status) or "Error"


class ProblemException(Exception):  # noqa: N818 - the name FastAPI code bases use
    """Raise to answer with a problem document.

    `raise ProblemException(404, detail="Item 7 does not exist.")`; keyword arguments other
    than `headers` become extension members of the body.
    """

    def __init__(
        self,
        status: int,
        title: str | None = None,
        detail: str | None = None,
        type_: str = "about:blank",
        *,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        self.status = status
        self.title = title or status_phrase(status)
        self.detail = detail
        self.type_ = type_
        self.headers = headers
        self.extensions = extensions
        super().__init__(detail or self.title)


def problem_body(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    type_: str = "about:blank",
    instance: str | None = None,
    request_id: str | None = None,
    **extensions: Any,
) -> bytes:
    body: dict[str, Any] = {
        "type": type_,
        "title": title or status_phrase(status),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if request_id:
        body["request_id"] = request_id
    body.update(extensions)
    return orjson.dumps(body)


def problem_response(
    request: Request,
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    type_: str = "about:blank",
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> Response:
    body = problem_body(
        status,
        title=title,
        detail=detail,
        type_=type_,
        instance=request.url.path,
        request_id=getattr(request.state, "request_id", None),
        **extensions,
    )
    return Response(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def describe_error(error: BaseException) -> str:
    """A short, secret-free reason for logs and health reports: the exception class and
    the first line of its message (for SQLAlchemy errors, the driver's own exception)."""
    if isinstance(error, TimeoutError):
        return "TimeoutError: no answer in time"
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    message = lines[0][:160] if lines else ""
    return f"{type(cause).__name__}: {message}" if message else type(cause).__name__


async def _problem_exception(request: Request, exc: ProblemException) -> Response:
    return problem_response(
        request,
        exc.status,
        title=exc.title,
        detail=exc.detail,
        type_=exc.type_,
        headers=exc.headers,
        **exc.extensions,
    )


async def _http_error(request: Request, exc: HTTPException) -> Response:
    # Raised by routing (404, 405 with Allow), security schemes (401 with WWW-Authenticate)
    # and the body-size limit (413); their headers are kept.
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    # Starlette's default detail is Python's phrase, which the title already says.
    status = exc.status_code
    detail = None if exc.detail in (status_phrase(status), _python_phrase(status)) else exc.detail
    return problem_response(request, exc.status_code, detail=detail, headers=exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    # Only where, what and which rule: the offending input is never echoed back.
    errors = [
        {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]
    return problem_response(
        request, 422, detail="The request is not valid; see `errors`.", errors=errors
    )


async def _integrity_error(request: Request, exc: IntegrityError) -> Response:
    structlog.get_logger().info("integrity_error", error=describe_error(exc))
    return problem_response(
        request, 409, detail="The request conflicts with data that already exists."
    )


async def _database_error(request: Request, exc: DBAPIError) -> Response:
    if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
        return await _unavailable(request, exc)
    raise exc  # a bug, not an outage: the middleware logs it and answers 500


async def _unavailable(request: Request, exc: Exception) -> Response:
    structlog.get_logger().warning("backing_service_unavailable", error=describe_error(exc))
    return problem_response(
        request,
        503,
        detail="A backing service is unavailable; retry shortly.",
        headers={"Retry-After": RETRY_AFTER},
    )


ExceptionHandler = Callable[[Request, Any], Coroutine[Any, Any, Response]]


def exception_handlers() -> dict[int | type[Exception], ExceptionHandler]:
    """The handlers `create_app` installs, most specific first. Unhandled exceptions
    become a 500 in `RequestContextMiddleware`, which logs them once with their traceback."""
    return {
        ProblemException: _problem_exception,
        HTTPException: _http_error,
        RequestValidationError: _validation_error,
        IntegrityError: _integrity_error,
        DBAPIError: _database_error,
        # The pool had no free connection within DB_POOL_TIMEOUT.
        PoolTimeoutError: _unavailable,
        # Network failures and timeouts talking to a backing service (refused, DNS, reset).
        OSError: _unavailable,
        TimeoutError: _unavailable,
    }


# -------------------------------------------------------------- OpenAPI (core/openapi.py)

SCHEMAS = "#/components/schemas/"
_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "The authentication scheme to use: `Bearer`.",
            "required": True,
            "schema": {"type": "string"},
        },
    },
    503: {
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "required": True,
            "schema": {"type": "integer"},
        },
    },
}


def operation_id(route: APIRoute) -> str:
    """The route's operation id: its endpoint function's name, which client generators
    turn into method names (`create_item`, `createItem`)."""
    return route.name


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries documenting `statuses` as problem+json, for `responses=`."""
    return {status: _problem_response(status) for status in statuses}


def _problem_response(status: int) -> dict[str, Any]:
    model = ValidationProblem if status == 422 else Problem
    schema = {"$ref": SCHEMAS + model.__name__}
    media = {"schema": schema}
    response: dict[str, Any] = {
        "description": status_phrase(status),
        "content": {PROBLEM_JSON: media},
    }
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    return response


def _problem_schemas() -> dict[str, Any]:
    """`Problem`, `ValidationProblem` and what they refer to, as component schemas."""
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (Problem, "serialization"),
        (ValidationProblem, "serialization"),
    ]
    _, top = models_json_schema(models, ref_template=SCHEMAS + "{model}")
    schemas: dict[str, Any] = top["$defs"]
    return schemas


def _describe_item_streams(document: dict[str, Any]) -> None:
    # FastAPI writes `itemSchema` (OpenAPI 3.2) into a document it declares 3.1.0; in 3.1
    # a sequential media type's `schema` describes the lines as an array.
    for path in document["paths"].values():
        for operation in path.values():
            for response in operation.get("responses", {}).values():
                for media in response.get("content", {}).values():
                    if "itemSchema" in media:
                        item = media.pop("itemSchema")
                        media["schema"] = {"type": "array", "items": item}
                        media["x-oai-itemSchema"] = item


class App(FastAPI):
    """FastAPI whose OpenAPI document has one `Problem` schema that every error response
    refers to, and JSON Lines responses described the OpenAPI 3.1 way."""

    def openapi(self) -> dict[str, Any]:
        document = super().openapi()  # cached by FastAPI until the routes change
        components = document.setdefault("components", {})
        schemas = components.get("schemas", {})
        if Problem.__name__ not in schemas:  # not finished yet
            components["schemas"] = dict(sorted({**schemas, **_problem_schemas()}.items()))
            _describe_item_streams(document)
        return document


# -------------------------------------------------------- middleware (core/middleware.py)

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

    The only middleware the app installs, outermost (inside Starlette's own error
    middleware). Each `BaseHTTPMiddleware` layer would add a task group and re-stream the
    body, and a separate `CORSMiddleware` layer cost about as much as the rest of this
    class, so simple CORS requests are answered here from header tuples computed in
    `__init__`; preflights are answered by Starlette's `CORSMiddleware` rules, and a
    refused one gets a problem document like every other error.

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


# ------------------------------------------------------------- security (core/security.py)


# Tokens carry `sub` (the user id), `iat` and `exp`, plus `aud`/`iss` when JWT_AUDIENCE /
# JWT_ISSUER are set; decoding requires all of them and accepts only JWT_ALGORITHM, so
# `alg: none` and algorithm-confusion tokens are refused.


class InvalidTokenError(Exception):
    """The token is malformed, expired, signed with another key, or lacks a claim."""


def create_access_token(subject: str, settings: Settings) -> tuple[str, int]:
    """A signed token for `subject` and its lifetime in seconds."""
    now = datetime.now(UTC)
    lifetime = timedelta(minutes=settings.access_token_expire_minutes)
    claims: dict[str, Any] = {"sub": subject, "iat": now, "exp": now + lifetime}
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    token = jwt.encode(
        claims, settings.secret_key.get_secret_value(), algorithm=settings.jwt_algorithm
    )
    return token, int(lifetime.total_seconds())


def decode_access_token(token: str, settings: Settings) -> int:
    """The user id of a valid token; raises `InvalidTokenError` otherwise."""
    required = ["exp", "iat", "sub"]
    if settings.jwt_audience:
        required.append("aud")
    if settings.jwt_issuer:
        required.append("iss")
    try:
        claims = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": required},
        )
    except jwt.InvalidTokenError as exc:
        raise InvalidTokenError(str(exc)) from exc
    subject = claims["sub"]
    # Bounded before int(): a larger id would reach the database as an out-of-range error.
    if not (
        isinstance(subject, str)
        and subject.isascii()
        and subject.isdecimal()
        and len(subject) <= len(str(MAX_ID))
        and 1 <= int(subject) <= MAX_ID
    ):
        raise InvalidTokenError("The sub claim is not a user id.")
    return int(subject)


class PasswordHasher:
    """argon2 hashing, run in worker threads so the event loop never waits on it.

    `warmup()` (called by the lifespan) computes the hash used for unknown users, so a
    login for an unknown email costs as much as one with a wrong password.
    """

    def __init__(self, password_hash: PasswordHash | None = None) -> None:
        self._hash = PasswordHash.recommended() if password_hash is None else password_hash
        self._dummy_hash = ""

    async def warmup(self) -> None:
        self._dummy_hash = await self.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await run_in_threadpool(self._hash.hash, password)

    async def verify(self, password: str, hashed: str) -> tuple[bool, str | None]:
        """Whether `password` matches, and a new hash when the stored one is outdated."""
        return await run_in_threadpool(self._hash.verify_and_update, password, hashed)

    async def verify_dummy(self, password: str) -> None:
        """Spend the time of one verification, for an unknown user."""
        await run_in_threadpool(self._hash.verify, password, self._dummy_hash)


# ------------------------------------------------------------------------ database (db.py)

# The keyword each driver takes for its connect timeout, in seconds.
_CONNECT_TIMEOUT_ARGUMENT = {
    "asyncpg": "timeout",
    "psycopg": "connect_timeout",
    "asyncmy": "connect_timeout",
    "aiomysql": "connect_timeout",
}
# The keyword each driver takes for the time one round trip may take, in seconds.
_COMMAND_TIMEOUT_ARGUMENT = {
    "asyncpg": "command_timeout",
    "asyncmy": "read_timeout",
}


def create_engine(settings: Settings) -> AsyncEngine:
    """An engine with a bounded pool, or the right pool for SQLite."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            # One shared connection, or every session would see its own empty database.
            engine = create_async_engine(url, poolclass=StaticPool, echo=settings.debug)
        else:
            engine = _sqlite_file_engine(
                url,
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_max_overflow,
                pool_timeout=settings.db_pool_timeout,
                echo=settings.debug,
            )
        event.listen(engine.sync_engine, "connect", _enable_sqlite_foreign_keys)
        return engine
    connect_args: dict[str, Any] = {}
    driver = url.get_driver_name()
    if driver in _CONNECT_TIMEOUT_ARGUMENT:
        connect_args[_CONNECT_TIMEOUT_ARGUMENT[driver]] = settings.db_connect_timeout
    if driver in _COMMAND_TIMEOUT_ARGUMENT:
        connect_args[_COMMAND_TIMEOUT_ARGUMENT[driver]] = settings.db_command_timeout
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_recycle=settings.db_pool_recycle,
        pool_pre_ping=True,
        connect_args=connect_args,
        echo=settings.debug,
    )


def _sqlite_file_engine(url: Any, **options: Any) -> AsyncEngine:
    """A file-SQLite engine whose failed connects leave no driver work behind.

    When opening the file fails (directory gone, disk full, permissions), aiosqlite 0.22
    queues a stop for the connection's worker thread and raises without waiting for it.
    That connection never reaches the pool, so ``engine.dispose()`` cannot close it, and
    if the event loop closes first (a shutdown right after an outage) the thread dies with
    "RuntimeError: Event loop is closed". This creator waits for the thread instead.
    """

    async def connect() -> aiosqlite.Connection:
        connection = aiosqlite.connect(*args, **kwargs)
        # aiosqlite has no public join(); SQLAlchemy's own connect uses _thread as well.
        worker = connection._thread
        worker.daemon = True  # as SQLAlchemy does: a leaked connection never blocks exit
        try:
            return await connection
        except Exception:
            # The open failed, so only the queued stop is left: the join is immediate.
            # Not on cancellation (a check's timeout): the open may still be running.
            await asyncio.to_thread(worker.join)
            raise

    engine = create_async_engine(url, async_creator=connect, **options)
    args, kwargs = engine.dialect.create_connect_args(engine.url)  # path and URL options
    return engine


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    # SQLite ignores foreign keys (and ON DELETE CASCADE) unless asked, per connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


async def ping(engine: AsyncEngine) -> None:
    """One round trip to the database; raises when it cannot be reached."""
    database = engine.url.database
    if engine.url.get_backend_name() == "sqlite" and database and database != ":memory:":
        # SQLite creates a missing file but not a missing directory; say so plainly.
        directory = Path(database).parent
        if not await asyncio.to_thread(directory.is_dir):
            raise FileNotFoundError(f"The directory {directory} of the SQLite file does not exist.")
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


# ------------------------------------------------------------ health (services/health.py)

Check = Callable[[], Awaitable[object]]


class StartupError(RuntimeError):
    """A backing service did not become reachable within STARTUP_TIMEOUT."""


class HealthChecker:
    """Runs every check concurrently, each bounded by `timeout` seconds."""

    def __init__(self, checks: Mapping[str, Check], *, timeout: float) -> None:
        self._checks = dict(checks)
        self._timeout = timeout

    async def check(self) -> Readiness:
        results = await asyncio.gather(*(self._run(check) for check in self._checks.values()))
        ok = all(result.status == "ok" for result in results)
        return Readiness(
            status="ok" if ok else "unavailable",
            checks=dict(zip(self._checks, results, strict=True)),
        )

    async def _run(self, check: Check) -> CheckResult:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):
                await check()
        except Exception as exc:
            return CheckResult(
                status="error", latency_ms=_elapsed_ms(started), error=describe_error(exc)
            )
        return CheckResult(status="ok", latency_ms=_elapsed_ms(started))

    async def wait_until_ready(self, seconds: float) -> None:
        """Repeat the checks until all pass, for at most `seconds`.

        Raises `StartupError` naming each failing check, so a service that starts before
        its database (a common race under Compose or Kubernetes) gets a moment to wait.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        delay = 0.1
        while True:
            report = await self.check()
            if report.status == "ok":
                return
            if loop.time() + delay > deadline:
                failures = "; ".join(
                    f"{name}: {result.error}"
                    for name, result in report.checks.items()
                    if result.status != "ok"
                )
                raise StartupError(f"Startup check failed after {seconds:g}s: {failures}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


# ------------------------------------------------------------------- lifespan (lifespan.py)


@dataclass(frozen=True, slots=True)
class Resources:
    """Shared objects; requests reach them through the dependencies below."""

    settings: Settings
    health: HealthChecker
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis | None
    passwords: PasswordHasher


State = dict[str, Resources]
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[State]]


def _freeze_startup_objects() -> None:
    # What survives startup (modules, settings, pools) lives until shutdown. Freezing it
    # keeps every later full collection from walking it. Once per process.
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


def make_lifespan(settings: Settings, *, passwords: PasswordHasher | None = None) -> Lifespan:
    """The lifespan of an app with these settings. `passwords` replaces the argon2 hasher
    with recommended parameters (tests pass one with cheap parameters)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[State]:
        log = structlog.get_logger()
        if settings.secret_is_ephemeral:
            log.warning(
                "ephemeral_secret_key",
                detail="SECRET_KEY is not set; tokens will not survive a restart. Set it in .env.",
            )
        async with AsyncExitStack() as stack:
            checks: dict[str, Check] = {}
            engine = create_engine(settings)
            stack.push_async_callback(engine.dispose)
            checks["database"] = partial(ping, engine)
            client: Redis | None = None
            if settings.redis_url:
                client = Redis.from_url(
                    settings.redis_url,
                    socket_connect_timeout=settings.redis_timeout,
                    socket_timeout=settings.redis_timeout,
                )
                stack.push_async_callback(client.aclose)
                checks["redis"] = client.ping
            health = HealthChecker(checks, timeout=settings.health_check_timeout)
            # Fails startup, naming the unreachable service, after STARTUP_TIMEOUT seconds.
            await health.wait_until_ready(settings.startup_timeout)
            # A single-file app creates its tables; a real project runs Alembic instead.
            async with engine.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)
            hasher = PasswordHasher() if passwords is None else passwords
            await hasher.warmup()
            resources = Resources(
                settings=settings,
                health=health,
                engine=engine,
                sessionmaker=async_sessionmaker(engine, expire_on_commit=False),
                redis=client,
                passwords=hasher,
            )
            _freeze_startup_objects()
            log.info("startup", version=__version__, checks=sorted(checks))
            yield {"resources": resources}
        log.info("shutdown")

    return lifespan


# -------------------------------------------------------------- dependencies (api/deps.py)

LimitQuery = Annotated[int, Query(ge=1, le=100, description="Page size.")]
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_ID, description="Items to skip.")]


async def get_resources(request: Request) -> Resources:
    resources: Resources = request.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_app_settings(resources: ResourcesDep) -> Settings:
    """The settings the app was built with, as its lifespan holds them. `async` on
    purpose: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per
    request for what is a lookup."""
    return resources.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def get_health(resources: ResourcesDep) -> HealthChecker:
    return resources.health


HealthDep = Annotated[HealthChecker, Depends(get_health)]


async def get_session(resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
    """One session per request, open until the response has been sent (streams too)."""
    async with resources.sessionmaker() as session:
        yield session


async def get_db(
    session: Annotated[AsyncSession, Depends(get_session)],
) -> AsyncIterator[AsyncSession]:
    """The request's session as a unit of work: committed when the endpoint returns,
    rolled back on any exception. With scope="function" (in `SessionDep`) the commit runs
    before the response is sent, so a failed commit becomes the error response."""
    try:
        yield session
    except BaseException:
        await session.rollback()
        raise
    else:
        await session.commit()


SessionDep = Annotated[AsyncSession, Depends(get_db, scope="function")]
# The same session without the per-endpoint transaction, for responses that keep reading
# from the database while they stream.
StreamingSessionDep = Annotated[AsyncSession, Depends(get_session)]


class EmailTakenError(Exception):
    """A user with this email already exists."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


class UserService:
    """User use cases (services/users.py). A plain class: build it by hand in tests."""

    def __init__(self, session: AsyncSession, passwords: PasswordHasher) -> None:
        self._session = session
        self._passwords = passwords

    async def create(self, data: UserCreate) -> UserRead:
        email = normalize_email(data.email)
        if await self._by_email(email) is not None:
            raise EmailTakenError(email)
        user = User(
            email=email,
            hashed_password=await self._passwords.hash(data.password),
            full_name=data.full_name,
        )
        self._session.add(user)
        try:
            await self._session.flush()
        except IntegrityError as exc:  # a concurrent sign-up with the same email won
            raise EmailTakenError(email) from exc
        return UserRead.model_validate(user)

    async def authenticate(self, email: str, password: str) -> UserRead | None:
        """The active user with these credentials, or None. Unknown emails cost one hash
        verification too, so response times do not reveal which emails are registered."""
        email = normalize_email(email)
        user = None if "\x00" in email else await self._by_email(email)
        if user is None:
            await self._passwords.verify_dummy(password)
            return None
        valid, new_hash = await self._passwords.verify(password, user.hashed_password)
        if not valid or not user.is_active:
            return None
        if new_hash is not None:  # hashed with outdated parameters: upgrade it now
            user.hashed_password = new_hash
        return UserRead.model_validate(user)

    async def get_active(self, user_id: int) -> UserRead | None:
        user = await self._session.get(User, user_id)
        if user is None or not user.is_active:
            return None
        return UserRead.model_validate(user)

    async def page(self, *, limit: int, offset: int) -> UserPage:
        total = await self._session.scalar(select(func.count()).select_from(User)) or 0
        rows = await self._session.scalars(
            select(User).order_by(User.id).limit(limit).offset(offset)
        )
        users = [UserRead.model_validate(row) for row in rows]
        return UserPage(items=users, total=total, limit=limit, offset=offset)

    async def _by_email(self, email: str) -> User | None:
        user: User | None = await self._session.scalar(select(User).where(User.email == email))
        return user


async def get_user_service(session: SessionDep, resources: ResourcesDep) -> UserService:
    return UserService(session, resources.passwords)


UserServiceDep = Annotated[UserService, Depends(get_user_service)]

bearer_scheme = HTTPBearer(auto_error=False, description="An access token from `POST /auth/token`.")


async def get_current_user(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    users: UserServiceDep,
    settings: SettingsDep,
) -> UserRead:
    """The active user the bearer token belongs to; 401 problem+json otherwise."""
    if credentials is None:
        raise ProblemException(
            401, detail="Not authenticated.", headers={"WWW-Authenticate": "Bearer"}
        )
    try:
        user_id = decode_access_token(credentials.credentials, settings)
    except InvalidTokenError:
        user = None
    else:
        user = await users.get_active(user_id)
    if user is None:
        raise ProblemException(
            401,
            detail="The access token is invalid or expired, or its user no longer exists.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return user


CurrentUser = Annotated[UserRead, Depends(get_current_user)]


async def get_admin_user(user: CurrentUser) -> UserRead:
    if not user.is_admin:
        raise ProblemException(403, detail="Administrator role required.")
    return user


AdminUser = Annotated[UserRead, Depends(get_admin_user)]

# ---------------------------------------------------------------- routes (api/routes/*.py)

health = APIRouter(prefix="/health", tags=["health"])


def _unavailable_report(model: type[Readiness]) -> dict[int | str, dict[str, Any]]:
    return {
        503: {
            "model": model,
            "description": "A check failed. The body is the report itself, not problem+json.",
        },
    }


@health.get("/live", summary="Liveness: the process is up")
async def read_liveness() -> Liveness:
    return Liveness()


@health.get(
    "/ready",
    summary="Readiness: every backing service answers",
    responses=_unavailable_report(Readiness),
)
async def read_readiness(health: HealthDep, response: Response) -> Readiness:
    report = await health.check()
    if report.status != "ok":
        response.status_code = 503
        structlog.get_logger().warning("not_ready", checks=report.model_dump()["checks"])
    return report


@health.get("", summary="Version and every check", responses=_unavailable_report(HealthReport))
async def read_health(health: HealthDep, settings: SettingsDep, response: Response) -> HealthReport:
    report = await health.check()
    if report.status != "ok":
        response.status_code = 503
    return HealthReport(
        status=report.status,
        checks=report.checks,
        name=settings.app_name,
        version=__version__,
        environment=settings.environment,
    )


auth = APIRouter(prefix="/auth", tags=["auth"])


@auth.post("/token", responses=problem_responses(400, 401, 413, 422, 503))
async def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    users: UserServiceDep,
    settings: SettingsDep,
) -> Token:
    """The OAuth2 password flow; `username` is the email address."""
    user = await users.authenticate(form.username, form.password)
    if user is None:
        raise ProblemException(
            401, detail="Incorrect email or password.", headers={"WWW-Authenticate": "Bearer"}
        )
    token, expires_in = create_access_token(str(user.id), settings)
    return Token(access_token=token, expires_in=expires_in)


users = APIRouter(prefix="/users", tags=["users"], responses=problem_responses(503))


@users.post("", status_code=201, responses=problem_responses(400, 409, 413, 422))
async def sign_up(data: UserCreate, users: UserServiceDep) -> UserRead:
    try:
        return await users.create(data)
    except EmailTakenError:
        raise ProblemException(409, detail="A user with this email already exists.") from None


@users.get("/me", responses=problem_responses(401))
async def read_current_user(user: CurrentUser) -> UserRead:
    return user


@users.get("", responses=problem_responses(401, 403, 422))
async def list_users(
    users: UserServiceDep, _admin: AdminUser, limit: LimitQuery = 20, offset: OffsetQuery = 0
) -> UserPage:
    return await users.page(limit=limit, offset=offset)


items = APIRouter(prefix="/items", tags=["items"], responses=problem_responses(401, 503))


@items.post("", status_code=201, responses=problem_responses(400, 413, 422))
async def create_item(data: ItemCreate, user: CurrentUser, session: SessionDep) -> ItemRead:
    item = Item(owner_id=user.id, title=data.title)
    session.add(item)
    await session.flush()
    return ItemRead.model_validate(item)


@items.get("/export", summary="Export items as JSON Lines, streamed")
async def export_items(user: CurrentUser, session: StreamingSessionDep) -> AsyncIterable[ItemRead]:
    """One item per line, in id order, read in batches while the response streams: memory
    stays flat for any number of items."""
    query = select(Item).where(Item.owner_id == user.id).order_by(Item.id)
    rows = await session.stream_scalars(query.execution_options(yield_per=500))
    async for row in rows:
        yield ItemRead.model_validate(row)


# ------------------------------------------------------------------------- app (main.py)


def create_app(
    settings: Settings | None = None, *, passwords: PasswordHasher | None = None
) -> FastAPI:
    """An app using `settings` everywhere, or the environment's settings when omitted.

    `passwords` replaces the argon2 hasher with recommended parameters (tests pass a
    cheap one).
    """
    if settings is None:
        settings = get_settings()
    configure_logging(settings)
    app = App(
        title=settings.app_name,
        version=__version__,
        lifespan=make_lifespan(settings, passwords=passwords),
        exception_handlers=exception_handlers(),
        generate_unique_id_function=operation_id,
        # Any route can fail unexpectedly; the middleware answers that with a problem.
        responses=problem_responses(500),
    )
    for router in (items, auth, users, health):
        app.include_router(router)
    # The only middleware: request id, CORS, body limit, timing, access log.
    app.add_middleware(
        RequestContextMiddleware,
        max_body_size=settings.max_body_size,
        access_log=access_log(settings),
        cors_origins=settings.cors_origins,
        cors_allow_credentials=settings.cors_allow_credentials,
    )
    return app


def _app_from_environment() -> FastAPI:
    try:
        return create_app()
    except ValidationError as exc:
        raise SystemExit(describe_settings_error(exc)) from None


app = _app_from_environment()


def _after_graceful_shutdown(signum: int, frame: FrameType | None) -> None:
    # uvicorn restores the handler it found and re-raises the signal once it has shut
    # down gracefully; receiving it here lets a clean shutdown exit 0 instead of 143.
    del signum, frame


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _after_graceful_shutdown)
    signal.signal(signal.SIGINT, _after_graceful_shutdown)
    uvicorn.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        # The middleware writes one structured line per request; uvicorn's would double it.
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        timeout_graceful_shutdown=int(os.environ.get("GRACEFUL_SHUTDOWN_SECONDS", "20")),
    )
