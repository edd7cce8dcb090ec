"""Small builders shared by the unit tests of the generator's modules."""

from __future__ import annotations

import textwrap
from pathlib import Path

from fastapi_patterns.detect import Detection, detect_project
from fastapi_patterns.options import Options


def make_options(**overrides: object) -> Options:
    values: dict[str, object] = {
        "name": "orders-api",
        "package": "orders_api",
        "db": "sqlite",
        "redis": False,
        "auth": "jwt",
        "server": "uvicorn",
        "layout": "flat",
        "python": "3.11",
        "package_manager": "pip",
    }
    values.update(overrides)
    return Options(**values)  # type: ignore[arg-type]


def make_detection(**overrides: object) -> Detection:
    values: dict[str, object] = {
        "root": "/x",
        "python_version": None,
        "python_runtime": "3.11",
        "package_manager": "none",
        "database": "none",
        "database_driver": None,
        "redis": False,
        "project_root": ".",
        "layout": "none",
        "package": None,
        "fastapi_app": None,
        "existing_fastapi": False,
    }
    values.update(overrides)
    return Detection(**values)  # type: ignore[arg-type]


def make_tree(root: Path, files: dict[str, str] | list[str]) -> Path:
    items = files.items() if isinstance(files, dict) else ((path, "x\n") for path in files)
    for path, text in items:
        file = root / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text)
    return root


def detect_tree(root: Path, files: dict[str, str]) -> Detection:
    """Write a small fake project (texts dedented) and detect it."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return detect_project(root)
