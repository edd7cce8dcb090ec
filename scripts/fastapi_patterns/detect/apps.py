"""Finding the FastAPI app by reading the code's syntax tree, never by importing it.

What the run configuration names (see entrypoints) wins when it resolves to a module
that defines the attribute and the object is FastAPI's (see framework); `gunicorn
app:app` serving Flask is a warning. Otherwise the apps the Finder found in the code.
Among several: apps nobody mounts before mounted sub-apps, instances before factories,
then outside side folders (SDKs, CLIs, lambdas, tooling), then in service folders
(backend/, server/, api/ ...), src/ or at the top, then in main.py/app.py/asgi.py ...,
then named app, then the shallowest.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from .entrypoints import resolve_reference, run_references
from .finder import App, Finder
from .framework import FASTAPI, depends_on_fastapi, describe, framework_of
from .names import SERVICE_FOLDERS, SIDE_FOLDERS
from .paths import parent
from .tree import Tree

# src/ holds the code of a src layout: an app under it is the project's own.
_OWN_CODE_FOLDERS = frozenset({*SERVICE_FOLDERS, "src"})
_APP_STEMS = ("main", "app", "asgi", "server", "application", "api", "__init__", "wsgi")


def _score(app: App, mounted: set[tuple[str, str]]) -> tuple[int, ...]:
    path = PurePosixPath(app.file)
    folders = [p.lower() for p in path.parts[:-1]]
    return (
        1 if (app.file, app.attr) in mounted else 0,
        1 if app.factory else 0,
        1 if set(folders) & SIDE_FOLDERS else 0,
        0 if set(folders) & _OWN_CODE_FOLDERS or not folders else 1,
        0 if path.stem in _APP_STEMS else 1,
        0 if app.attr in ("app", "application", "api") else 1,
        len(folders),
    )


def choose(apps: list[App], mounted: set[tuple[str, str]], warnings: list[str]) -> App | None:
    if not apps:
        return None
    ranked = sorted(apps, key=lambda a: (_score(a, mounted), a.file, a.line))
    best = ranked[0]
    # The factory that builds the chosen instance is the same app, not a rival.
    rivals = [
        a
        for a in ranked[1:]
        if (a.file, a.attr) not in mounted and not a.factory and a.file != best.file
    ]
    if rivals and not best.factory:
        listed = ", ".join(f"{a.file}:{a.attr}" for a in rivals[:5])
        warnings.append(
            f"Found more than one FastAPI app; chose {best.file}:{best.attr} over {listed}."
        )
    return best


def find_app(tree: Tree, warnings: list[str]) -> App | None:
    finder = Finder(tree)
    finder.scan()
    resolved: list[tuple[int, App]] = []
    unresolved: list[str] = []
    chosen: App | None
    for rank, ref in enumerate(run_references(tree)):
        app = resolve_reference(tree, finder, ref)
        if app is None:
            unresolved.append(f"{ref.source} names {ref.app.module}:{ref.app.attr}")
            continue
        # `gunicorn app:app` serves Flask and Django too: the code, or at least the
        # project's dependencies, must say FastAPI.
        framework = framework_of(finder, app)
        folders = [parent(app.file), parent(ref.source)]
        if framework == FASTAPI or (framework is None and depends_on_fastapi(tree, folders)):
            resolved.append((rank, app))
        else:
            warnings.append(
                f"{ref.source} runs {ref.app.module}:{ref.app.attr}, {describe(framework)};"
                " not a FastAPI app."
            )
    if resolved:
        # Several run configurations (a lambda's Dockerfile beside the API's): the same
        # preferences as for apps found in code, then the order of run_references.
        _, chosen = min(resolved, key=lambda item: (_score(item[1], finder.mounted), item[0]))
        named = sorted({f"{a.file}:{a.attr} ({a.via})" for _, a in resolved})
        # A Dockerfile and a compose file naming the same app are not a choice.
        if len({(a.file, a.attr) for _, a in resolved}) > 1:
            warnings.append(
                f"Run configurations name several apps: {', '.join(named)}; chose"
                f" {chosen.file}:{chosen.attr}."
            )
    else:
        chosen = choose(finder.apps(), finder.mounted, warnings)
    if unresolved and chosen is not None:
        warnings.append(
            f"{'; '.join(unresolved)}, which does not resolve to a module here; used"
            f" {chosen.file}:{chosen.attr}."
        )
    return chosen
