"""The sync and async clients, engines and sessions the FPA1xx/FPA2xx rules recognise.

Names are fully qualified as `ProjectIndex.qualified_name` spells them (`redis.Redis.from_url`
for `from redis import Redis; Redis.from_url(...)`).
"""

from __future__ import annotations

# What a value of a sync client type is, for the messages; the key is the value's "kind".
SYNC_KINDS = {
    "session": "sync SQLAlchemy session",
    "engine": "sync SQLAlchemy engine",
    "maker": "sync SQLAlchemy sessionmaker",
    "psycopg2": "psycopg2",
    "pymysql": "pymysql",
    "MySQLdb": "MySQLdb",
    "redis": "sync redis client",
    "pymongo": "pymongo",
    "requests": "requests session",
    "httpx": "sync httpx client",
}
# Kinds ruff's ASYNC rules already see when used directly in an `async def` (ASYNC212).
RUFF_KINDS = frozenset({"httpx"})

_SESSION = (
    "sqlalchemy.orm.Session",
    "sqlalchemy.orm.session.Session",
    "sqlalchemy.orm.scoped_session",
    "sqlalchemy.orm.scoping.scoped_session",
    "sqlmodel.Session",
    "sqlmodel.orm.session.Session",
)
_ENGINE = (
    "sqlalchemy.Engine",
    "sqlalchemy.engine.Engine",
    "sqlalchemy.engine.base.Engine",
    "sqlalchemy.Connection",
    "sqlalchemy.engine.Connection",
    "sqlalchemy.engine.base.Connection",
)
_REDIS = (
    "redis.Redis",
    "redis.StrictRedis",
    "redis.client.Redis",
    "redis.client.StrictRedis",
    "redis.RedisCluster",
    "redis.cluster.RedisCluster",
)
_PYMONGO = (
    "pymongo.MongoClient",
    "pymongo.mongo_client.MongoClient",
    "pymongo.database.Database",
    "pymongo.collection.Collection",
)

# Annotations (and classes whose instances are made by calling them) -> kind.
TYPES: dict[str, str] = {
    **dict.fromkeys(_SESSION, "session"),
    **dict.fromkeys(_ENGINE, "engine"),
    **dict.fromkeys(
        ("sqlalchemy.orm.sessionmaker", "sqlalchemy.orm.session.sessionmaker"), "maker"
    ),
    **dict.fromkeys(_REDIS, "redis"),
    **dict.fromkeys(_PYMONGO, "pymongo"),
    "psycopg2.extensions.connection": "psycopg2",
    "psycopg2.extensions.cursor": "psycopg2",
    "pymysql.connections.Connection": "pymysql",
    "pymysql.Connection": "pymysql",
    "pymysql.cursors.Cursor": "pymysql",
    "MySQLdb.connections.Connection": "MySQLdb",
    "requests.Session": "requests",
    "requests.sessions.Session": "requests",
    "httpx.Client": "httpx",
}
# Functions (other than the classes above) that return a sync client, engine or connection.
FACTORIES: dict[str, str] = {
    "sqlalchemy.create_engine": "engine",
    "sqlalchemy.engine.create_engine": "engine",
    "sqlalchemy.engine_from_config": "engine",
    "sqlmodel.create_engine": "engine",
    "redis.from_url": "redis",
    **{f"{name}.from_url": "redis" for name in _REDIS},
    **{f"{name}.from_pool": "redis" for name in _REDIS},
    "psycopg2.connect": "psycopg2",
    "psycopg2.pool.SimpleConnectionPool": "psycopg2",
    "psycopg2.pool.ThreadedConnectionPool": "psycopg2",
    "pymysql.connect": "pymysql",
    "pymysql.Connect": "pymysql",
    "MySQLdb.connect": "MySQLdb",
    "MySQLdb.Connect": "MySQLdb",
}
# Of those, the calls that open a connection right away (the others connect lazily).
CONNECTING = frozenset(
    {
        "psycopg2.connect",
        "psycopg2.pool.SimpleConnectionPool",
        "psycopg2.pool.ThreadedConnectionPool",
        "pymysql.connect",
        "pymysql.Connect",
        "MySQLdb.connect",
        "MySQLdb.Connect",
    }
)
# Methods of those kinds that do no I/O (building a query, staging an object, naming a database).
NO_IO_METHODS = frozenset(
    {
        "add",
        "add_all",
        "expunge",
        "expunge_all",
        "expire",
        "expire_all",
        "is_modified",
        "in_transaction",
        "get_bind",
        "cursor",
        "pipeline",
        "get_database",
        "get_collection",
        "get_default_database",
        "with_options",
        "mogrify",
    }
)

# Resources that hold a pool or connections: made once (lifespan), not per request.
POOLED: dict[str, str] = {
    "sqlalchemy.create_engine": "engine",
    "sqlalchemy.engine.create_engine": "engine",
    "sqlmodel.create_engine": "engine",
    "sqlalchemy.ext.asyncio.create_async_engine": "engine",
    "sqlalchemy.orm.sessionmaker": "sessionmaker",
    "sqlalchemy.ext.asyncio.async_sessionmaker": "sessionmaker",
    **{name: "redis client" for name in _REDIS},
    **{f"{name}.from_url": "redis client" for name in _REDIS},
    "redis.from_url": "redis client",
    "redis.asyncio.Redis": "redis client",
    "redis.asyncio.StrictRedis": "redis client",
    "redis.asyncio.from_url": "redis client",
    "redis.asyncio.Redis.from_url": "redis client",
    "redis.asyncio.client.Redis": "redis client",
    "redis.asyncio.client.Redis.from_url": "redis client",
    "pymongo.MongoClient": "MongoDB client",
    "pymongo.mongo_client.MongoClient": "MongoDB client",
    "motor.motor_asyncio.AsyncIOMotorClient": "MongoDB client",
    "pymongo.AsyncMongoClient": "MongoDB client",
    "httpx.Client": "HTTP client",
    "httpx.AsyncClient": "HTTP client",
    "aiohttp.ClientSession": "HTTP client",
    "requests.Session": "HTTP client",
    "boto3.client": "AWS client",
    "boto3.resource": "AWS client",
    "boto3.session.Session": "AWS client",
    "asyncpg.create_pool": "connection pool",
    "aiomysql.create_pool": "connection pool",
    "psycopg_pool.AsyncConnectionPool": "connection pool",
    "psycopg_pool.ConnectionPool": "connection pool",
}
# Sessions: one per request is right, but from a dependency, not built in the route body.
SESSIONS: dict[str, str] = {
    **dict.fromkeys(_SESSION, "session"),
    "sqlalchemy.ext.asyncio.AsyncSession": "session",
    "sqlmodel.ext.asyncio.session.AsyncSession": "session",
}
# Methods that release what a POOLED constructor opened.
CLOSERS = frozenset(
    {"dispose", "aclose", "close", "disconnect", "wait_closed", "terminate", "shutdown"}
)
