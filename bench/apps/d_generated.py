"""Variant d: the generated service's own app with the bench route added.

The generated project is imported, not copied: its middleware, logging configuration,
error handlers and JSON path are the ones being measured. BENCH_PACKAGE names the
package (the project folder must be on sys.path, e.g. uvicorn --app-dir).
"""

from __future__ import annotations

import importlib
import os

from fastapi import FastAPI
from model import PATH, PRODUCT, Product

_main = importlib.import_module(f"{os.environ['BENCH_PACKAGE']}.main")
app = _main.app  # the module-level app uvicorn would serve in production


async def product() -> Product:
    return PRODUCT


def add_bench_route(target: FastAPI, *, first: bool = True) -> None:
    """Add the route; `first` puts it right after FastAPI's docs routes, where b has it.

    Routing tries routes in order, and each of the service's included routers costs a
    match attempt, so the same position keeps d and b apart by their stacks alone.
    """
    target.add_api_route(PATH, product, include_in_schema=False)
    if first:
        routes = target.router.routes
        own = next(i for i, r in enumerate(routes) if getattr(r, "path", None) is None)
        routes.insert(own, routes.pop())


add_bench_route(app)
