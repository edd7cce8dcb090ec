"""FPA2xx: resources and state with the wrong lifetime.

FPA201 a pool-holding client (engine, sessionmaker, redis, Mongo, HTTP, AWS client) or a
session built inside a route instead of once in the lifespan or by a dependency; FPA202
module-level mutable state written on a request path; FPA203 a lifespan or startup handler
that opens such a client and never closes it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from fastapi_patterns.audit.clients import CLOSERS, POOLED, SESSIONS
from fastapi_patterns.audit.entrypoints import (
    Function,
    Hop,
    entries,
    event_handlers,
    lifespans,
    reach,
    request_entries,
)
from fastapi_patterns.audit.model import Finding, Rule
from fastapi_patterns.audit.request_path import finding
from fastapi_patterns.audit.walk import own_nodes

if TYPE_CHECKING:
    from fastapi_patterns.audit.project import Module, ProjectIndex

CLIENT_PER_REQUEST = Rule(
    code="FPA201",
    name="client-created-per-request",
    summary="An engine, session, connection pool or client is created inside a route instead "
    "of once in the lifespan or by a dependency.",
    severity="warning",
    reference="references/anti-patterns.md#fpa201-client-created-per-request",
    fix_hint="Create it once in the lifespan and inject it with a dependency "
    "(sessions: a yield dependency).",
)
MODULE_STATE = Rule(
    code="FPA202",
    name="module-state-written-by-handler",
    summary="Module-level mutable state is written on a request path.",
    severity="warning",
    reference="references/anti-patterns.md#fpa202-module-state-written-by-handler",
    fix_hint="Keep shared state in a backing service (database, Redis) or in an object the "
    "lifespan creates and a dependency provides.",
)
LIFESPAN_LEAK = Rule(
    code="FPA203",
    name="lifespan-resource-not-closed",
    summary="A lifespan or startup handler opens an engine, pool or client and never closes it.",
    severity="warning",
    reference="references/anti-patterns.md#fpa203-lifespan-resource-not-closed",
    fix_hint="Open it with `async with` or an AsyncExitStack around the yield, or close it "
    "(`dispose()`/`aclose()`) in a `finally` after the yield.",
)
RULES = [CLIENT_PER_REQUEST, MODULE_STATE, LIFESPAN_LEAK]

CACHING_DECORATORS = frozenset({"functools.lru_cache", "functools.cache"})
MUTABLE_FACTORIES = frozenset(
    {
        "builtins.list",
        "builtins.dict",
        "builtins.set",
        "builtins.bytearray",
        "collections.defaultdict",
        "collections.OrderedDict",
        "collections.Counter",
        "collections.deque",
    }
)
MUTATORS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "pop",
        "remove",
        "clear",
        "update",
        "setdefault",
        "add",
        "discard",
        "popitem",
        "appendleft",
        "extendleft",
        "popleft",
        "__setitem__",
    }
)
EXIT_STACKS = frozenset({"contextlib.AsyncExitStack", "contextlib.ExitStack"})


def _chain_label(chain: tuple[Hop, ...], label: str) -> str:
    if len(chain) == 1:
        return label
    via = ", ".join(f"`{hop.function.name}`" for hop in chain[1:])
    return f"{label} via {via}"


def _is_cached(index: ProjectIndex, module: Module, function: Function) -> bool:
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if index.qualified_name(module, target) in CACHING_DECORATORS:
            return True
    return False


# -- FPA201 -----------------------------------------------------------------------------------


def _created_per_request(index: ProjectIndex) -> Iterator[Finding]:
    not_per_request = {
        id(entry.function)
        for entry in entries(index)
        if entry.kind in {"dependency", "lifespan", "startup handler", "shutdown handler"}
    }
    reported: set[tuple[str, int, int]] = set()
    for entry in entries(index):
        if entry.kind != "route":
            continue
        for chain in reach(index, entry.module, entry.function):
            hop = chain[-1]
            if len(chain) > 1 and (
                id(hop.function) in not_per_request or _is_cached(index, hop.module, hop.function)
            ):
                continue
            for node, _ in own_nodes(hop.function):
                if not isinstance(node, ast.Call):
                    continue
                name = index.qualified_name(hop.module, node.func)
                if name is None:
                    continue
                what = POOLED.get(name)
                if what is None and len(chain) == 1:
                    what = SESSIONS.get(name)
                key = (hop.module.relpath, node.lineno, node.col_offset)
                if what is None or key in reported:
                    continue
                reported.add(key)
                written = ast.unparse(node.func)
                message = (
                    f"`{written}(...)` ({what}) is created per request in "
                    f"{_chain_label(chain, entry.label)}"
                )
                yield finding(CLIENT_PER_REQUEST, hop.module, node, message)


# -- FPA202 -----------------------------------------------------------------------------------


def _is_mutable_value(index: ProjectIndex, module: Module, value: ast.expr | None) -> bool:
    if isinstance(value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp):
        return True
    if isinstance(value, ast.Call):
        return index.qualified_name(module, value.func) in MUTABLE_FACTORIES
    return False


def _module_variable(
    index: ProjectIndex, module: Module, node: ast.expr
) -> tuple[Module, str, int] | None:
    """(module, name, line) of the module-level mutable container `node` names, if it does."""
    name = index.qualified_name(module, node)
    if name is None:
        return None
    owner_name, _, variable = name.rpartition(".")
    owner = index.modules.get(owner_name)
    if owner is None or variable not in owner.defined:
        return None
    for statement in owner.tree.body:
        targets: list[ast.expr] = []
        if isinstance(statement, ast.Assign):
            targets = statement.targets
        elif isinstance(statement, ast.AnnAssign):
            targets = [statement.target]
        if any(isinstance(t, ast.Name) and t.id == variable for t in targets):
            assert isinstance(statement, ast.Assign | ast.AnnAssign)
            if _is_mutable_value(index, owner, statement.value):
                return owner, variable, statement.lineno
            return None
    return None


def _locals(function: Function) -> set[str]:
    """Names bound in `function` itself (parameters, assignments, loop and with targets),
    minus those it declares `global`."""
    args = function.args
    names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    names.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
    declared: set[str] = set()
    for node, _ in own_nodes(function):
        if isinstance(node, ast.Global | ast.Nonlocal):
            declared.update(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
    # nested defs and classes bind their names too (own_nodes skips their bodies)
    for holder in [function, *(node for node, _ in own_nodes(function))]:
        for field in ("body", "orelse", "finalbody"):
            children = getattr(holder, field, None)
            for child in children if isinstance(children, list) else ():
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    names.add(child.name)
    return names - declared


def _root_name(node: ast.expr) -> ast.Name | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node if isinstance(node, ast.Name) else None


def _writes(function: Function) -> Iterator[tuple[ast.AST, ast.expr, str]]:
    """(where, the container written, how) for writes into something not local to `function`."""
    for node, _ in own_nodes(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in MUTATORS:
                yield node, node.func.value, f"`.{node.func.attr}()`"
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            for target in targets:
                if isinstance(target, ast.Subscript):
                    how = "`del [...]`" if isinstance(node, ast.Delete) else "`[...] =`"
                    yield node, target.value, how


def _global_rebinds(function: Function) -> Iterator[tuple[ast.Global, str]]:
    declared: dict[str, ast.Global] = {}
    for node, _ in own_nodes(function):
        if isinstance(node, ast.Global):
            for name in node.names:
                declared.setdefault(name, node)
    if not declared:
        return
    rebound: set[str] = set()
    for node, _ in own_nodes(function):
        if (
            isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Store | ast.Del)
            and node.id in declared
            and node.id not in rebound
        ):
            rebound.add(node.id)
            yield declared[node.id], node.id


def _module_state_writes(index: ProjectIndex) -> Iterator[Finding]:
    reported: set[tuple[str, int, int]] = set()
    for entry in request_entries(index):
        for chain in reach(index, entry.module, entry.function):
            hop = chain[-1]
            local = _locals(hop.function)
            label = _chain_label(chain, entry.label)
            for where, container, how in _writes(hop.function):
                root = _root_name(container)
                if root is None or root.id in local or root.id in {"self", "cls"}:
                    continue
                found = _module_variable(index, hop.module, container)
                key = (
                    hop.module.relpath,
                    getattr(where, "lineno", 0),
                    getattr(where, "col_offset", 0),
                )
                if found is None or key in reported:
                    continue
                reported.add(key)
                owner, variable, line = found
                message = (
                    f"module-level `{variable}` ({owner.relpath}:{line}) is written with {how} "
                    f"in {label}"
                )
                yield finding(MODULE_STATE, hop.module, where, message)
            for statement, variable in _global_rebinds(hop.function):
                key = (hop.module.relpath, statement.lineno, statement.col_offset)
                if key in reported:
                    continue
                reported.add(key)
                message = f"`global {variable}` rebinds module-level state in {label}"
                yield finding(MODULE_STATE, hop.module, statement, message)


# -- FPA203 -----------------------------------------------------------------------------------


def _opened_name(index: ProjectIndex, module: Module, call: ast.Call) -> str | None:
    """What `call` opens, if it is a POOLED constructor or a project factory returning one."""
    name = index.qualified_name(module, call.func)
    if name in POOLED:
        return name
    target = index.resolve_function(module, call)
    if target is None:
        return None
    home, function = target
    for node, _ in own_nodes(function):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Call):
            inner = index.qualified_name(home, node.value.func)
            if inner in POOLED:
                return inner
    return None


def _last_segment(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return str(node.slice.value)
    return None


def _holder(parents: dict[int, ast.AST], call: ast.Call) -> str | None:
    """The name the opened resource is kept under: assignment target, keyword or dict key."""
    parent = parents.get(id(call))
    if isinstance(parent, ast.Assign | ast.AnnAssign):
        target = parent.targets[0] if isinstance(parent, ast.Assign) else parent.target
        return _last_segment(target)
    if isinstance(parent, ast.keyword):
        return parent.arg
    if isinstance(parent, ast.Dict):
        for key, value in zip(parent.keys, parent.values, strict=True):
            if value is call and isinstance(key, ast.Constant):
                return str(key.value)
    return None


def _closed_names(
    index: ProjectIndex, module: Module, nodes: Iterable[ast.AST], depth: int = 0
) -> set[str]:
    """Names something is closed under in `nodes`: receivers of `.dispose()`/`.aclose()`/...
    (called or passed on), and what is handed to a project helper that closes things."""
    closed: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Attribute) and node.attr in CLOSERS:
            segment = _last_segment(node.value)
            closed.add(segment or "")
        elif isinstance(node, ast.Call) and depth < 2:
            target = index.resolve_function(module, node)
            if target is None:
                continue
            inner = _closed_names(index, target[0], [n for n, _ in own_nodes(target[1])], depth + 1)
            if inner:
                closed |= inner
                for argument in [*node.args, *(k.value for k in node.keywords)]:
                    closed.add(_last_segment(argument) or "")
    return closed


def _aliases(function: Function) -> dict[str | None, set[str | None]]:
    """Names bound to one another in `function` (`app.state.cache = client`): each name with
    every name it was copied to or from."""
    links: dict[str | None, set[str | None]] = {}
    for node, _ in own_nodes(function):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name | ast.Attribute):
            source = _last_segment(node.value)
            for target in node.targets:
                name = _last_segment(target)
                links.setdefault(source, {source}).add(name)
                links.setdefault(name, {name}).add(source)
    return links


def _uses_exit_stack(index: ProjectIndex, module: Module, function: Function) -> bool:
    return any(
        isinstance(node, ast.Call) and index.qualified_name(module, node.func) in EXIT_STACKS
        for node, _ in own_nodes(function)
    )


def _opened(
    index: ProjectIndex, module: Module, function: Function, before: int | None
) -> Iterator[tuple[ast.Call, str, str | None]]:
    """(call, constructor, holder) for resources opened in `function` (before line `before`)
    that are not the context expression of a `with`/`async with`."""
    parents = {id(node): parent for node, parent in own_nodes(function)}
    for node, parent in own_nodes(function):
        if not isinstance(node, ast.Call) or (before is not None and node.lineno >= before):
            continue
        if isinstance(parent, ast.withitem):
            continue
        constructor = _opened_name(index, module, node)
        if constructor is not None:
            yield node, constructor, _holder(parents, node)


def _unclosed_in_lifespans(index: ProjectIndex) -> Iterator[Finding]:
    for module, function in lifespans(index):
        if _uses_exit_stack(index, module, function):
            continue
        yields = [n for n, _ in own_nodes(function) if isinstance(n, ast.Yield | ast.YieldFrom)]
        if not yields:
            continue
        yield_line = min(node.lineno for node in yields)
        after = [n for n, _ in own_nodes(function) if getattr(n, "lineno", 0) > yield_line]
        closed = _closed_names(index, module, after)
        aliases = _aliases(function)
        for call, constructor, holder in _opened(index, module, function, yield_line):
            if (holder is None and closed) or (aliases.get(holder, {holder}) & closed):
                continue
            message = (
                f"`{ast.unparse(call.func)}(...)` ({POOLED[constructor]}) opened in lifespan "
                f"`{function.name}` is never closed after the yield"
            )
            yield finding(LIFESPAN_LEAK, module, call, message)


def _unclosed_in_startup_handlers(index: ProjectIndex) -> Iterator[Finding]:
    closed: set[str] = set()
    for module, function in event_handlers(index, "shutdown"):
        closed |= _closed_names(index, module, [n for n, _ in own_nodes(function)])
    for module, function in event_handlers(index, "startup"):
        if _uses_exit_stack(index, module, function):
            continue
        for call, constructor, holder in _opened(index, module, function, None):
            if (holder is None and closed) or (holder is not None and holder in closed):
                continue
            message = (
                f"`{ast.unparse(call.func)}(...)` ({POOLED[constructor]}) opened in startup "
                f"handler `{function.name}` is closed by no shutdown handler"
            )
            yield finding(LIFESPAN_LEAK, module, call, message)


def check(index: ProjectIndex) -> Iterable[Finding]:
    yield from _created_per_request(index)
    yield from _module_state_writes(index)
    yield from _unclosed_in_lifespans(index)
    yield from _unclosed_in_startup_handlers(index)
