"""Evidence of a database (and of Redis) from the places a project names one.

Tiers, strongest first:

1. a driver among the runtime dependencies (asyncpg, psycopg, asyncmy, aiosqlite, motor ...,
   or an extra such as sqlalchemy[asyncpg]);
2. a database URL (or POSTGRES_*/MYSQL_* settings) in a real env file: .env, .env.local,
   .env.development, *.env ...;
3. the environment (and env_file) of a compose service;
4. a database URL in a template env file: .env.example, .env.sample, .env.dist, .env.template;
5. a default in the settings code (a URL string, or a PostgresDsn/MySQLDsn/MongoDsn field);
6. a compose service running the database (by image, or by its build context's FROM);
7. a driver among the development dependencies only (test and dev groups).

Test-only settings (keys containing TEST, .env.test, test URLs) are not evidence.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

from . import formats as fmt
from .database_names import DRIVERS, DSN_TYPES, EXTRAS, REDIS_PACKAGES, from_image, from_url
from .dependencies import Dependency
from .load import load_dockerfile, load_env, load_python, load_yaml
from .names import COMPOSE, deployment_files, is_not_app
from .paths import fold_path, join, parent
from .tree import Tree

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
_ENV_PREFIXES = (
    ("POSTGRES_", "postgresql"),
    ("PG", "postgresql"),
    ("MYSQL_", "mysql"),
    ("MARIADB_", "mysql"),
    ("MONGO", "mongodb"),
    ("REDIS_", "redis"),
)
_PG_KEYS = frozenset({"PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"})
_ENV_REAL = re.compile(
    r"^(\.env(\.(local|dev|development|prod|production|staging|docker))*|.+\.env)$"
)
_ENV_TEMPLATE = re.compile(
    r"^(\.?env\.(example|sample|dist|template|defaults|tpl)(\..*)?|(example|sample)\.env)$"
)
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


def compose(tree: Tree, folders: list[str]) -> list[Evidence]:
    """Evidence from compose services: their images (or build contexts) and environment."""
    found: list[Evidence] = []
    for rel, distance in deployment_files(tree, folders, COMPOSE):
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
            joined = fold_path(join(folder, path))
            if joined:
                paths.append(joined)
    return paths


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
    rel = fold_path(join(join(folder, context), dockerfile))
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
