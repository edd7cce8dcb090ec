"""The generator's options: their values, their validation, and the one object that holds them.

Which value each option takes (flag, detection or default) is decided in `resolve.py`;
every later stage (plan, render, manifest, steps) reads only the `Options` made there.
"""

from __future__ import annotations

import keyword
import re
import sys
from dataclasses import dataclass, field, fields
from typing import Any, TypedDict

from .errors import OptionError

NO_DATABASE = "none"  # items are kept in process memory
# Every value of --db, the default first.
DATABASES = ("sqlite", "postgresql", "mysql", NO_DATABASE)
# The databases that run as a server beside the app (a compose service), not in a file.
SERVER_DATABASES = ("postgresql", "mysql")
JWT = "jwt"
AUTHS = (JWT, "none")
LAYOUTS = ("flat", "src")
UVICORN = "uvicorn"
GRANIAN = "granian"
# The ASGI servers `python -m <package>` can run.
SERVERS = (UVICORN, GRANIAN)
# The server a project gets unless it asks or already depends on one. One line to change.
DEFAULT_SERVER = GRANIAN
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
        "granian", "httpx", "jwt", "migrations", "orjson", "pwdlib", "pydantic",
        "pydantic_settings", "pytest", "redis", "sqlalchemy", "src", "starlette", "structlog",
        "tests", "uvicorn",
    }
)  # fmt: skip


class Choices(TypedDict, total=False):
    """The options a user chooses by flag; a missing key or None: detected or default."""

    db: str | None
    redis: bool | None
    auth: str | None
    server: str | None
    layout: str | None
    python: str | None


# The flags' names, in the order the CLI and the summary show them.
CHOICES = tuple(Choices.__annotations__)


@dataclass(frozen=True)
class Options:
    """The resolved options of one project, and where each value came from."""

    name: str
    package: str
    db: str
    redis: bool
    auth: str
    server: str
    layout: str
    python: str
    package_manager: str
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def has_db(self) -> bool:
        return self.db != NO_DATABASE

    @property
    def has_db_server(self) -> bool:
        return self.db in SERVER_DATABASES

    @property
    def has_jwt(self) -> bool:
        return self.auth == JWT

    def as_dict(self) -> dict[str, Any]:
        """The values, without their sources, in field order (the manifest keeps it)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "sources"}


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
