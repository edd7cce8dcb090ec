"""What runs per request, and small AST helpers shared by the FPA3xx rules.

"Per request" means: the route functions the index finds, the functions named in
`Depends(...)`/`Security(...)` (directly, or through a module-level `Annotated[...]`
alias), and the project functions those call, followed a few levels deep. Only the
standard library; never imports user code.
"""

from __future__ import annotations

import ast
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, TypeVar

from fastapi_patterns.audit.model import Finding, Rule
from fastapi_patterns.audit.walk import nodes_of_type, subtree

if TYPE_CHECKING:
    from fastapi_patterns.audit.project import Module, ProjectIndex

T = TypeVar("T", bound=ast.AST)

Function = ast.FunctionDef | ast.AsyncFunctionDef
DEPENDS = frozenset({"fastapi.Depends", "fastapi.Security", "fastapi.params.Depends"})
# How far calls are followed from a handler into project helpers.
CALL_DEPTH = 4


_DEPENDENCIES: weakref.WeakKeyDictionary[ProjectIndex, list[tuple[Module, Function]]] = (
    weakref.WeakKeyDictionary()
)


def nodes(index: ProjectIndex, module: Module, kind: type[T]) -> list[T]:
    """Every node of type `kind` in `module` (subclasses are not merged: pass the exact type)."""
    return nodes_of_type(module.tree, kind)  # type: ignore[return-value]


def finding(rule: Rule, module: Module, node: ast.AST, message: str) -> Finding:
    line: int = getattr(node, "lineno", 1)
    end_line: int = getattr(node, "end_lineno", None) or line
    return Finding(
        rule=rule,
        code=rule.code,
        message=message,
        path=module.relpath,
        line=line,
        column=getattr(node, "col_offset", 0) + 1,
        end_line=end_line,
        end_column=(getattr(node, "end_col_offset", None) or 0) + 1,
    )


def dotted(node: ast.AST) -> str | None:
    """`self.redis.client` for a chain of names and attributes, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def imports_any(module: Module, prefixes: tuple[str, ...]) -> bool:
    return any(
        target == prefix or target.startswith(prefix + ".")
        for target in module.imports.values()
        for prefix in prefixes
    )


def module_constant(module: Module, node: ast.expr) -> ast.expr:
    """The value a module-level name was assigned once (`ORIGINS = ["*"]`), else `node`."""
    if not isinstance(node, ast.Name):
        return node
    values: list[ast.expr] = []
    for statement in module.tree.body:
        if isinstance(statement, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == node.id for t in statement.targets):
                values.append(statement.value)
        elif (
            isinstance(statement, ast.AnnAssign)
            and statement.value is not None
            and isinstance(statement.target, ast.Name)
            and statement.target.id == node.id
        ):
            values.append(statement.value)
    return values[0] if len(values) == 1 else node


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    for item in call.keywords:
        if item.arg == name:
            return item.value
    return None


def has_star_kwargs(call: ast.Call) -> bool:
    return any(item.arg is None for item in call.keywords)


def is_constant(node: ast.expr, value: object) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def is_test_module(module: Module) -> bool:
    parts = module.relpath.split("/")
    name = parts[-1]
    return (
        "tests" in parts[:-1]
        or "test" in parts[:-1]
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


def _dependency_targets(
    index: ProjectIndex, module: Module, node: ast.AST
) -> Iterator[tuple[Module, Function]]:
    """Project functions named in `Depends(f)` anywhere inside `node`."""
    calls = (
        nodes(index, module, ast.Call)
        if node is module.tree
        else [c for c in subtree(node) if isinstance(c, ast.Call)]
    )
    for call in calls:
        if not call.args:
            continue
        if index.qualified_name(module, call.func) not in DEPENDS:
            continue
        target = index.resolve_function(module, ast.Call(func=call.args[0], args=[], keywords=[]))
        if target is not None:
            yield target


def _alias_dependencies(
    index: ProjectIndex, module: Module, annotation: ast.expr
) -> Iterator[tuple[Module, Function]]:
    """Dependencies behind an `Annotated` alias defined at module level (`SessionDep`)."""
    if not isinstance(annotation, ast.Name | ast.Attribute):
        return
    name = index.qualified_name(module, annotation)
    if name is None or "." not in name:
        return
    owner_name, _, alias = name.rpartition(".")
    owner = index.modules.get(owner_name)
    if owner is None:
        return
    value = module_constant(owner, ast.Name(id=alias, ctx=ast.Load()))
    if isinstance(value, ast.Subscript):
        yield from _dependency_targets(index, owner, value)


def dependencies(
    index: ProjectIndex, module: Module, function: Function
) -> Iterator[tuple[Module, Function]]:
    """The project functions `function`'s parameters depend on (one level)."""
    arguments = function.args
    params = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    defaults = [*arguments.defaults, *(d for d in arguments.kw_defaults if d is not None)]
    for node in [*defaults, *(p.annotation for p in params if p.annotation is not None)]:
        yield from _dependency_targets(index, module, node)
    for param in params:
        if param.annotation is not None:
            yield from _alias_dependencies(index, module, param.annotation)


def callees(
    index: ProjectIndex, module: Module, function: Function
) -> Iterator[tuple[Module, Function]]:
    for node in subtree(function):
        if isinstance(node, ast.Call):
            target = index.resolve_function(module, node)
            if target is not None:
                yield target


def dependency_functions(index: ProjectIndex) -> list[tuple[Module, Function]]:
    """Every project function named in a `Depends(...)` somewhere in the project."""
    cached = _DEPENDENCIES.get(index)
    if cached is None:
        found: dict[int, tuple[Module, Function]] = {}
        for module in index.modules.values():
            for home, target in _dependency_targets(index, module, module.tree):
                found[id(target)] = (home, target)
        cached = _DEPENDENCIES[index] = list(found.values())
    return cached


def request_functions(
    index: ProjectIndex, *, follow_calls: bool = True
) -> list[tuple[Module, Function]]:
    """Routes, their dependencies (transitively) and, when asked, what they call. A function
    memoized with `functools.cache`/`lru_cache` runs once, not per request: it and what only
    it calls are left out (`get_settings()` reading the environment is the right pattern)."""
    seen: dict[int, tuple[Module, Function]] = {}
    frontier: list[tuple[Module, Function, int]] = [
        (route.module, route.function, 0) for route in index.routes()
    ]
    frontier += [(module, function, 0) for module, function in dependency_functions(index)]
    while frontier:
        module, function, depth = frontier.pop()
        if id(function) in seen or _memoized(index, module, function):
            continue
        seen[id(function)] = (module, function)
        for dep_module, dep in dependencies(index, module, function):
            frontier.append((dep_module, dep, depth))
        if follow_calls and depth < CALL_DEPTH:
            for callee_module, callee in callees(index, module, function):
                frontier.append((callee_module, callee, depth + 1))
    return list(seen.values())


MEMOIZERS = frozenset({"functools.cache", "functools.lru_cache", "functools.cached_property"})


def _memoized(index: ProjectIndex, module: Module, function: Function) -> bool:
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if (
            isinstance(target, ast.Name | ast.Attribute)
            and index.qualified_name(module, target) in MEMOIZERS
        ):
            return True
    return False
