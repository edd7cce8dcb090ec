"""Where a request's code starts and what it reaches: shared by the FPA1xx and FPA2xx rules.

An entry point is a function FastAPI (or Starlette) calls for us: a route, a dependency, a
middleware, an exception handler, a lifespan or startup/shutdown handler. `reach` follows the
project functions an entry calls, the way they run: an async function's sync helpers run on
the event loop too; a coroutine function called from sync code is not run there, and a function
handed to `run_in_threadpool`/`asyncio.to_thread` is passed, not called, so it is not followed.
Only the standard library; never imports user code.
"""

from __future__ import annotations

import ast
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi_patterns.audit.request_path import (
    dependency_functions,
    is_test_module,
    module_constant,
    nodes,
)
from fastapi_patterns.audit.walk import own_nodes

if TYPE_CHECKING:
    from fastapi_patterns.audit.project import Module, ProjectIndex

Function = ast.FunctionDef | ast.AsyncFunctionDef
# How many calls deep `reach` follows project helpers from an entry point.
MAX_DEPTH = 5
ASYNC_CONTEXT_MANAGERS = frozenset({"contextlib.asynccontextmanager"})
CONTEXT_MANAGERS = frozenset({"contextlib.contextmanager"})
MIDDLEWARE_METHODS = ("dispatch", "__call__")


@dataclass(frozen=True)
class Entry:
    module: Module
    function: Function
    kind: str  # "route", "dependency", "middleware", "exception handler", "lifespan", ...

    @property
    def is_async(self) -> bool:
        return isinstance(self.function, ast.AsyncFunctionDef)

    @property
    def at_startup(self) -> bool:
        """Runs while the server starts or stops, not while it serves requests."""
        return self.kind in {"lifespan", "startup handler", "shutdown handler"}

    @property
    def label(self) -> str:
        return f"{'async ' if self.is_async else ''}{self.kind} `{self.function.name}`"


@dataclass(frozen=True)
class Hop:
    """One step of a call chain: `call` (in the previous function) reaches `function`."""

    module: Module
    function: Function
    call: ast.Call | None  # None for the entry itself


def resolve_call(
    index: ProjectIndex, module: Module, function: Function, call: ast.Call
) -> tuple[Module, Function] | None:
    """`index.resolve_function`, plus methods called on a parameter annotated with a
    module-level `Annotated` alias (`service: ItemServiceDep` -> `ItemService.method`)."""
    target = index.resolve_function(module, call)
    if target is not None:
        return target
    func = call.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
        return None
    args = function.args
    for param in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
        if param.arg == func.value.id and isinstance(param.annotation, ast.Name | ast.Attribute):
            alias = _alias_target(index, module, param.annotation)
            if alias is None:
                return None
            owner, annotated = alias
            method = ast.Attribute(value=annotated, attr=func.attr, ctx=ast.Load())
            return index.resolve_reference(owner, method, at=annotated)
    return None


def _alias_target(
    index: ProjectIndex, module: Module, annotation: ast.expr
) -> tuple[Module, ast.expr] | None:
    """The `X` of `Alias = Annotated[X, ...]` defined at module level in the project."""
    name = index.qualified_name(module, annotation)
    if name is None:
        return None
    owner_name, _, alias = name.rpartition(".")
    owner = index.modules.get(owner_name)
    if owner is None:
        return None
    value = module_constant(owner, ast.Name(id=alias, ctx=ast.Load()))
    if not isinstance(value, ast.Subscript):
        return None
    head = index.qualified_name(owner, value.value) or ""
    if head.rpartition(".")[2] != "Annotated" or not isinstance(value.slice, ast.Tuple):
        return None
    return owner, value.slice.elts[0]


_CALLEES: weakref.WeakKeyDictionary[ast.AST, list[tuple[ast.Call, tuple[Module, Function]]]] = (
    weakref.WeakKeyDictionary()
)


def _callees(
    index: ProjectIndex, module: Module, function: Function
) -> list[tuple[ast.Call, tuple[Module, Function]]]:
    """The project functions `function` runs by calling them, with the calls, in source order."""
    found = _CALLEES.get(function)
    if found is not None:
        return found
    found = []
    caller_is_async = isinstance(function, ast.AsyncFunctionDef)
    calls = [node for node, _ in own_nodes(function) if isinstance(node, ast.Call)]
    for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset)):
        target = resolve_call(index, module, function, call)
        if target is None:
            continue
        callee_module, callee = target
        if isinstance(callee, ast.AsyncFunctionDef) and not caller_is_async:
            continue  # a coroutine made in sync code does not run there
        if _is_plain_generator(index, callee_module, callee):
            continue  # calling it only makes a generator; Starlette iterates it in a thread
        found.append((call, target))
    _CALLEES[function] = found
    return found


def reach(
    index: ProjectIndex, module: Module, function: Function, max_depth: int = MAX_DEPTH
) -> Iterator[tuple[Hop, ...]]:
    """Every chain of project calls from `function` (the first hop), depth-first, each function
    at most once (cycles end)."""
    seen: set[int] = set()

    def visit(chain: tuple[Hop, ...]) -> Iterator[tuple[Hop, ...]]:
        hop = chain[-1]
        if id(hop.function) in seen:
            return
        seen.add(id(hop.function))
        yield chain
        if len(chain) > max_depth:
            return
        for call, (callee_module, callee) in _callees(index, hop.module, hop.function):
            yield from visit((*chain, Hop(callee_module, callee, call)))

    yield from visit((Hop(module, function, None),))


def _is_plain_generator(index: ProjectIndex, module: Module, function: Function) -> bool:
    """A sync generator function that is not a `@contextmanager` (whose body does run when
    the `with` is entered)."""
    if isinstance(function, ast.AsyncFunctionDef):
        return False
    if not any(isinstance(node, ast.Yield | ast.YieldFrom) for node, _ in own_nodes(function)):
        return False
    return not _decorated_by(index, module, function, CONTEXT_MANAGERS)


def _decorated_by(
    index: ProjectIndex, module: Module, function: Function, names: frozenset[str]
) -> bool:
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if index.qualified_name(module, target) in names:
            return True
    return False


def _method_decorator(function: Function, attr: str) -> ast.Call | None:
    """`@<anything>.<attr>(...)`, e.g. `@app.middleware("http")`, `@app.on_event("startup")`."""
    for decorator in function.decorator_list:
        if (
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr == attr
        ):
            return decorator
    return None


def _first_string(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


@dataclass
class _Scan:
    """Every entry point of one index, found in one pass over the project's syntax trees."""

    entries: list[Entry] = field(default_factory=list)
    lifespans: list[tuple[Module, Function]] = field(default_factory=list)
    startup: list[tuple[Module, Function]] = field(default_factory=list)
    shutdown: list[tuple[Module, Function]] = field(default_factory=list)


_SCANS: weakref.WeakKeyDictionary[ProjectIndex, _Scan] = weakref.WeakKeyDictionary()


def _scan(index: ProjectIndex) -> _Scan:
    scan = _SCANS.get(index)
    if scan is not None:
        return scan
    functions: list[tuple[Module, Function]] = []
    calls: list[tuple[Module, ast.Call]] = []
    for module in index.modules.values():
        functions += [(module, node) for node in nodes(index, module, ast.FunctionDef)]
        functions += [(module, node) for node in nodes(index, module, ast.AsyncFunctionDef)]
        calls += [(module, node) for node in nodes(index, module, ast.Call)]
    scan = _Scan()
    lifespan: dict[int, tuple[Module, Function]] = {}
    events: dict[str, dict[int, tuple[Module, Function]]] = {"startup": {}, "shutdown": {}}
    middleware: list[tuple[Module, Function]] = []
    handlers: list[tuple[Module, Function]] = []
    for module, function in functions:
        if _method_decorator(function, "middleware") is not None:
            middleware.append((module, function))
        if _method_decorator(function, "exception_handler") is not None:
            handlers.append((module, function))
        decorator = _method_decorator(function, "on_event")
        if decorator is not None and _first_string(decorator) in events:
            events[str(_first_string(decorator))][id(function)] = (module, function)
        if _is_app_context_manager(index, module, function):
            lifespan[id(function)] = (module, function)
    for module, call in calls:
        func = call.func
        attr = func.attr if isinstance(func, ast.Attribute) else None
        for keyword in call.keywords:
            if keyword.arg == "lifespan":
                lifespan.update(_lifespan_targets(index, module, call, keyword.value))
        if attr == "add_event_handler" and len(call.args) == 2:
            event = _first_string(call)
            target = index.resolve_reference(module, call.args[1], at=call)
            if event in events and target is not None:
                events[str(event)][id(target[1])] = target
        elif attr == "add_exception_handler" and len(call.args) == 2:
            target = index.resolve_reference(module, call.args[1], at=call)
            if target is not None:
                handlers.append(target)
        elif call.args and (
            attr == "add_middleware"
            or (index.qualified_name(module, func) or "").endswith("middleware.Middleware")
        ):
            for method in MIDDLEWARE_METHODS:
                attribute = ast.Attribute(value=call.args[0], attr=method, ctx=ast.Load())
                target = index.resolve_reference(module, attribute, at=call)
                if target is not None:
                    middleware.append(target)
    scan.lifespans = [item for item in lifespan.values() if not is_test_module(item[0])]
    scan.startup = [item for item in events["startup"].values() if not is_test_module(item[0])]
    scan.shutdown = list(events["shutdown"].values())
    found: dict[int, Entry] = {}
    groups: list[tuple[str, list[tuple[Module, Function]]]] = [
        ("route", [(route.module, route.function) for route in index.routes()]),
        ("dependency", dependency_functions(index)),
        ("middleware", middleware),
        ("exception handler", handlers),
        ("lifespan", scan.lifespans),
        ("startup handler", scan.startup),
        ("shutdown handler", scan.shutdown),
    ]
    for kind, group in groups:
        for module, function in group:
            # Test apps block or leak on purpose; the audit is about the service itself.
            if not is_test_module(module):
                found.setdefault(id(function), Entry(module, function, kind))
    scan.entries = list(found.values())
    _SCANS[index] = scan
    return scan


def _is_app_context_manager(index: ProjectIndex, module: Module, function: Function) -> bool:
    """An `@asynccontextmanager` function whose first parameter is annotated as the app."""
    if not isinstance(function, ast.AsyncFunctionDef):
        return False
    if not _decorated_by(index, module, function, ASYNC_CONTEXT_MANAGERS):
        return False
    params = [*function.args.posonlyargs, *function.args.args]
    if not params or params[0].annotation is None:
        return False
    annotation = index.qualified_name(module, params[0].annotation) or ""
    return annotation.rpartition(".")[2] in {"FastAPI", "Starlette"}


def _lifespan_targets(
    index: ProjectIndex, module: Module, call: ast.Call, value: ast.expr
) -> Iterator[tuple[int, tuple[Module, Function]]]:
    """What `lifespan=value` names: a function, or the async functions a factory call makes."""
    if isinstance(value, ast.Call):
        factory = index.resolve_function(module, value)
        if factory is not None:
            for inner in ast.walk(factory[1]):
                if isinstance(inner, ast.AsyncFunctionDef) and inner is not factory[1]:
                    yield id(inner), (factory[0], inner)
        return
    target = index.resolve_reference(module, value, at=call)
    if target is not None:
        yield id(target[1]), target


def lifespans(index: ProjectIndex) -> list[tuple[Module, Function]]:
    """Functions passed as `lifespan=` (directly, or made by a factory called there), and
    `@asynccontextmanager` functions whose first parameter is annotated as the app."""
    return _scan(index).lifespans


def event_handlers(index: ProjectIndex, event: str) -> list[tuple[Module, Function]]:
    """Functions registered with `@X.on_event(event)` or `X.add_event_handler(event, f)`."""
    return _scan(index).startup if event == "startup" else _scan(index).shutdown


def entries(index: ProjectIndex) -> list[Entry]:
    """Every entry point, each function once (a route that is also a dependency is a route)."""
    return _scan(index).entries


def request_entries(index: ProjectIndex) -> list[Entry]:
    """The entry points that run per request (not the lifespan or startup/shutdown handlers)."""
    per_request = {"route", "dependency", "middleware", "exception handler"}
    return [entry for entry in entries(index) if entry.kind in per_request]
