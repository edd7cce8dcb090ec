"""The two rebuilt sides: what a generator version writes for a set of options.

The bundle's own version renders in process with today's code; any other version from
its snapshot (`snapshot.py`). Options are the manifest's record, with the flags of this
update (`--db`, `--redis`, `--auth`, `--server`) laid over them and checked as the
generator does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from .. import __version__
from ..assets import project_templates, template_files
from ..options import AUTHS, DATABASES, JWT, NO_DATABASE, SERVERS, Options
from ..plan import plan
from ..render import render
from .errors import UpdateError
from .snapshot import recorded_options, render_version

# The options an update may change; the rest (name, layout, ...) are the project's.
CHANGEABLE = ("db", "redis", "auth", "server")


def render_files(version: str, options: Mapping[str, Any]) -> dict[str, bytes]:
    """Every file generator `version` writes for `options` (as its manifest recorded them)."""
    if version == __version__:
        current = current_options(options)
        templates = project_templates()
        return render(plan(current, template_files(templates)), current, templates)
    return render_version(version, options)


def current_options(record: Mapping[str, Any]) -> Options:
    """Today's Options from a recorded set; refuses records it cannot read."""
    names = [f.name for f in fields(Options) if f.name != "sources"]
    record = recorded_options(record)
    missing = [name for name in names if name not in record]
    if missing:
        raise UpdateError(
            f"The manifest records no {', '.join(missing)} option; restore it from git."
        )
    return Options(**{name: record[name] for name in names})


def with_changes(record: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The recorded options with this update's flags; refuses a combination the generator
    refuses."""
    options = recorded_options(record)
    options.update({key: value for key, value in changes.items() if value is not None})
    if options.get("db") not in DATABASES:
        raise UpdateError(f"--db {options.get('db')!r} is not one of {', '.join(DATABASES)}.")
    if options.get("auth") not in AUTHS:
        raise UpdateError(f"--auth {options.get('auth')!r} is not one of {', '.join(AUTHS)}.")
    if options.get("server") not in SERVERS:
        raise UpdateError(f"--server {options.get('server')!r} is not one of {', '.join(SERVERS)}.")
    if options["auth"] == JWT and options["db"] == NO_DATABASE:
        raise UpdateError(
            "--auth jwt needs a database to hold users; add --auth none to drop the database."
        )
    return options
