"""The backing services an app really uses, found in its code: what `add health` checks.

A SQLAlchemy engine, a Redis client or a MongoDB client counts when the package creates
one and binds it to a module-level name, so the health module can import it as
`module:attr`. One created elsewhere (inside a lifespan, a factory, on `app.state`) cannot
be imported without running the app; it becomes a note instead of a guessed check. Read
with the audit's static index, never imported.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from ..audit.project import Module, ProjectIndex
from ..audit.request_path import is_test_module

# Fully qualified factory -> (check name, whether the client is async).
_FACTORIES: dict[str, tuple[str, bool]] = {
    **dict.fromkeys(
        (
            "sqlalchemy.ext.asyncio.create_async_engine",
            "sqlalchemy.ext.asyncio.engine.create_async_engine",
            "sqlalchemy.ext.asyncio.async_engine_from_config",
        ),
        ("database", True),
    ),
    **dict.fromkeys(
        (
            "sqlalchemy.create_engine",
            "sqlalchemy.engine.create_engine",
            "sqlalchemy.engine_from_config",
            "sqlmodel.create_engine",
        ),
        ("database", False),
    ),
    **dict.fromkeys(
        (
            f"{module}.{name}{method}"
            for module in ("redis.asyncio", "redis.asyncio.client")
            for name in ("Redis", "StrictRedis")
            for method in ("", ".from_url", ".from_pool")
        ),
        ("redis", True),
    ),
    "redis.asyncio.from_url": ("redis", True),
    **dict.fromkeys(
        (
            f"{module}.{name}{method}"
            for module in ("redis", "redis.client")
            for name in ("Redis", "StrictRedis")
            for method in ("", ".from_url", ".from_pool")
        ),
        ("redis", False),
    ),
    "redis.from_url": ("redis", False),
    "motor.motor_asyncio.AsyncIOMotorClient": ("mongodb", True),
    "pymongo.AsyncMongoClient": ("mongodb", True),
    "pymongo.asynchronous.mongo_client.AsyncMongoClient": ("mongodb", True),
    "pymongo.MongoClient": ("mongodb", False),
    "pymongo.mongo_client.MongoClient": ("mongodb", False),
}
_LABELS = {
    "database": "SQLAlchemy engine",
    "redis": "Redis client",
    "mongodb": "MongoDB client",
}


@dataclass(frozen=True)
class Resource:
    kind: str  # "database", "redis" or "mongodb": the check's name when it is the only one
    is_async: bool
    module: str  # dotted, importable from the app's import root
    attr: str
    where: str  # path:line, for messages

    @property
    def label(self) -> str:
        return _LABELS[self.kind]


def find_resources(
    index: ProjectIndex, package: str, *, folder: str = ""
) -> tuple[list[Resource], list[str]]:
    """The clients bound at module level in `package`, and a note for each one created
    where it cannot be imported from; `folder`: where the index's root is, for messages."""
    found: list[Resource] = []
    notes: list[str] = []
    for module in in_package(index, package):
        bound = _module_level_bindings(module.tree)
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.Call):
                continue
            qualified = index.qualified_name(module, node.func)
            factory = _FACTORIES.get(qualified or "")
            if factory is None:
                continue
            kind, is_async = factory
            where = f"{shown_path(folder, module.relpath)}:{node.lineno}"
            name = bound.get(id(node))
            if name is None:
                notes.append(
                    f"{where}: a {_LABELS[kind]} is created here, not bound to a module-level"
                    " name the health module could import; no readiness check for it (add"
                    " one to the health module's CHECKS by hand)."
                )
                continue
            found.append(Resource(kind, is_async, module.name, name, where))
    return found, notes


def shown_path(folder: str, relpath: str) -> str:
    return f"{folder}/{relpath}" if folder else relpath


def in_package(index: ProjectIndex, package: str) -> list[Module]:
    """The index's modules of `package` ("": the top-level modules), by path: not tests
    (`tests/`, `test_*.py`, conftest.py), scripts or a second copy."""
    return sorted(
        (
            module
            for module in index.modules.values()
            if (
                module.name == package
                or module.name.startswith(f"{package}.")
                or (not package and "." not in module.name)
            )
            and "@" not in module.name
            and not is_test_module(module)  # a test's engine is not the app's
        ),
        key=lambda module: module.relpath,
    )


def _module_level_bindings(tree: ast.Module) -> dict[int, str]:
    """id(call) -> the name a top-level `name = call(...)` or `name: T = call(...)` binds."""
    bindings: dict[int, str] = {}
    for statement in tree.body:
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        ):
            bindings[id(statement.value)] = statement.targets[0].id
        elif (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and statement.value is not None
        ):
            bindings[id(statement.value)] = statement.target.id
    return bindings
