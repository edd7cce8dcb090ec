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
  entrypoints and framework). Otherwise the apps found in the syntax trees (see
  finder). Either way, among several (see apps): apps nobody mounts before mounted
  sub-apps, instances before factories, then outside SDK/CLI/lambda/tooling folders,
  then in backend/, server/, api/..., src/ or at the top, then in
  main.py/app.py/asgi.py..., then named app, then the shallowest (then the
  configuration order above). Tests, examples,
  docs and templates never hold the app; nor does a file that cannot be imported.
- project_root, layout, package: from how the app's code imports itself (see
  layout); without an app, from the project files.

The remaining answers read the project root and the folders above it, nearest first:

- python_version: the lowest 3.X declared by .python-version, requires-python,
  tool.poetry python, Pipfile python_version, runtime.txt, .tool-versions, setup.cfg or
  setup.py python_requires, and Dockerfile `FROM python:3.X` / uv images. `python:3`
  and `python:slim` declare nothing. Differing declarations are reported. A Pipfile's
  or [tool.poetry]'s version is ignored when that manager lost (a leftover).
- package_manager: lock file > tool table (or Pipfile, hatch.toml) > requirements
  files / setup.py, then the nearest folder (see package_manager).
- database, database_driver, redis: the evidence tiers of database_evidence: runtime
  dependency > env file > compose environment > env template > settings default >
  compose service > development dependency (see database).
- server: granian or uvicorn when a runtime dependency names it, granian first (project).

The modules, from the bottom up: paths, tree (the bounded scan and reads), names (what
file and folder names mean); formats, run_files and yaml_subset (parsers) and load (each
file parsed once); dependencies; modules, finder, entrypoints, framework and apps
(fastapi_app); layout; python_version; package_manager; database_names,
database_evidence and database; project, which puts the answers together, and summary.
Only what this module exports is meant for the rest of the package.
"""

from .project import INTERNAL_ERROR, OWNED_FILES, Detection, detect_project
from .summary import format_summary, generator_flags

__all__ = [
    "INTERNAL_ERROR",
    "OWNED_FILES",
    "Detection",
    "detect_project",
    "format_summary",
    "generator_flags",
]
