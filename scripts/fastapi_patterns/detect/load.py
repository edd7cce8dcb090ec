"""Parse each project file once, turning any failure into a warning and an empty result."""

from __future__ import annotations

import ast
import configparser
from collections.abc import Callable
from typing import Any, TypeVar

from . import formats as fmt
from .formats import RequirementsFile, parse_requirements
from .run_files import Dockerfile, parse_dockerfile
from .tree import SOURCE_LIMIT, Tree
from .yaml_subset import parse_yaml

T = TypeVar("T")


def _load(tree: Tree, kind: str, rel: str, parse: Callable[[str], T], empty: T) -> T:
    key = (kind, rel)
    if key in tree.parsed:
        cached: T = tree.parsed[key]
        return cached
    result = empty
    text = tree.read_text(rel)
    if text is not None:
        try:
            result = parse(text)
        except fmt.FormatError as error:
            tree.warn(f"Skipped {rel}: {error}.")
    tree.parsed[key] = result
    return result


def load_toml(tree: Tree, rel: str) -> dict[str, Any]:
    return _load(tree, "toml", rel, fmt.parse_toml, {})


def load_ini(tree: Tree, rel: str) -> configparser.RawConfigParser | None:
    return _load(tree, "ini", rel, fmt.parse_ini, None)


def load_json(tree: Tree, rel: str) -> Any:
    return _load(tree, "json", rel, fmt.parse_json, None)


def load_yaml(tree: Tree, rel: str) -> Any:
    return _load(tree, "yaml", rel, parse_yaml, None)


def load_env(tree: Tree, rel: str) -> dict[str, str]:
    return _load(tree, "env", rel, fmt.parse_env, {})


def load_dockerfile(tree: Tree, rel: str) -> Dockerfile:
    return _load(tree, "docker", rel, parse_dockerfile, Dockerfile())


def load_requirements(tree: Tree, rel: str) -> RequirementsFile:
    return _load(tree, "req", rel, parse_requirements, RequirementsFile())


def load_python(tree: Tree, rel: str, quiet: bool = True) -> ast.Module | None:
    """The module's AST. Source is parsed as bytes so coding cookies are honoured."""
    key = ("py", rel)
    if key in tree.parsed:
        cached: ast.Module | None = tree.parsed[key]
        return cached
    data = tree.read_bytes(rel, SOURCE_LIMIT, quiet=quiet)
    module: ast.Module | None = None
    if data is not None:
        try:
            module = ast.parse(data, filename=rel)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
            if not quiet:
                tree.warn(f"Skipped {rel}: it is not valid Python ({type(error).__name__}).")
    tree.parsed[key] = module
    return module
