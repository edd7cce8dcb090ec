"""One library call from a name and flags to a written project: detect, plan, render, write."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import options as opts
from .assets import project_templates
from .detect import Detection, detect_project
from .manifest import render_manifest
from .options import OptionError
from .plan import MANIFEST, plan
from .render import render
from .write import WriteResult, classify, write_files


class ExistingAppError(RuntimeError):
    """The context already holds a FastAPI app and --force was not given."""


@dataclass
class Generation:
    options: opts.Options
    directory: Path
    files: dict[str, bytes]
    detection: Detection
    warnings: list[str] = field(default_factory=list)
    result: WriteResult | None = None
    dry_run: bool = False

    def summary(self) -> dict[str, Any]:
        planned = classify(self.directory, self.files) if self.result is None else self.result
        return {
            "project": self.options.name,
            "package": self.options.package,
            "directory": str(self.directory),
            "dry_run": self.dry_run,
            "options": {
                key: {"value": value, "source": self.options.sources.get(key, "flag")}
                for key, value in self.options.as_dict().items()
                if key not in ("name", "package")
            },
            "files": sorted(self.files),
            "created": planned.created,
            "overwritten": planned.overwritten,
            "unchanged": planned.unchanged,
            "warnings": self.warnings,
            "next_steps": next_steps(self.options, self.directory),
        }


def context_dir(directory: Path) -> Path:
    """The folder whose project provides defaults: the target if it exists, else its parent."""
    path = directory
    while not path.is_dir():
        if path.parent == path:
            break
        path = path.parent
    return path


def generate(
    name: str,
    directory: Path | None = None,
    *,
    db: str | None = None,
    redis: bool | None = None,
    auth: str | None = None,
    layout: str | None = None,
    python: str | None = None,
    force: bool = False,
    dry_run: bool = False,
    cwd: Path | None = None,
) -> Generation:
    """Generate project `name` into `directory` (default: ./name). Raises on bad input."""
    base = cwd or Path.cwd()
    opts.package_name(name)  # fail on a bad name before touching anything else
    target = (base / directory if directory is not None else base / name).absolute()
    try:
        context = context_dir(target)
    except OSError as error:
        raise OptionError(f"The target folder {target} is unusable: {error.strerror}.") from error
    detection = detect_project(context)
    existing_app: list[str] = []
    if detection.existing_fastapi:
        where = detection.fastapi_app or "an existing module"
        if target.exists() and not force:
            # Writing into the folder that holds the app could clobber it; a new folder cannot.
            raise ExistingAppError(
                f"{context} already holds a FastAPI app ({where}); refusing to generate over it"
                " (use --dir NEW_FOLDER for a separate service, or --force)."
            )
        existing_app.append(
            f"{context} already holds a FastAPI app ({where}); this is a separate service."
        )
    options, warnings = opts.resolve(
        name, detection, db=db, redis=redis, auth=auth, layout=layout, python=python
    )
    warnings = list(detection.warnings) + existing_app + warnings
    templates = project_templates()
    files = render(plan(options, templates), options, templates)
    files[MANIFEST] = render_manifest(options, files)
    generation = Generation(options, target, files, detection, warnings, dry_run=dry_run)
    if not dry_run:
        generation.result = write_files(target, files, force=force)
    return generation


def next_steps(options: opts.Options, directory: Path) -> list[str]:
    if options.package_manager == "uv":
        install = "uv sync"
        run = "uv run "
    else:
        install = "python3 -m venv .venv && . .venv/bin/activate && pip install -e . --group dev"
        run = ""
    steps = [f"cd {directory}", install, "cp .env.example .env"]
    if options.auth == "jwt":
        steps.append(
            "set SECRET_KEY in .env: python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    if options.db != "none":
        steps.append(f"{run}alembic upgrade head")
    steps += [
        f"{run}pytest",
        f"{run}uvicorn {options.package}.main:app --no-access-log --reload",
        "open http://127.0.0.1:8000/docs and http://127.0.0.1:8000/health/ready",
    ]
    return steps
