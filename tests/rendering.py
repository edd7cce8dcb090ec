"""Every valid option combination, rendered in memory quickly (no servers, no disk).

Used by the static checks over the whole matrix (test_all_combinations.py,
test_deployment_files.py, the audit's "the bundle audits clean" tests); test_generated.py
boots the subset in combos.MATRIX.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

from combos import Combo
from fastapi_patterns import render as render_module
from fastapi_patterns.generate import Generation, generate
from fastapi_patterns.options import AUTHS, DATABASES, GRANIAN, LAYOUTS, SERVER_DATABASES

PYTHONS = ("3.11", "3.12", "3.13")
UVICORN_COMBOS = [
    Combo(db, redis, auth, layout)
    for db in DATABASES
    for redis in (False, True)
    for auth in AUTHS
    for layout in LAYOUTS
    if not (auth == "jwt" and db == "none")  # refused: users need a database
]
# The server changes a few files (the entry point, logging, pyproject, the deployment files
# and the README), which also depend on the database, auth and layout: every database with
# every auth under granian, both layouts and both Redis settings among them, and the
# generator's default project (SQLite, no Redis, JWT, flat, granian) as it comes.
GRANIAN_COMBOS = [
    Combo(
        db,
        db in SERVER_DATABASES or db == "none",
        auth,
        "src" if auth == "jwt" and db != "sqlite" else "flat",
        GRANIAN,
    )
    for db in DATABASES
    for auth in AUTHS
    if not (auth == "jwt" and db == "none")
]
ALL_COMBOS = UVICORN_COMBOS + GRANIAN_COMBOS


@contextlib.contextmanager
def compiled_once() -> Iterator[None]:
    """render() compiles every template anew on each call (~0.6 s per project); the
    templates do not change during a test, so one compiled environment serves them all."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            render_module, "make_environment", functools.cache(render_module.make_environment)
        )
        yield


def render_dry(combo: Combo, workspace: Path, python: str = "3.11") -> Generation:
    """The project as generated inside `workspace` (see workspaces.py), not written."""
    return generate(
        combo.name,
        workspace / f"{combo.name}-py{python.replace('.', '')}",
        db=combo.db,
        redis=combo.redis,
        auth=combo.auth,
        server=combo.server,
        layout=combo.layout,
        python=python,
        dry_run=True,
    )


SINGLE_FILE_TEMPLATE = Path(__file__).resolve().parent.parent / "assets" / "fastapi-app-template.py"


def write_bundle_python(root: Path) -> list[Path]:
    """Every Python file the bundle writes, one project folder per combination below `root`,
    plus the single-file template as `root/template/main.py`; returns the project folders."""
    folders: list[Path] = []
    with compiled_once():
        for combo in ALL_COMBOS:
            generation = render_dry(combo, root / "workspace")
            folder = root / "projects" / combo.id
            for name, content in generation.files.items():
                if name.endswith(".py"):
                    (folder / name).parent.mkdir(parents=True, exist_ok=True)
                    (folder / name).write_bytes(content)
            folders.append(folder)
    template = root / "template"
    template.mkdir()
    (template / "main.py").write_bytes(SINGLE_FILE_TEMPLATE.read_bytes())
    return [*folders, template]
