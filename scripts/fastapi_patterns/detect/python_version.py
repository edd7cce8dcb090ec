"""The lowest Python version a project declares, and the file that declares it."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from . import formats as fmt
from .load import load_dockerfile, load_ini, load_toml
from .paths import join
from .run_files import python_from_image
from .tree import Tree

Version = tuple[int, int]

_VERSION = re.compile(r"(?<![\d.])3\.(\d{1,2})(?:\.(\d+|\*))?(?![\d])")
_CLAUSE = re.compile(r"^\s*(===|==|~=|>=|<=|!=|>|<|\^|~)?\s*v?([0-9][0-9.*]*)")


def lower_bound(specifier: str) -> Version | None:
    """The lowest 3.X a version specifier allows (PEP 440 or Poetry syntax).

    Commas AND clauses (the highest lower bound wins); `||` ORs them (the lowest wins).
    A clause that pins only the major version ("3", ">=3", "3.*") declares nothing.
    """
    alternatives: list[Version] = []
    for alternative in re.split(r"\|\|?", specifier):
        bounds: list[Version] = []
        for clause in re.split(r"[,\s]+(?=[<>=!~^\d])|,", alternative):
            bound = _clause_bound(clause)
            if bound is not None:
                bounds.append(bound)
        if bounds:
            alternatives.append(max(bounds))
    return min(alternatives) if alternatives else None


def _clause_bound(clause: str) -> Version | None:
    match = _CLAUSE.match(clause)
    if not match:
        return None
    operator, number = match.group(1) or "==", match.group(2)
    if operator in ("<", "<=", "!="):
        return None
    parts = number.split(".")
    if len(parts) < 2 or parts[0] != "3" or not parts[1].isdigit():
        return None
    minor = int(parts[1])
    if operator == ">" and (len(parts) == 2 or parts[2] == "*"):
        minor += 1  # >3.9 excludes every 3.9.x
    return (3, minor)


def versions_in(text: str) -> list[Version]:
    """Every 3.X written in a version-file line ("3.12.1", "pypy3.10", "python-3.11")."""
    return [(3, int(m.group(1))) for m in _VERSION.finditer(text)]


# Declarations that belong to one package manager's files.
MANAGER_OF = {
    "Pipfile python_version": "pipenv",
    "Pipfile python_full_version": "pipenv",
    "tool.poetry python": "poetry",
}


@dataclass(frozen=True)
class Declaration:
    version: Version
    source: str  # file
    what: str  # e.g. "requires-python"


def _from_python_version_file(text: str) -> list[Version]:
    found: list[Version] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        found.extend(versions_in(line)[:1])
    return found


def _setup_py_requires(text: str) -> str | None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.keyword)
            and node.arg == "python_requires"
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    return None


def declarations(tree: Tree, folders: list[str], dockerfiles: list[str]) -> list[Declaration]:
    """What each version file in `folders` (and each Dockerfile) declares."""
    found: list[Declaration] = []

    def add(version: Version | None, source: str, what: str) -> None:
        if version is not None:
            found.append(Declaration(version, source, what))

    for folder in folders:
        names = set(tree.names(folder))
        if ".python-version" in names:
            rel = join(folder, ".python-version")
            text = tree.read_text(rel)
            for version in _from_python_version_file(text or ""):
                add(version, rel, ".python-version")
        if "pyproject.toml" in names:
            rel = join(folder, "pyproject.toml")
            data = load_toml(tree, rel)
            requires = fmt.table(data, "project").get("requires-python")
            if isinstance(requires, str):
                add(lower_bound(requires), rel, "requires-python")
            poetry_python = fmt.table(data, "tool", "poetry", "dependencies").get("python")
            if isinstance(poetry_python, str):
                add(lower_bound(poetry_python), rel, "tool.poetry python")
        if "Pipfile" in names:
            rel = join(folder, "Pipfile")
            requires = fmt.table(load_toml(tree, rel), "requires")
            for key in ("python_version", "python_full_version"):
                value = requires.get(key)
                if isinstance(value, str):
                    add(next(iter(versions_in(value)), None), rel, f"Pipfile {key}")
                    break
        if "runtime.txt" in names:
            rel = join(folder, "runtime.txt")
            add(next(iter(versions_in(tree.read_text(rel) or "")), None), rel, "runtime.txt")
        if ".tool-versions" in names:
            rel = join(folder, ".tool-versions")
            for line in (tree.read_text(rel) or "").splitlines():
                if line.strip().startswith("python "):
                    for version in versions_in(line)[:1]:
                        add(version, rel, ".tool-versions")
        if "setup.cfg" in names:
            rel = join(folder, "setup.cfg")
            parser = load_ini(tree, rel)
            if parser is not None and parser.has_option("options", "python_requires"):
                add(lower_bound(parser.get("options", "python_requires")), rel, "python_requires")
        if "setup.py" in names:
            rel = join(folder, "setup.py")
            requires = _setup_py_requires(tree.read_text(rel) or "")
            if requires:
                add(lower_bound(requires), rel, "python_requires")
    for rel in dockerfiles:
        parsed = load_dockerfile(tree, rel)
        for image in parsed.images:
            add(python_from_image(image), rel, f"FROM {image}")
    return found


def lowest(found: list[Declaration], warnings: list[str]) -> Declaration | None:
    if not found:
        return None
    # Stable: among equal versions the first declared (nearest folder, listed order) decides.
    best = min(found, key=lambda d: d.version)
    different = sorted({(d.source, d.what, d.version) for d in found if d.version != best.version})
    if different:
        others = ", ".join(f"{source} ({what}) {v[0]}.{v[1]}" for source, what, v in different)
        warnings.append(
            f"Python versions differ: {best.source} ({best.what}) declares"
            f" {best.version[0]}.{best.version[1]}, but {others}; using the lowest,"
            f" {best.version[0]}.{best.version[1]}."
        )
    return best
