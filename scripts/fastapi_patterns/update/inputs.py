"""What rebuilding one generator version needs: its rendering code and its templates.

A snapshot holds exactly these, so its digest changes when (and only when) something
that can change a rendered project changes. The same function reads the work tree (for
the current version and its test) and a git ref (the release script, for old versions),
through a reader of repository paths.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path

PACKAGE = "fastapi_patterns"
PACKAGE_ROOT = "scripts/fastapi_patterns"
TEMPLATES_ROOT = "assets/project"
DRIVER = f"{PACKAGE_ROOT}/update/driver.py"
# The names inside an archive.
DRIVER_NAME = "render_snapshot.py"
TEMPLATES_NAME = "project"
# What the driver imports; every module these import (relatively) comes along.
ENTRY_MODULES = ("", "assets", "manifest", "options", "plan", "render")
# Left behind by tools and editors; never part of a template tree.
_SKIPPED_NAMES = frozenset({"__pycache__", ".DS_Store", ".mypy_cache", ".ruff_cache"})

Read = Callable[[str], bytes | None]  # repository path -> content, None when missing
ListFiles = Callable[[str], list[str]]  # repository folder -> the files below it


def rendering_inputs(read: Read, list_files: ListFiles, driver: bytes) -> dict[str, bytes]:
    """Archive name -> content: the driver, the package modules rendering imports, and
    every template file."""
    entries = {DRIVER_NAME: driver}
    for module in sorted(module_closure(read)):
        content = read(f"{PACKAGE_ROOT}/{module}")
        assert content is not None  # module_closure found it
        entries[f"{PACKAGE}/{module}"] = content
    for path in list_files(TEMPLATES_ROOT):
        relative = path.removeprefix(TEMPLATES_ROOT + "/")
        if _SKIPPED_NAMES.intersection(relative.split("/")):
            continue
        content = read(path)
        if content is not None:
            entries[f"{TEMPLATES_NAME}/{relative}"] = content
    return entries


def digest(entries: Mapping[str, bytes]) -> str:
    """One hash of names and contents, independent of archive format and order."""
    outer = hashlib.sha256()
    for name in sorted(entries):
        outer.update(f"{name}\0{hashlib.sha256(entries[name]).hexdigest()}\n".encode())
    return outer.hexdigest()


def module_closure(read: Read) -> set[str]:
    """The package's module files (relative to the package folder) that the entry modules
    import, directly or through each other, with their packages' __init__ files."""
    found: set[str] = set()
    pending = list(ENTRY_MODULES)
    while pending:
        dotted = pending.pop()
        path = _module_path(read, dotted)
        if path is None or path in found:
            continue
        found.add(path)
        parts = dotted.split(".") if dotted else []
        pending += [".".join(parts[:i]) for i in range(len(parts))]  # parent packages
        is_package = path.endswith("__init__.py")
        package = parts if is_package else parts[:-1]
        source = read(f"{PACKAGE_ROOT}/{path}")
        assert source is not None
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.ImportFrom) or node.level == 0:
                continue
            base = package[: len(package) - (node.level - 1)]
            target = [*base, *(node.module.split(".") if node.module else [])]
            pending.append(".".join(target))
            # `from . import x` / `from .pkg import mod`: names may be modules too.
            pending += [".".join([*target, alias.name]) for alias in node.names]
    return found


def _module_path(read: Read, dotted: str) -> str | None:
    base = dotted.replace(".", "/")
    candidates = [f"{base}.py", f"{base}/__init__.py"] if base else ["__init__.py"]
    for candidate in candidates:
        if read(f"{PACKAGE_ROOT}/{candidate}") is not None:
            return candidate
    return None


def work_tree_reader(root: Path) -> tuple[Read, ListFiles]:
    """Readers of a checkout (or an installed bundle laid out like one) at `root`."""

    def read(path: str) -> bytes | None:
        file = root / path
        return file.read_bytes() if file.is_file() else None

    def list_files(folder: str) -> list[str]:
        base = root / folder
        return sorted(p.relative_to(root).as_posix() for p in base.rglob("*") if p.is_file())

    return read, list_files
