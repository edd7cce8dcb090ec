"""The app's own routes on paths a pattern would add: conflicts `add` reports.

A route's full path is its decorator's path under its router's `prefix=` and every
`include_router(..., prefix=...)` that router is included with, followed through nested
routers. Static and conservative: a router never seen included counts as mounted at the
root, so a `/health` route there is a conflict; a prefix that is not a string literal
cannot be known and is not compared.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from ..audit.project import ROUTER_CLASSES, Module, ProjectIndex
from .resources import in_package, shown_path

_MAX_DEPTH = 6  # nested include_router chains followed this far (and cycles end)
# Included router -> [(what includes it, the include's prefix)].
Includes = dict[str, list[tuple[str, str | None]]]


@dataclass(frozen=True)
class Conflict:
    where: str  # path:line of the route's function
    method: str
    path: str


def conflicting_routes(
    index: ProjectIndex, package: str, paths: Iterable[str], *, skip_module: str, folder: str = ""
) -> list[Conflict]:
    """Routes in `package` whose full path is one of `paths`; `skip_module` (the module
    `add` wrote on an earlier run) is not the app's own; `folder`: where the index's root
    is, for messages."""
    wanted = frozenset(paths)
    modules = [m for m in in_package(index, package) if m.name != skip_module]
    names = {m.name for m in modules}
    prefixes = _router_prefixes(index, modules)
    includes = _includes(index, modules)
    found = []
    for route in index.routes():
        if route.module.name not in names or route.path is None:
            continue
        owner = _owner(index, route.module, route.function)
        for full in _mounted(owner, prefixes, includes, 0):
            if full + route.path in wanted:
                where = f"{shown_path(folder, route.module.relpath)}:{route.function.lineno}"
                found.append(Conflict(where, route.method, full + route.path))
                break
    return found


def _router_prefixes(index: ProjectIndex, modules: list[Module]) -> dict[str, str | None]:
    """Module-level `router = APIRouter(prefix=...)` -> its prefix (None: not a literal)."""
    found: dict[str, str | None] = {}
    for module in modules:
        for statement in module.tree.body:
            if not (isinstance(statement, ast.Assign | ast.AnnAssign)):
                continue
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            value = statement.value
            if len(targets) != 1 or not isinstance(targets[0], ast.Name):
                continue
            if not isinstance(value, ast.Call):
                continue
            if index.qualified_name(module, value.func) not in ROUTER_CLASSES:
                continue
            found[f"{module.name}.{targets[0].id}"] = _literal_keyword(value, "prefix")
    return found


def _includes(index: ProjectIndex, modules: list[Module]) -> Includes:
    """Every `include_router` call; "" stands for an includer that is not a known name."""
    found: Includes = {}
    for module in modules:
        if "include_router" not in module.source:
            continue
        for node in ast.walk(module.tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "include_router"
                and node.args
            ):
                continue
            child = index.qualified_name(module, node.args[0])
            if child is None:
                continue
            parent = index.qualified_name(module, node.func.value) or ""
            found.setdefault(child, []).append((parent, _literal_keyword(node, "prefix")))
    return found


def _owner(index: ProjectIndex, module: Module, function: ast.AST) -> str:
    """The router (qualified name) whose decorator made the route; "" for an app."""
    for decorator in getattr(function, "decorator_list", []):
        if isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute):
            return index.qualified_name(module, decorator.func.value) or ""
    return ""


def _mounted(
    owner: str,
    prefixes: dict[str, str | None],
    includes: Includes,
    depth: int,
) -> set[str]:
    """Every known full prefix the routes of `owner` are served under."""
    if owner not in prefixes or depth > _MAX_DEPTH:
        return {""}  # an app, or an object we cannot follow: its paths as written
    own = prefixes[owner]
    if own is None:
        return set()
    parents = includes.get(owner)
    if not parents:
        return {own}
    mounted: set[str] = set()
    for parent, prefix in parents:
        if prefix is None:
            continue
        for above in _mounted(parent, prefixes, includes, depth + 1):
            mounted.add(above + prefix + own)
    return mounted


def _literal_keyword(call: ast.Call, name: str) -> str | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            value = keyword.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return value.value
            return None
    return ""
