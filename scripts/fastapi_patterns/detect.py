"""Read-only project detection (minimal stub; the full detector replaces it).

Standard library only: the slash command runs this before anything is installed.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Detection:
    root: str
    python_version: str | None
    python_runtime: str
    package_manager: str
    database: str
    database_driver: str | None
    redis: bool
    project_root: str
    layout: str
    package: str | None
    fastapi_app: str | None
    existing_fastapi: bool
    files_touched: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def detect_project(path: Path) -> Detection:
    runtime = f"{sys.version_info.major}.{sys.version_info.minor}"
    return Detection(
        root=str(path),
        python_version=None,
        python_runtime=runtime,
        package_manager="none",
        database="none",
        database_driver=None,
        redis=False,
        project_root=".",
        layout="none",
        package=None,
        fastapi_app=None,
        existing_fastapi=False,
    )


def format_summary(d: Detection) -> str:
    return f"python {d.python_version or '?'} · db {d.database} · redis {d.redis}"
