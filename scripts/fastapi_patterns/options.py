"""Validated generator options and where each value came from.

Flags win over what was detected in the target's project, which wins over defaults.
"""

from __future__ import annotations

import keyword
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from .detect import Detection

DATABASES = ("sqlite", "postgresql", "mysql", "none")
AUTHS = ("jwt", "none")
LAYOUTS = ("flat", "src")
PACKAGE_MANAGERS = ("uv", "poetry", "pdm", "pipenv", "hatch", "pip")
# Long enough for any real service name, short enough to stay a valid file name everywhere.
MAX_NAME_LENGTH = 100
MIN_PYTHON = (3, 11)
MAX_PYTHON = (3, 14)

# PEP 508 distribution name.
_DIST_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_PYTHON_VERSION = re.compile(r"^3\.(\d{1,2})$")

# A package with one of these names would shadow a module the generated project imports.
_RESERVED_PACKAGES = frozenset(
    {
        "alembic", "app_tests", "asyncmy", "asyncpg", "aiosqlite", "fakeredis", "fastapi",
        "httpx", "jwt", "migrations", "orjson", "pwdlib", "pydantic", "pydantic_settings",
        "pytest", "redis", "sqlalchemy", "src", "starlette", "structlog", "tests", "uvicorn",
    }
)  # fmt: skip


class OptionError(ValueError):
    """A user-facing problem with the requested options; the message is one line."""


@dataclass(frozen=True)
class Options:
    name: str
    package: str
    db: str
    redis: bool
    auth: str
    layout: str
    python: str
    package_manager: str
    sources: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "package": self.package,
            "db": self.db,
            "redis": self.redis,
            "auth": self.auth,
            "layout": self.layout,
            "python": self.python,
            "package_manager": self.package_manager,
        }


def package_name(name: str) -> str:
    """Validate a distribution name and return the import package derived from it."""
    if not name:
        raise OptionError("The app name is empty; give a name such as 'orders-api'.")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise OptionError(
            f"The app name {name!r} contains a path; use --dir PATH for the location."
        )
    if len(name) > MAX_NAME_LENGTH:
        raise OptionError(
            f"The app name is {len(name)} characters long; keep it to {MAX_NAME_LENGTH} or fewer."
        )
    if not _DIST_NAME.match(name):
        raise OptionError(
            f"The app name {name!r} is not a valid distribution name: use ASCII letters, digits,"
            " '-', '_' or '.', starting and ending with a letter or digit."
        )
    package = re.sub(r"[-_.]+", "_", name).lower()
    if not package.isidentifier() or keyword.iskeyword(package) or package[0].isdigit():
        raise OptionError(
            f"The app name {name!r} gives the package name {package!r}, which is not a valid"
            " Python identifier; start the name with a letter and avoid keywords."
        )
    if package in _RESERVED_PACKAGES or package in sys.stdlib_module_names:
        raise OptionError(
            f"The app name {name!r} gives the package name {package!r}, which would shadow the"
            f" module {package!r} the project imports; choose another name."
        )
    return package


def parse_python(version: str, origin: str) -> str:
    match = _PYTHON_VERSION.match(version)
    if not match:
        raise OptionError(f"Python version {version!r} ({origin}) is not of the form 3.X.")
    minor = int(match.group(1))
    if (3, minor) < MIN_PYTHON:
        raise OptionError(
            f"Python {version} ({origin}) is too old: generated projects need Python 3.11 or"
            " newer (SQLAlchemy 2.1 and Starlette 1.8 require it); pass --python 3.11 or newer."
        )
    if (3, minor) > MAX_PYTHON:
        raise OptionError(
            f"Python {version} ({origin}) is newer than this generator supports"
            f" (up to 3.{MAX_PYTHON[1]}); pass --python 3.{MAX_PYTHON[1]}."
        )
    return version


def _detected(detection: Detection, key: str) -> str:
    source = detection.sources.get(key)
    return f"detected ({source})" if source else "detected"


def resolve(
    name: str,
    detection: Detection,
    *,
    db: str | None = None,
    redis: bool | None = None,
    auth: str | None = None,
    layout: str | None = None,
    python: str | None = None,
) -> tuple[Options, list[str]]:
    """Combine flags, detection and defaults into validated options, plus warnings."""
    warnings: list[str] = []
    sources: dict[str, str] = {}
    package = package_name(name)

    if db is not None:
        sources["db"] = "flag"
    elif detection.database in ("postgresql", "mysql", "sqlite"):
        db, sources["db"] = detection.database, _detected(detection, "database")
    else:
        if detection.database not in ("none", ""):
            warnings.append(
                f"Detected database {detection.database!r} is not supported; using SQLite."
            )
        db, sources["db"] = "sqlite", "default"
    if db not in DATABASES:
        raise OptionError(f"--db {db!r} is not one of {', '.join(DATABASES)}.")

    if redis is not None:
        sources["redis"] = "flag"
    elif detection.redis:
        redis, sources["redis"] = True, _detected(detection, "redis")
    else:
        redis, sources["redis"] = False, "default"

    if auth is not None:
        sources["auth"] = "flag"
    elif db == "none":
        auth, sources["auth"] = "none", "default (no database to hold users)"
    else:
        auth, sources["auth"] = "jwt", "default"
    if auth not in AUTHS:
        raise OptionError(f"--auth {auth!r} is not one of {', '.join(AUTHS)}.")
    if auth == "jwt" and db == "none":
        raise OptionError("--auth jwt needs a database to hold users; pick --db or --auth none.")

    if layout is not None:
        sources["layout"] = "flag"
    elif detection.layout in LAYOUTS:
        layout, sources["layout"] = detection.layout, _detected(detection, "layout")
    else:
        layout, sources["layout"] = "flat", "default"
    if layout not in LAYOUTS:
        raise OptionError(f"--layout {layout!r} is not one of {', '.join(LAYOUTS)}.")

    if python is not None:
        python, sources["python"] = parse_python(python, "--python"), "flag"
    elif detection.python_version:
        origin = _detected(detection, "python_version")
        python, sources["python"] = parse_python(detection.python_version, origin), origin
    else:
        runtime = tuple(int(p) for p in detection.python_runtime.split(".")[:2])
        if MIN_PYTHON <= runtime <= MAX_PYTHON:
            python, sources["python"] = detection.python_runtime, "running interpreter"
        else:
            python, sources["python"] = "3.11", "default"

    if detection.package_manager in PACKAGE_MANAGERS:
        manager = detection.package_manager
        sources["package_manager"] = _detected(detection, "package_manager")
    else:
        manager, sources["package_manager"] = "pip", "default"

    options = Options(
        name=name,
        package=package,
        db=db,
        redis=redis,
        auth=auth,
        layout=layout,
        python=python,
        package_manager=manager,
        sources=sources,
    )
    return options, warnings
