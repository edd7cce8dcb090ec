"""One library call from a name and flags to a written project: detect, plan, render, write."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Unpack

from .assets import project_templates, template_files
from .detect import Detection, detect_project
from .envfile import ENV_FILE, EXAMPLE_FILE, development_env
from .errors import ExistingAppError, OptionError, TemplateError
from .options import Choices, Options, package_name
from .plan import plan
from .render import render
from .resolve import resolve
from .steps import next_steps, notes
from .write import WriteResult, classify, write_files


@dataclass
class Generation:
    options: Options
    directory: Path
    files: dict[str, bytes]
    detection: Detection
    warnings: list[str] = field(default_factory=list)
    result: WriteResult | None = None
    dry_run: bool = False
    # Write the development .env (from .env.example) unless one exists; --no-env: False.
    write_env: bool = True

    @property
    def private(self) -> list[str]:
        return [ENV_FILE] if self.write_env and EXAMPLE_FILE in self.files else []

    def env_status(self, planned: WriteResult) -> str:
        if ENV_FILE in planned.kept:
            return "kept"
        return "created" if ENV_FILE in planned.created else "skipped"

    def summary(self) -> dict[str, Any]:
        """What was (or would be) written. Never holds the .env content or its secret."""
        if self.result is None:
            planned = classify(self.directory, self.files, self.private)
        else:
            planned = self.result
        env_status = self.env_status(planned)
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
            "created": [path for path in planned.created if path in self.files],
            "overwritten": planned.overwritten,
            "unchanged": planned.unchanged,
            "env_file": {"path": ENV_FILE, "status": env_status},
            "warnings": self.warnings,
            "next_steps": next_steps(self.options, self.directory),
            "next_steps_notes": notes(self.options, env_status),
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
    force: bool = False,
    dry_run: bool = False,
    env: bool = True,
    cwd: Path | None = None,
    **choices: Unpack[Choices],
) -> Generation:
    """Generate project `name` into `directory` (default: ./name) with the options chosen
    in `choices` (db, redis, auth, layout, python; the rest detected or default). Raises a
    GeneratorError on bad input.

    With `env`, a development `.env` with a fresh SECRET_KEY is written too, unless a
    `.env` exists already; it is not part of `files` or the manifest.
    """
    base = cwd or Path.cwd()
    package_name(name)  # fail on a bad name before touching anything else
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
    options, warnings = resolve(name, detection, **choices)
    warnings = list(detection.warnings) + existing_app + warnings
    templates = project_templates()
    files = render(plan(options, template_files(templates)), options, templates)
    generation = Generation(
        options, target, files, detection, warnings, dry_run=dry_run, write_env=env
    )
    if not dry_run:
        generation.result = write_files(
            target, files, force=force, private=_private_files(generation)
        )
    return generation


def _private_files(generation: Generation) -> dict[str, bytes]:
    """The development .env; write_files keeps an existing one and drops this content."""
    if not generation.private:
        return {}
    try:
        content = development_env(
            generation.files[EXAMPLE_FILE], needs_secret=generation.options.has_jwt
        )
    except ValueError as error:
        raise TemplateError(str(error)) from error
    return {ENV_FILE: content}
