"""Which web framework builds the object a run configuration names.

`gunicorn app:app` in a Procfile says nothing about the framework: Flask and Django projects
are served the same way. The code says it: the object is built by `FastAPI(...)`, by
`Flask(__name__)`, by `get_wsgi_application()`... directly, through a factory, through an
alias or an import from another module of the project. Read from the syntax trees the
Finder already parsed; nothing is imported.
"""

from __future__ import annotations

import ast

from .dependencies import collect
from .finder import App, Finder
from .modules import Module, module_level
from .paths import ancestors
from .tree import Tree

FASTAPI = "FastAPI"
# Top-level package -> (framework, the callables of that package that build an app).
_BUILDERS: dict[str, tuple[str, frozenset[str]]] = {
    "flask": ("Flask", frozenset({"Flask"})),
    "quart": ("Quart", frozenset({"Quart"})),
    "django": ("Django", frozenset({"get_wsgi_application", "get_asgi_application"})),
    "starlette": ("Starlette", frozenset({"Starlette"})),
    "litestar": ("Litestar", frozenset({"Litestar"})),
    "starlite": ("Starlite", frozenset({"Starlite"})),
    "sanic": ("Sanic", frozenset({"Sanic"})),
    "aiohttp": ("aiohttp", frozenset({"Application"})),
    "falcon": ("Falcon", frozenset({"App", "API"})),
    "bottle": ("Bottle", frozenset({"Bottle", "default_app"})),
    "tornado": ("Tornado", frozenset({"Application"})),
    "pyramid": ("Pyramid", frozenset({"Configurator"})),
    "connexion": ("Connexion", frozenset({"App", "FlaskApp", "AsyncApp"})),
    "robyn": ("Robyn", frozenset({"Robyn"})),
    "blacksheep": ("BlackSheep", frozenset({"Application"})),
    "responder": ("Responder", frozenset({"API"})),
}


def framework_of(finder: Finder, app: App) -> str | None:
    """FASTAPI, another framework's name, or None when the code does not say."""
    info = finder.load(app.file)
    return _Reader(finder).binding(info, app.attr) if info is not None else None


def depends_on_fastapi(tree: Tree, folders: list[str]) -> bool:
    """Whether the projects holding `folders` declare FastAPI (or a FastAPI extension)."""
    chain: list[str] = []
    for folder in folders:
        chain += ancestors(folder)
    chain = list(dict.fromkeys([*chain, *tree.outside]))
    return any(d.name == "fastapi" or d.name.startswith("fastapi-") for d in collect(tree, chain))


def describe(framework: str | None) -> str:
    """The clause after "Procfile runs app:app, ..." for an object that is not FastAPI's."""
    if framework is None:
        return "which nothing here builds with FastAPI, in a project that does not depend on it"
    article = "an" if framework[0].lower() in "aeiou" else "a"
    return f"{article} {framework} app"


class _Reader:
    """Follows names through assignments, factories, subclasses and imports, each
    (module, name) once: a cycle or a long chain costs no more than the modules."""

    def __init__(self, finder: Finder) -> None:
        self.finder = finder
        self.known: dict[tuple[str, str], str | None] = {}

    def binding(self, info: Module, name: str) -> str | None:
        """The framework of what `name` is bound to at the top of the module."""
        key = (info.rel, name)
        if key not in self.known:
            self.known[key] = None  # in progress: a cycle reads as "unknown"
            self.known[key] = self._binding(info, name)
        return self.known[key]

    def _binding(self, info: Module, name: str) -> str | None:
        if name in info.instances or name in info.factories:
            return FASTAPI
        imported = info.imports.get(name)
        if imported and imported[0]:
            other = self.finder.load(imported[0])
            return self.binding(other, imported[1]) if other else None
        for node in module_level(info.tree.body):
            found: str | None = None
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                found = self._calls(info, node)
            elif isinstance(node, ast.ClassDef) and node.name == name:
                found = next(filter(None, (self.callee(info, b) for b in node.bases)), None)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                    found = self._value(info, node.value)
            if found:
                return found
        return None

    def _value(self, info: Module, value: ast.expr) -> str | None:
        if isinstance(value, ast.Name):  # app = application
            return self.binding(info, value.id)
        if isinstance(value, ast.Call):
            return self.callee(info, value.func)
        return None

    def callee(self, info: Module, func: ast.expr) -> str | None:
        """The framework whose app calling (or subclassing) `func` builds: a framework's
        own builder, a subclass of one, or a factory of the project that calls one."""
        origin = _origin(info, func)
        if origin is not None:
            framework, builders = _BUILDERS.get(origin.partition(".")[0], ("", frozenset()))
            return framework if origin.rpartition(".")[2] in builders else None
        if isinstance(func, ast.Name):
            return self.binding(info, func.id)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            module = info.module_imports.get(func.value.id)
            other = self.finder.load(module) if module else None
            return self.binding(other, func.attr) if other else None
        return None

    def _calls(self, info: Module, node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
        """The framework a factory builds: the first call in its body that builds an app."""
        for child in ast.walk(node):
            if isinstance(child, ast.Call):
                found = self.callee(info, child.func)
                if found:
                    return found
        return None


def _origin(info: Module, func: ast.expr) -> str | None:
    """The dotted name of another distribution's callable (`web.Application` ->
    "aiohttp.web.Application"), or None when `func` is not one."""
    attrs: list[str] = []
    while isinstance(func, ast.Attribute):
        attrs.insert(0, func.attr)
        func = func.value
    if not isinstance(func, ast.Name) or func.id not in info.external:
        return None
    return ".".join([info.external[func.id], *attrs])
