"""What each pattern adds: a module rendered from the bundle's own templates, and wiring.

The modules are the generated project's `core/errors.py` and `core/middleware.py`,
rendered standalone (`standalone=True`): they need only FastAPI and Starlette, not the
generated project's settings, structlog or orjson. Only the standard library at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..assets import project_templates
from ..errors import TemplateError
from . import health, settings

if TYPE_CHECKING:
    from .locate import Target

# A module made from the project's own code: (root, target, module path) -> the content (None:
# nothing to add) and notes.
Builder = Callable[[Path, "Target", str], tuple[bytes | None, list[str]]]


@dataclass(frozen=True)
class Wiring:
    """One import and one statement placed in the scope that builds the app."""

    name: str  # what the statement uses, imported from the pattern's module
    statement: str  # Python, `{app}` standing for the app variable
    # Placed after the last middleware the app adds (`add_middleware` prepends, so the
    # last one added is the outermost); otherwise right after the app is created.
    outermost: bool = False


@dataclass(frozen=True)
class Pattern:
    name: str
    summary: str
    module: str  # the new module's file stem
    template: str  # below assets/project/ (assets/ for a pattern with a `build`)
    wiring: Wiring | None  # None: the module is only there to be imported
    build: Builder | None = None  # instead of rendering `template` as it is
    # Rewrites the app's module (source, app or factory name) -> source, instead of adding
    # a module; raises wiring.Unsupported (with `lines` to write by hand) when unsafe.
    transform: Callable[[bytes, str], bytes] | None = None


PATTERNS: dict[str, Pattern] = {
    pattern.name: pattern
    for pattern in (
        Pattern(
            name="errors",
            summary="RFC 9457 problem+json for HTTPException, validation and unhandled errors",
            module="problem_details",
            template="__package__/core/errors.py.jinja",
            wiring=Wiring("install_problem_details", "install_problem_details({app})"),
        ),
        Pattern(
            name="request-context",
            summary="one pure ASGI middleware: request id, timing, JSON access line, body limit",
            module="request_context",
            template="__package__/core/middleware.py.jinja",
            wiring=Wiring(
                "RequestContextMiddleware",
                "{app}.add_middleware(RequestContextMiddleware)",
                outermost=True,
            ),
        ),
        Pattern(
            name="settings",
            summary="a pydantic-settings module for the environment variables the app reads",
            module="settings",
            template=settings.TEMPLATE,
            wiring=None,
            build=settings.build_module,
        ),
        Pattern(
            name="health",
            summary="/health/live, /health/ready, /health: readiness checks for what the app uses",
            module="health",
            template=health.TEMPLATE,
            wiring=Wiring("health_router", "{app}.include_router(health_router)"),
            build=health.build_module,
        ),
        Pattern(
            name="lifespan",
            summary="on_event/add_event_handler hooks turned into one lifespan (composed with"
            " an existing one)",
            module="",
            template="",
            wiring=None,
            build=lambda root, target, rel: (None, []),
            transform=lambda source, attr: _lifespan(source, attr),
        ),
    )
}
ALL = "all"


def _lifespan(source: bytes, attr: str) -> bytes:
    from .lifespan import convert  # libcst: imported only when the pattern runs

    return convert(source, attr)


def expand(names: list[str]) -> list[Pattern]:
    """The patterns named (`all` = every one), each once, in the order of PATTERNS."""
    wanted = set(PATTERNS) if ALL in names else set(names)
    return [pattern for name, pattern in PATTERNS.items() if name in wanted]


def render_module(pattern: Pattern, *, sqlalchemy: bool = False) -> bytes:
    """The module's source; `sqlalchemy`: the app uses it, so `errors` also answers its
    integrity errors (409) and lost connections (503)."""
    # Imported here: the command parser reads PATTERNS with the standard library alone.
    import jinja2

    from ..render import make_environment

    environment = make_environment(project_templates())
    context = {"standalone": True, "db_enabled": sqlalchemy}
    try:
        text = environment.get_template(pattern.template).render(context)
    except jinja2.TemplateError as error:
        raise TemplateError(f"Template {pattern.template} failed to render: {error}") from error
    return text.encode("utf-8")
