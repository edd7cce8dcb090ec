"""What names say about a database: driver distributions and extras, URL schemes,
pydantic DSN types and container images."""

from __future__ import annotations

import re

from .run_files import image_name

# Distribution -> (database, driver reported).
DRIVERS: dict[str, tuple[str, str]] = {
    "asyncpg": ("postgresql", "asyncpg"),
    "psycopg": ("postgresql", "psycopg"),
    "psycopg-binary": ("postgresql", "psycopg"),
    "psycopg-c": ("postgresql", "psycopg"),
    "psycopg2": ("postgresql", "psycopg2"),
    "psycopg2-binary": ("postgresql", "psycopg2"),
    "psycopg2cffi": ("postgresql", "psycopg2"),
    "pg8000": ("postgresql", "pg8000"),
    "aiopg": ("postgresql", "aiopg"),
    "asyncmy": ("mysql", "asyncmy"),
    "aiomysql": ("mysql", "aiomysql"),
    "pymysql": ("mysql", "pymysql"),
    "mysqlclient": ("mysql", "mysqlclient"),
    "mysql-connector-python": ("mysql", "mysql-connector-python"),
    "mariadb": ("mysql", "mariadb"),
    "aiosqlite": ("sqlite", "aiosqlite"),
    "motor": ("mongodb", "motor"),
    "pymongo": ("mongodb", "pymongo"),
    "beanie": ("mongodb", "beanie"),
    "odmantic": ("mongodb", "odmantic"),
    "mongoengine": ("mongodb", "mongoengine"),
}
# Extras that pull a driver in: sqlalchemy[asyncpg], databases[postgresql], tortoise-orm[asyncmy].
EXTRAS: dict[str, tuple[str, str | None]] = {
    "asyncpg": ("postgresql", "asyncpg"),
    "postgresql-asyncpg": ("postgresql", "asyncpg"),
    "psycopg": ("postgresql", "psycopg"),
    "postgresql-psycopg": ("postgresql", "psycopg"),
    "psycopg2": ("postgresql", "psycopg2"),
    "postgresql-psycopg2binary": ("postgresql", "psycopg2"),
    "postgresql-psycopg2cffi": ("postgresql", "psycopg2"),
    "postgresql-pg8000": ("postgresql", "pg8000"),
    "postgresql": ("postgresql", None),
    "postgres": ("postgresql", None),
    "asyncmy": ("mysql", "asyncmy"),
    "aiomysql": ("mysql", "aiomysql"),
    "pymysql": ("mysql", "pymysql"),
    "mysql": ("mysql", None),
    "mariadb": ("mysql", None),
    "aiosqlite": ("sqlite", "aiosqlite"),
    "sqlite": ("sqlite", None),
    "motor": ("mongodb", "motor"),
    "mongodb": ("mongodb", None),
}
DRIVER_PREFERENCE = {
    "postgresql": ("asyncpg", "psycopg", "psycopg2", "pg8000", "aiopg"),
    "mysql": ("asyncmy", "aiomysql", "pymysql", "mysqlclient", "mysql-connector-python", "mariadb"),
    "sqlite": ("aiosqlite",),
    "mongodb": ("motor", "pymongo", "beanie", "odmantic", "mongoengine"),
}
REDIS_PACKAGES = frozenset(
    {"redis", "aioredis", "coredis", "valkey", "redis-om", "arq", "rq", "walrus", "django-redis"}
)
# URL scheme (before any +driver) -> database. SQLAlchemy driver names -> distributions.
SCHEMES = {
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "pgsql": "postgresql",
    "asyncpg": "postgresql",
    "cockroachdb": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
    "mongodb": "mongodb",
    "redis": "redis",
    "rediss": "redis",
    "valkey": "redis",
    "unix": "",
}
SCHEME_DRIVERS = {
    "asyncpg": "asyncpg",
    "psycopg": "psycopg",
    "psycopg_async": "psycopg",
    "psycopg2": "psycopg2",
    "pg8000": "pg8000",
    "asyncmy": "asyncmy",
    "aiomysql": "aiomysql",
    "pymysql": "pymysql",
    "mysqldb": "mysqlclient",
    "mysqlconnector": "mysql-connector-python",
    "mariadbconnector": "mariadb",
    "aiosqlite": "aiosqlite",
}
DSN_TYPES = {
    "PostgresDsn": "postgresql",
    "CockroachDsn": "postgresql",
    "MySQLDsn": "mysql",
    "MariaDBDsn": "mysql",
    "MongoDsn": "mongodb",
    "RedisDsn": "redis",
}
IMAGES = {
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "postgis": "postgresql",
    "timescaledb": "postgresql",
    "timescaledb-ha": "postgresql",
    "pgvector": "postgresql",
    "postgresql-repmgr": "postgresql",
    "mysql": "mysql",
    "mysql-server": "mysql",
    "mariadb": "mysql",
    "percona-server": "mysql",
    "percona": "mysql",
    "mongo": "mongodb",
    "mongodb": "mongodb",
    "mongodb-community-server": "mongodb",
    "redis": "redis",
    "redis-stack": "redis",
    "redis-stack-server": "redis",
    "valkey": "redis",
    "keydb": "redis",
    "dragonfly": "redis",
}
_URL = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+._-]*)://")


def from_url(value: str) -> tuple[str, str | None] | None:
    """(database, driver) for a URL such as postgresql+asyncpg://... ."""
    match = _URL.match(value)
    if not match:
        return None
    scheme = match.group(1).lower()
    base, _, driver_name = scheme.partition("+")
    kind = SCHEMES.get(base)
    if not kind:
        return None
    if base == "mongodb" or kind == "redis":
        return kind, None
    return kind, SCHEME_DRIVERS.get(driver_name) if driver_name else None


def from_image(image: str) -> str | None:
    """The database (or "redis") a container image runs, by its repository's name."""
    return IMAGES.get(image_name(image)[0])
