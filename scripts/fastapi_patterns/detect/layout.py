"""Where the Python project is, how it is laid out, and how its code imports itself.

With an app, the import root is the folder from which the app's module imports: the
code's own absolute imports decide it (`from app.core import x` inside backend/app means
backend/ is the import root; `from backend.core import x` means backend/ is the package).
Without such imports, the chain of folders holding __init__.py ends at the import root.
An import root named src/ whose package is not itself `src` is a src layout, and the
project root is the folder above it.

Without an app, the project root is the folder with project files (pyproject.toml,
setup.py, setup.cfg, Pipfile, requirements*.txt) that declares a web framework, then one
outside the side folders (SDK, CLI, lambda, tooling ...; see names), then the shallowest,
then the one with a conventional name (backend, server, api, app, project ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from .dependencies import collect, requirement_files
from .finder import App
from .load import load_toml
from .names import PROJECT_FILES, SERVICE_FOLDERS, SIDE_FOLDERS, is_not_app
from .paths import ancestors, join, parent
from .tree import SOURCE_LIMIT, Tree

WEB_FRAMEWORKS = frozenset(
    {"fastapi", "starlette", "fastapi-slim", "uvicorn", "litestar", "flask", "django"}
)
_NOT_PACKAGES = frozenset(
    {"tests", "test", "docs", "scripts", "tools", "migrations", "alembic", "examples", "bench",
     "benchmarks"}
)  # fmt: skip
MAX_EVIDENCE_FILES = 300


@dataclass(frozen=True)
class Layout:
    project_root: str
    import_root: str
    layout: str  # flat, src, none
    package: str | None
    module: str | None  # dotted module of the app, when there is one


def _identifiers(path: str) -> bool:
    return all(part.isidentifier() for part in path.split("/") if part)


def _module(import_root: str, file: str) -> str | None:
    relative = file[len(import_root) + 1 :] if import_root else file
    relative = relative.removesuffix(".py").removesuffix("/__init__")
    if relative == "__init__" or not _identifiers(relative):
        return None
    return relative.replace("/", ".")


def _importing_files(tree: Tree, folder: str, target: str, subtree: bool) -> int:
    """How many files in `folder` (and below, if `subtree`) import `target` absolutely."""
    pattern = re.compile(
        rb"^[ \t]*(?:from[ \t]+" + re.escape(target.encode()) + rb"(?:\.[\w.]+)?[ \t]+import"
        rb"|import[ \t]+" + re.escape(target.encode()) + rb"(?:\.|[ \t]*$|[ \t]*,|[ \t]+as))",
        re.MULTILINE,
    )
    prefix = f"{folder}/" if folder else ""
    count = 0
    seen = 0
    for rel in tree.python_files():
        if not rel.startswith(prefix) or is_not_app(rel):
            continue
        if not subtree and "/" in rel[len(prefix) :]:
            continue
        seen += 1
        if seen > MAX_EVIDENCE_FILES:
            break
        data = tree.read_bytes(rel, SOURCE_LIMIT, quiet=True)
        if data and pattern.search(data):
            count += 1
    return count


def import_root(tree: Tree, file: str) -> str:
    folder = parent(file)
    best: tuple[int, int, str] | None = None
    for candidate in ancestors(folder):
        relative = file[len(candidate) + 1 :] if candidate else file
        if not _identifiers(relative.removesuffix(".py")):
            continue
        top = relative.split("/")[0].removesuffix(".py")
        if top == "__init__":
            continue
        is_folder = "/" in relative
        count = _importing_files(
            tree, join(candidate, top) if is_folder else candidate, top, is_folder
        )
        if count and (best is None or (count, candidate.count("/")) > best[:2]):
            best = (count, candidate.count("/"), candidate)
    if best is not None:
        return best[2]
    # No self-imports: the top of the chain of packages (folders with __init__.py).
    if not tree.has(join(folder, "__init__.py")):
        return folder
    top = folder
    while parent(top) and tree.has(join(parent(top), "__init__.py")):
        top = parent(top)
    return parent(top)


def for_app(tree: Tree, app: App) -> Layout:
    root = app.import_root if app.import_root is not None else import_root(tree, app.file)
    module = _module(root, app.file)
    if module is None:  # a folder that is not an identifier: import from the file's folder
        root = parent(app.file)
        module = _module(root, app.file) or PurePosixPath(app.file).stem
    is_package = "." in module or app.file.endswith("__init__.py")
    package = module.split(".")[0] if is_package else None
    if PurePosixPath(root).name == "src" and package != "src":
        return Layout(parent(root), root, "src" if package else "none", package, module)
    return Layout(root, root, "flat" if package else "none", package, module)


def _declares_web(tree: Tree, folder: str) -> bool:
    return any(d.name in WEB_FRAMEWORKS for d in collect(tree, [folder]) if d.runtime)


def _is_project(tree: Tree, folder: str) -> bool:
    names = tree.names(folder)
    return any(m in names for m in PROJECT_FILES) or bool(requirement_files(names, folder, tree))


def without_app(tree: Tree) -> Layout:
    candidates = [
        f
        for f in tree.subfolders
        if f.count("/") < 4 and not is_not_app(join(f, "x.py")) and _is_project(tree, f)
    ]
    if "" in tree.folders and _is_project(tree, "") and "" not in candidates:
        candidates.append("")
    if not candidates:
        root = ""
    else:

        def rank(folder: str) -> tuple[int, int, int, int, str]:
            parts = [p.lower() for p in folder.split("/") if p]
            name = parts[-1] if parts else ""
            return (
                0 if _declares_web(tree, folder) else 1,
                1 if set(parts) & SIDE_FOLDERS else 0,
                len(parts),
                0 if name in SERVICE_FOLDERS else 1,
                folder,
            )

        root = min(candidates, key=rank)
    layout, package, import_from = package_layout(tree, root)
    return Layout(root, import_from, layout, package, None)


def package_layout(tree: Tree, root: str) -> tuple[str, str | None, str]:
    """(layout, package, import root) from the folders of a project without an app."""
    subfolders = tree.subfolders.get(root, [])
    if "src" in subfolders:
        src = join(root, "src")
        if tree.has(join(src, "__init__.py")):
            return "flat", "src", root
        packages = _packages(tree, src)
        if packages:
            return "src", _pick(tree, root, packages), src
    packages = _packages(tree, root)
    if packages:
        return "flat", _pick(tree, root, packages), root
    return "none", None, root


def _packages(tree: Tree, folder: str) -> list[str]:
    return [
        name
        for name in tree.subfolders.get(folder, [])
        if name.isidentifier()
        and not name.startswith("_")
        and name.lower() not in _NOT_PACKAGES
        and tree.has(join(join(folder, name), "__init__.py"))
    ]


def _pick(tree: Tree, root: str, packages: list[str]) -> str | None:
    """The project's package: named after the project, the only one, or a conventional
    name (app, backend ...); None when several packages leave it open."""
    data = (
        load_toml(tree, join(root, "pyproject.toml"))
        if tree.has(join(root, "pyproject.toml"))
        else {}
    )
    project = data.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    if isinstance(name, str):
        wanted = re.sub(r"[-.]+", "_", name).lower()
        if wanted in packages:
            return wanted
    for preferred in ("app", *SERVICE_FOLDERS):
        if preferred in packages:
            return preferred
    return packages[0] if len(packages) == 1 else None
