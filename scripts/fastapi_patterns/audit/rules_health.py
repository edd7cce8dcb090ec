"""FPA308-FPA309: health and readiness routes that answer 200 whatever the app's backends do.

Kubernetes keeps a pod in rotation while its readiness probe answers 200-399, so a probe
that checks nothing, or answers 200 from its `except` branch, routes traffic to a pod that
cannot serve it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from fastapi_patterns.audit.model import Finding, Rule
from fastapi_patterns.audit.request_path import (
    Function,
    dependencies,
    finding,
    imports_any,
    is_test_module,
    keyword,
    module_constant,
)

if TYPE_CHECKING:
    from fastapi_patterns.audit.project import Module, ProjectIndex, Route

REFERENCE = "references/anti-patterns.md#"

READINESS = Rule(
    code="FPA308",
    name="readiness-without-checks",
    summary="Health/readiness route that answers without touching the app's database or cache.",
    severity="warning",
    reference=REFERENCE + "fpa308-readiness-without-checks",
    fix_hint="Ping each backing service with a timeout and answer 503 when one fails.",
)
FAILURE_ANSWERS_200 = Rule(
    code="FPA309",
    name="health-failure-answers-200",
    summary="Health/readiness route whose except branch returns a body with status 200.",
    severity="warning",
    reference=REFERENCE + "fpa309-health-failure-answers-200",
    fix_hint="Answer 503 when a check fails (set response.status_code or raise).",
)

RULES = [READINESS, FAILURE_ANSWERS_200]


def check(index: ProjectIndex) -> Iterable[Finding]:
    app_modules = [m for m in index.modules.values() if not is_test_module(m)]
    # Without a database or cache client a health route has nothing it could touch.
    backed = any(imports_any(module, BACKING_SERVICES) for module in app_modules)
    for route in index.routes():
        if is_test_module(route.module) or not _is_readiness(route):
            continue
        yield from _failure_answers_200(route)
        if backed and _does_no_io(index, route.module, route.function, set()):
            shown = _router_prefix(route) + (route.path or "") or "health route"
            yield finding(
                READINESS,
                route.module,
                route.function,
                f"`{route.function.name}` ({shown}) answers without "
                "checking the database or cache the app uses",
            )


# Which routes are health routes (both rules); what counts as checking nothing (FPA308) ---

READY_WORDS = frozenset({"health", "healthz", "healthcheck", "ready", "readyz", "readiness"})
LIVE_WORDS = frozenset({"live", "livez", "liveness", "alive", "ping", "version"})
BACKING_SERVICES = (
    "sqlalchemy",
    "sqlmodel",
    "redis",
    "asyncpg",
    "psycopg",
    "psycopg2",
    "pymysql",
    "aiomysql",
    "asyncmy",
    "pymongo",
    "motor",
    "beanie",
    "odmantic",
    "databases",
    "tortoise",
    "aioredis",
)
# Calls that do no I/O: building the answer, not checking anything.
PURE_PREFIXES = (
    "datetime",
    "time",
    "platform",
    "uuid",
    "json",
    "sys",
    "socket.gethostname",
    "os.getpid",
    "os.getenv",
    "os.environ",
    "importlib.metadata.version",
    "fastapi.responses",
    "starlette.responses",
    "fastapi.Response",
    "fastapi.status",
    "starlette.status",
    "logging",  # writing a log line checks nothing
    "structlog",
)
PURE_BUILTINS = frozenset(
    {
        "dict",
        "list",
        "tuple",
        "set",
        "str",
        "int",
        "float",
        "bool",
        "len",
        "round",
        "sorted",
        "repr",
    }
)


def _words(text: str) -> set[str]:
    return {word for word in re.split(r"[^a-z0-9]+", text.lower()) if word}


def _is_readiness(route: Route) -> bool:
    """By the path's words; by the function's name when the path has none (`""` under a
    router prefix, or not a literal). The site root `/` is a landing page, whatever its name."""
    if route.path == "/":
        return False
    words = _words(route.path or "") or _words(_router_prefix(route)) or _words(route.function.name)
    return bool(words & READY_WORDS) and not words & LIVE_WORDS


def _router_prefix(route: Route) -> str:
    """The literal `prefix=` of the module-level router the route is declared on, if any."""
    for decorator in route.function.decorator_list:
        if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
            continue
        value = module_constant(route.module, decorator.func.value)
        prefix = keyword(value, "prefix") if isinstance(value, ast.Call) else None
        if isinstance(prefix, ast.Constant) and isinstance(prefix.value, str):
            return prefix.value
    return ""


def _does_no_io(index: ProjectIndex, module: Module, function: Function, seen: set[int]) -> bool:
    """True when nothing `function` runs (its dependencies, what it calls) can do I/O.

    Unknown calls count as I/O, so an unresolvable helper never produces a finding."""
    if id(function) in seen:
        return True
    seen.add(id(function))
    for dep_module, dep in dependencies(index, module, function):
        if not _does_no_io(index, dep_module, dep, seen):
            return False
    body = [node for statement in function.body for node in ast.walk(statement)]
    for node in body:  # not the decorators: `@router.get(...)` is the route, not its work
        if isinstance(node, ast.Await | ast.AsyncWith | ast.AsyncFor):
            return False
        if isinstance(node, ast.Call) and not _pure_call(index, module, node, seen):
            return False
    return True


def _pure_call(index: ProjectIndex, module: Module, call: ast.Call, seen: set[int]) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call | ast.Constant):
        # datetime.now(UTC).isoformat(), "ok".upper(): a method on a value built here
        return isinstance(func.value, ast.Constant) or _pure_call(index, module, func.value, seen)
    if isinstance(func, ast.Name) and func.id in PURE_BUILTINS and func.id not in module.imports:
        return True
    target = index.resolve_function(module, call)
    if target is not None:
        return _does_no_io(index, target[0], target[1], seen)
    name = index.qualified_name(module, func)
    if name is None:
        return False
    if any(name == prefix or name.startswith(prefix + ".") for prefix in PURE_PREFIXES):
        return True
    # A class defined in the project (a pydantic response model) only holds data.
    owner, _, short = name.rpartition(".")
    project_module = index.modules.get(owner)
    return project_module is not None and any(
        isinstance(node, ast.ClassDef) and node.name == short for node in project_module.tree.body
    )


# FPA309 ---------------------------------------------------------------------------------


def _failure_answers_200(route: Route) -> Iterator[Finding]:
    """An `except` branch that returns a value while nothing in the route ever chooses a
    status code (no `status_code` keyword or assignment, no raise in the branch)."""
    function = route.function
    body = [node for statement in function.body for node in ast.walk(statement)]
    for node in body:
        if isinstance(node, ast.keyword) and node.arg == "status_code":
            return
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "status_code"
            and isinstance(node.ctx, ast.Store)
        ):
            return
    for node in body:
        if not isinstance(node, ast.ExceptHandler):
            continue
        inside = [child for statement in node.body for child in ast.walk(statement)]
        if any(isinstance(child, ast.Raise) for child in inside):
            continue
        for child in inside:
            if isinstance(child, ast.Return) and child.value is not None:
                yield finding(
                    FAILURE_ANSWERS_200,
                    route.module,
                    child,
                    f"`{function.name}` answers 200 from its except branch when a check fails",
                )
                break
