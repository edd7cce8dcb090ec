"""Finding the FastAPI app by reading the code's syntax tree, never by importing it.

An app is a module-level object built by `FastAPI(...)` (or a subclass), or by a factory:
a function that builds one and returns it. `app = create_app()` counts when create_app
is such a factory, in this module or one it imports. Tests, examples, docs and templates
are ignored. Sub-apps that another app mounts are not the app. What the run
configuration names (`[tool.fastapi] entrypoint`, Procfile, Dockerfile CMD, compose
command, Makefile) wins when it resolves to a module that defines the attribute and the
object is FastAPI's (see _detect_framework); `gunicorn app:app` serving Flask is a warning.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from . import _detect_formats as fmt
from ._detect_framework import FASTAPI, depends_on_fastapi, describe, framework_of
from ._detect_fs import SOURCE_LIMIT, Tree, ancestors, is_not_app, join, normalize, parent
from ._detect_load import load_dockerfile, load_python, load_toml, load_yaml

MAX_SOURCE_FILES = 5000
MAX_SOURCE_BYTES = 32 << 20
_PREFERRED_FOLDERS = frozenset(
    {"backend", "server", "api", "app", "project", "service", "web", "src"}
)
_PENALIZED_FOLDERS = frozenset(
    {"sdk", "sdks", "cli", "clients", "client", "lambda", "lambdas", "functions", "infra",
     "tools", "scripts", "notebooks", "deploy", "contrib", "plugins", "vendor", "third_party"}
)  # fmt: skip
_APP_STEMS = ("main", "app", "asgi", "server", "application", "api", "__init__", "wsgi")
_DOCKERFILE = re.compile(r"^((Dockerfile|Containerfile)(\..+)?|.+\.(Dockerfile|dockerfile))$")
# A module that can build an app calls FastAPI, aliases it, or subclasses it; one that
# only annotates `app: FastAPI` cannot, and is not parsed.
_BUILDS_APP = re.compile(rb"FastAPI\s*\(|FastAPI\s+as\s|\(\s*(?:\w+\.)?FastAPI\s*[,)]")
_COMPOSE = re.compile(r"^(docker-)?compose(\.[\w.-]+)?\.ya?ml$")
_RUN_FILES = frozenset(
    {"pyproject.toml", "Procfile", "Makefile", "makefile", "justfile", "Justfile"}
)


@dataclass
class Module:
    """What one module binds at top level that matters for finding apps."""

    rel: str
    tree: ast.Module
    classes: set[str] = field(default_factory=set)  # names bound to FastAPI or a subclass
    modules: set[str] = field(default_factory=set)  # names bound to the fastapi module
    imports: dict[str, tuple[str | None, str]] = field(default_factory=dict)  # name->(file, attr)
    module_imports: dict[str, str] = field(default_factory=dict)  # name -> module file
    # Names bound to what other distributions export: name -> dotted origin ("flask.Flask").
    external: dict[str, str] = field(default_factory=dict)
    factories: dict[str, int] = field(default_factory=dict)
    instances: dict[str, int] = field(default_factory=dict)
    toplevel: set[str] = field(default_factory=set)
    # Top-level functions that return a value -> what they call (walked once).
    functions: dict[str, tuple[int, list[ast.expr]]] = field(default_factory=dict)
    mounts: list[ast.expr] = field(default_factory=list)  # what .mount()/Mount() receive
    subclasses: set[str] = field(default_factory=set)  # classes defined here deriving an app


@dataclass(frozen=True)
class App:
    file: str
    attr: str
    factory: bool
    line: int
    via: str = ""  # the run configuration that named it
    import_root: str | None = None  # known when a run configuration resolved it


def module_file(tree: Tree, importer: str, module: str | None, level: int) -> str | None:
    """The file an import refers to, relative imports from the importer's folder, absolute
    ones from the nearest folder above the importer that holds them."""
    folder = parent(importer)
    if level:
        for _ in range(level - 1):
            if not folder:
                return None
            folder = parent(folder)
        bases = [folder]
    else:
        bases = ancestors(folder)
    path = (module or "").replace(".", "/")
    for base in bases:
        stem = join(base, path) if path else base
        for candidate in (f"{stem}.py", join(stem, "__init__.py")):
            if tree.has(candidate):
                return candidate
    return None


def analyze(tree: Tree, rel: str, syntax: ast.Module) -> Module:
    info = Module(rel, syntax)
    for node in _toplevel(syntax.body):
        if isinstance(node, ast.ImportFrom):
            source = module_file(tree, rel, node.module, node.level)
            for alias in node.names:
                name = alias.asname or alias.name
                info.toplevel.add(name)
                fastapi = node.module in ("fastapi", "fastapi.applications")
                if fastapi and alias.name == "FastAPI" and not node.level:
                    info.classes.add(name)
                    continue
                if source:
                    sub = (
                        module_file(tree, source, alias.name, 1)
                        if source.endswith("__init__.py")
                        else None
                    )
                    if sub:
                        info.module_imports[name] = sub
                    info.imports[name] = (source, alias.name)
                elif node.module and not node.level:
                    info.external[name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                info.toplevel.add(name)
                info.external[name] = alias.name if alias.asname else name
                if alias.name == "fastapi":
                    info.modules.add(name)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            info.toplevel.add(node.name)
            if isinstance(node, ast.ClassDef) and any(_names_class(info, b) for b in node.bases):
                info.classes.add(node.name)
                info.subclasses.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    info.toplevel.add(target.id)
    for statement in syntax.body:
        calls: list[ast.expr] = []
        returns = False
        for child in ast.walk(statement):
            if isinstance(child, ast.Call):
                calls.append(child.func)
                _mount_target(child, info.mounts)
            elif isinstance(child, ast.Return) and child.value is not None:
                returns = True
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and returns:
            info.functions[statement.name] = (statement.lineno, calls)
    return info


def _mount_target(call: ast.Call, found: list[ast.expr]) -> None:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name not in ("mount", "Mount"):
        return
    target: ast.expr | None = call.args[1] if len(call.args) > 1 else None
    for keyword in call.keywords:
        if keyword.arg == "app":
            target = keyword.value
    if target is not None:
        found.append(target)


def _toplevel(body: list[ast.stmt]) -> list[ast.stmt]:
    """Module-level statements, looking inside if/try/with blocks but not functions."""
    found: list[ast.stmt] = []
    for node in body:
        found.append(node)
        if isinstance(node, ast.If):
            found += _toplevel(node.body) + _toplevel(node.orelse)
        elif isinstance(node, ast.Try):
            found += _toplevel(node.body) + _toplevel(node.orelse) + _toplevel(node.finalbody)
            for handler in node.handlers:
                found += _toplevel(handler.body)
        elif isinstance(node, ast.With):
            found += _toplevel(node.body)
    return found


def _names_class(info: Module, node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id in info.classes
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "FastAPI"
        and isinstance(node.value, ast.Name)
        and node.value.id in info.modules
    )


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
        if _names_class(info, func):
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
        for node in _toplevel(info.tree.body):
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


# -- choosing -------------------------------------------------------------------------------


def _score(app: App, mounted: set[tuple[str, str]]) -> tuple[int, ...]:
    path = PurePosixPath(app.file)
    folders = [p.lower() for p in path.parts[:-1]]
    return (
        1 if (app.file, app.attr) in mounted else 0,
        1 if app.factory else 0,
        1 if set(folders) & _PENALIZED_FOLDERS else 0,
        0 if set(folders) & _PREFERRED_FOLDERS or not folders else 1,
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


# -- run configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    source: str  # the configuration file
    app: fmt.AppReference


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
        if name not in _RUN_FILES and not _DOCKERFILE.match(name) and not _COMPOSE.match(name):
            continue
        if is_not_app(rel):
            continue
        if name == "pyproject.toml":
            value = fmt.table(load_toml(tree, rel), "tool", "fastapi").get("entrypoint")
            match = isinstance(value, str) and re.match(r"^([\w.]+):(\w+)$", value.strip())
            if match:
                entry.append(Reference(rel, fmt.AppReference(match.group(1), match.group(2))))
        elif name == "Procfile":
            text = tree.read_text(rel) or ""
            for command in fmt.parse_procfile(text).values():
                procfiles += [Reference(rel, r) for r in fmt.app_references(command)]
        elif _DOCKERFILE.match(name):
            for command in load_dockerfile(tree, rel).commands:
                docker += [Reference(rel, r) for r in fmt.app_references(command)]
        elif _COMPOSE.match(name):
            data = load_yaml(tree, rel)
            services = data.get("services") if isinstance(data, dict) else None
            for service in services.values() if isinstance(services, dict) else []:
                if not isinstance(service, dict):
                    continue
                for key in ("command", "entrypoint"):
                    raw = service.get(key)
                    line = " ".join(fmt.strings(raw)) if isinstance(raw, list) else raw
                    if isinstance(line, str):
                        compose += [Reference(rel, r) for r in fmt.app_references(line)]
        elif name in ("Makefile", "makefile", "justfile", "Justfile"):
            for recipe in fmt.make_recipes(tree.read_text(rel) or ""):
                make += [Reference(rel, r) for r in fmt.app_references(recipe)]
    return entry + procfiles + docker + compose + make


def resolve_reference(tree: Tree, finder: Finder, ref: Reference) -> App | None:
    folder = parent(ref.source)
    app = ref.app
    if app.path:
        return _resolve_path(tree, finder, ref)
    bases: list[str] = []
    if app.app_dir:
        cleaned = normalize(join(folder, app.app_dir))
        if cleaned is not None:
            bases.append(cleaned)
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
    target = normalize(join(parent(ref.source), ref.app.module))
    if target is None:
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
