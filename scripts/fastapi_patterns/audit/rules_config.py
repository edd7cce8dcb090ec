"""FPA31x: clients, services, request parameters and settings written the old way."""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi_patterns.audit.model import Finding, Rule
from fastapi_patterns.audit.project import AUDIT_SKIP_DIRS as SKIPPED
from fastapi_patterns.audit.request_path import (
    Function,
    dependency_functions,
    dotted,
    finding,
    imports_any,
    nodes,
    request_functions,
)
from fastapi_patterns.audit.walk import subtree

if TYPE_CHECKING:
    from fastapi_patterns.audit.project import Module, ProjectIndex

REFERENCE = "references/anti-patterns.md#"

REDIS_CLOSE = Rule(
    code="FPA311",
    name="redis-close",
    summary="`await client.close()` on a redis-py asyncio client (deprecated).",
    severity="warning",
    reference=REFERENCE + "fpa311-redis-close",
    fix_hint="Use `await client.aclose()`.",
    fixable=True,
)
INIT_TYPO = Rule(
    code="FPA312",
    name="init-instead-of-constructor",
    summary="A class defines `init(self, ...)` that sets attributes but no `__init__`.",
    severity="error",
    reference=REFERENCE + "fpa312-init-instead-of-constructor",
    fix_hint="Rename `init` to `__init__`; Python never calls `init`.",
)
REQUEST_DEFAULT_NONE = Rule(
    code="FPA313",
    name="request-default-none",
    summary="`request: Request = None` in a route or dependency.",
    severity="warning",
    reference=REFERENCE + "fpa313-request-default-none",
    fix_hint="Declare `request: Request` without a default; FastAPI always passes it.",
)
ENVIRON_IN_HANDLER = Rule(
    code="FPA314",
    name="environ-in-handler",
    summary="os.environ/os.getenv read while handling a request.",
    severity="warning",
    reference=REFERENCE + "fpa314-environ-in-handler",
    fix_hint="Read configuration once into pydantic settings and inject them (SettingsDep).",
)
CLASS_CONFIG = Rule(
    code="FPA315",
    name="pydantic-class-config",
    summary="`class Config:` inside a pydantic v2 model or settings class (deprecated).",
    severity="warning",
    reference=REFERENCE + "fpa315-pydantic-class-config",
    fix_hint="Use `model_config = SettingsConfigDict(...)` (or `ConfigDict(...)` for models).",
)

RULES = [REDIS_CLOSE, INIT_TYPO, REQUEST_DEFAULT_NONE, ENVIRON_IN_HANDLER, CLASS_CONFIG]


def check(index: ProjectIndex) -> Iterable[Finding]:
    redis_project = any(_imports_redis_asyncio(module) for module in index.modules.values())
    for module in index.modules.values():
        if redis_project:
            yield from _redis_close(index, module)
        yield from _init_typo(index, module)
    yield from _request_default_none(index)
    yield from _environ_in_handlers(index)
    yield from _class_config(index)


# FPA311 ---------------------------------------------------------------------------------

REDIS_ASYNC = ("redis.asyncio",)


def _redis_close(index: ProjectIndex, module: Module) -> Iterator[Finding]:
    """In a project using redis.asyncio: receivers typed or built as its client in this
    module, and, unless the module uses the older aioredis (whose close() was right),
    receivers whose name says redis (`app.redis`, `self._redis_client`)."""
    if imports_any(module, ("aioredis",)):
        return
    clients = _redis_client_names(index, module) if _imports_redis_asyncio(module) else set()
    for node in nodes(index, module, ast.Await):
        if not isinstance(node.value, ast.Call):
            continue
        func = node.value.func
        if not (isinstance(func, ast.Attribute) and func.attr == "close") or node.value.args:
            continue
        receiver = dotted(func.value)
        if receiver is None:
            continue
        last = receiver.rpartition(".")[2]
        if _bare(receiver) in clients or last in clients or "redis" in last.lower():
            yield finding(
                REDIS_CLOSE, module, node.value, f"`await {receiver}.close()` is deprecated"
            )


def _imports_redis_asyncio(module: Module) -> bool:
    """`import redis.asyncio as redis`, `from redis.asyncio import Redis`; plain `import redis`
    followed by `redis.asyncio.Redis(...)` in the source counts too."""
    if imports_any(module, REDIS_ASYNC):
        return True
    return "redis" in module.imports.values() and "redis.asyncio" in module.source


def _bare(receiver: str) -> str:
    """`self._redis` and `app.state.redis` keep their last two parts; names stay as they are."""
    parts = receiver.split(".")
    return ".".join(parts[-2:]) if len(parts) > 1 else receiver


def _redis_client_names(index: ProjectIndex, module: Module) -> set[str]:
    """Targets assigned a redis.asyncio client or annotated with its class, in this module."""
    names: set[str] = set()
    candidates: list[ast.AST] = [
        *nodes(index, module, ast.Assign),
        *nodes(index, module, ast.AnnAssign),
        *nodes(index, module, ast.arg),
    ]
    for node in candidates:
        value: ast.expr | None = None
        targets: list[ast.expr] = []
        annotation: ast.expr | None = None
        if isinstance(node, ast.Assign):
            value, targets = node.value, node.targets
        elif isinstance(node, ast.AnnAssign):
            value, targets, annotation = node.value, [node.target], node.annotation
        elif isinstance(node, ast.arg):
            annotation, targets = node.annotation, [ast.Name(id=node.arg)]
        else:
            continue
        typed = annotation is not None and any(
            _is_redis_asyncio(index, module, part)
            for part in subtree(annotation)
            if isinstance(part, ast.Name | ast.Attribute)
        )
        made = isinstance(value, ast.Call) and _is_redis_asyncio(index, module, value.func)
        if typed or made:
            for target in targets:
                text = dotted(target)
                if text:
                    names.update({_bare(text), text.rpartition(".")[2]})
    return names


def _is_redis_asyncio(index: ProjectIndex, module: Module, node: ast.expr) -> bool:
    name = (
        index.qualified_name(module, node) if isinstance(node, ast.Name | ast.Attribute) else None
    )
    return name is not None and name.startswith("redis.asyncio")


# FPA312 ---------------------------------------------------------------------------------


def _init_typo(index: ProjectIndex, module: Module) -> Iterator[Finding]:
    for node in nodes(index, module, ast.ClassDef):
        methods = {
            item.name: item
            for item in node.body
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        init = methods.get("init")
        if init is None or "__init__" in methods or not init.args.args:
            continue
        if not _assigns_self(init) or _called_as_hook(index, module):
            continue
        yield finding(
            INIT_TYPO,
            module,
            init,
            f"`{node.name}.init(self, ...)` is not a constructor; Python never calls it",
        )


def _assigns_self(function: Function) -> bool:
    self_name = function.args.args[0].arg
    for node in subtree(function):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == self_name
            ):
                return True
    return False


def _called_as_hook(index: ProjectIndex, module: Module) -> bool:
    """A base class whose `__init__` calls `self.init(...)` makes `init` a deliberate hook.
    Only asked for classes that define `init`, which are rare: no cache needed."""
    for other in index.modules.values():
        for function in nodes(index, other, ast.FunctionDef):
            if function.name == "__init__" and _calls_init(function):
                return True
    return False


def _calls_init(function: Function) -> bool:
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "init"
        for node in subtree(function)
    )


# FPA313 ---------------------------------------------------------------------------------

REQUEST_CLASSES = frozenset(
    {"fastapi.Request", "starlette.requests.Request", "fastapi.requests.Request"}
)


def _request_default_none(index: ProjectIndex) -> Iterator[Finding]:
    handlers = {id(route.function): (route.module, route.function) for route in index.routes()}
    for module, function in dependency_functions(index):
        handlers[id(function)] = (module, function)
    for module, function in handlers.values():
        for param, default in _params_with_defaults(function):
            if default is None or not (isinstance(default, ast.Constant) and default.value is None):
                continue
            if param.annotation is not None and _names_request(index, module, param.annotation):
                yield finding(
                    REQUEST_DEFAULT_NONE,
                    module,
                    param,
                    f"`{param.arg}: {ast.unparse(param.annotation)} = None` in `{function.name}`",
                )


def _params_with_defaults(function: Function) -> Iterator[tuple[ast.arg, ast.expr | None]]:
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    padding: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults))
    yield from zip(positional, [*padding, *arguments.defaults], strict=True)
    yield from zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)


def _names_request(index: ProjectIndex, module: Module, annotation: ast.expr) -> bool:
    """`Request`, `Optional[Request]`, `Request | None`, `Union[Request, None]`, or as a string."""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return False
    if isinstance(annotation, ast.Name | ast.Attribute):
        return index.qualified_name(module, annotation) in REQUEST_CLASSES
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return _names_request(index, module, annotation.left) or _names_request(
            index, module, annotation.right
        )
    if isinstance(annotation, ast.Subscript):
        head = index.qualified_name(module, annotation.value) or ""
        if head.rpartition(".")[2] in ("Optional", "Union"):
            inner = annotation.slice
            elements = inner.elts if isinstance(inner, ast.Tuple) else [inner]
            return any(_names_request(index, module, element) for element in elements)
    return False


# FPA314 ---------------------------------------------------------------------------------


def _environ_in_handlers(index: ProjectIndex) -> Iterator[Finding]:
    seen: set[tuple[str, int, int]] = set()
    for module, function in request_functions(index):
        for node in subtree(function):
            read = _environ_read(index, module, node)
            if read is None:
                continue
            key = (module.relpath, node.lineno, node.col_offset)  # type: ignore[attr-defined]
            if key in seen:
                continue
            seen.add(key)
            yield finding(
                ENVIRON_IN_HANDLER,
                module,
                node,
                f"`{read}` in `{function.name}` reads configuration on every request",
            )


def _environ_read(index: ProjectIndex, module: Module, node: ast.AST) -> str | None:
    """`os.environ[...]`, `os.environ.get(...)`, `os.getenv(...)` (any import spelling)."""
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.ctx, ast.Load)
        and _qualified(index, module, node.value) == "os.environ"
    ):
        return "os.environ[...]"
    if isinstance(node, ast.Call):
        name = _qualified(index, module, node.func)
        if name in ("os.getenv", "os.environ.get", "os.getenvb"):
            return f"{name}(...)"
    return None


def _qualified(index: ProjectIndex, module: Module, node: ast.expr) -> str | None:
    return (
        index.qualified_name(module, node) if isinstance(node, ast.Name | ast.Attribute) else None
    )


# FPA315 ---------------------------------------------------------------------------------

PYDANTIC_ROOTS = frozenset(
    {
        "pydantic.BaseModel",
        "pydantic.main.BaseModel",
        "pydantic_settings.BaseSettings",
        "pydantic_settings.main.BaseSettings",
        "sqlmodel.SQLModel",
    }
)
# Pins that mean pydantic 1, where `class Config` is the only spelling: pydantic below 2
# (pip and poetry spellings), or FastAPI below 0.100, the first release supporting pydantic 2.
PYDANTIC_V1_PINS = (
    re.compile(r"""\bpydantic(?![-\w])[^\n,;]*?(==\s*1\.|~=\s*1\.|<\s*2|=\s*["']\^?~?1\.)"""),
    re.compile(r"""\bpydantic(?![-\w])(\[[\w,]*\])?\s*>=\s*1\.[0-9.]*\s*,\s*<\s*2"""),
    re.compile(
        r"""\bfastapi(?![-\w])[^\n,;]*?(==|~=|<=|=\s*["']\^?~?)\s*0\.[0-9]{1,2}\b(?!\.?[0-9]{3})"""
    ),
)
DEPENDENCY_FILE = re.compile(
    r"^(pyproject\.toml|requirements[\w.-]*\.(txt|in)|setup\.(py|cfg)|Pipfile)$"
)
# Dependency files are looked for this deep below the audited root (monorepos, templates).
DEPENDENCY_DEPTH = 3


def _class_config(index: ProjectIndex) -> Iterator[Finding]:
    if _uses_pydantic_v1(index):
        return
    models = _pydantic_classes(index)
    for module in index.modules.values():
        for node in nodes(index, module, ast.ClassDef):
            if id(node) not in models:
                continue
            for item in node.body:
                if isinstance(item, ast.ClassDef) and item.name == "Config":
                    yield finding(
                        CLASS_CONFIG,
                        module,
                        item,
                        f"`class Config:` in `{node.name}`; pydantic v2 reads `model_config`",
                    )


def _uses_pydantic_v1(index: ProjectIndex) -> bool:
    for module in index.modules.values():
        targets = module.imports.values()
        if any(t == "pydantic.BaseSettings" or t.startswith("pydantic.v1") for t in targets):
            return True
    for path in _dependency_files(index.root):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if any(pin.search(text) for pin in PYDANTIC_V1_PINS):
            return True
    return False


def _dependency_files(root: Path) -> Iterator[Path]:
    for directory, subdirectories, files in os.walk(root):
        depth = len(Path(directory).relative_to(root).parts)
        subdirectories[:] = [
            name
            for name in subdirectories
            if depth < DEPENDENCY_DEPTH and not name.startswith(".") and name not in SKIPPED
        ]
        for name in files:
            if DEPENDENCY_FILE.match(name):
                yield Path(directory, name)


def _pydantic_classes(index: ProjectIndex) -> set[int]:
    """Project classes deriving from a pydantic root, directly or through project classes."""
    classes: list[tuple[Module, ast.ClassDef, str]] = []
    for module in index.modules.values():
        for node in module.tree.body:
            if isinstance(node, ast.ClassDef):
                classes.append((module, node, f"{module.name}.{node.name}"))
    models: set[str] = set(PYDANTIC_ROOTS)
    found: set[int] = set()
    changed = True
    while changed:
        changed = False
        for module, node, name in classes:
            if id(node) in found:
                continue
            if any(
                index.qualified_name(module, base) in models
                for base in node.bases
                if isinstance(base, ast.Name | ast.Attribute)
            ):
                found.add(id(node))
                models.add(index.canonical(name))
                changed = True
    return found
