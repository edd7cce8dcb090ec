"""FPA30x: deprecated FastAPI/Starlette API, middleware, CORS, JWT and health routes.

ruff already reports FAST001-003 and the ASYNC family; nothing here repeats them.
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
    dotted,
    finding,
    has_star_kwargs,
    imports_any,
    is_constant,
    is_test_module,
    keyword,
    module_constant,
    nodes,
)

if TYPE_CHECKING:
    from fastapi_patterns.audit.project import Module, ProjectIndex, Route

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
CORS_WILDCARD = Rule(
    code="FPA305",
    name="cors-wildcard-with-credentials",
    summary="CORSMiddleware with allow_origins=['*'] and allow_credentials=True.",
    severity="error",
    reference=REFERENCE + "fpa305-cors-wildcard-with-credentials",
    fix_hint="List the allowed origins explicitly (from settings) when credentials are allowed.",
)
JWT_ALGORITHMS = Rule(
    code="FPA306",
    name="jwt-algorithms-not-pinned",
    summary="jwt.decode without algorithms=[...].",
    severity="error",
    reference=REFERENCE + "fpa306-jwt-algorithms-not-pinned",
    fix_hint="Pass algorithms=[<the one algorithm you sign with>] to jwt.decode.",
)
JWT_EXP = Rule(
    code="FPA307",
    name="jwt-exp-not-required",
    summary="jwt.decode that disables or does not require the exp claim.",
    severity="error",
    reference=REFERENCE + "fpa307-jwt-exp-not-required",
    fix_hint='Keep expiry verification on and require it: options={"require": ["exp", ...]}.',
)
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

RULES = [
    ON_EVENT,
    BASE_HTTP_MIDDLEWARE,
    RESPONSE_CLASS,
    DEFAULT_RESPONSE_CLASS,
    CORS_WILDCARD,
    JWT_ALGORITHMS,
    JWT_EXP,
    READINESS,
    FAILURE_ANSWERS_200,
]

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
CORS = frozenset(
    {"fastapi.middleware.cors.CORSMiddleware", "starlette.middleware.cors.CORSMiddleware"}
)
MIDDLEWARE_WRAPPERS = frozenset(
    {"starlette.middleware.Middleware", "fastapi.middleware.Middleware"}
)
JWT_DECODE = frozenset({"jwt.decode", "jwt.api_jwt.decode", "jose.jwt.decode"})


def check(index: ProjectIndex) -> Iterable[Finding]:
    apps = frozenset(index.canonical(f"{module.name}.{name}") for module, name in index.apps())
    for module in index.modules.values():
        yield from _check_module(index, module, apps)
    yield from _check_readiness(index)


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
            yield from _on_event(index, module, node, name)
        yield from _response_classes(index, module, node)
        if name in MIDDLEWARE_WRAPPERS or _method(node) == "add_middleware":
            yield from _base_http_registered(index, module, node)
            yield from _cors(index, module, node)
        elif name in CORS:  # CORSMiddleware(app, ...)
            yield from _cors_options(module, node, node.keywords)
        if name in JWT_DECODE:
            yield from _jwt(module, node)


def _method(call: ast.Call) -> str | None:
    return call.func.attr if isinstance(call.func, ast.Attribute) else None


# FPA301 ---------------------------------------------------------------------------------


def _on_event(
    index: ProjectIndex, module: Module, call: ast.Call, name: str | None
) -> Iterator[Finding]:
    method = _method(call)
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
    if _method(decorator) != "middleware" or not is_constant_str(kind, "http"):
        return
    assert isinstance(decorator.func, ast.Attribute)
    owner = dotted(decorator.func.value) or "..."
    yield finding(
        BASE_HTTP_MIDDLEWARE,
        module,
        decorator,
        f'`@{owner}.middleware("http")` on `{function.name}` builds a BaseHTTPMiddleware',
    )


def is_constant_str(node: ast.expr | None, value: str) -> bool:
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


# FPA305 ---------------------------------------------------------------------------------


def _cors(index: ProjectIndex, module: Module, call: ast.Call) -> Iterator[Finding]:
    if call.args and index.qualified_name(module, call.args[0]) in CORS:
        yield from _cors_options(module, call, call.keywords)


def _cors_options(module: Module, call: ast.Call, keywords: list[ast.keyword]) -> Iterator[Finding]:
    options = {item.arg: item.value for item in keywords if item.arg is not None}
    origins = options.get("allow_origins")
    credentials = options.get("allow_credentials")
    if origins is None or credentials is None:
        return
    origins = module_constant(module, origins)
    credentials = module_constant(module, credentials)
    wildcard = isinstance(origins, ast.List | ast.Tuple | ast.Set) and any(
        isinstance(element, ast.Constant) and element.value == "*" for element in origins.elts
    )
    if wildcard and is_constant(credentials, True):
        yield finding(
            CORS_WILDCARD,
            module,
            call,
            "CORSMiddleware with allow_origins=['*'] and allow_credentials=True "
            "accepts credentialed requests from any site",
        )


# FPA306 / FPA307 ------------------------------------------------------------------------


def _jwt(module: Module, call: ast.Call) -> Iterator[Finding]:
    if has_star_kwargs(call) or any(isinstance(arg, ast.Starred) for arg in call.args):
        return
    options = keyword(call, "options")
    if options is None and len(call.args) >= 4:
        options = call.args[3]
    options = module_constant(module, options) if options is not None else None
    settings = _literal_options(options)
    if settings.get("verify_signature") is False:
        return  # an explicitly unverified peek at the claims: a different concern
    algorithms = keyword(call, "algorithms")
    if algorithms is None and len(call.args) >= 3:
        algorithms = call.args[2]
    if algorithms is None or is_constant(algorithms, None):
        yield finding(JWT_ALGORITHMS, module, call, "`jwt.decode(...)` without algorithms=[...]")
    if settings.get("verify_exp") is False:
        yield finding(JWT_EXP, module, call, '`jwt.decode(...)` with options={"verify_exp": False}')
    required = settings.get("require")
    if isinstance(required, list) and "exp" not in required:
        yield finding(JWT_EXP, module, call, f'`jwt.decode(...)` requires {required} but not "exp"')


def _literal_options(node: ast.expr | None) -> dict[str, object]:
    """The literal entries of an options dict; non-literal values are left out."""
    if not isinstance(node, ast.Dict):
        return {}
    found: dict[str, object] = {}
    for key, value in zip(node.keys, node.values, strict=True):
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            continue
        if isinstance(value, ast.Constant) and isinstance(value.value, bool):
            found[key.value] = value.value
        elif isinstance(value, ast.List | ast.Tuple) and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts
        ):
            found[key.value] = [e.value for e in value.elts if isinstance(e, ast.Constant)]
    return found


# FPA308 ---------------------------------------------------------------------------------

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


def _check_readiness(index: ProjectIndex) -> Iterator[Finding]:
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
