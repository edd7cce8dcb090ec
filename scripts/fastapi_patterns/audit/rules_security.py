"""FPA305-FPA307: CORS and JWT settings that let requests through that should not pass."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from fastapi_patterns.audit.middleware import registers_middleware
from fastapi_patterns.audit.model import Finding, Rule
from fastapi_patterns.audit.request_path import (
    finding,
    has_star_kwargs,
    is_constant,
    keyword,
    module_constant,
    nodes,
)

if TYPE_CHECKING:
    from fastapi_patterns.audit.project import Module, ProjectIndex

REFERENCE = "references/anti-patterns.md#"

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

RULES = [CORS_WILDCARD, JWT_ALGORITHMS, JWT_EXP]

CORS = frozenset(
    {"fastapi.middleware.cors.CORSMiddleware", "starlette.middleware.cors.CORSMiddleware"}
)
JWT_DECODE = frozenset({"jwt.decode", "jwt.api_jwt.decode", "jose.jwt.decode"})


def check(index: ProjectIndex) -> Iterable[Finding]:
    for module in index.modules.values():
        for node in nodes(index, module, ast.Call):
            name = index.qualified_name(module, node.func)
            if registers_middleware(node, name):
                yield from _cors(index, module, node)
            elif name in CORS:  # CORSMiddleware(app, ...)
                yield from _cors_options(module, node, node.keywords)
            if name in JWT_DECODE:
                yield from _jwt(module, node)


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
