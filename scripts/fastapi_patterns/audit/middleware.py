"""Where an app registers ASGI middleware, shared by the BaseHTTPMiddleware and CORS rules.

Both spellings name the middleware class first: `Middleware(cls, ...)` in
`FastAPI(middleware=[...])`, and `app.add_middleware(cls, ...)`.
"""

from __future__ import annotations

import ast

MIDDLEWARE_WRAPPERS = frozenset(
    {"starlette.middleware.Middleware", "fastapi.middleware.Middleware"}
)


def method_name(call: ast.Call) -> str | None:
    """`on_event` for `app.on_event(...)`; None for a call of a bare name."""
    return call.func.attr if isinstance(call.func, ast.Attribute) else None


def registers_middleware(call: ast.Call, name: str | None) -> bool:
    """`call` (whose callee resolves to `name`) registers a middleware class."""
    return name in MIDDLEWARE_WRAPPERS or method_name(call) == "add_middleware"
