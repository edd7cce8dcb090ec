"""Which database (and driver) and whether Redis: evidence from many places, one precedence.

Evidence tiers, strongest first:

1. a driver among the runtime dependencies (asyncpg, psycopg, asyncmy, aiosqlite, motor ...,
   or an extra such as sqlalchemy[asyncpg]);
2. a database URL (or POSTGRES_*/MYSQL_* settings) in a real env file: .env, .env.local,
   .env.development, *.env ...;
3. the environment (and env_file) of a compose service;
4. a database URL in a template env file: .env.example, .env.sample, .env.dist, .env.template;
5. a default in the settings code (a URL string, or a PostgresDsn/MySQLDsn/MongoDsn field);
6. a compose service running the database (by image, or by its build context's FROM);
7. a driver among the development dependencies only (test and dev groups).

The strongest tier decides, then the folder nearest the project root. When that level
names several databases, SQLite gives way to a server database (it is usually the local
or test stand-in), and the rest is settled by the strongest other evidence, then by the
order postgresql, mysql, mongodb. Disagreeing evidence from tiers 1-6 is reported.
Test-only settings (keys containing TEST, .env.test) are ignored. Redis is true when
anything in tiers 1-6 points at it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

from . import _detect_formats as fmt
from ._detect_deps import Dependency
from ._detect_fs import Tree, is_not_app, join, parent
from ._detect_load import load_dockerfile, load_env, load_python, load_yaml

RUNTIME_DEP, ENV, COMPOSE_ENV, ENV_TEMPLATE, SETTINGS, COMPOSE_SERVICE, DEV_DEP = range(1, 8)
TIER_NAMES = {
    RUNTIME_DEP: "runtime dependency",
    ENV: "env file",
    COMPOSE_ENV: "compose environment",
    ENV_TEMPLATE: "env template",
    SETTINGS: "settings default",
    COMPOSE_SERVICE: "compose service",
    DEV_DEP: "development dependency",
}
SERVER_ORDER = ("postgresql", "mysql", "mongodb")

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
_ENV_PREFIXES = (
    ("POSTGRES_", "postgresql"),
    ("PG", "postgresql"),
    ("MYSQL_", "mysql"),
    ("MARIADB_", "mysql"),
    ("MONGO", "mongodb"),
    ("REDIS_", "redis"),
)
_ENV_REAL = re.compile(
    r"^(\.env(\.(local|dev|development|prod|production|staging|docker))*|.+\.env)$"
)
_ENV_TEMPLATE = re.compile(
    r"^(\.?env\.(example|sample|dist|template|defaults|tpl)(\..*)?|(example|sample)\.env)$"
)
_COMPOSE = re.compile(r"^(docker-)?compose(\.[\w.-]+)?\.ya?ml$")
COMPOSE_FOLDERS = ("docker", "deploy", "deployment", "deployments", ".devcontainer", "infra", "ops")
SETTINGS_ORDER = ("config", "settings", "conf", "configuration", "database", "db", "session")
SETTINGS_STEMS = frozenset(
    {"config", "settings", "conf", "configuration", "core", "database", "db", "session",
     "base", "env", "constants", "deps", "dependencies", "main", "app"}
)  # fmt: skip


@dataclass(frozen=True)
class Evidence:
    kind: str  # postgresql, mysql, sqlite, mongodb, redis
    driver: str | None
    tier: int
    distance: int
    source: str
    detail: str

    @property
    def rank(self) -> tuple[int, int]:
        return (self.tier, self.distance)


@dataclass(frozen=True)
class Decision:
    database: str
    driver: str | None
    database_source: str | None
    driver_source: str | None
    redis: bool
    redis_source: str | None


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
    reference = image.split("@", 1)[0]
    head, _, tag = reference.rpartition(":")
    repository = head if head and "/" not in tag else reference
    return IMAGES.get(repository.rsplit("/", 1)[-1].lower())


# -- collecting -----------------------------------------------------------------------------


def from_dependencies(deps: list[Dependency], distance_of: dict[str, int]) -> list[Evidence]:
    found: list[Evidence] = []
    for dep in deps:
        tier = RUNTIME_DEP if dep.runtime else DEV_DEP
        distance = distance_of.get(parent(dep.source), 0)
        pairs: list[tuple[str, str | None]] = []
        if dep.name in DRIVERS:
            pairs.append(DRIVERS[dep.name])
        pairs += [EXTRAS[e] for e in sorted(dep.requirement.extras) if e in EXTRAS]
        if dep.name in REDIS_PACKAGES or "redis" in dep.requirement.extras:
            pairs.append(("redis", None))
        for kind, driver in pairs:
            found.append(Evidence(kind, driver, tier, distance, dep.source, dep.name))
    return found


def _from_env_values(
    values: dict[str, str], tier: int, distance: int, source: str
) -> list[Evidence]:
    found: list[Evidence] = []
    for key, value in values.items():
        upper = key.upper()
        if "TEST" in upper:
            continue
        parsed = from_url(value)
        if parsed:
            found.append(Evidence(parsed[0], parsed[1], tier, distance, source, key))
            continue
        for prefix, kind in _ENV_PREFIXES:
            if upper.startswith(prefix) and (prefix != "PG" or upper in _PG_KEYS):
                found.append(Evidence(kind, None, tier, distance, source, key))
                break
    return found


_PG_KEYS = frozenset({"PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"})


def env_files(tree: Tree, folders: list[str]) -> list[Evidence]:
    found: list[Evidence] = []
    for distance, folder in enumerate(folders):
        for name in tree.names(folder):
            lowered = name.lower()
            if lowered.startswith(".env.test") or ".test." in lowered:
                continue
            if _ENV_TEMPLATE.match(lowered):
                tier = ENV_TEMPLATE
            elif _ENV_REAL.match(lowered):
                tier = ENV
            else:
                continue
            rel = join(folder, name)
            found += _from_env_values(load_env(tree, rel), tier, distance, rel)
    return found


def compose_files(tree: Tree, folders: list[str]) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for distance, folder in enumerate(folders):
        places = [folder] + [
            join(folder, sub) for sub in COMPOSE_FOLDERS if sub in tree.subfolders.get(folder, ())
        ]
        for place in places:
            found += [(join(place, n), distance) for n in tree.names(place) if _COMPOSE.match(n)]
    return found


def compose(tree: Tree, files: list[tuple[str, int]]) -> list[Evidence]:
    """Evidence from compose services: their images (or build contexts) and environment."""
    found: list[Evidence] = []
    for rel, distance in files:
        data = load_yaml(tree, rel)
        services = data.get("services") if isinstance(data, dict) else None
        if not isinstance(services, dict):
            continue
        folder = parent(rel)
        for name, service in services.items():
            if not isinstance(service, dict):
                continue
            kind = _service_kind(tree, folder, service)
            if kind:
                found.append(
                    Evidence(kind, None, COMPOSE_SERVICE, distance, rel, f"service {name}")
                )
            environment = service.get("environment")
            values: dict[str, str] = {}
            if isinstance(environment, dict):
                values = {str(k): fmt.expand(str(v or ""), {}) for k, v in environment.items()}
            elif isinstance(environment, list):
                for item in fmt.strings(environment):
                    key, _, value = item.partition("=")
                    values[key.strip()] = fmt.expand(value.strip(), {})
            found += _from_env_values(values, COMPOSE_ENV, distance, rel)
            for env_rel in _env_file_paths(folder, service.get("env_file")):
                if tree.has(env_rel):
                    found += _from_env_values(
                        load_env(tree, env_rel), COMPOSE_ENV, distance, env_rel
                    )
    return found


def _env_file_paths(folder: str, value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    paths: list[str] = []
    for item in items:
        path = item.get("path") if isinstance(item, dict) else item
        if isinstance(path, str):
            joined = _clean(join(folder, path))
            if joined:
                paths.append(joined)
    return paths


def _clean(rel: str) -> str | None:
    parts: list[str] = []
    for part in rel.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts or parts[-1] == "..":
                parts.append("..")
            else:
                parts.pop()
        else:
            parts.append(part)
    return "/".join(parts) or None


def _service_kind(tree: Tree, folder: str, service: dict[str, Any]) -> str | None:
    image = service.get("image")
    if isinstance(image, str) and image.strip():
        return from_image(fmt.expand(image.strip(), {}))
    build = service.get("build")
    context, dockerfile = "", "Dockerfile"
    if isinstance(build, str):
        context = build
    elif isinstance(build, dict):
        context = str(build.get("context") or ".")
        dockerfile = str(build.get("dockerfile") or "Dockerfile")
    else:
        return None
    rel = _clean(join(join(folder, context), dockerfile))
    if not rel or not tree.has(rel):
        return None
    images = load_dockerfile(tree, rel).images
    return from_image(images[-1]) if images else None


def settings(tree: Tree, files: list[str], distance_of: dict[str, int]) -> list[Evidence]:
    """Defaults written in settings code: URL strings and pydantic DSN field types."""
    found: list[Evidence] = []
    for rel in files:
        module = load_python(tree, rel)
        if module is None:
            continue
        distance = distance_of.get(parent(rel), 0)
        for node in ast.walk(module):
            value: str | None = None
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                value = node.value
            elif isinstance(node, ast.JoinedStr) and node.values:
                first = node.values[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    value = first.value
            elif isinstance(node, ast.Name) and node.id in DSN_TYPES:
                found.append(Evidence(DSN_TYPES[node.id], None, SETTINGS, distance, rel, node.id))
            elif isinstance(node, ast.Attribute) and node.attr in DSN_TYPES:
                found.append(
                    Evidence(DSN_TYPES[node.attr], None, SETTINGS, distance, rel, node.attr)
                )
            if value and len(value) < 2048:
                parsed = from_url(value)
                if parsed and "test" not in value.lower().rsplit("/", 1)[-1]:
                    found.append(
                        Evidence(parsed[0], parsed[1], SETTINGS, distance, rel, "default URL")
                    )
    return found


def settings_files(tree: Tree, package_folder: str, extra: list[str]) -> list[str]:
    """Settings-like modules of the app's package (config.py, core/config.py, db.py ...)."""
    prefix = f"{package_folder}/" if package_folder else ""
    found: list[tuple[int, int, str]] = []
    for rel in tree.python_files():
        if not rel.startswith(prefix) or rel in extra:
            continue
        *parts, name = rel.split("/")
        stem = name.removesuffix(".py").lower()
        folders = {p.lower() for p in parts}
        settings_like = stem in SETTINGS_STEMS or folders & {"config", "settings", "core"}
        if settings_like and not _is_test_like(rel):
            rank = SETTINGS_ORDER.index(stem) if stem in SETTINGS_ORDER else len(SETTINGS_ORDER)
            found.append((rank, len(parts), rel))
    return extra + [rel for _, _, rel in sorted(found)[:40]]


def _is_test_like(rel: str) -> bool:
    return is_not_app(rel) or "migrations" in rel.split("/") or "alembic" in rel.split("/")


# -- deciding -------------------------------------------------------------------------------


def decide(found: list[Evidence], warnings: list[str]) -> Decision:
    databases = [e for e in found if e.kind != "redis"]
    redis = sorted(
        (e for e in found if e.kind == "redis" and e.tier < DEV_DEP), key=lambda e: e.rank
    )
    redis_source = redis[0].source if redis else None
    if not databases:
        return Decision("none", None, None, None, bool(redis), redis_source)
    top = min(e.rank for e in databases)
    level = [e for e in databases if e.rank == top]
    kinds = {e.kind for e in level}
    if len(kinds) > 1 and kinds & set(SERVER_ORDER):
        kinds.discard("sqlite")
    if len(kinds) > 1:
        kinds = {_strongest_other(kinds, databases)}
    database = kinds.pop()
    winner = next(e for e in level if e.kind == database)
    driver, driver_source = _driver(database, winner, databases)
    disagreeing = sorted(
        {(e.source, e.detail, e.kind) for e in databases if e.kind != database and e.tier < DEV_DEP}
    )
    if disagreeing:
        others = "; ".join(
            f"{source} ({detail}) says {kind}" for source, detail, kind in disagreeing
        )
        warnings.append(
            f"Database: {winner.source} ({TIER_NAMES[winner.tier]}, {winner.detail}) decides"
            f" {database}; {others}."
        )
    return Decision(database, driver, winner.source, driver_source, bool(redis), redis_source)


def _strongest_other(kinds: set[str], found: list[Evidence]) -> str:
    """Among databases tied at the top, the one with the strongest evidence beyond the tie."""
    top = min(e.rank for e in found)

    def key(kind: str) -> tuple[tuple[int, int], int]:
        beyond = sorted(e.rank for e in found if e.kind == kind and e.rank != top)
        order = SERVER_ORDER.index(kind) if kind in SERVER_ORDER else len(SERVER_ORDER)
        return (beyond[0] if beyond else (99, 99)), order

    return min(sorted(kinds), key=key)


def _driver(
    database: str, winner: Evidence, found: list[Evidence]
) -> tuple[str | None, str | None]:
    """The driver: the winner's own, else one named by a URL and declared, else preference."""
    declared = [
        e for e in found if e.kind == database and e.driver and e.tier in (RUNTIME_DEP, DEV_DEP)
    ]
    named = {
        e.driver
        for e in found
        if e.kind == database and e.driver and e.tier not in (RUNTIME_DEP, DEV_DEP)
    }
    if winner.tier == RUNTIME_DEP:
        pool = [e for e in declared if e.rank == winner.rank]
        for evidence in pool:
            if evidence.driver in named:
                return evidence.driver, evidence.source
        return _preferred(database, pool)
    if winner.driver:
        return winner.driver, winner.source
    for evidence in sorted(declared, key=lambda e: e.rank):
        if evidence.driver in named:
            return evidence.driver, evidence.source
    if declared:
        return _preferred(database, sorted(declared, key=lambda e: e.rank))
    urls = sorted((e for e in found if e.kind == database and e.driver), key=lambda e: e.rank)
    if urls:
        return urls[0].driver, urls[0].source
    return None, None


def _preferred(database: str, pool: list[Evidence]) -> tuple[str | None, str | None]:
    if not pool:
        return None, None
    order = DRIVER_PREFERENCE.get(database, ())

    def position(e: Evidence) -> int:
        return order.index(e.driver) if e.driver in order else len(order)

    best = min(pool, key=lambda e: (e.rank, position(e)))
    return best.driver, best.source
