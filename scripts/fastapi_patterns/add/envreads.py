"""The environment variables a project reads, and whether it has a settings class already.

Read with `ast`, never imported. A read is `os.environ["NAME"]`, `os.environ.get("NAME"[,
default])`, `os.getenv("NAME"[, default])` or `os.environ.setdefault(...)`, also through
`from os import environ, getenv` and `import os as alias`. A read whose name is not a
string literal is listed apart, with its expression: only a person can say what it reads.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ..detect.tree import SOURCE_LIMIT, Tree

# A value the app passes as the default that is not a literal (`os.getenv("X", DEFAULT)`).
UNKNOWN = object()
# Test code reads the environment to set up tests, not to configure the app.
_TEST_FOLDERS = frozenset({"tests", "test", "testing"})
_CASTS = frozenset({"int", "float"})
_SNIPPET = 60


@dataclass(frozen=True)
class EnvRead:
    name: str
    path: str
    line: int
    required: bool  # os.environ["NAME"]: a KeyError when unset
    default: object = None  # a literal, None, or UNKNOWN
    cast: str | None = None  # int(...) / float(...) around the read

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class ProjectEnvironment:
    reads: list[EnvRead] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "path:line: expression"
    settings_classes: list[str] = field(default_factory=list)  # "path:line: Name"


def scan(tree: Tree, folder: str = "") -> ProjectEnvironment:
    """Every read below `folder` (tests left out) and every BaseSettings subclass."""
    found = ProjectEnvironment()
    prefix = f"{folder}/" if folder else ""
    for rel in tree.python_files():
        if not rel.startswith(prefix) or _is_test(rel):
            continue
        data = tree.read_bytes(rel, SOURCE_LIMIT, quiet=True)
        if data is None:
            continue
        try:
            module = ast.parse(data)
        except (SyntaxError, ValueError):
            continue  # the audit reports files that do not parse; nothing to read here
        first = len(found.reads)
        _Reader(rel, found).visit_module(module)
        found.reads[first:] = sorted(found.reads[first:], key=lambda read: read.line)
    return found


def _is_test(rel: str) -> bool:
    *folders, name = rel.split("/")
    return (
        bool(_TEST_FOLDERS.intersection(folders))
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


class _Reader:
    def __init__(self, rel: str, found: ProjectEnvironment) -> None:
        self.rel = rel
        self.found = found
        self.os_names = {"os"}  # names bound to the os module
        self.environ_names: set[str] = set()  # names bound to os.environ
        self.getenv_names: set[str] = set()  # names bound to os.getenv

    def visit_module(self, module: ast.Module) -> None:
        for node in ast.walk(module):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "os":
                        self.os_names.add(alias.asname or "os")
            elif isinstance(node, ast.ImportFrom) and node.module == "os" and not node.level:
                for alias in node.names:
                    if alias.name == "environ":
                        self.environ_names.add(alias.asname or alias.name)
                    elif alias.name == "getenv":
                        self.getenv_names.add(alias.asname or alias.name)
            elif isinstance(node, ast.ClassDef) and any(
                _last_name(base) == "BaseSettings" for base in node.bases
            ):
                self.found.settings_classes.append(f"{self.rel}:{node.lineno}: {node.name}")
        for node in ast.walk(module):
            for child in ast.iter_child_nodes(node):
                self._visit(child, node)

    def _visit(self, node: ast.AST, parent: ast.AST) -> None:
        cast = _cast(node, parent)
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            if self._is_environ(node.value):
                self._record(node, node.slice, required=True, default=None, cast=cast)
        elif isinstance(node, ast.Call):
            function = node.func
            is_get = isinstance(function, ast.Attribute) and (
                function.attr in ("get", "setdefault") and self._is_environ(function.value)
            )
            is_getenv = (isinstance(function, ast.Name) and function.id in self.getenv_names) or (
                isinstance(function, ast.Attribute)
                and function.attr == "getenv"
                and isinstance(function.value, ast.Name)
                and function.value.id in self.os_names
            )
            if (is_get or is_getenv) and (node.args or node.keywords):
                key = node.args[0] if node.args else _keyword(node, "key")
                given = node.args[1] if len(node.args) > 1 else _keyword(node, "default")
                default = None if given is None else _literal(given)
                if key is not None:
                    self._record(node, key, required=False, default=default, cast=cast)

    def _is_environ(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.environ_names
        return (
            isinstance(node, ast.Attribute)
            and node.attr == "environ"
            and isinstance(node.value, ast.Name)
            and node.value.id in self.os_names
        )

    def _record(
        self, node: ast.expr, key: ast.expr, *, required: bool, default: object, cast: str | None
    ) -> None:
        where = f"{self.rel}:{node.lineno}"
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            read = EnvRead(key.value, self.rel, node.lineno, required, default, cast)
            self.found.reads.append(read)
        else:
            text = ast.unparse(node)
            if len(text) > _SNIPPET:
                text = text[: _SNIPPET - 3] + "..."
            self.found.unreadable.append(f"{where}: {text}")


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _literal(node: ast.expr) -> object:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool):
        return node.value
    if isinstance(node, ast.Constant) and node.value is None:
        return None
    return UNKNOWN


def _cast(node: ast.AST, parent: ast.AST) -> str | None:
    """`int` or `float` when the read is the one argument of `int(...)` / `float(...)`."""
    if (
        isinstance(parent, ast.Call)
        and parent.args[:1] == [node]
        and isinstance(parent.func, ast.Name)
        and parent.func.id in _CASTS
        and len(parent.args) == 1
        and not parent.keywords
    ):
        return parent.func.id
    return None


def _last_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None
