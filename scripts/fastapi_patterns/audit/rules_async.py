"""FPA1xx: blocking calls on the event loop.

FPA101 follows every async entry point (route, dependency, middleware, exception handler,
lifespan) into the project helpers it calls. What ruff's ASYNC rules see (requests/httpx/
urllib calls, `time.sleep`, `open`, subprocess, pathlib I/O written directly in an `async def`)
is reported only when it is reached through a sync helper, where ruff cannot see it; sync
drivers ruff does not know (SQLAlchemy's sync Session and Engine, psycopg2, pymysql, MySQLdb,
sync redis, pymongo, requests sessions) are reported both directly and through helpers.
"""

from __future__ import annotations

import ast
import weakref
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from fastapi_patterns.audit.clients import (
    CONNECTING,
    FACTORIES,
    NO_IO_METHODS,
    RUFF_KINDS,
    SYNC_KINDS,
    TYPES,
)
from fastapi_patterns.audit.entrypoints import Entry, Function, Hop, entries, reach
from fastapi_patterns.audit.model import Finding, Rule
from fastapi_patterns.audit.request_path import finding, module_constant
from fastapi_patterns.audit.walk import own_nodes

if TYPE_CHECKING:
    from fastapi_patterns.audit.project import Module, ProjectIndex

BLOCKING_CALL = Rule(
    code="FPA101",
    name="blocking-call-in-async-path",
    summary="A blocking call runs on the event loop in an async route, dependency, middleware "
    "or lifespan, directly or through a project helper.",
    severity="error",
    reference="references/anti-patterns.md#fpa101-blocking-call-in-async-path",
    fix_hint="Use the async client (AsyncSession, redis.asyncio, httpx.AsyncClient), make the "
    "route a plain `def`, or move the call into `await asyncio.to_thread(...)`.",
)
RULES = [BLOCKING_CALL]

# Calls ruff's ASYNC2xx rules flag when written directly in an `async def`.
_HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request")
RUFF_CALLS: dict[str, str] = {
    **{f"requests.{verb}": "sync HTTP call" for verb in _HTTP_VERBS},
    **{f"httpx.{verb}": "sync HTTP call" for verb in (*_HTTP_VERBS, "stream")},
    "urllib.request.urlopen": "sync HTTP call",
    "time.sleep": "sleep",
    "builtins.open": "sync file I/O",
    "io.open": "sync file I/O",
    **{
        f"subprocess.{name}": "subprocess"
        for name in ("run", "call", "check_call", "check_output", "Popen", "getoutput")
    },
    "os.system": "subprocess",
    "os.popen": "subprocess",
}
PATH_IO_METHODS = frozenset({"read_text", "write_text", "read_bytes", "write_bytes"})
_MAX_TYPE_DEPTH = 6


class _Types:
    """What sync-client kind an expression holds, as far as static reading tells."""

    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self._attributes: dict[tuple[int, str], str | None] = {}

    def annotation(self, module: Module, node: ast.expr | None, depth: int = 0) -> str | None:
        if node is None or depth > _MAX_TYPE_DEPTH:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                node = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                return None
        if isinstance(node, ast.Subscript):
            head = self.index.qualified_name(module, node.value) or ""
            if head.rpartition(".")[2] in {"Annotated", "Optional"}:
                inner = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) else node.slice
                return self.annotation(module, inner, depth + 1)
            return TYPES.get(head)  # a generic such as `MongoClient[dict[str, Any]]`
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self.annotation(module, node.left, depth + 1) or self.annotation(
                module, node.right, depth + 1
            )
        if not isinstance(node, ast.Name | ast.Attribute):
            return None
        name = self.index.qualified_name(module, node)
        if name is None:
            return None
        if name in TYPES:
            return TYPES[name]
        # a module-level alias such as `SessionDep = Annotated[Session, Depends(get_db)]`
        owner_name, _, alias = name.rpartition(".")
        owner = self.index.modules.get(owner_name)
        if owner is None:
            return None
        value = module_constant(owner, ast.Name(id=alias, ctx=ast.Load()))
        if isinstance(value, ast.Subscript):
            return self.annotation(owner, value, depth + 1)
        return None

    def of(
        self, module: Module, scope: Function | None, node: ast.expr, depth: int = 0
    ) -> str | None:
        if depth > _MAX_TYPE_DEPTH or isinstance(node, ast.Await):
            return None
        if isinstance(node, ast.Call):
            return self._call(module, scope, node, depth)
        if isinstance(node, ast.Subscript):
            return self.of(module, scope, node.value, depth + 1)
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == "self" and scope is not None:
                found = self._self_attribute(module, scope, node.attr, depth)
                if found is not None:
                    return found
            base = self.of(module, scope, node.value, depth + 1)
            if base is not None:
                return base
            return self._module_variable(module, node, depth)
        if isinstance(node, ast.Name):
            if scope is not None:
                local = self._local(module, scope, node.id, depth)
                if local is not None:
                    return local or None
            return self._module_variable(module, node, depth)
        return None

    def _call(
        self, module: Module, scope: Function | None, call: ast.Call, depth: int
    ) -> str | None:
        name = self.index.qualified_name(module, call.func)
        if name in FACTORIES:
            return FACTORIES[name]
        if name in TYPES:
            return TYPES[name]
        if isinstance(call.func, ast.Attribute):
            receiver = self.of(module, scope, call.func.value, depth + 1)
            if receiver == "maker":
                return "session"  # sessionmaker.begin() yields a session too
            if receiver is not None:
                return receiver  # a cursor, connection, collection or query of that client
        callee = self.of(module, scope, call.func, depth + 1)
        if callee == "maker":
            return "session"
        target = self.index.resolve_function(module, call)
        if target is not None and depth < _MAX_TYPE_DEPTH:
            home, function = target
            returned = self.annotation(home, function.returns)
            if returned is not None:
                return returned
            for node, _ in own_nodes(function):
                if isinstance(node, ast.Return) and node.value is not None:
                    kind = self.of(home, function, node.value, depth + 1)
                    if kind is not None:
                        return kind
        return None

    def _local(self, module: Module, scope: Function, name: str, depth: int) -> str | None:
        """The kind of a parameter or local variable; "" when it is local but of no known kind
        (so the module-level variable of the same name is not consulted)."""
        args = scope.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            if arg.arg == name:
                return self.annotation(module, arg.annotation) or ""
        bound = _bindings(scope).get(name)
        if bound is None:
            return None
        for how, node in bound:
            kind = None
            if how == "annotation":
                kind = self.annotation(module, node)
            elif how == "value" and node is not None:
                kind = self.of(module, scope, node, depth + 1)
            if kind is not None:
                return kind
        return ""

    def _self_attribute(self, module: Module, scope: Function, attr: str, depth: int) -> str | None:
        """`self.attr`: from the class body's annotation or an assignment in one of its methods."""
        chain = self.index.scopes(module, scope)
        classes = [s for s in chain if isinstance(s, ast.ClassDef)]
        if not classes:
            return None
        key = (id(classes[-1]), attr)
        if key not in self._attributes:
            self._attributes[key] = self._class_attribute(module, classes[-1], attr, depth)
        return self._attributes[key]

    def _class_attribute(
        self, module: Module, cls: ast.ClassDef, attr: str, depth: int
    ) -> str | None:
        for statement in cls.body:
            if isinstance(statement, ast.AnnAssign) and _binds(statement.target, attr):
                return self.annotation(module, statement.annotation)
        for method in cls.body:
            if not isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node, _ in own_nodes(method):
                targets = node.targets if isinstance(node, ast.Assign) else []
                if isinstance(node, ast.AnnAssign):
                    targets = [node.target]
                for target in targets:
                    if (
                        isinstance(target, ast.Attribute)
                        and target.attr == attr
                        and isinstance(target.value, ast.Name)
                        and target.value.id == "self"
                    ):
                        assert isinstance(node, ast.Assign | ast.AnnAssign)
                        kind = None
                        if isinstance(node, ast.AnnAssign):
                            kind = self.annotation(module, node.annotation)
                        if kind is None and node.value is not None:
                            kind = self.of(module, method, node.value, depth + 1)
                        if kind is not None:
                            return kind
        return None

    def _module_variable(self, module: Module, node: ast.expr, depth: int) -> str | None:
        """A project module-level variable (`engine = create_engine(...)` in db.py)."""
        name = self.index.qualified_name(module, node)
        if name is None:
            return None
        owner_name, _, variable = name.rpartition(".")
        owner = self.index.modules.get(owner_name)
        if owner is None or variable not in owner.defined:
            return None
        for statement in owner.tree.body:
            if isinstance(statement, ast.Assign | ast.AnnAssign):
                targets = (
                    statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                )
                if not any(_binds(t, variable) for t in targets):
                    continue
                if isinstance(statement, ast.AnnAssign):
                    kind = self.annotation(owner, statement.annotation)
                    if kind is not None:
                        return kind
                if statement.value is not None:
                    kind = self.of(owner, None, statement.value, depth + 1)
                    if kind is not None:
                        return kind
        return None


# Per function: local name -> how it is bound ("value"/"annotation" with the expression, or
# "opaque" for loop, `async with` and comprehension targets).
_BINDINGS: weakref.WeakKeyDictionary[ast.AST, dict[str, list[tuple[str, ast.expr | None]]]] = (
    weakref.WeakKeyDictionary()
)


def _bindings(scope: Function) -> dict[str, list[tuple[str, ast.expr | None]]]:
    found = _BINDINGS.get(scope)
    if found is not None:
        return found
    found = {}

    def bind(target: ast.expr, how: str, value: ast.expr | None) -> None:
        for name in _names(target):
            found.setdefault(name, []).append((how, value))

    for node, _ in own_nodes(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                bind(target, "value", node.value)
        elif isinstance(node, ast.AnnAssign):
            bind(node.target, "annotation", node.annotation)
            bind(node.target, "value", node.value)
        elif isinstance(node, ast.With):
            for item in node.items:
                if item.optional_vars is not None:
                    bind(item.optional_vars, "value", item.context_expr)
        elif isinstance(node, ast.AsyncWith):
            for item in node.items:
                if item.optional_vars is not None:
                    bind(item.optional_vars, "opaque", None)
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
            bind(node.target, "opaque", None)
    _BINDINGS[scope] = found
    return found


def _names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        return [name for element in target.elts for name in _names(element)]
    return []


def _binds(target: ast.expr, name: str) -> bool:
    if isinstance(target, ast.Name):
        return target.id == name
    if isinstance(target, ast.Tuple | ast.List):
        return any(_binds(element, name) for element in target.elts)
    return False


def _construct(call: ast.Call) -> str:
    """The call as written, shortened: `db.query`, `requests.get`, `client...find_one`."""
    text = ast.unparse(call.func)
    if len(text) <= 40:
        return text
    root = call.func
    while isinstance(root, ast.Attribute | ast.Call | ast.Subscript):
        root = root.func if isinstance(root, ast.Call) else root.value
    attr = call.func.attr if isinstance(call.func, ast.Attribute) else ""
    return f"{ast.unparse(root)}...{attr}"


def _classify(
    types: _Types, module: Module, function: Function, call: ast.Call
) -> tuple[str, bool] | None:
    """(what the blocking call is, whether ruff flags it when written in an `async def`)."""
    index = types.index
    name = index.qualified_name(module, call.func)
    if name in CONNECTING:
        return SYNC_KINDS[FACTORIES[name]], False
    if name in RUFF_CALLS:
        return RUFF_CALLS[name], True
    if not isinstance(call.func, ast.Attribute):
        return None
    method = call.func.attr
    kind = types.of(module, function, call.func.value)
    if kind is not None and kind != "maker" and method not in NO_IO_METHODS:
        return SYNC_KINDS[kind], kind in RUFF_KINDS
    if method in PATH_IO_METHODS and kind is None:
        return "sync file I/O", True
    return None


def _describe(hop: Hop, entry: Entry) -> str:
    if hop.function is entry.function:
        return entry.label
    return f"async function `{hop.function.name}` (reached from {entry.label})"


def _find_blocking_calls(types: _Types, hop: Hop) -> Iterator[tuple[ast.Call, str, bool]]:
    seen_lines: set[int] = set()
    calls = [
        node
        for node, parent in own_nodes(hop.function)
        # an awaited call is an async API
        if isinstance(node, ast.Call) and not isinstance(parent, ast.Await)
    ]
    # in source order, the outermost call of a chain first
    for node in sorted(
        calls, key=lambda call: (call.lineno, call.col_offset, -(call.end_col_offset or 0))
    ):
        found = _classify(types, hop.module, hop.function, node)
        if found is None or node.lineno in seen_lines:
            continue
        seen_lines.add(node.lineno)
        yield node, *found


def check(index: ProjectIndex) -> Iterable[Finding]:
    types = _Types(index)
    reported: set[tuple[str, int, int]] = set()
    # A helper reached from many entry points is read once.
    blocking: dict[int, list[tuple[ast.Call, str, bool]]] = {}

    def _blocking_calls(types: _Types, hop: Hop) -> list[tuple[ast.Call, str, bool]]:
        found = blocking.get(id(hop.function))
        if found is None:
            found = blocking[id(hop.function)] = list(_find_blocking_calls(types, hop))
        return found

    for entry in entries(index):
        if not entry.is_async:
            continue  # FastAPI runs sync routes and dependencies in a thread pool
        for chain in reach(index, entry.module, entry.function):
            hop = chain[-1]
            is_async = isinstance(hop.function, ast.AsyncFunctionDef)
            if is_async:
                for call, what, ruff_sees in _blocking_calls(types, hop):
                    key = (hop.module.relpath, call.lineno, call.col_offset)
                    if ruff_sees or key in reported:
                        continue
                    reported.add(key)
                    message = (
                        f"`{_construct(call)}` ({what}) blocks the event loop in "
                        f"{_describe(hop, entry)}"
                    )
                    yield finding(BLOCKING_CALL, hop.module, call, message)
                continue
            # A sync function on an async path: report at the call that leaves async code.
            last_async = max(
                i for i, h in enumerate(chain) if isinstance(h.function, ast.AsyncFunctionDef)
            )
            caller, site = chain[last_async], chain[last_async + 1]
            assert site.call is not None
            key = (caller.module.relpath, site.call.lineno, site.call.col_offset)
            if key in reported:
                continue
            for call, what, ruff_sees in _blocking_calls(types, hop):
                if ruff_sees and entry.at_startup:
                    continue  # reading config or a model file at startup is fine
                reported.add(key)
                via = ", ".join(f"`{h.function.name}`" for h in chain[last_async + 1 :])
                message = (
                    f"`{_construct(call)}` ({what}) blocks the event loop: called from "
                    f"{_describe(caller, entry)} via {via} ({hop.module.relpath}:{call.lineno})"
                )
                yield finding(BLOCKING_CALL, caller.module, site.call, message)
                break
