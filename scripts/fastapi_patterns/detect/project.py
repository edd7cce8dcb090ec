"""The whole detection: each answer from its module, with its source and warnings."""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import database_evidence as evidence
from . import package_manager as pm
from . import python_version as py
from .apps import find_app
from .database import decide
from .dependencies import Dependency, collect
from .layout import WEB_FRAMEWORKS, Layout, for_app, without_app
from .names import DOCKERFILE, PROJECT_FILES, deployment_files
from .paths import join
from .tree import Tree

# Files of a project that generating a service into it would overwrite or need to edit.
OWNED_FILES = (
    "pyproject.toml", "README.md", ".env.example", ".gitignore", "Dockerfile",
    "compose.yaml", "docker-compose.yml", "alembic.ini", "tests/conftest.py",
)  # fmt: skip
INTERNAL_ERROR = "The detector failed on this project"


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
    fastapi_factory: bool = False  # fastapi_app names a factory (uvicorn --factory)
    fastapi_declared: bool = False  # fastapi (or starlette) is a declared dependency
    server: str | None = None  # the ASGI server a runtime dependency names (granian, uvicorn)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _runtime() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _empty(root: str, warnings: list[str]) -> Detection:
    return Detection(
        root=root,
        python_version=None,
        python_runtime=_runtime(),
        package_manager="none",
        database="none",
        database_driver=None,
        redis=False,
        project_root=".",
        layout="none",
        package=None,
        fastapi_app=None,
        existing_fastapi=False,
        sources={"python_runtime": sys.executable or "python"},
        warnings=warnings,
    )


def detect_project(path: Path) -> Detection:
    """Detect the context of the project at `path`. Never raises for bad project input."""
    warnings: list[str] = []
    root = os.path.abspath(path)
    try:
        if not path.exists():
            warnings.append(f"{path} does not exist; nothing was detected.")
            return _empty(root, warnings)
        if not path.is_dir():
            warnings.append(f"{path} is not a folder; nothing was detected.")
            return _empty(root, warnings)
    except OSError as error:
        warnings.append(f"{path} cannot be read ({error.strerror or error}); nothing was detected.")
        return _empty(root, warnings)
    tree = Tree(Path(root), warnings)
    if not tree.files and not any(tree.subfolders.values()):
        warnings.append(f"{path} is empty; nothing was detected.")
        return _empty(root, warnings)
    try:
        return _detect(tree, root, warnings)
    except (RecursionError, MemoryError, ValueError, KeyError, TypeError, RuntimeError) as error:
        # A bug here must not become a traceback in the user's terminal or prompt.
        warnings.append(
            f"{INTERNAL_ERROR} ({type(error).__name__}: {error}); nothing was detected."
        )
        return _empty(root, warnings)


def _detect(tree: Tree, root: str, warnings: list[str]) -> Detection:
    sources: dict[str, str] = {"python_runtime": sys.executable or "python"}
    app = find_app(tree, warnings)
    layout: Layout = for_app(tree, app) if app else without_app(tree)
    chain = tree.chain(layout.project_root)
    distance = {folder: index for index, folder in enumerate(chain)}

    manager = pm.decide(pm.evidence(tree, chain), warnings)
    if manager:
        sources["package_manager"] = manager.source

    dockerfiles = [rel for rel, _ in deployment_files(tree, chain, DOCKERFILE)]
    declarations = py.declarations(tree, chain, dockerfiles)
    declared = py.lowest(_without_leftovers(declarations, manager, warnings), warnings)
    if declared:
        sources["python_version"] = declared.source

    deps = collect(tree, chain)
    found = evidence.from_dependencies(deps, distance)
    found += evidence.env_files(tree, chain)
    found += evidence.compose(tree, chain)
    package_folder = (
        join(layout.import_root, layout.package) if layout.package else layout.project_root
    )
    extra = [app.file] if app else []
    found += evidence.settings(tree, evidence.settings_files(tree, package_folder, extra), distance)
    decision = decide(found, warnings)
    if decision.database_source:
        sources["database"] = decision.database_source
    if decision.driver_source:
        sources["database_driver"] = decision.driver_source
    if decision.redis_source:
        sources["redis"] = decision.redis_source

    server = _server(deps)
    if server:
        sources["server"] = server.source

    fastapi_app = f"{layout.module}:{app.attr}" if app and layout.module else None
    if app:
        sources["fastapi_app"] = app.via or app.file
        sources["existing_fastapi"] = app.file
    project_marker = _project_marker(tree, layout.project_root)
    if project_marker:
        sources["project_root"] = project_marker
    if app:
        sources["layout"] = sources["package"] = app.file
    elif layout.package:
        sources["layout"] = sources["package"] = join(
            join(layout.import_root, layout.package), "__init__.py"
        )
    if not tree.files or (not app and not project_marker and not any(tree.python_files())):
        warnings.append("No Python project found here.")

    return Detection(
        root=root,
        python_version=f"{declared.version[0]}.{declared.version[1]}" if declared else None,
        python_runtime=_runtime(),
        package_manager=manager.manager if manager else "none",
        database=decision.database,
        database_driver=decision.driver,
        redis=decision.redis,
        project_root=layout.project_root or ".",
        layout=layout.layout,
        package=layout.package,
        fastapi_app=fastapi_app,
        existing_fastapi=app is not None,
        files_touched=_files_touched(tree, layout.project_root, app.file if app else None),
        sources=sources,
        warnings=warnings,
        fastapi_factory=bool(app and app.factory),
        fastapi_declared=any(
            d.name in WEB_FRAMEWORKS - {"flask", "django", "litestar"} for d in deps
        ),
        server=server.name if server else None,
    )


def _server(deps: list[Dependency]) -> Dependency | None:
    """The ASGI server the project runs on, by its runtime dependencies: granian when it
    is declared (a project adding it next to uvicorn is moving to it), else uvicorn."""
    runtime = [d for d in deps if d.runtime]
    for name in ("granian", "uvicorn"):
        found = next((d for d in runtime if d.name.lower() == name), None)
        if found:
            return found
    return None


def _without_leftovers(
    found: list[py.Declaration], manager: pm.Evidence | None, warnings: list[str]
) -> list[py.Declaration]:
    """Drop versions declared in another package manager's leftover files (an old Pipfile)."""
    kept: list[py.Declaration] = []
    for declaration in found:
        owner = py.MANAGER_OF.get(declaration.what)
        if manager is not None and owner is not None and owner != manager.manager:
            warnings.append(
                f"Ignored the Python version in {declaration.source} ({declaration.what}):"
                f" the package manager is {manager.manager}, so it is a leftover."
            )
            continue
        kept.append(declaration)
    return kept


def _project_marker(tree: Tree, folder: str) -> str | None:
    for name in (*PROJECT_FILES, "requirements.txt"):
        if tree.has(join(folder, name)):
            return join(folder, name)
    return None


def _files_touched(tree: Tree, project_root: str, app_file: str | None) -> list[str]:
    touched = [join(project_root, n) for n in OWNED_FILES if tree.has(join(project_root, n))]
    if app_file:
        touched.append(app_file)
    return sorted(set(touched))
