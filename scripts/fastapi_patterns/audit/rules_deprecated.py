"""FPA301-FPA304: FastAPI/Starlette API that is deprecated or superseded.

on_event hooks, BaseHTTPMiddleware and the ORJSON/UJSON response classes. ruff already
reports FAST001-003; nothing here repeats them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from fastapi_patterns.audit.middleware import method_name, registers_middleware
from fastapi_patterns.audit.model import Finding, Rule
from fastapi_patterns.audit.request_path import Function, dotted, finding, imports_any, nodes

if TYPE_CHECKING:
    from fastapi_patterns.audit.project import Module, ProjectIndex

REFERENCE = "references/anti-patterns.md#"

ON_EVENT = Rule(
    code="FPA301",
    name="on-event-handler",
    summary="Startup/shutdown hooks registered with on_event/add_event_handler (deprecated).",
    severity="warning",
    reference=REFERENCE + "fpa301-on-event-handler",
    fix_hint="Open and close resources in one `lifespan` async context manager.",
    fixable=True,
)
BASE_HTTP_MIDDLEWARE = Rule(
    code="FPA302",
    name="base-http-middleware",
    summary="BaseHTTPMiddleware or @app.middleware('http') on the app.",
    severity="warning",
    reference=REFERENCE + "fpa302-base-http-middleware",
    fix_hint="Write one pure ASGI middleware class (scope, receive, send).",
)
RESPONSE_CLASS = Rule(
    code="FPA303",
    name="deprecated-json-response-class",
    summary="ORJSONResponse/UJSONResponse as a route's response_class (deprecated).",
    severity="warning",
    reference=REFERENCE + "fpa303-deprecated-json-response-class",
    fix_hint="Drop response_class and annotate the return type (or set response_model).",
)
DEFAULT_RESPONSE_CLASS = Rule(
    code="FPA304",
    name="deprecated-default-response-class",
    summary="ORJSONResponse/UJSONResponse as default_response_class (deprecated, slower).",
    severity="warning",
    reference=REFERENCE + "fpa304-deprecated-default-response-class",
    fix_hint="Remove default_response_class; return types are serialized faster by FastAPI.",
    fixable=True,
)

RULES = [ON_EVENT, BASE_HTTP_MIDDLEWARE, RESPONSE_CLASS, DEFAULT_RESPONSE_CLASS]

WEB_FRAMEWORKS = ("fastapi", "starlette")
APP_CLASSES = frozenset(
    {
        "fastapi.FastAPI",
        "fastapi.applications.FastAPI",
        "fastapi.APIRouter",
        "fastapi.routing.APIRouter",
        "starlette.applications.Starlette",
        "starlette.routing.Router",
    }
)
BASE_HTTP = frozenset({"starlette.middleware.base.BaseHTTPMiddleware"})
DEPRECATED_RESPONSES = frozenset(
    {
        f"{module}.{name}"
        for module in ("fastapi.responses", "fastapi")
        for name in ("ORJSONResponse", "UJSONResponse")
    }
)


def check(index: ProjectIndex) -> Iterable[Finding]:
    apps = frozenset(index.canonical(f"{module.name}.{name}") for module, name in index.apps())
    for module in index.modules.values():
        yield from _check_module(index, module, apps)


def _check_module(index: ProjectIndex, module: Module, apps: frozenset[str]) -> Iterator[Finding]:
    web = imports_any(module, WEB_FRAMEWORKS)

    def on_app(call: ast.Call) -> bool:
        """A method called on an app or router: in a module that imports FastAPI or
        Starlette, or on an app the index found (`from pkg.main import app`)."""
        if not isinstance(call.func, ast.Attribute):
            return False
        receiver = call.func.value
        if web:
            return True
        if not isinstance(receiver, ast.Name | ast.Attribute):
            return False
        return index.qualified_name(module, receiver) in apps

    for cls in nodes(index, module, ast.ClassDef):
        yield from _base_http_subclass(index, module, cls)
    functions: list[Function] = [
        *nodes(index, module, ast.FunctionDef),
        *nodes(index, module, ast.AsyncFunctionDef),
    ]
    for function in functions:
        for decorator in function.decorator_list:
            if isinstance(decorator, ast.Call) and on_app(decorator):
                yield from _middleware_decorator(module, function, decorator)
    for node in nodes(index, module, ast.Call):
        name = index.qualified_name(module, node.func)
        if on_app(node) or name in APP_CLASSES:
            yield from _on_event(module, node, name)
        yield from _response_classes(index, module, node)
        if registers_middleware(node, name):
            yield from _base_http_registered(index, module, node)


# FPA301 ---------------------------------------------------------------------------------


def _on_event(module: Module, call: ast.Call, name: str | None) -> Iterator[Finding]:
    method = method_name(call)
    if method in ("on_event", "add_event_handler") and call.args:
        owner = dotted(call.func.value) if isinstance(call.func, ast.Attribute) else None
        yield finding(
            ON_EVENT, module, call, f"`{owner or '...'}.{method}(...)` registers a deprecated hook"
        )
    elif name in APP_CLASSES:
        for item in call.keywords:
            if item.arg in ("on_startup", "on_shutdown"):
                short = name.rpartition(".")[2]
                yield finding(
                    ON_EVENT, module, item, f"`{short}({item.arg}=...)` registers a deprecated hook"
                )


# FPA302 ---------------------------------------------------------------------------------


def _base_http_subclass(
    index: ProjectIndex, module: Module, node: ast.ClassDef
) -> Iterator[Finding]:
    for base in node.bases:
        if index.qualified_name(module, base) in BASE_HTTP:
            yield finding(
                BASE_HTTP_MIDDLEWARE,
                module,
                node,
                f"class `{node.name}` subclasses BaseHTTPMiddleware",
            )


def _middleware_decorator(
    module: Module, function: Function, decorator: ast.Call
) -> Iterator[Finding]:
    kind = decorator.args[0] if decorator.args else None
    if method_name(decorator) != "middleware" or not _is_constant_str(kind, "http"):
        return
    assert isinstance(decorator.func, ast.Attribute)
    owner = dotted(decorator.func.value) or "..."
    yield finding(
        BASE_HTTP_MIDDLEWARE,
        module,
        decorator,
        f'`@{owner}.middleware("http")` on `{function.name}` builds a BaseHTTPMiddleware',
    )


def _is_constant_str(node: ast.expr | None, value: str) -> bool:
    return isinstance(node, ast.Constant) and node.value == value


def _base_http_registered(index: ProjectIndex, module: Module, call: ast.Call) -> Iterator[Finding]:
    if call.args and index.qualified_name(module, call.args[0]) in BASE_HTTP:
        yield finding(
            BASE_HTTP_MIDDLEWARE,
            module,
            call,
            "BaseHTTPMiddleware registered with a dispatch function",
        )


# FPA303 / FPA304 ------------------------------------------------------------------------


def _response_classes(index: ProjectIndex, module: Module, call: ast.Call) -> Iterator[Finding]:
    for item in call.keywords:
        if item.arg not in ("response_class", "default_response_class"):
            continue
        name = index.qualified_name(module, item.value)
        if name not in DEPRECATED_RESPONSES:
            continue
        short = name.rpartition(".")[2]
        rule = RESPONSE_CLASS if item.arg == "response_class" else DEFAULT_RESPONSE_CLASS
        yield finding(rule, module, item, f"`{item.arg}={short}` is deprecated since FastAPI 0.131")
