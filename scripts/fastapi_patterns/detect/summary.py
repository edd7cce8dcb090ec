"""The detection as a few lines of text, and as the generator flags that spell it out."""

from __future__ import annotations

from .project import Detection


def format_summary(d: Detection) -> str:
    """A compact few-line text for people and for the slash command's context."""
    source = d.sources

    def where(key: str) -> str:
        return f" ({source[key]})" if key in source else ""

    python = d.python_version or "not declared"
    lines = [
        f"project root: {d.project_root}; layout {d.layout}"
        + (f", package {d.package}" if d.package else ""),
        f"python: {python}{where('python_version')}; running {d.python_runtime}",
        f"package manager: {d.package_manager}{where('package_manager')}",
        f"database: {d.database}"
        + (f" via {d.database_driver}" if d.database_driver else "")
        + where("database")
        + f"; redis: {'yes' if d.redis else 'no'}{where('redis')}",
    ]
    if d.fastapi_app:
        kind = "factory" if d.fastapi_factory else "app"
        lines.append(
            f"existing FastAPI {kind}: {d.fastapi_app}{where('fastapi_app')}"
            " (the generator refuses to write over it without --force)"
        )
    else:
        lines.append("existing FastAPI app: none")
    lines.append(f"generator flags: {' '.join(generator_flags(d)) or '(defaults)'}")
    for warning in d.warnings[:6]:
        lines.append(f"warning: {warning}")
    if len(d.warnings) > 6:
        lines.append(f"warning: ... and {len(d.warnings) - 6} more (see --json)")
    return "\n".join(lines)


def generator_flags(d: Detection) -> list[str]:
    """The create-fastapi-app flags that spell out what was detected."""
    flags: list[str] = []
    if d.python_version:
        flags += ["--python", d.python_version]
    if d.database in ("postgresql", "mysql", "sqlite"):
        flags += ["--db", d.database]
    flags.append("--redis" if d.redis else "--no-redis")
    if d.layout in ("flat", "src"):
        flags += ["--layout", d.layout]
    if d.server:
        flags += ["--server", d.server]
    return flags
