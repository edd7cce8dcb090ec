"""What `add health` needs to know before it renders: the checks and the conflicts.

The checks are the backing services the app creates at module level (`resources`); a route
the app already serves on `/health`, `/health/live` or `/health/ready` is a conflict
(`routes`), which refuses the whole run: two handlers on one path, and the one FastAPI
picks would be whichever was included first.
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..assets import assets_dir
from ..errors import TemplateError
from .locate import Target
from .refusal import AddRefused

if TYPE_CHECKING:
    from .resources import Resource

TEMPLATE = "add/health.py.jinja"
PATHS = ("/health", "/health/live", "/health/ready")
_LINE_LENGTH = 100  # the generated projects' ruff line length
_INDENT = 4


def build_module(root: Path, target: Target, rel: str) -> tuple[bytes | None, list[str]]:
    """The health module for the app `target` names, to be written at `rel`, and notes on
    the services it could not check; raises AddRefused on a conflicting route."""
    # Imported here: the audit's index is more than the command parser needs.
    from ..audit.project import build_index
    from .resources import find_resources
    from .routes import conflicting_routes

    folder = _import_root(target)
    import_root = root / folder
    package = target.package
    if package:
        index = build_index(import_root, [import_root / package])
    else:  # a top-level app: the modules beside it are the app's code
        index = build_index(import_root, files=sorted(import_root.glob("*.py")))
    own_module = target.qualified(PurePosixPath(rel).stem)
    conflicts = conflicting_routes(index, package, PATHS, skip_module=own_module, folder=folder)
    if conflicts:
        listed = "; ".join(f"{c.where}: {c.method} {c.path}" for c in conflicts)
        raise AddRefused(
            f"The app already has a route on a path `health` adds ({listed}). Nothing was"
            " written; remove or move that route and run again, or keep it and do by hand:",
            [
                "  # /health/live: 200 without touching any dependency (a restart probe);",
                "  # /health/ready: 503 application/problem+json naming each failed check,",
                "  #   every check bounded by a timeout, so a hung server cannot hang the probe.",
            ],
        )
    resources, notes = find_resources(index, package, folder=folder)
    return render(checks_for(resources)), notes


def render(checks: list[dict[str, Any]]) -> bytes:
    """The module's source with `checks` (as `checks_for` makes them)."""
    # Imported here: the command parser reads PATTERNS with the standard library alone.
    import jinja2

    from ..render import make_environment

    environment = make_environment(assets_dir())
    try:
        text = environment.get_template(TEMPLATE).render({"checks": checks})
    except jinja2.TemplateError as error:
        raise TemplateError(f"Template {TEMPLATE} failed to render: {error}") from error
    return text.encode("utf-8")


def checks_for(resources: list[Resource]) -> list[dict[str, Any]]:
    """One check per resource, named by its kind (`database`), or by kind and name when
    the app has several of a kind (`database_replica`)."""
    per_kind = Counter(r.kind for r in resources)
    checks: list[dict[str, Any]] = []
    used: set[str] = set()
    for resource in resources:
        name = resource.kind
        if per_kind[resource.kind] > 1:
            name = f"{resource.kind}_{re.sub(r'[^0-9a-z]+', '_', resource.attr.lower())}"
        base, number = name, 2
        while name in used:
            name, number = f"{base}_{number}", number + 1
        used.add(name)
        checks.append(
            {
                "name": name,
                "function": f"_check_{name}",
                "kind": resource.kind,
                "is_async": resource.is_async,
                "module": resource.module,
                "attr": resource.attr,
                "label": resource.label,
                "imports": _import_lines(resource.module, resource.attr),
                "summary": _summary(name, resource),
            }
        )
    return checks


def _summary(name: str, resource: Resource) -> list[str]:
    """The docstring's bullet for the check, wrapped at the line length."""
    sync = "" if resource.is_async else " (sync: pinged in a thread)"
    text = f"- `{name}`: the {resource.label} `{resource.module}.{resource.attr}`{sync}"
    return textwrap.wrap(
        text,
        _LINE_LENGTH,
        subsequent_indent="  ",
        break_long_words=False,
        break_on_hyphens=False,
    )


def _import_lines(module: str, attr: str) -> list[str]:
    """The check's import of the app's object, fitting in 100 columns at one indent as
    `ruff format` would wrap it. Imported in the check, not at the top: the app's module
    may import the app, which imports this module."""
    statement = f"from {module} import {attr}"
    comment = f"  # imported here: {module} may import the app"
    if _INDENT + len(statement + comment) <= _LINE_LENGTH:
        return [statement + comment]
    lines = ["# Imported here, not at the top: that module may import the app."]
    if _INDENT + len(statement) <= _LINE_LENGTH:
        return [*lines, statement]
    return [*lines, f"from {module} import (", f"    {attr},", ")"]


def _import_root(target: Target) -> str:
    """The folder the app's module is imported from: `src` for `src/shop/main.py`."""
    parts = target.module.split(".")
    if target.file.endswith("__init__.py"):
        parts.append("__init__")
    folder = str(PurePosixPath(target.file).parents[len(parts) - 1])
    return "" if folder == "." else folder
