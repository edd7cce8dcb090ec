"""What one module binds at its top level, read from its syntax tree: the names that
matter for finding FastAPI apps. Nothing is imported or executed."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from .paths import ancestors, join, parent
from .tree import Tree


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
    for node in module_level(syntax.body):
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
            if isinstance(node, ast.ClassDef) and any(
                names_fastapi_class(info, b) for b in node.bases
            ):
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


def module_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """Module-level statements, looking inside if/try/with blocks but not functions."""
    found: list[ast.stmt] = []
    for node in body:
        found.append(node)
        if isinstance(node, ast.If):
            found += module_level(node.body) + module_level(node.orelse)
        elif isinstance(node, ast.Try):
            found += (
                module_level(node.body) + module_level(node.orelse) + module_level(node.finalbody)
            )
            for handler in node.handlers:
                found += module_level(handler.body)
        elif isinstance(node, ast.With):
            found += module_level(node.body)
    return found


def names_fastapi_class(info: Module, node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id in info.classes
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "FastAPI"
        and isinstance(node.value, ast.Name)
        and node.value.id in info.modules
    )
