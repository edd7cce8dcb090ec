"""The audited project as parsed modules, with just enough name resolution for the rules.

Reads source with `ast` and never imports it. Resolution is static and conservative: a name
resolves through the module's imports and module-level aliases, and through re-exports between
project modules; what cannot be resolved statically resolves to None, so rules stay quiet
rather than guess.
"""

from __future__ import annotations

import ast
import builtins
import functools
import io
import os
import tokenize
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fastapi_patterns.detect.tree import SKIP_DIRS

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
# Migrations are generated code the audit has no advice for; alembic keeps them in versions/.
AUDIT_SKIP_DIRS = SKIP_DIRS | {"migrations", ".nox", ".tox", "env"}
APP_CLASSES = frozenset({"fastapi.FastAPI", "fastapi.applications.FastAPI"})
ROUTER_CLASSES = frozenset({"fastapi.APIRouter", "fastapi.routing.APIRouter"})
ROUTE_DECORATORS = {
    "get": "GET",
    "post": "POST",
    "put": "PUT",
    "patch": "PATCH",
    "delete": "DELETE",
    "options": "OPTIONS",
    "head": "HEAD",
    "trace": "TRACE",
    "api_route": "GET",  # FastAPI's default when `methods` is not given
    "websocket": "WEBSOCKET",
}
ADD_ROUTE_METHODS = {"add_api_route": "GET", "add_api_websocket_route": "WEBSOCKET"}
_BUILTINS = frozenset(dir(builtins))
_QUALIFIED = "_fpa_qualified_name"
_MAX_HOPS = 8  # re-export chains longer than this are not followed (and cycles end)


@dataclass
class Module:
    name: str  # dotted module name as importable from the project root(s)
    path: Path  # absolute
    relpath: str  # POSIX, relative to the audited root
    tree: ast.Module
    source: str
    # local name -> fully qualified name it refers to, from imports and module-level aliases
    imports: dict[str, str]
    # names bound at module level by def/class/assignment (they resolve to f"{name}.{local}")
    defined: set[str] = field(default_factory=set)
    is_package: bool = False


@dataclass
class Route:
    module: Module
    function: FunctionNode
    method: str  # "GET", "POST", ..., "WEBSOCKET"; api_route with several methods: "GET,POST"
    path: str | None  # None when not a string literal
    is_async: bool


def _child_statements(node: ast.AST) -> Iterator[ast.stmt]:
    for name in _STATEMENT_FIELDS:
        for child in getattr(node, name, None) or ():
            if isinstance(child, ast.stmt):
                yield child
            elif isinstance(child, ast.excepthandler | ast.match_case):
                yield from _child_statements(child)


def _read_source(path: Path) -> str:
    """The file's text, honouring a PEP 263 coding line like the interpreter does."""
    data = path.read_bytes()
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding)


def _skipped_dir(dirpath: str, name: str) -> bool:
    if name in AUDIT_SKIP_DIRS or name.endswith(".egg-info"):
        return True
    # alembic's versions/ sits next to its env.py
    return name == "versions" and os.path.exists(os.path.join(dirpath, "env.py"))


def _python_files(start: Path) -> Iterator[Path]:
    if start.is_file():
        if start.suffix == ".py":
            yield start
        return
    for dirpath, dirnames, filenames in os.walk(start):
        dirnames[:] = sorted(d for d in dirnames if not _skipped_dir(dirpath, d))
        for name in sorted(filenames):
            if name.endswith(".py"):
                yield Path(dirpath, name)


_STATEMENT_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")


def statements(node: ast.AST) -> Iterator[ast.stmt]:
    """Every statement below `node`, in nested bodies too (if/try/with/match/def/class), without
    visiting expressions: defs, classes, imports and assignments are all statements, and this is
    several times cheaper than ast.walk."""
    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        for name in _STATEMENT_FIELDS:
            children = getattr(current, name, None)
            if children:
                for child in reversed(children):
                    if isinstance(child, ast.stmt):
                        yield child
                    stack.append(child)


@functools.lru_cache(maxsize=4096)
def _is_package_dir(folder: Path) -> bool:
    return (folder / "__init__.py").exists()


def _module_name(path: Path, roots: Sequence[Path]) -> tuple[str, bool]:
    """Dotted name: from the top of the package chain (folders with __init__.py) when the file is
    in a regular package, else relative to the innermost import root (the root, or src/)."""
    is_package = path.name == "__init__.py"
    parts = [] if is_package else [path.stem]
    folder = path.parent
    if _is_package_dir(folder):
        while _is_package_dir(folder) and folder not in roots:
            parts.insert(0, folder.name)
            folder = folder.parent
        return ".".join(parts) or path.parent.name, is_package
    root = next((r for r in roots if folder == r or r in folder.parents), roots[-1])
    rel = folder.relative_to(root).parts if (folder == root or root in folder.parents) else ()
    return ".".join([*rel, *parts]) or path.parent.name, is_package


def _collect_imports(
    module_name: str, is_package: bool, tree: ast.Module, source: str
) -> dict[str, str]:
    """Imports anywhere in the module (local imports count: they name the same things), with
    module-level ones winning over nested ones of the same local name."""
    package = module_name if is_package else module_name.rpartition(".")[0]
    top: dict[str, str] = {}
    nested: dict[str, str] = {}
    top_level = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    top_ids = {id(node) for node in top_level}
    # Every import statement holds the word: when the text has no more of them than the top
    # level has statements, there are no nested imports to look for (most modules).
    deeper = source.count("import") > len(top_level)
    for node in top_level:  # in file order: a later import of a name rebinds it
        _add_import(top, node, package)
    if deeper:
        for statement in statements(tree):
            if isinstance(statement, ast.Import | ast.ImportFrom) and id(statement) not in top_ids:
                _add_import(nested, statement, package)
    return {**nested, **top}


def _add_import(target: dict[str, str], node: ast.Import | ast.ImportFrom, package: str) -> None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                target[alias.asname] = alias.name
            else:
                first = alias.name.partition(".")[0]
                target[first] = first
        return
    base = node.module or ""
    if node.level:
        anchor = package.split(".") if package else []
        anchor = anchor[: max(0, len(anchor) - (node.level - 1))]
        base = ".".join([*anchor, base] if base else anchor)
    for alias in node.names:
        if alias.name != "*":
            target[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name


def _bound_names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _bound_names(element)


def _module_definitions(tree: ast.Module) -> set[str]:
    defined: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                defined.update(_bound_names(target))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            defined.update(_bound_names(node.target))
    return defined


def _dotted(node: ast.expr) -> list[str] | None:
    """`a.b.c` -> ["a", "b", "c"]; None for anything that is not a plain name chain."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def _string(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _unwrap_annotation(node: ast.expr | None) -> ast.expr | None:
    """`Annotated[X, ...]` -> X; `X | None` / `Optional[X]` -> X; a string annotation parsed."""
    if node is None:
        return None
    text = _string(node)
    if text is not None:
        try:
            node = ast.parse(text, mode="eval").body
        except SyntaxError:
            return None
    if isinstance(node, ast.Subscript):
        head = _dotted(node.value)
        if head and head[-1] in {"Annotated", "Optional"}:
            inner = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) else node.slice
            return _unwrap_annotation(inner)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        for side in (node.left, node.right):
            if not (isinstance(side, ast.Constant) and side.value is None):
                return _unwrap_annotation(side)
    return node


def _statement_start(statement: ast.stmt) -> tuple[int, int]:
    """Where a statement's text begins: at its first decorator's `@` when it has any."""
    decorators = getattr(statement, "decorator_list", None)
    if decorators:
        return decorators[0].lineno, decorators[0].col_offset - 1
    return statement.lineno, statement.col_offset


class _Scopes:
    """For one module: where each function's and class's body starts and ends, so the scopes
    enclosing a node are found from its position (decorators, defaults, annotations and bases,
    which run in the enclosing scope, lie outside the body)."""

    def __init__(self, tree: ast.Module) -> None:
        self.spans: list[tuple[tuple[int, int], tuple[int, int], ast.AST]] = []
        for node in statements(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                # the body: decorators, defaults, annotations and bases come before it
                start = _statement_start(node.body[0])
                end = (node.end_lineno or node.lineno, node.end_col_offset or 0)
                self.spans.append((start, end, node))
        self.spans.sort(key=lambda span: span[0])
        self.fallback: dict[int, tuple[ast.AST, ...]] | None = None
        self.tree = tree

    def chain(self, node: ast.AST) -> tuple[ast.AST, ...]:
        line = getattr(node, "lineno", None)
        if line is None:  # `arguments`, `comprehension`: no position, walk the tree once
            return self._by_walk().get(id(node), ())
        start = (line, getattr(node, "col_offset", 0))
        end = (getattr(node, "end_lineno", None) or line, getattr(node, "end_col_offset", 0) or 0)
        found: list[ast.AST] = []
        for span_start, span_end, scope in self.spans:
            if span_start > start:
                break
            if scope is not node and span_start <= start and end <= span_end:
                found.append(scope)
        return tuple(found)

    def _by_walk(self) -> dict[int, tuple[ast.AST, ...]]:
        if self.fallback is None:
            self.fallback = {}
            self._visit(self.tree, ())
        return self.fallback

    def _visit(self, node: ast.AST, chain: tuple[ast.AST, ...]) -> None:
        assert self.fallback is not None
        for child in ast.iter_child_nodes(node):
            self.fallback[id(child)] = chain
            inner = chain
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = (*chain, child)
            self._visit(child, inner)


class ProjectIndex:
    def __init__(self, root: Path, modules: dict[str, Module], warnings: list[str]) -> None:
        self.root = root
        self.modules = modules
        self.warnings = warnings
        self._suffixes = self._suffix_aliases()
        self._functions: dict[str, tuple[Module, FunctionNode]] | None = None
        self._classes: dict[str, tuple[Module, ast.ClassDef]] | None = None
        self._scopes: dict[str, _Scopes] = {}
        self._routes: list[Route] | None = None
        self._instances: dict[str, dict[int, dict[str, str]]] | None = None
        self._locals: dict[int, dict[str, str | None]] = {}
        self._canonical: dict[str, str] = {}
        # set once the aliases are in: from then on a node's qualified name cannot change
        self._sealed: object | None = None

    # -- names -------------------------------------------------------------------------------

    def _suffix_aliases(self) -> dict[str, str]:
        """`app.core.config` -> `backend.app.core.config` when the project is audited from above
        its import root; only unambiguous suffixes of two or more parts (never a bare `time`)."""
        seen: dict[str, str | None] = {}
        for name in self.modules:
            parts = name.split(".")
            for start in range(1, len(parts) - 1):
                suffix = ".".join(parts[start:])
                seen[suffix] = None if suffix in seen and seen[suffix] != name else name
        return {k: v for k, v in seen.items() if v is not None and k not in self.modules}

    def _project_module(self, name: str) -> str | None:
        if name in self.modules:
            return name
        return self._suffixes.get(name)

    def canonical(self, dotted: str) -> str:
        """Follow re-exports between project modules: `pkg.api.router`, where pkg/api/__init__.py
        says `from .routes import router`, becomes `pkg.api.routes.router`."""
        found = self._canonical.get(dotted)
        if found is None:
            found = self._canonical[dotted] = self._follow(dotted)
        return found

    def _follow(self, dotted: str) -> str:
        for _ in range(_MAX_HOPS):
            parts = dotted.split(".")
            for cut in range(len(parts), 0, -1):
                owner = self._project_module(".".join(parts[:cut]))
                if owner is not None:
                    break
            else:
                return dotted
            rest = parts[cut:]
            dotted = ".".join([owner, *rest])
            if not rest:
                return dotted
            module = self.modules[owner]
            head = rest[0]
            if head in module.defined or head not in module.imports:
                return dotted
            dotted = ".".join([module.imports[head], *rest[1:]])
        return dotted

    def qualified_name(self, module: Module, node: ast.expr) -> str | None:
        """Resolve a Name/Attribute (`requests.get`, `sa.create_engine`, `Session`) to a dotted
        name via the module's imports; names defined in the module resolve to
        f"{module.name}.{name}", unshadowed builtins to f"builtins.{name}"."""
        # Rules ask about the same nodes again and again: the answer is kept on the node (it
        # belongs to one module's tree), marked with this index's seal.
        cached: tuple[object, str | None] | None = getattr(node, _QUALIFIED, None)
        if cached is not None and cached[0] is self._sealed and self._sealed is not None:
            return cached[1]
        found = self._qualified_name(module, node)
        if self._sealed is not None:
            setattr(node, _QUALIFIED, (self._sealed, found))
        return found

    def _qualified_name(self, module: Module, node: ast.expr) -> str | None:
        parts = _dotted(node)
        if parts is None:
            return None
        head, rest = parts[0], parts[1:]
        if head in module.imports:
            return self.canonical(".".join([module.imports[head], *rest]))
        if head in module.defined:
            return self.canonical(".".join([module.name, head, *rest]))
        if head in _BUILTINS:
            return ".".join(["builtins", head, *rest])
        return None

    # -- functions ---------------------------------------------------------------------------

    def scopes(self, module: Module, node: ast.AST) -> tuple[ast.AST, ...]:
        """The functions and classes enclosing `node` in `module`, outermost first."""
        scopes = self._scopes.get(module.name)
        if scopes is None:
            scopes = self._scopes[module.name] = _Scopes(module.tree)
        return scopes.chain(node)

    def functions(self) -> Iterable[tuple[Module, FunctionNode, str]]:
        """Every function and method in the project: (module, node, qualified name), where the
        name is `module.func`, `module.Class.method` or `module.outer.inner`."""
        for module in self.modules.values():
            yield from self._functions_in(module, module.tree, module.name)

    def _functions_in(
        self, module: Module, node: ast.AST, prefix: str
    ) -> Iterator[tuple[Module, FunctionNode, str]]:
        for child in _child_statements(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                qualname = f"{prefix}.{child.name}"
                yield module, child, qualname
                yield from self._functions_in(module, child, qualname)
            elif isinstance(child, ast.ClassDef):
                yield from self._functions_in(module, child, f"{prefix}.{child.name}")
            else:
                yield from self._functions_in(module, child, prefix)

    def _function_table(self) -> dict[str, tuple[Module, FunctionNode]]:
        if self._functions is None:
            self._functions = {qn: (m, f) for m, f, qn in self.functions()}
            self._classes = {}
            for module in self.modules.values():
                self._collect_classes(module, module.tree, module.name)
        return self._functions

    def _collect_classes(self, module: Module, node: ast.AST, prefix: str) -> None:
        assert self._classes is not None
        for child in _child_statements(node):
            if isinstance(child, ast.ClassDef):
                qualname = f"{prefix}.{child.name}"
                self._classes[qualname] = (module, child)
                self._collect_classes(module, child, qualname)
            elif not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                self._collect_classes(module, child, prefix)

    def _method(
        self, class_qn: str, name: str, depth: int = 0
    ) -> tuple[Module, FunctionNode] | None:
        """`name` on the project class `class_qn` or, failing that, on its project base classes."""
        table = self._function_table()
        assert self._classes is not None
        found = table.get(f"{class_qn}.{name}")
        if found is not None or depth > _MAX_HOPS or class_qn not in self._classes:
            return found
        module, cls = self._classes[class_qn]
        for base in cls.bases:
            base_qn = self.qualified_name(module, base)
            if base_qn is not None and (hit := self._method(base_qn, name, depth + 1)):
                return hit
        return None

    def _class_qn(self, module: Module, node: ast.expr | None) -> str | None:
        self._function_table()
        assert self._classes is not None
        if node is None:
            return None
        qn = self.qualified_name(module, node)
        return qn if qn in self._classes else None

    def _local_class(self, module: Module, name: str, scope: FunctionNode) -> str | None:
        """The project class of a local `name` in `scope`: an annotated parameter (`svc:
        Annotated[UserService, Depends()]`) or an assignment `name = UserService(...)`."""
        key = id(scope)
        table = self._locals.get(key)
        if table is None:
            table = self._locals[key] = self._local_classes(module, scope)
        return table.get(name)

    def _local_classes(self, module: Module, scope: FunctionNode) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for node in statements(scope):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                for target in node.targets:
                    for name in _bound_names(target):
                        found.setdefault(name, self._class_qn(module, node.value.func))
            elif isinstance(node, ast.AnnAssign):
                for name in _bound_names(node.target):
                    found.setdefault(
                        name, self._class_qn(module, _unwrap_annotation(node.annotation))
                    )
        args = scope.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            found[arg.arg] = self._class_qn(module, _unwrap_annotation(arg.annotation))
        return found

    def resolve_reference(
        self, module: Module, expr: ast.expr, at: ast.AST | None = None
    ) -> tuple[Module, FunctionNode] | None:
        """The project function an expression names (`helper`, `mod.helper`, `self.method`,
        `Service.method`, `service.method` for a typed local, a helper nested in an enclosing
        function). `at` is where the expression appears (default: `expr` itself)."""
        table = self._function_table()
        chain = self.scopes(module, at if at is not None else expr)
        functions = [s for s in chain if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)]
        parts = _dotted(expr)
        if parts is None:
            return None
        if len(parts) == 1:
            # a helper defined in an enclosing function shadows module-level names
            for scope in reversed(functions):
                for child in ast.iter_child_nodes(scope):
                    if (
                        isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
                        and child.name == parts[0]
                    ):
                        return module, child
        if len(parts) == 2 and functions:
            owner, attr = parts
            innermost = functions[-1]
            if owner in {"self", "cls"}:
                class_qn = self._enclosing_class_qn(module, chain)
                return self._method(class_qn, attr) if class_qn else None
            class_qn = self._local_class(module, owner, innermost)
            if class_qn is not None:
                return self._method(class_qn, attr)
        qn = self.qualified_name(module, expr)
        if qn is None:
            return None
        if qn in table:
            return table[qn]
        owner_qn, _, attr = qn.rpartition(".")
        if owner_qn and self._class_qn_exists(owner_qn):
            return self._method(owner_qn, attr)
        return None

    def _class_qn_exists(self, qn: str) -> bool:
        self._function_table()
        assert self._classes is not None
        return qn in self._classes

    def _enclosing_class_qn(self, module: Module, chain: tuple[ast.AST, ...]) -> str | None:
        """The class whose method (or a function nested in it) holds the code at `chain`; only
        classes at module level or nested in classes have a qualified name we can look up."""
        classes: list[str] = []
        for scope in chain:
            if isinstance(scope, ast.ClassDef):
                classes.append(scope.name)
            elif classes:
                return ".".join([module.name, *classes])
            else:
                return None
        return None

    def resolve_function(
        self, module: Module, call: ast.Call
    ) -> tuple[Module, FunctionNode] | None:
        """The project function (module-level def, or method via `self.x`/`ClassName.x` when
        resolvable) a call targets."""
        return self.resolve_reference(module, call.func, at=call)

    # -- apps and routes ---------------------------------------------------------------------

    def _instance_table(self) -> dict[str, dict[int, dict[str, str]]]:
        """Per module, per scope (id of the function, 0 for module level): variable -> "app" or
        "router" for `X = FastAPI(...)` / `X = APIRouter(...)`."""
        if self._instances is None:
            self._instances = {}
            for module in self.modules.values():
                found: dict[int, dict[str, str]] = {}
                for node in statements(module.tree):
                    value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
                    if not isinstance(value, ast.Call):
                        continue
                    kind = self._instance_kind(module, value.func)
                    if kind is None:
                        continue
                    assert isinstance(node, ast.Assign | ast.AnnAssign)
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    chain = self.scopes(module, node)
                    functions = [
                        s for s in chain if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)
                    ]
                    key = id(functions[-1]) if functions else 0
                    for target in targets:
                        for name in _bound_names(target):
                            found.setdefault(key, {})[name] = kind
                if found:
                    self._instances[module.name] = found
        return self._instances

    def _instance_kind(self, module: Module, func: ast.expr) -> str | None:
        qn = self.qualified_name(module, func)
        if qn in APP_CLASSES:
            return "app"
        if qn in ROUTER_CLASSES:
            return "router"
        return None

    def _is_app_or_router(self, module: Module, expr: ast.expr, at: ast.AST) -> bool:
        table = self._instance_table()
        if isinstance(expr, ast.Name):
            for scope in reversed(self.scopes(module, at)):
                if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
                    local = table.get(module.name, {}).get(id(scope), {})
                    if expr.id in local:
                        return True
        qn = self.qualified_name(module, expr)
        if qn is None:
            return False
        owner, _, name = qn.rpartition(".")
        return name in table.get(owner, {}).get(0, {})

    def apps(self) -> list[tuple[Module, str]]:
        """FastAPI() instances: (module, variable name), also those made inside factories."""
        found: list[tuple[Module, str]] = []
        for module_name, scopes in self._instance_table().items():
            for variables in scopes.values():
                for name, kind in variables.items():
                    if kind == "app":
                        found.append((self.modules[module_name], name))
        return sorted(found, key=lambda item: (item[0].relpath, item[1]))

    def routes(self) -> list[Route]:
        """Endpoints: functions decorated with `X.get/post/.../api_route/websocket(...)` where X is
        a FastAPI() or APIRouter() instance (module-level, imported, aliased, or local to a
        factory), plus `X.add_api_route(path, func)`."""
        if self._routes is None:
            self._routes = []
            for module, function, _ in self.functions():
                for decorator in function.decorator_list:
                    route = self._decorator_route(module, function, decorator)
                    if route is not None:
                        self._routes.append(route)
            for module in self.modules.values():
                if "add_api_" not in module.source:  # cheap: most modules add no routes
                    continue
                for node in ast.walk(module.tree):
                    if isinstance(node, ast.Call):
                        self._routes.extend(self._added_route(module, node))
        return self._routes

    def _decorator_route(
        self, module: Module, function: FunctionNode, decorator: ast.expr
    ) -> Route | None:
        if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
            return None
        verb = decorator.func.attr
        if verb not in ROUTE_DECORATORS:
            return None
        if not self._is_app_or_router(module, decorator.func.value, decorator):
            return None
        return Route(
            module=module,
            function=function,
            method=_methods(decorator, ROUTE_DECORATORS[verb]),
            path=_route_path(decorator),
            is_async=isinstance(function, ast.AsyncFunctionDef),
        )

    def _added_route(self, module: Module, call: ast.Call) -> Iterator[Route]:
        if not isinstance(call.func, ast.Attribute) or call.func.attr not in ADD_ROUTE_METHODS:
            return
        if not self._is_app_or_router(module, call.func.value, call):
            return
        endpoint = call.args[1] if len(call.args) > 1 else _keyword(call, "endpoint")
        if endpoint is None:
            return
        target = self.resolve_reference(module, endpoint, at=call)
        if target is None:
            return
        yield Route(
            module=target[0],
            function=target[1],
            method=_methods(call, ADD_ROUTE_METHODS[call.func.attr]),
            path=_route_path(call),
            is_async=isinstance(target[1], ast.AsyncFunctionDef),
        )


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _route_path(call: ast.Call) -> str | None:
    return _string(call.args[0] if call.args else _keyword(call, "path"))


def _methods(call: ast.Call, default: str) -> str:
    methods = _keyword(call, "methods")
    if isinstance(methods, ast.List | ast.Tuple | ast.Set):
        names = [_string(e) for e in methods.elts]
        if names and all(names):
            return ",".join(n.upper() for n in names if n)
    return default


def _import_roots(root: Path) -> list[Path]:
    """Where dotted names start: src/ first when the project uses the src layout."""
    src = root / "src"
    return [src, root] if src.is_dir() else [root]


def source_files(root: Path, paths: Sequence[Path] | None = None) -> list[Path]:
    """The .py files below `root` (or below the given paths, which lie inside it), each once,
    skipping virtualenvs, node_modules, migrations and caches."""
    found: dict[Path, None] = {}
    for start in paths or [root]:
        for path in _python_files(start.resolve()):
            found.setdefault(path)
    return list(found)


def build_index(
    root: Path, paths: Sequence[Path] | None = None, files: Sequence[Path] | None = None
) -> ProjectIndex:
    """Parse the .py files below `root` (or below the given paths, or exactly `files` as
    `source_files` lists them). A file that cannot be read or parsed becomes a warning."""
    root = root.resolve()
    roots = _import_roots(root)
    warnings: list[str] = []
    modules: dict[str, Module] = {}
    for path in files if files is not None else source_files(root, paths):
        relpath = Path(os.path.relpath(path, root)).as_posix()
        try:
            source = _read_source(path)
            tree = ast.parse(source, filename=relpath)
        except SyntaxError as error:
            where = f"{relpath}:{error.lineno}" if error.lineno else relpath
            warnings.append(f"{where}: does not parse ({error.msg}); skipped")
            continue
        except (RecursionError, MemoryError):
            warnings.append(f"{relpath}: too deeply nested to parse; skipped")
            continue
        except (OSError, UnicodeDecodeError, ValueError) as error:
            reason = error.strerror if isinstance(error, OSError) else str(error)
            warnings.append(f"{relpath}: cannot be read ({reason}); skipped")
            continue
        name, is_package = _module_name(path, roots)
        if name in modules:
            # two files claim one dotted name (e.g. scripts folders): keep both, apart
            name = f"{name}@{relpath}"
        modules[name] = Module(
            name=name,
            path=path,
            relpath=relpath,
            tree=tree,
            source=source,
            imports=_collect_imports(name, is_package, tree, source),
            defined=_module_definitions(tree),
            is_package=is_package,
        )
    index = ProjectIndex(root, modules, warnings)
    _add_aliases(index)
    index._sealed = object()
    return index


def _add_aliases(index: ProjectIndex) -> None:
    """Module-level `r = redis` / `Session = orm.Session` / `api = router` make `r` an alias."""
    for module in index.modules.values():
        for node in module.tree.body:
            if not isinstance(node, ast.Assign) or len(node.targets) != 1:
                continue
            target = node.targets[0]
            if not isinstance(target, ast.Name):
                continue
            if not isinstance(node.value, ast.Name | ast.Attribute):
                continue
            qn = index.qualified_name(module, node.value)
            if qn is not None and not qn.startswith("builtins."):
                module.imports[target.id] = qn
                module.defined.discard(target.id)
