"""Rendering: planned files + options -> file contents in memory. No disk writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from . import __version__
from .errors import TemplateError
from .manifest import render_manifest
from .options import Options
from .plan import Kind, PlannedFile
from .steps import quick_start

# What DATABASE_URL defaults to in settings and .env.example, per --db.
_DATABASE_URLS = {
    "sqlite": "sqlite+aiosqlite:///./{package}.db",
    "postgresql": "postgresql+asyncpg://app:app@localhost:5432/{package}",
    "mysql": "mysql+asyncmy://app:app@localhost:3306/{package}",
    "none": "",
}


def _title(name: str) -> str:
    words = name.replace("-", " ").replace("_", " ").replace(".", " ").split()
    return " ".join(word.capitalize() for word in words)


def build_context(options: Options) -> dict[str, Any]:
    return {
        "project_name": options.name,
        "package": options.package,
        "title": _title(options.name),
        "python_version": options.python,
        "py_tag": "py" + options.python.replace(".", ""),
        "db": options.db,
        "db_enabled": options.has_db,
        "db_server": options.has_db_server,
        "redis": options.redis,
        "auth": options.auth,
        "jwt": options.has_jwt,
        "server": options.server,
        "layout": options.layout,
        "src_prefix": "src/" if options.layout == "src" else "",
        "package_manager": options.package_manager,
        "generator_version": __version__,
        "database_url_default": _DATABASE_URLS[options.db].format(package=options.package),
        # The README's quick start is the generator's own next steps, line for line.
        "quick_start": quick_start(options),
        # Shared modules (core/errors.py, core/middleware.py) also render for
        # `fastapi-patterns add`, standalone: without this project's config and logging.
        "standalone": False,
    }


def make_environment(templates: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(planned: list[PlannedFile], options: Options, templates: Path) -> dict[str, bytes]:
    """Every planned file's content, by target path, in plan order (the manifest last)."""
    environment = make_environment(templates)
    context = build_context(options)
    output: dict[str, bytes] = {}
    for item in planned:
        if item.template is None:
            continue  # the manifest, made below
        if item.kind is Kind.TEMPLATE:
            output[item.target] = _render_template(environment, item.template, context)
        else:
            output[item.target] = (templates / item.template).read_bytes()
    # The manifest hashes everything else, so it is made once the rest is.
    for item in planned:
        if item.kind is Kind.MANIFEST:
            output[item.target] = render_manifest(options, output)
    return output


def _render_template(environment: jinja2.Environment, name: str, context: dict[str, Any]) -> bytes:
    try:
        text = environment.get_template(name).render(context)
    except jinja2.TemplateError as error:
        raise TemplateError(f"Template {name} failed to render: {error}") from error
    if not text.strip():
        raise TemplateError(f"Template {name} rendered empty for these options.")
    return text.encode("utf-8")
