"""Rendering: planned files + options -> file contents in memory. No disk writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from . import __version__
from .options import Options
from .plan import PlannedFile
from .steps import quick_start


class TemplateError(RuntimeError):
    """A template failed to render; names the template."""


def _title(name: str) -> str:
    words = name.replace("-", " ").replace("_", " ").replace(".", " ").split()
    return " ".join(word.capitalize() for word in words)


def _database_url_default(options: Options) -> str:
    pkg = options.package
    return {
        "sqlite": f"sqlite+aiosqlite:///./{pkg}.db",
        "postgresql": f"postgresql+asyncpg://app:app@localhost:5432/{pkg}",
        "mysql": f"mysql+asyncmy://app:app@localhost:3306/{pkg}",
        "none": "",
    }[options.db]


def build_context(options: Options) -> dict[str, Any]:
    return {
        "project_name": options.name,
        "package": options.package,
        "title": _title(options.name),
        "python_version": options.python,
        "py_tag": "py" + options.python.replace(".", ""),
        "db": options.db,
        "db_enabled": options.db != "none",
        "redis": options.redis,
        "auth": options.auth,
        "jwt": options.auth == "jwt",
        "layout": options.layout,
        "src_prefix": "src/" if options.layout == "src" else "",
        "package_manager": options.package_manager,
        "generator_version": __version__,
        "database_url_default": _database_url_default(options),
        # The README's quick start is the generator's own next steps, line for line.
        "quick_start": quick_start(options),
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
    """Render every planned file; the result maps target path -> bytes, in plan order."""
    environment = make_environment(templates)
    context = build_context(options)
    output: dict[str, bytes] = {}
    for item in planned:
        if not item.render:
            output[item.target] = (templates / item.template).read_bytes()
            continue
        try:
            text = environment.get_template(item.template).render(context)
        except jinja2.TemplateError as error:
            raise TemplateError(f"Template {item.template} failed to render: {error}") from error
        if not text.strip():
            raise TemplateError(f"Template {item.template} rendered empty for these options.")
        output[item.target] = text.encode("utf-8")
    return output
