"""Variant d: the generated service's own app with the bench route added.

The generated project is imported, not copied: its middleware, logging configuration,
error handlers and JSON path are the ones being measured. BENCH_PACKAGE names the
package (the project folder must be on sys.path, e.g. uvicorn --app-dir).
"""

from __future__ import annotations

import importlib
import os

from model import PATH, PRODUCT, Product

_main = importlib.import_module(f"{os.environ['BENCH_PACKAGE']}.main")
app = _main.app  # the module-level app uvicorn would serve in production


@app.get(PATH, include_in_schema=False)
async def product() -> Product:
    return PRODUCT
