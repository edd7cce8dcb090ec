"""What `add request-context` reports but leaves alone: the app's BaseHTTPMiddleware.

Each such layer re-streams the body and costs more than the request itself; when it does
the request id / timing / logging job the added middleware now does, the person removes
it. Read with `ast`, never imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

MAX_FILES = 500


def http_middleware(root: Path, folder: str) -> list[str]:
    """One note per BaseHTTPMiddleware subclass or `@app.middleware("http")` function."""
    notes: list[str] = []
    base = root / folder if folder else root
    for index, path in enumerate(sorted(base.rglob("*.py"))):
        if index >= MAX_FILES:
            break
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError, OSError):
            continue
        rel = path.relative_to(root).as_posix()
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(
                _named(b, "BaseHTTPMiddleware") for b in node.bases
            ):
                notes.append(
                    f"{rel}:{node.lineno}: {node.name} is a BaseHTTPMiddleware; if it does"
                    " request ids, timing or access logs, RequestContextMiddleware now does"
                    " that job: remove it (left in place)."
                )
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                isinstance(d, ast.Call) and _named(d.func, "middleware")
                for d in node.decorator_list
            ):
                notes.append(
                    f"{rel}:{node.lineno}: {node.name} is an @app.middleware function (a"
                    " BaseHTTPMiddleware); if it does request ids, timing or access logs,"
                    " RequestContextMiddleware now does that job: remove it (left in place)."
                )
    return notes


def _named(node: ast.expr, name: str) -> bool:
    return (isinstance(node, ast.Name) and node.id == name) or (
        isinstance(node, ast.Attribute) and node.attr == name
    )
