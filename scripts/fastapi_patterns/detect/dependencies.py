"""Declared dependencies, parsed from the files that declare them (never grepped).

Each dependency says whether it is needed at runtime or only for development (test,
lint and docs groups, dev-packages, requirements-dev.txt ...), and where it came from.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from . import formats as fmt
from .formats import Requirement, canonical_name, parse_requirement, table
from .load import load_ini, load_json, load_requirements, load_toml
from .paths import fold_path, join, parent
from .tree import Tree

_DEV_WORDS = re.compile(
    r"(^|[-_.])(dev|develop|development|tests?|testing|lint|linting|docs?|typing|types|mypy|ci|qa|"
    r"style|format|checks?|local|debug|bench|benchmarks?|coverage|tools?)($|[-_.])"
)


def dev_name(name: str) -> bool:
    return bool(_DEV_WORDS.search(name.lower()))


@dataclass(frozen=True)
class Dependency:
    requirement: Requirement
    source: str
    runtime: bool

    @property
    def name(self) -> str:
        return self.requirement.name


def requirement_files(names: list[str], folder: str, tree: Tree) -> list[str]:
    found = [
        join(folder, n)
        for n in names
        if re.fullmatch(r"(.*[-_.])?requirements([-_.].*)?\.(txt|in)", n.lower())
    ]
    if "requirements" in tree.subfolders.get(folder, ()):
        sub = join(folder, "requirements")
        found += [join(sub, n) for n in tree.names(sub) if n.endswith((".txt", ".in"))]
    # Runtime files first: requirements.txt names the project better than requirements-dev.txt.
    return sorted(found, key=lambda rel: (dev_name(rel.rpartition("/")[2]), rel))


def collect(tree: Tree, folders: list[str]) -> list[Dependency]:
    """Dependencies declared in `folders`, nearest folder first."""
    found: list[Dependency] = []
    for folder in folders:
        names = tree.names(folder)
        if "pyproject.toml" in names:
            rel = join(folder, "pyproject.toml")
            found += _pyproject(load_toml(tree, rel), rel)
        if "Pipfile" in names:
            rel = join(folder, "Pipfile")
            data = load_toml(tree, rel)
            found += _named_table(table(data, "packages"), rel, runtime=True)
            found += _named_table(table(data, "dev-packages"), rel, runtime=False)
        elif "Pipfile.lock" in names:
            rel = join(folder, "Pipfile.lock")
            data = load_json(tree, rel)
            found += _named_table(table(data, "default"), rel, runtime=True)
            found += _named_table(table(data, "develop"), rel, runtime=False)
        if "setup.cfg" in names:
            found += _setup_cfg(tree, join(folder, "setup.cfg"))
        if "setup.py" in names:
            found += _setup_py(tree, join(folder, "setup.py"))
        found += _requirements(tree, requirement_files(names, folder, tree))
    return found


def _add(found: list[Dependency], spec: Any, source: str, runtime: bool) -> None:
    if isinstance(spec, str):
        requirement = parse_requirement(spec)
        if requirement is not None:
            found.append(Dependency(requirement, source, runtime))


def _pyproject(data: dict[str, Any], rel: str) -> list[Dependency]:
    found: list[Dependency] = []
    project = table(data, "project")
    for spec in fmt.strings(project.get("dependencies")):
        _add(found, spec, rel, True)
    for group, specs in table(project, "optional-dependencies").items():
        for spec in fmt.strings(specs):
            _add(found, spec, rel, not dev_name(group))
    for specs in table(data, "dependency-groups").values():
        for spec in fmt.strings(specs):
            _add(found, spec, rel, False)
    poetry = table(data, "tool", "poetry")
    found += _named_table(table(poetry, "dependencies"), rel, runtime=True)
    found += _named_table(table(poetry, "dev-dependencies"), rel, runtime=False)
    for name, group in table(poetry, "group").items():
        found += _named_table(table(group, "dependencies"), rel, runtime=name == "main")
    for specs in table(data, "tool", "pdm", "dev-dependencies").values():
        for spec in fmt.strings(specs):
            _add(found, spec, rel, False)
    for spec in fmt.strings(table(data, "tool", "uv").get("dev-dependencies")):
        _add(found, spec, rel, False)
    for env in table(data, "tool", "hatch", "envs").values():
        for key in ("dependencies", "extra-dependencies"):
            for spec in fmt.strings(table(env).get(key) if isinstance(env, dict) else None):
                _add(found, spec, rel, False)
    return found


def _named_table(packages: dict[str, Any], rel: str, runtime: bool) -> list[Dependency]:
    """Poetry/Pipfile style: {name = "version" | {version, extras} | [..]}."""
    found: list[Dependency] = []
    for name, value in packages.items():
        if name.lower() == "python":
            continue
        extras: set[str] = set()
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                extras.update(canonical_name(e) for e in fmt.strings(item.get("extras")))
        requirement = parse_requirement(name)
        if requirement is not None:
            found.append(
                Dependency(
                    Requirement(requirement.name, requirement.extras | frozenset(extras)),
                    rel,
                    runtime,
                )
            )
    return found


def _requirements(tree: Tree, files: list[str]) -> list[Dependency]:
    found: list[Dependency] = []
    queue = [(rel, not dev_name(PurePosixPath(rel).name)) for rel in files]
    seen: dict[str, bool] = {}
    while queue and len(seen) < 64:
        rel, runtime = queue.pop(0)
        if seen.get(rel) is True or (rel in seen and not runtime):
            continue
        seen[rel] = runtime
        if not tree.has(rel):
            continue
        parsed = load_requirements(tree, rel)
        found += [Dependency(r, rel, runtime) for r in parsed.requirements]
        for include in parsed.includes:
            # An include above the scanned folder is read like the lock files there.
            target = fold_path(join(parent(rel), include))
            if target:
                queue.append((target, runtime and not dev_name(PurePosixPath(target).name)))
    return found


def _setup_cfg(tree: Tree, rel: str) -> list[Dependency]:
    parser = load_ini(tree, rel)
    found: list[Dependency] = []
    if parser is None:
        return found
    if parser.has_option("options", "install_requires"):
        for line in parser.get("options", "install_requires").splitlines():
            _add(found, line.strip(), rel, True)
    if parser.has_section("options.extras_require"):
        for group, value in parser.items("options.extras_require"):
            for line in value.splitlines():
                _add(found, line.strip(), rel, not dev_name(group))
    return found


def _setup_py(tree: Tree, rel: str) -> list[Dependency]:
    text = tree.read_text(rel)
    found: list[Dependency] = []
    if not text:
        return found
    try:
        module = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        tree.warn(f"Skipped {rel}: it is not valid Python.")
        return found
    lists: dict[str, ast.expr] = {}
    for statement in module.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name):
                lists[target.id] = statement.value
    for node in ast.walk(module):
        if not isinstance(node, ast.keyword) or node.arg not in (
            "install_requires",
            "extras_require",
        ):
            continue
        value = node.value
        if isinstance(value, ast.Name):
            value = lists.get(value.id, value)
        if node.arg == "install_requires":
            for spec in _literal_strings(value):
                _add(found, spec, rel, True)
        elif isinstance(value, ast.Dict):
            for key, item in zip(value.keys, value.values, strict=False):
                group = key.value if isinstance(key, ast.Constant) else ""
                for spec in _literal_strings(item):
                    _add(found, spec, rel, not dev_name(str(group)))
    return found


def _literal_strings(node: ast.expr) -> list[str]:
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [
            e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
        ]
    return []
