"""Pure planning: options -> the files to produce, in a stable order.

The template tree mirrors the generated project. Which conditional files are
included is decided here, in one table, never by templates rendering empty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .options import Options

PACKAGE_DIR = "__package__"
TEMPLATE_SUFFIX = ".jinja"
MANIFEST = ".create-fastapi-app.yml"

Predicate = Callable[[Options], bool]


def _has_db(o: Options) -> bool:
    return o.db != "none"


def _has_jwt(o: Options) -> bool:
    return o.auth == "jwt"


def _has_redis(o: Options) -> bool:
    return o.redis


# Template path (or directory prefix ending in "/") -> when it is included.
_RULES: dict[str, Predicate] = {
    "__package__/db.py.jinja": _has_db,
    "__package__/models.py.jinja": _has_db,
    "alembic.ini.jinja": _has_db,
    "migrations/": _has_db,
    "tests/test_migrations.py.jinja": _has_db,
    "__package__/core/security.py.jinja": _has_jwt,
    "__package__/api/routes/auth.py.jinja": _has_jwt,
    "__package__/api/routes/users.py.jinja": _has_jwt,
    "__package__/services/users.py.jinja": _has_jwt,
    "tests/test_auth.py.jinja": _has_jwt,
    "tests/test_users.py.jinja": _has_jwt,
    "tests/test_security.py.jinja": _has_jwt,
    "__package__/services/cache.py.jinja": _has_redis,
    "tests/test_cache.py.jinja": _has_redis,
}

_SKIPPED_NAMES = frozenset({"__pycache__", ".DS_Store", ".mypy_cache", ".ruff_cache"})


@dataclass(frozen=True)
class PlannedFile:
    template: str  # POSIX path relative to the template root
    target: str  # POSIX path relative to the generated project
    render: bool  # Jinja-rendered, or copied byte for byte


def included(template: str, options: Options) -> bool:
    for pattern, predicate in _RULES.items():
        matches = template.startswith(pattern) if pattern.endswith("/") else template == pattern
        if matches and not predicate(options):
            return False
    return True


def target_path(template: str, options: Options) -> str:
    parts = []
    for part in PurePosixPath(template).parts:
        if part == PACKAGE_DIR:
            part = options.package
        elif part.startswith("dot-"):
            part = "." + part[len("dot-") :]
        parts.append(part)
    if parts[0] == options.package and options.layout == "src":
        parts.insert(0, "src")
    path = "/".join(parts)
    return path.removesuffix(TEMPLATE_SUFFIX)


def template_files(root: Path) -> list[str]:
    found = []
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if path.is_file() and not _SKIPPED_NAMES.intersection(relative.parts):
            found.append(relative.as_posix())
    return sorted(found)


def plan(options: Options, templates: Path) -> list[PlannedFile]:
    planned = [
        PlannedFile(template, target_path(template, options), template.endswith(TEMPLATE_SUFFIX))
        for template in template_files(templates)
        if included(template, options)
    ]
    targets = [p.target for p in planned]
    if len(set(targets)) != len(targets) or MANIFEST in targets:
        raise ValueError("Two templates map to the same generated file; fix the template tree.")
    return sorted(planned, key=lambda p: p.target)
