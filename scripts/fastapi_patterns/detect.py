"""Read-only project detection: what a senior engineer would read off a repository.

Standard library only (the slash command runs it before anything is installed). It never
writes, imports or executes project code; it skips VCS, virtualenv, node_modules, build
and cache trees, and it is bounded in files, bytes, depth and time. Bad input (malformed
TOML/YAML/INI/JSON, unreadable, binary or huge files, symlink loops, a missing folder)
becomes a warning and a sensible answer, never an exception.

Every answer names the file that decided it in `sources`; disagreements go to `warnings`.
Paths are POSIX and relative to the scanned folder (`..` when a lock file or workspace
sits above it in the same repository).

How each answer is decided:

- fastapi_app: what a run configuration names (`[tool.fastapi] entrypoint`, Procfile,
  Dockerfile CMD/ENTRYPOINT, compose command, Makefile), when it resolves to a module
  that defines the attribute and that object is FastAPI's: built by FastAPI or a factory
  returning one, or, when the code does not say, in a project depending on FastAPI. A
  Flask, Django, Starlette... app named there is a warning, not the app (see
  _detect_framework). Otherwise the apps found in the syntax trees (see
  _detect_app). Either way, among several: instances before factories, apps nobody
  mounts before mounted sub-apps, then outside SDK/CLI/lambda/tooling folders, then in
  backend/, server/, api/... or at the top, then in main.py/app.py/asgi.py..., then
  named app, then the shallowest (then the configuration order above). Tests, examples,
  docs and templates never hold the app; nor does a file that cannot be imported.
- project_root, layout, package: from how the app's code imports itself (see
  _detect_layout); without an app, from the project files.

The remaining answers read the project root and the folders above it, nearest first:

- python_version: the lowest 3.X declared by .python-version, requires-python,
  tool.poetry python, Pipfile python_version, runtime.txt, .tool-versions, setup.cfg or
  setup.py python_requires, and Dockerfile `FROM python:3.X` / uv images. `python:3`
  and `python:slim` declare nothing. Differing declarations are reported. A Pipfile's
  or [tool.poetry]'s version is ignored when that manager lost (a leftover).
- package_manager: lock file > tool table (or Pipfile, hatch.toml) > requirements
  files / setup.py, then the nearest folder (see _detect_pm).
- database, database_driver, redis: the evidence tiers of _detect_db: runtime
  dependency > env file > compose environment > env template > settings default >
  compose service > development dependency.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import _detect_db as db
from . import _detect_pm as pm
from . import _detect_python as py
from ._detect_app import find_app
from ._detect_deps import collect
from ._detect_fs import Tree, join
from ._detect_layout import WEB_FRAMEWORKS, Layout, for_app, without_app

# Files of a project that generating a service into it would overwrite or need to edit.
OWNED_FILES = (
    "pyproject.toml", "README.md", ".env.example", ".gitignore", "Dockerfile",
    "compose.yaml", "docker-compose.yml", "alembic.ini", "tests/conftest.py",
)  # fmt: skip
INTERNAL_ERROR = "The detector failed on this project"
_DOCKERFILE = re.compile(r"^((Dockerfile|Containerfile)(\..+)?|.+\.(Dockerfile|dockerfile))$")


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

    declarations = py.declarations(tree, chain, _dockerfiles(tree, chain))
    declared = py.lowest(_without_leftovers(declarations, manager, warnings), warnings)
    if declared:
        sources["python_version"] = declared.source

    deps = collect(tree, chain)
    evidence = db.from_dependencies(deps, distance)
    evidence += db.env_files(tree, chain)
    evidence += db.compose(tree, db.compose_files(tree, chain))
    package_folder = (
        join(layout.import_root, layout.package) if layout.package else layout.project_root
    )
    extra = [app.file] if app else []
    evidence += db.settings(tree, db.settings_files(tree, package_folder, extra), distance)
    decision = db.decide(evidence, warnings)
    if decision.database_source:
        sources["database"] = decision.database_source
    if decision.driver_source:
        sources["database_driver"] = decision.driver_source
    if decision.redis_source:
        sources["redis"] = decision.redis_source

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
    )


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


def _dockerfiles(tree: Tree, chain: list[str]) -> list[str]:
    found: list[str] = []
    for folder in chain:
        places = [folder] + [
            join(folder, sub)
            for sub in db.COMPOSE_FOLDERS
            if sub in tree.subfolders.get(folder, ())
        ]
        for place in places:
            found += [join(place, n) for n in tree.names(place) if _DOCKERFILE.match(n)]
    return found


def _project_marker(tree: Tree, folder: str) -> str | None:
    for name in ("pyproject.toml", "setup.py", "setup.cfg", "Pipfile", "requirements.txt"):
        if tree.has(join(folder, name)):
            return join(folder, name)
    return None


def _files_touched(tree: Tree, project_root: str, app_file: str | None) -> list[str]:
    touched = [join(project_root, n) for n in OWNED_FILES if tree.has(join(project_root, n))]
    if app_file:
        touched.append(app_file)
    return sorted(set(touched))


def format_summary(d: Detection) -> str:
    """A compact few-line text for people and for the slash command's context."""
    source = d.sources

    def where(key: str) -> str:
        return f" ({source[key]})" if key in source else ""

    python = d.python_version or "not declared"
    lines = [
        f"project root: {d.project_root}; layout {d.layout}"
        + (f", package {d.package}" if d.package else ""),
        f"python: {python}{where('python_version')}; running {d.python_runtime}",
        f"package manager: {d.package_manager}{where('package_manager')}",
        f"database: {d.database}"
        + (f" via {d.database_driver}" if d.database_driver else "")
        + where("database")
        + f"; redis: {'yes' if d.redis else 'no'}{where('redis')}",
    ]
    if d.fastapi_app:
        kind = "factory" if d.fastapi_factory else "app"
        lines.append(
            f"existing FastAPI {kind}: {d.fastapi_app}{where('fastapi_app')}"
            " (the generator refuses to write over it without --force)"
        )
    else:
        lines.append("existing FastAPI app: none")
    lines.append(f"generator flags: {' '.join(generator_flags(d)) or '(defaults)'}")
    for warning in d.warnings[:6]:
        lines.append(f"warning: {warning}")
    if len(d.warnings) > 6:
        lines.append(f"warning: ... and {len(d.warnings) - 6} more (see --json)")
    return "\n".join(lines)


def generator_flags(d: Detection) -> list[str]:
    """The create-fastapi-app flags that spell out what was detected."""
    flags: list[str] = []
    if d.python_version:
        flags += ["--python", d.python_version]
    if d.database in ("postgresql", "mysql", "sqlite"):
        flags += ["--db", d.database]
    flags.append("--redis" if d.redis else "--no-redis")
    if d.layout in ("flat", "src"):
        flags += ["--layout", d.layout]
    return flags
