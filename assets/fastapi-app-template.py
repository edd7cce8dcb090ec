"""A production-shaped FastAPI service in one module.

Everything the fastapi-advanced-patterns skill teaches, in a single file for people who
want one module instead of a package:

* lifespan-managed resources: one engine with the right pool, an optional Redis client,
  startup checks with bounded timeouts, ``engine.dispose()`` and ``aclose()`` at shutdown;
* cached settings from the environment or ``.env`` that refuse insecure values;
* ``Annotated`` dependency aliases, one ``AsyncSession`` per request (commit on success,
  rollback on error) and a class-based service;
* one pure ASGI middleware for request id, ``X-Response-Time`` and one JSON access line;
* RFC 9457 ``application/problem+json`` errors (404, 409, 422, 503, 500 with request id);
* JWT bearer auth with argon2 password hashes; liveness, readiness and combined health;
* return-type serialization and a JSON Lines export streamed in constant memory.

Run it with no configuration at all (SQLite file ``./app.db`` in the working directory,
no Redis, an ephemeral signing key):

    python assets/fastapi-app-template.py      # uvicorn on HOST:PORT, 127.0.0.1:8000
    uvicorn --app-dir assets fastapi-app-template:app --no-access-log

``importlib`` accepts the dashes in the module name, so the second form works as written,
``--workers N`` included (give several workers one SECRET_KEY). Rename the file when it
becomes the start of a real project, and replace the ``create_all`` at startup with
Alembic migrations run once per deployment.
Requirements: fastapi, uvicorn[standard], pydantic-settings, sqlalchemy[asyncio],
aiosqlite, redis, structlog, orjson, pyjwt, pwdlib[argon2].

Environment (all optional in development): ENVIRONMENT, DATABASE_URL, REDIS_URL,
SECRET_KEY (32+ characters; required when ENVIRONMENT=production), CORS_ORIGINS
(comma-separated), CORS_ALLOW_CREDENTIALS, ADMIN_EMAIL (that account becomes admin when it
registers), ACCESS_TOKEN_MINUTES, LOG_LEVEL; HOST and PORT when run as a script.
Without SECRET_KEY a random key is generated at startup and a warning is logged: tokens
then stop working when the process restarts, and each worker signs with its own key.
"""

import asyncio
import logging
import os
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from http import HTTPStatus
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit, urlunsplit

import aiosqlite
import jwt
import orjson
import structlog
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pwdlib import PasswordHash
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from redis.asyncio import Redis
from sqlalchemy import DateTime, ForeignKey, String, func, select, text
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import StaticPool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

VERSION = "0.1.0"
JWT_ALGORITHM = "HS256"

# --------------------------------------------------------------------------- settings

_ASYNC_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "mysql": "mysql+asyncmy",
    "mariadb": "mysql+asyncmy",
    "sqlite": "sqlite+aiosqlite",
}
_SYNC_DRIVERS = {"psycopg2", "psycopg2cffi", "pg8000", "pymysql", "mysqldb", "pysqlite"}


def to_async_url(url: str) -> str:
    """Rewrite a database URL to the async driver of its dialect (postgres:// included)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"DATABASE_URL {url!r} is not a URL; expected e.g. sqlite:///./app.db.")
    dialect, _, driver = scheme.partition("+")
    if dialect not in _ASYNC_DRIVERS:
        return url
    if driver and driver not in _SYNC_DRIVERS:
        return url  # already an async driver such as asyncpg, psycopg or aiosqlite
    return f"{_ASYNC_DRIVERS[dialect]}://{rest}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    app_name: str = "fastapi-app"
    environment: Literal["development", "test", "production"] = "development"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    database_url: str = "sqlite+aiosqlite:///./app.db"
    db_pool_size: int = Field(default=5, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    redis_url: str | None = None
    startup_timeout: float = Field(default=5.0, gt=0)
    check_timeout: float = Field(default=2.0, gt=0)
    # A random default keeps a zero-configuration boot possible; see warn_ephemeral_secret.
    secret_key: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_urlsafe(48)))
    access_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    admin_email: str | None = None
    cors_origins: Annotated[list[str], NoDecode] = []
    cors_allow_credentials: bool = False

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return to_async_url(value)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("secret_key")
    @classmethod
    def _long_secret(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 32:
            raise ValueError("SECRET_KEY must be at least 32 characters long.")
        return value

    @model_validator(mode="after")
    def _refuse_insecure(self) -> Self:
        if self.environment == "production" and self.secret_is_ephemeral:
            raise ValueError("SECRET_KEY is required when ENVIRONMENT=production.")
        if self.cors_allow_credentials and "*" in self.cors_origins:
            raise ValueError(
                "CORS_ORIGINS='*' with CORS_ALLOW_CREDENTIALS=true lets any site make "
                "credentialed requests; list the allowed origins instead."
            )
        return self

    @property
    def secret_is_ephemeral(self) -> bool:
        return "secret_key" not in self.model_fields_set


@lru_cache
def get_settings() -> Settings:
    return Settings()


# ---------------------------------------------------------------------------- logging


def configure_logging(level: str) -> None:
    """One JSON line per event, rendered with orjson and written as bytes."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(),  # epoch seconds: cheaper than ISO strings
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level]),
        logger_factory=structlog.BytesLoggerFactory(),
        cache_logger_on_first_use=True,
    )


log = structlog.get_logger("app")
access_log = structlog.get_logger("access")

# ------------------------------------------------------------------------------ models


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))


Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]


class Credentials(BaseModel):
    email: Email
    password: Annotated[str, StringConstraints(min_length=12, max_length=128)]


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    is_admin: bool


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class ItemIn(BaseModel):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str


class CheckResult(BaseModel):
    status: Literal["ok", "error"]
    latency_ms: float
    error: str | None = None


class HealthReport(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, CheckResult] | None = None
    version: str | None = None
    uptime_s: float | None = None


# --------------------------------------------------------------------------- lifespan


@dataclass(frozen=True, slots=True)
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis | None
    started_at: float


def make_engine(settings: Settings) -> AsyncEngine:
    url = settings.database_url
    if url.startswith("sqlite"):
        if ":memory:" in url or url.endswith("://"):
            # One shared connection: every new connection would get an empty database.
            return create_async_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        return _sqlite_file_engine(url, pool_size=settings.db_pool_size, pool_timeout=10)
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=10,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


def _sqlite_file_engine(url: str, **options: Any) -> AsyncEngine:
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


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


async def _startup_check(what: str, probe: Awaitable[object], timeout: float) -> None:
    try:
        async with asyncio.timeout(timeout):
            await probe
    except Exception as exc:
        raise RuntimeError(f"Startup check failed: {what} did not answer: {exc!r}") from exc


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Resources]]:
    settings: Settings = app.state.settings
    if settings.secret_is_ephemeral:
        log.warning(
            "ephemeral_secret_key",
            detail="SECRET_KEY is not set; tokens will not survive a restart. Set it in .env.",
        )
    engine = make_engine(settings)
    redis: Redis | None = None
    try:
        db_name = engine.url.render_as_string(hide_password=True)

        async def check_database() -> None:
            async with engine.begin() as conn:
                await conn.execute(text("SELECT 1"))
                # A single-file app creates its tables; a real project runs Alembic instead.
                await conn.run_sync(Base.metadata.create_all)

        await _startup_check(f"database {db_name}", check_database(), settings.startup_timeout)
        if settings.redis_url:
            redis = Redis.from_url(
                settings.redis_url,
                socket_connect_timeout=settings.check_timeout,
                socket_timeout=settings.check_timeout,
                health_check_interval=30,
            )
            what = f"redis {_hide_password(settings.redis_url)}"
            await _startup_check(what, redis.ping(), settings.startup_timeout)
        resources = Resources(
            settings=settings,
            engine=engine,
            sessionmaker=async_sessionmaker(engine, expire_on_commit=False),
            redis=redis,
            started_at=time.monotonic(),
        )
        log.info("startup", app=settings.app_name, database=db_name, redis=redis is not None)
        yield {"resources": resources}
    finally:
        if redis is not None:
            await redis.aclose()
        await engine.dispose()
        log.info("shutdown", app=settings.app_name)


# ----------------------------------------------------------------------- dependencies


async def get_resources(request: Request) -> Resources:
    resources: Resources = request.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_db(resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
    async with resources.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# scope="function": commit before the response is sent, so a failed commit becomes the
# response (409, 503) instead of an error logged after the client was told 200.
SessionDep = Annotated[AsyncSession, Depends(get_db, scope="function")]

password_hash = PasswordHash.recommended()
bearer = HTTPBearer(description="JWT access token from POST /auth/token")
BearerDep = Annotated[HTTPAuthorizationCredentials, Depends(bearer)]


@cache
def _dummy_hash() -> str:
    return password_hash.hash(secrets.token_urlsafe(16))


def create_access_token(user_id: int, settings: Settings) -> Token:
    lifetime = timedelta(minutes=settings.access_token_minutes)
    now = datetime.now(UTC)
    claims = {"sub": str(user_id), "iat": now, "exp": now + lifetime}
    token = jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=JWT_ALGORITHM)
    return Token(access_token=token, expires_in=int(lifetime.total_seconds()))


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


async def get_current_user(credentials: BearerDep, settings: SettingsDep, db: SessionDep) -> User:
    try:
        claims = jwt.decode(
            credentials.credentials,
            settings.secret_key.get_secret_value(),
            algorithms=[JWT_ALGORITHM],  # pinned: never trust the token's own "alg"
            options={"require": ["exp", "sub"]},
        )
        user_id = int(claims["sub"])
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise _unauthorized("The access token is invalid or has expired.") from exc
    user = await db.get(User, user_id)
    if user is None:
        raise _unauthorized("The access token's user no longer exists.")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def require_admin(user: CurrentUser) -> User:
    if not user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Administrator role required.")
    return user


AdminUser = Annotated[User, Depends(require_admin)]


class UserService:
    """Account rules. A plain class: build it by hand in scripts and unit tests."""

    def __init__(self, db: AsyncSession, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    async def register(self, credentials: Credentials) -> User:
        hashed = await run_in_threadpool(password_hash.hash, credentials.password)
        user = User(
            email=credentials.email,
            password_hash=hashed,
            is_admin=credentials.email == (self.settings.admin_email or "").strip().lower(),
        )
        self.db.add(user)
        await self.db.flush()  # raises IntegrityError (-> 409) for a taken email here
        return user

    async def authenticate(self, credentials: Credentials) -> User | None:
        user = await self.db.scalar(select(User).where(User.email == credentials.email))
        # Verify against a dummy hash for unknown emails so timing does not reveal them.
        stored = user.password_hash if user else await run_in_threadpool(_dummy_hash)
        valid = await run_in_threadpool(password_hash.verify, credentials.password, stored)
        return user if valid and user is not None else None


async def get_user_service(db: SessionDep, settings: SettingsDep) -> UserService:
    return UserService(db, settings)


UserServiceDep = Annotated[UserService, Depends(get_user_service)]

# ------------------------------------------------------------------------- middleware

_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~:/+=@-]{0,127}")


class RequestContextMiddleware:
    """Request id, X-Response-Time and one access line, as a single pure ASGI layer.

    BaseHTTPMiddleware would cost a task group and a re-streamed body per layer; this
    wraps ``send`` only, so streaming responses and contextvars pass through untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = _request_id_from(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status_code = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                headers["X-Response-Time"] = f"{(time.perf_counter() - start) * 1000:.2f}ms"
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_headers)
            finally:
                access_log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status_code,
                    duration_ms=round((time.perf_counter() - start) * 1000, 2),
                )


def _request_id_from(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _SAFE_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


# ----------------------------------------------------------------------------- errors


class ProblemResponse(JSONResponse):
    media_type = "application/problem+json"


def problem(
    request: Request,
    status_code: int,
    detail: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> ProblemResponse:
    request_id: str | None = getattr(request.state, "request_id", None)
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status_code).phrase,
        "status": status_code,
        "instance": request.url.path,
        **({"detail": detail} if detail else {}),
        **({"request_id": request_id} if request_id else {}),
        **extra,
    }
    all_headers = dict(headers or {})
    if request_id:
        all_headers.setdefault("X-Request-ID", request_id)
    return ProblemResponse(body, status_code=status_code, headers=all_headers)


def add_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> ProblemResponse:
        return problem(request, exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> ProblemResponse:
        # "input" is left out on purpose: it would echo passwords back to the client.
        errors = [
            {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
            for error in exc.errors()
        ]
        return problem(request, 422, "The request is invalid.", errors=errors)

    @app.exception_handler(IntegrityError)
    async def conflict(request: Request, exc: IntegrityError) -> ProblemResponse:
        return problem(request, 409, "The request conflicts with existing data.")

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeoutError)
    async def database_unavailable(request: Request, exc: Exception) -> ProblemResponse:
        log.error("database_unavailable", error=repr(exc))
        detail = "The database is unavailable; retry later."
        return problem(request, 503, detail, headers={"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def unhandled(request: Request, exc: Exception) -> ProblemResponse:
        log.error("unhandled_exception", exc_info=exc)
        return problem(request, 500, "An unexpected error occurred; quote the request id.")


# ----------------------------------------------------------------------------- routes

health = APIRouter(prefix="/health", tags=["health"])


async def _timed(probe: Callable[[], Awaitable[object]], timeout: float) -> CheckResult:
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            await probe()
    except Exception as exc:
        elapsed = (time.perf_counter() - start) * 1000
        return CheckResult(status="error", latency_ms=round(elapsed, 2), error=type(exc).__name__)
    return CheckResult(status="ok", latency_ms=round((time.perf_counter() - start) * 1000, 2))


async def run_checks(resources: Resources) -> dict[str, CheckResult]:
    async def database() -> None:
        async with resources.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    probes: dict[str, Callable[[], Awaitable[object]]] = {"database": database}
    if resources.redis is not None:
        probes["redis"] = resources.redis.ping
    timeout = resources.settings.check_timeout
    results = await asyncio.gather(*(_timed(probe, timeout) for probe in probes.values()))
    return dict(zip(probes, results, strict=True))


@health.get("/live", response_model_exclude_none=True)
async def live() -> HealthReport:
    """Liveness: the process answers. No I/O, so a slow database never restarts the pod."""
    return HealthReport(status="ok")


@health.get("/ready", response_model_exclude_none=True, responses={503: {"model": HealthReport}})
async def ready(resources: ResourcesDep, response: Response) -> HealthReport:
    """Readiness: 503 with per-check status while any dependency fails."""
    checks = await run_checks(resources)
    failed = any(check.status == "error" for check in checks.values())
    if failed:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return HealthReport(status="unavailable" if failed else "ok", checks=checks)


@health.get("", response_model_exclude_none=True, responses={503: {"model": HealthReport}})
async def combined(resources: ResourcesDep, response: Response) -> HealthReport:
    """For humans and dashboards: readiness plus version and uptime."""
    report = await ready(resources, response)
    report.version = VERSION
    report.uptime_s = round(time.monotonic() - resources.started_at, 3)
    return report


auth = APIRouter(prefix="/auth", tags=["auth"])


@auth.post("/register", status_code=status.HTTP_201_CREATED)
async def register(credentials: Credentials, users: UserServiceDep) -> UserOut:
    return UserOut.model_validate(await users.register(credentials))


@auth.post("/token")
async def issue_token(credentials: Credentials, users: UserServiceDep) -> Token:
    user = await users.authenticate(credentials)
    if user is None:
        raise _unauthorized("Incorrect email or password.")
    return create_access_token(user.id, users.settings)


users = APIRouter(prefix="/users", tags=["users"])


@users.get("/me")
async def read_me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


admin = APIRouter(prefix="/admin", tags=["admin"])


@admin.get("/users")
async def list_users(_: AdminUser, db: SessionDep, limit: int = 100) -> list[UserOut]:
    rows = await db.scalars(select(User).order_by(User.id).limit(min(limit, 500)))
    return [UserOut.model_validate(row) for row in rows]


items = APIRouter(prefix="/items", tags=["items"])


@items.post("", status_code=status.HTTP_201_CREATED)
async def create_item(payload: ItemIn, user: CurrentUser, db: SessionDep) -> ItemOut:
    item = Item(owner_id=user.id, title=payload.title)
    db.add(item)
    await db.flush()
    return ItemOut.model_validate(item)


@items.get("/export")
async def export_items(user: CurrentUser, resources: ResourcesDep) -> AsyncIterable[ItemOut]:
    """JSON Lines, one item per line, read in batches: memory stays flat for any row count.

    The generator runs after the endpoint returns, when function-scoped dependencies are
    already closed, so it opens its own session.
    """
    async with resources.sessionmaker() as db:
        query = select(Item).where(Item.owner_id == user.id).order_by(Item.id)
        rows = await db.stream_scalars(query.execution_options(yield_per=500))
        async for row in rows:
            yield ItemOut.model_validate(row)


# -------------------------------------------------------------------------------- app


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; pass settings to run one with other values (tests, scripts)."""
    resolved = settings if settings is not None else get_settings()
    configure_logging(resolved.log_level)
    app = FastAPI(
        title=resolved.app_name,
        version=VERSION,
        lifespan=lifespan,
        max_body_size=1_048_576,
        docs_url=None if resolved.environment == "production" else "/docs",
    )
    app.state.settings = resolved
    if settings is not None:
        # Routes read settings through get_settings; make them see the instance given here.
        app.dependency_overrides[get_settings] = lambda: resolved
    add_problem_handlers(app)
    for router in (health, auth, users, admin, items):
        app.include_router(router)
    # Added last, so it runs first: CORS must answer preflights and decorate every response.
    app.add_middleware(RequestContextMiddleware)
    if resolved.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=resolved.cors_origins,
            allow_credentials=resolved.cors_allow_credentials,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "X-Response-Time"],
        )
    return app


app = create_app()

if __name__ == "__main__":
    uvicorn.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        access_log=False,  # the middleware writes the access line
        proxy_headers=True,
    )
