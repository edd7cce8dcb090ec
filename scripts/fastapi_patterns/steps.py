"""The next steps after generating: shell lines a new user runs, literally, in one shell.

The same lines appear in the summary (text and `next_steps` in --json) and in the
generated README's quick start, so there is one path from a fresh project to a served
app. Each line is a complete shell command: no placeholders, no advice mixed in (that
goes to `notes`), the server last. They work in a venv made by a stock `python3 -m venv`,
whose pip may predate dependency groups (pip 25.1), so pip is upgraded first.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from .options import GRANIAN, Options

# A venv made by Debian's or Ubuntu's Python 3.11-3.13 starts with pip 23-25.0;
# `--group` (PEP 735 dependency groups, where the dev tools live) needs 25.1.
PIP_FOR_GROUPS = "25.1"
SERVE_PORT = 8000

# How each package manager runs a command inside the project's environment.
_RUNNERS = {"uv": "uv run ", "poetry": "poetry run ", "pdm": "pdm run "}
_INSTALL = {
    "uv": ["uv sync"],
    # Poetry 2.2+ and PDM read the [dependency-groups] table.
    "poetry": ["poetry install --with dev"],
    "pdm": ["pdm install"],
}
# pip, and hatch and pipenv projects, whose metadata is all standard: a plain venv.
_VENV = [
    "python3 -m venv .venv",
    ". .venv/bin/activate",
    f"python -m pip install --upgrade 'pip>={PIP_FOR_GROUPS}'",
    "python -m pip install -e . --group dev",
]


def services(options: Options) -> list[str]:
    """The compose services the app needs on localhost (none for SQLite)."""
    needed = ["db"] if options.has_db_server else []
    return needed + (["redis"] if options.redis else [])


def quick_start(options: Options) -> list[str]:
    """The steps run inside the project folder: install, services, migrate, test, serve."""
    run = _RUNNERS.get(options.package_manager, "")
    steps = list(_INSTALL.get(options.package_manager, _VENV))
    if services(options):
        # --wait returns once the containers' health checks pass.
        steps.append(f"docker compose up --wait {' '.join(services(options))}")
    if options.has_db:
        steps.append(f"{run}alembic upgrade head")
    steps.append(f"{run}python -m pytest")
    steps.append(run + serve_command(options))
    return steps


def serve_command(options: Options) -> str:
    """The development server: reloading on code changes, without the server's access log
    (the app writes its own line per request; granian's is off unless asked for)."""
    if options.server == GRANIAN:
        # granian watches every file of the folder by default, the SQLite database and its
        # journal included: each write would restart the app. Watch the code only.
        code = ("src/" if options.layout == "src" else "") + options.package
        return f"granian --interface asgi --reload --reload-paths {code} {options.package}.main:app"
    return f"uvicorn {options.package}.main:app --reload --no-access-log"


def next_steps(options: Options, directory: Path) -> list[str]:
    return [f"cd {shlex.quote(str(directory))}", *quick_start(options)]


def notes(options: Options, env_status: str) -> list[str]:
    """Advice that is not a command: what the last step serves, and what became of .env."""
    url = f"http://127.0.0.1:{SERVE_PORT}"
    found = [
        f"The last step serves the app on {url} ({options.server.upper()}_PORT changes the"
        f" port): open "
        f"{url}/docs for the API and {url}/health/ready for readiness; Ctrl-C stops it."
    ]
    if services(options):
        found.append(
            "`docker compose up --wait` starts the local servers .env points at; skip it "
            "when DATABASE_URL or REDIS_URL in .env names servers of your own."
        )
    secret = " with a fresh random SECRET_KEY" if options.has_jwt else ""
    found.append(
        {
            "created": f".env: development settings{secret}, git-ignored, readable only by "
            "you; the README says how to rotate the key.",
            "kept": ".env already existed and was kept as it is (it is never overwritten, "
            "not even with --force); .env.example lists every setting.",
            "skipped": ".env was not written (--no-env): set the settings in the environment "
            "or in .env before serving"
            + ("; SECRET_KEY is required" if options.has_jwt else "")
            + " (.env.example lists every setting).",
        }[env_status]
    )
    return found
