"""Every FastAPI app and factory in the project's modules, resolved across imports.

An app is a module-level object built by `FastAPI(...)` (or a subclass), or by a factory:
a function that builds one and returns it. `app = create_app()` counts when create_app
is such a factory, in this module or one it imports. Tests, examples, docs and templates
are ignored; sub-apps that another app mounts are recorded so they can be ranked last.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from .load import load_python
from .modules import Module, analyze, module_level, names_fastapi_class
from .names import is_not_app
from .tree import SOURCE_LIMIT, Tree

MAX_SOURCE_FILES = 5000
MAX_SOURCE_BYTES = 32 << 20
# A module that can build an app calls FastAPI, aliases it, or subclasses it; one that
# only annotates `app: FastAPI` cannot, and is not parsed.
_BUILDS_APP = re.compile(rb"FastAPI\s*\(|FastAPI\s+as\s|\(\s*(?:\w+\.)?FastAPI\s*[,)]")


@dataclass(frozen=True)
class App:
    file: str
    attr: str
    factory: bool
    line: int
    via: str = ""  # the run configuration that named it
    import_root: str | None = None  # known when a run configuration resolved it


class Finder:
    """All apps and factories in the project's modules, resolved across imports."""

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self.modules: dict[str, Module] = {}
        self.mounted: set[tuple[str, str]] = set()

    def load(self, rel: str, quiet: bool = True) -> Module | None:
        if rel in self.modules:
            return self.modules[rel]
        syntax = load_python(self.tree, rel, quiet=quiet)
        if syntax is None:
            return None
        info = analyze(self.tree, rel, syntax)
        self.modules[rel] = info
        return info

    def scan(self) -> None:
        """Analyze every module that mentions FastAPI, then those calling a found factory."""
        texts: dict[str, bytes] = {}
        total = 0
        for rel in self.tree.python_files():
            if is_not_app(rel):
                continue
            if len(texts) >= MAX_SOURCE_FILES or total > MAX_SOURCE_BYTES:
                self.tree.warn("Too many Python files to read them all; some were not searched.")
                break
            data = self.tree.read_bytes(rel, SOURCE_LIMIT, quiet=True)
            if data is not None:
                texts[rel] = data
                total += len(data)
        for rel, data in texts.items():
            if b"FastAPI" in data and _BUILDS_APP.search(data):
                self.load(rel, quiet=False)
        self.resolve()
        names = {name for info in self.modules.values() for name in info.factories}
        names |= {name for info in self.modules.values() for name in info.subclasses}
        needles = [name.encode() + b"(" for name in names]
        if needles:
            for rel, data in texts.items():
                if rel not in self.modules and any(n in data for n in needles):
                    self.load(rel)
            self.resolve()

    def resolve(self) -> None:
        """Fixed point over classes, factories and instances across modules."""
        for _ in range(6):
            # Resolving may load the modules a module imports: iterate over a snapshot.
            before = len(self.modules)
            changed = False
            for info in list(self.modules.values()):
                changed |= self._resolve_module(info)
            if not changed and len(self.modules) == before:
                break
        self.mounted = set()
        for info in list(self.modules.values()):
            self._mounts(info)

    def _imported(self, info: Module, name: str) -> tuple[Module, str] | None:
        target = info.imports.get(name)
        if not target or target[0] is None:
            return None
        other = self.load(target[0])
        return (other, target[1]) if other is not None else None

    def _is_class(self, info: Module, func: ast.expr) -> bool:
        if names_fastapi_class(info, func):
            return True
        if isinstance(func, ast.Name):
            imported = self._imported(info, func.id)
            return bool(imported and imported[1] in imported[0].classes)
        return False

    def _is_factory(self, info: Module, func: ast.expr) -> bool:
        if isinstance(func, ast.Name):
            if func.id in info.factories:
                return True
            imported = self._imported(info, func.id)
            return bool(imported and imported[1] in imported[0].factories)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            module = info.module_imports.get(func.value.id)
            other = self.load(module) if module else None
            return bool(other and func.attr in other.factories)
        return False

    def _builds(self, info: Module, calls: list[ast.expr]) -> bool:
        return any(self._is_class(info, f) or self._is_factory(info, f) for f in calls)

    def _resolve_module(self, info: Module) -> bool:
        before = (len(info.classes), len(info.factories), len(info.instances))
        for node in module_level(info.tree.body):
            if isinstance(node, ast.ClassDef):
                if any(self._is_class(info, base) for base in node.bases):
                    info.classes.add(node.name)
                    info.subclasses.add(node.name)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                function = info.functions.get(node.name)
                if node.name in info.factories or function is None:
                    continue
                # Building one is required: `def get_app(request) -> FastAPI` only reads it.
                if self._builds(info, function[1]):
                    info.factories[node.name] = function[0]
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                value = node.value
                builds = isinstance(value, ast.Call) and (
                    self._is_class(info, value.func) or self._is_factory(info, value.func)
                )
                if isinstance(node, ast.AnnAssign) and self._is_class(info, node.annotation):
                    builds = builds or isinstance(value, ast.Call)
                if builds:
                    for target in targets:
                        if isinstance(target, ast.Name):
                            info.instances.setdefault(target.id, node.lineno)
        return before != (len(info.classes), len(info.factories), len(info.instances))

    def _mounts(self, info: Module) -> None:
        for target in info.mounts:
            if isinstance(target, ast.Name):
                imported = info.imports.get(target.id)
                if imported and imported[0]:
                    self.mounted.add((imported[0], imported[1]))
                else:
                    self.mounted.add((info.rel, target.id))

    def apps(self) -> list[App]:
        found: list[App] = []
        for rel, info in sorted(self.modules.items()):
            stem = rel.rpartition("/")[2].removesuffix(".py")
            if is_not_app(rel) or not stem.isidentifier():
                continue  # a script such as fastapi-app-template.py cannot be imported
            for attr, line in info.instances.items():
                found.append(App(rel, attr, False, line))
            for attr, line in info.factories.items():
                found.append(App(rel, attr, True, line))
        return found
