"""Detection + flags -> options: flags win over what was detected, which wins over defaults.

The only stage that reads both the detector's report and the user's choices; it records
where each value came from (`Options.sources`) for the summary.
"""

from __future__ import annotations

from typing import Unpack

from .detect import Detection
from .errors import OptionError
from .options import (
    AUTHS,
    CHOICES,
    DATABASES,
    DEFAULT_SERVER,
    JWT,
    LAYOUTS,
    MAX_PYTHON,
    MIN_PYTHON,
    NO_DATABASE,
    PACKAGE_MANAGERS,
    SERVERS,
    Choices,
    Options,
    package_name,
    parse_python,
)

DEFAULT_PYTHON = "3.11"


def resolve(
    name: str, detection: Detection, **choices: Unpack[Choices]
) -> tuple[Options, list[str]]:
    """Combine flags, detection and defaults into validated options, plus warnings."""
    unknown = sorted(set(choices) - set(CHOICES))
    if unknown:  # a caller's typo; **choices would otherwise ignore it
        raise TypeError(f"resolve() got unknown options: {', '.join(unknown)}")
    warnings: list[str] = []
    sources: dict[str, str] = {}
    package = package_name(name)

    db = choices.get("db")
    if db is not None:
        sources["db"] = "flag"
    elif detection.database in DATABASES and detection.database != NO_DATABASE:
        db, sources["db"] = detection.database, _detected(detection, "database")
    else:
        if detection.database not in (NO_DATABASE, ""):
            warnings.append(
                f"Detected database {detection.database!r} is not supported; using SQLite."
            )
        db, sources["db"] = DATABASES[0], "default"
    _check("--db", db, DATABASES)

    redis = choices.get("redis")
    if redis is not None:
        sources["redis"] = "flag"
    elif detection.redis:
        redis, sources["redis"] = True, _detected(detection, "redis")
    else:
        redis, sources["redis"] = False, "default"

    auth = choices.get("auth")
    if auth is not None:
        sources["auth"] = "flag"
    elif db == NO_DATABASE:
        auth, sources["auth"] = "none", "default (no database to hold users)"
    else:
        auth, sources["auth"] = JWT, "default"
    _check("--auth", auth, AUTHS)
    if auth == JWT and db == NO_DATABASE:
        raise OptionError("--auth jwt needs a database to hold users; pick --db or --auth none.")

    server = _flag_detected_or_default(
        choices.get("server"), detection, sources, "server", SERVERS, DEFAULT_SERVER
    )
    layout = _flag_detected_or_default(
        choices.get("layout"), detection, sources, "layout", LAYOUTS, LAYOUTS[0]
    )

    python, sources["python"] = _python(detection, choices.get("python"))

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
        server=server,
        layout=layout,
        python=python,
        package_manager=manager,
        sources=sources,
    )
    return options, warnings


def _flag_detected_or_default(
    flag: str | None,
    detection: Detection,
    sources: dict[str, str],
    key: str,
    allowed: tuple[str, ...],
    default: str,
) -> str:
    """An option with no rule of its own: the flag, else what was detected, else the default."""
    value = flag
    if value is not None:
        sources[key] = "flag"
    elif getattr(detection, key) in allowed:
        value, sources[key] = getattr(detection, key), _detected(detection, key)
    else:
        value, sources[key] = default, "default"
    _check(f"--{key}", value, allowed)
    return value


def _detected(detection: Detection, key: str) -> str:
    source = detection.sources.get(key)
    return f"detected ({source})" if source else "detected"


def _check(flag: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise OptionError(f"{flag} {value!r} is not one of {', '.join(allowed)}.")


def _python(detection: Detection, flag: str | None) -> tuple[str, str]:
    """The lowest Python the project supports, and where that came from."""
    if flag is not None:
        return parse_python(flag, "--python"), "flag"
    if detection.python_version:
        origin = _detected(detection, "python_version")
        return parse_python(detection.python_version, origin), origin
    runtime = tuple(int(part) for part in detection.python_runtime.split(".")[:2])
    if MIN_PYTHON <= runtime <= MAX_PYTHON:
        return detection.python_runtime, "running interpreter"
    return DEFAULT_PYTHON, "default"
