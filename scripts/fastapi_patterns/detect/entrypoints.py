"""The apps that run configurations name, and the modules those names resolve to.

`[tool.fastapi] entrypoint`, Procfile, Dockerfile CMD/ENTRYPOINT, compose command and
entrypoint, and Makefile/justfile recipes, in that order of preference. A reference
resolves to a module that defines the attribute inside the scanned folder, never above
it: the app, its layout and its project root are answers about the folder the service
is generated into, and a module above it is not importable from there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import formats as fmt
from . import run_files
from .finder import App, Finder
from .load import load_dockerfile, load_toml, load_yaml
from .names import COMPOSE, DOCKERFILE, is_not_app
from .paths import above_root, fold_path, join, parent
from .tree import Tree

_RUN_FILES = frozenset(
    {"pyproject.toml", "Procfile", "Makefile", "makefile", "justfile", "Justfile"}
)


@dataclass(frozen=True)
class Reference:
    source: str  # the configuration file
    app: run_files.AppReference


def run_references(tree: Tree) -> list[Reference]:
    """App references in run configurations, in order of preference."""
    entry: list[Reference] = []
    procfiles: list[Reference] = []
    docker: list[Reference] = []
    compose: list[Reference] = []
    make: list[Reference] = []
    for rel in tree.files:
        if rel.count("/") > 3:
            continue
        name = rel.rpartition("/")[2]
        if name not in _RUN_FILES and not DOCKERFILE.match(name) and not COMPOSE.match(name):
            continue
        if is_not_app(rel):
            continue
        if name == "pyproject.toml":
            value = fmt.table(load_toml(tree, rel), "tool", "fastapi").get("entrypoint")
            match = isinstance(value, str) and re.match(r"^([\w.]+):(\w+)$", value.strip())
            if match:
                entry.append(Reference(rel, run_files.AppReference(match.group(1), match.group(2))))
        elif name == "Procfile":
            text = tree.read_text(rel) or ""
            for command in run_files.parse_procfile(text).values():
                procfiles += [Reference(rel, r) for r in run_files.app_references(command)]
        elif DOCKERFILE.match(name):
            for command in load_dockerfile(tree, rel).commands:
                docker += [Reference(rel, r) for r in run_files.app_references(command)]
        elif COMPOSE.match(name):
            data = load_yaml(tree, rel)
            services = data.get("services") if isinstance(data, dict) else None
            for service in services.values() if isinstance(services, dict) else []:
                if not isinstance(service, dict):
                    continue
                for key in ("command", "entrypoint"):
                    raw = service.get(key)
                    line = " ".join(fmt.strings(raw)) if isinstance(raw, list) else raw
                    if isinstance(line, str):
                        compose += [Reference(rel, r) for r in run_files.app_references(line)]
        elif name in ("Makefile", "makefile", "justfile", "Justfile"):
            for recipe in run_files.make_recipes(tree.read_text(rel) or ""):
                make += [Reference(rel, r) for r in run_files.app_references(recipe)]
    return entry + procfiles + docker + compose + make


def resolve_reference(tree: Tree, finder: Finder, ref: Reference) -> App | None:
    folder = parent(ref.source)
    app = ref.app
    if app.path:
        return _resolve_path(tree, finder, ref)
    bases: list[str] = []
    if app.app_dir:
        app_dir = fold_path(join(folder, app.app_dir))
        if not above_root(app_dir):
            bases.append(app_dir)
    bases += [folder, join(folder, "src")]
    first = app.module.split(".")[0]
    others = [
        f for f, subs in tree.subfolders.items() if first in subs or f"{first}.py" in tree.names(f)
    ]
    others.sort(key=lambda f: (-_shared(f, folder), f.count("/"), f))
    path = app.module.replace(".", "/")
    for base in dict.fromkeys(bases + others):
        for candidate in (join(base, f"{path}.py"), join(base, f"{path}/__init__.py")):
            if not tree.has(candidate) or is_not_app(candidate):
                continue
            info = finder.load(candidate)
            if info is None or app.attr not in info.toplevel:
                continue
            factory = app.factory or app.attr in info.factories
            line = info.instances.get(app.attr) or info.factories.get(app.attr) or 0
            return App(candidate, app.attr, factory, line, ref.source, base)
    return None


def _resolve_path(tree: Tree, finder: Finder, ref: Reference) -> App | None:
    target = fold_path(join(parent(ref.source), ref.app.module))
    if above_root(target):
        return None
    files = (
        [target]
        if target.endswith(".py")
        else [join(target, n) for n in ("main.py", "app.py", "api.py", "__init__.py")]
    )
    for rel in files:
        info = finder.load(rel) if tree.has(rel) else None
        if info is None:
            continue
        if ref.app.attr in info.toplevel:
            attr = ref.app.attr
        elif info.instances:
            attr = sorted(info.instances, key=lambda a: a not in ("app", "api"))[0]
        else:
            continue
        return App(rel, attr, attr in info.factories, info.instances.get(attr, 0), ref.source)
    return None


def _shared(a: str, b: str) -> int:
    count = 0
    for x, y in zip(a.split("/"), b.split("/"), strict=False):
        if x != y:
            break
        count += 1
    return count
