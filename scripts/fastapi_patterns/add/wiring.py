"""The wiring patch: an import and one statement per pattern, added with libcst.

libcst keeps every byte it is not told to change (comments, blank lines, quotes, line
endings), so the patch is pure insertions. The statement goes where the app is built: right
after `app = FastAPI(...)` at the module's top level, or inside the factory that builds it
(`def create_app(): app = FastAPI(...); ...; return app`), before the `return`. A pattern
whose call is already there is skipped, so a second run changes nothing.

What this cannot place safely (the app built in another module, a factory with several
returns or returning the constructor call directly, an app assigned inside an `if`)
raises `Unsupported`; nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m

from .patterns import Wiring


class Unsupported(Exception):
    """The app's shape is not one the patch can change safely; the message says why."""


@dataclass(frozen=True)
class Scope:
    factory: str | None  # the function that builds the app, None: the module's top level
    app_var: str  # the name the app is bound to in that scope
    anchor: int  # index of the statement creating the app in the scope's body


def wire(
    source: bytes,
    attr: str,
    wirings: Sequence[tuple[str, Wiring]],
    known: frozenset[str],
    local: frozenset[str] = frozenset(),
) -> bytes:
    """`source` with each (module, wiring) added; `known`: every pattern's wiring name, so
    a statement is placed after the ones other patterns added; `local`: the top-level
    module names of an app outside a package, whose absolute imports form its own section."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        raise Unsupported(f"it does not parse ({error.message})") from None
    for import_module, wiring in wirings:
        module = _wire_one(module, attr, import_module, wiring, known, local)
    return module.bytes


def find_scope(module: cst.Module, attr: str) -> Scope:
    body = module.body
    function = _function(body, attr)
    if function is None:
        index = _assignment(body, attr)
        if index is None:
            raise Unsupported(f"`{attr}` is not assigned at the top level of the module")
        value = _assigned_value(body[index])
        called = value.func
        builder = _function(body, called.value) if isinstance(called, cst.Name) else None
        if builder is None:
            return Scope(None, attr, index)
        function = builder  # `app = create_app()`: wire the factory, which tests call too
    if not isinstance(function.body, cst.IndentedBlock):
        raise Unsupported(f"`{function.name.value}` is written on one line")
    statements = function.body.body
    name = function.name.value
    returned = _returned_name(statements[-1]) if statements else None
    if returned is None:
        raise Unsupported(f"`{name}` does not end with `return <the app>`")
    if _own_returns(function) != 1:
        raise Unsupported(f"`{name}` returns in more than one place")
    index = _assignment(statements, returned)
    if index is None:
        raise Unsupported(f"`{name}` does not assign `{returned}` in its own body")
    return Scope(name, returned, index)


class _ReturnCounter(cst.CSTVisitor):
    """The `return`s of one function: those of functions and classes nested in it (a route
    defined inside the factory, say) return from something else."""

    def __init__(self, function: cst.FunctionDef) -> None:
        self.function = function
        self.count = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return node is self.function

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Return(self, node: cst.Return) -> None:
        self.count += 1


def _own_returns(function: cst.FunctionDef) -> int:
    counter = _ReturnCounter(function)
    function.visit(counter)
    return counter.count


def _wire_one(
    module: cst.Module,
    attr: str,
    import_module: str,
    wiring: Wiring,
    known: frozenset[str],
    local: frozenset[str],
) -> cst.Module:
    scope = find_scope(module, attr)
    body = scope_body(module, scope)
    if not _uses(body, wiring.name):
        position = scope.anchor + 1
        if wiring.outermost:
            for index in range(scope.anchor + 1, len(body)):
                if _adds_middleware(body[index], scope.app_var):
                    position = index + 1
        last = len(body) - 1 if scope.factory else len(body)  # never after the return
        while position < last and _uses([body[position]], *known):
            position += 1
        statement = cst.parse_statement(wiring.statement.format(app=scope.app_var))
        if isinstance(body[position - 1], cst.BaseCompoundStatement):
            blank = [cst.EmptyLine()] * (1 if scope.factory else 2)
            statement = statement.with_changes(leading_lines=blank)
        body = [*body[:position], statement, *body[position:]]
        module = with_scope_body(module, scope, body)
    return _add_import(module, import_module, wiring.name, local)


def scope_body(module: cst.Module, scope: Scope) -> list[cst.BaseStatement]:
    """The statements of the scope that builds the app: the module's, or the factory's."""
    if scope.factory is None:
        return list(module.body)
    function = _function(module.body, scope.factory)
    assert function is not None and isinstance(function.body, cst.IndentedBlock)
    return list(function.body.body)


def with_scope_body(module: cst.Module, scope: Scope, body: list[cst.BaseStatement]) -> cst.Module:
    """`module` with the statements of the app's scope replaced by `body`."""
    if scope.factory is None:
        return module.with_changes(body=body)
    replaced = []
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == scope.factory:
            assert isinstance(statement.body, cst.IndentedBlock)
            statement = statement.with_changes(body=statement.body.with_changes(body=body))
        replaced.append(statement)
    return module.with_changes(body=replaced)


def _function(body: Sequence[cst.BaseStatement], name: str) -> cst.FunctionDef | None:
    for statement in body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
            return statement
    return None


def _assignment(body: Sequence[cst.BaseStatement], name: str) -> int | None:
    """The index of the first statement binding `name` to a call, at this level only."""
    for index, statement in enumerate(body):
        if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
            small = statement.body[0]
            if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call):
                targets = [t.target for t in small.targets]
                if any(isinstance(t, cst.Name) and t.value == name for t in targets):
                    return index
            if (
                isinstance(small, cst.AnnAssign)
                and isinstance(small.value, cst.Call)
                and isinstance(small.target, cst.Name)
                and small.target.value == name
            ):
                return index
    return None


def _assigned_value(statement: cst.BaseStatement) -> cst.Call:
    assert isinstance(statement, cst.SimpleStatementLine)
    small = statement.body[0]
    assert isinstance(small, cst.Assign | cst.AnnAssign) and isinstance(small.value, cst.Call)
    return small.value


def _returned_name(statement: cst.BaseStatement) -> str | None:
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if isinstance(small, cst.Return) and isinstance(small.value, cst.Name):
            return small.value.value
    return None


def _uses(body: Sequence[cst.BaseStatement], *names: str) -> bool:
    """Whether a statement calls one of `names` or passes one as the first argument
    (`install_problem_details(app)`, `app.add_middleware(RequestContextMiddleware)`)."""
    wanted = m.OneOf(*(m.Name(n) for n in names))
    call = m.Call(func=wanted) | m.Call(args=[m.Arg(value=wanted, keyword=None), m.ZeroOrMore()])
    return any(m.findall(statement, call) for statement in body)


def _adds_middleware(statement: cst.BaseStatement, app_var: str) -> bool:
    """Whether the statement adds middleware to the app, or may (it passes the app on)."""
    on_app = m.Attribute(
        value=m.Name(app_var), attr=m.Name("add_middleware") | m.Name("middleware")
    )
    if isinstance(statement, cst.FunctionDef | cst.ClassDef):
        return any(m.findall(d, on_app) for d in statement.decorators)
    if m.findall(statement, on_app):
        return True
    passes_app = m.Call(args=[m.ZeroOrMore(), m.Arg(value=m.Name(app_var)), m.ZeroOrMore()])
    return isinstance(statement, cst.SimpleStatementLine) and bool(m.findall(statement, passes_app))


def _is_import(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(small, cst.Import | cst.ImportFrom) for small in statement.body
    )


def _imports_name(module: cst.Module, name: str) -> bool:
    alias = m.ImportAlias(name=m.Name(name), asname=None)
    return bool(m.findall(module, m.ImportFrom(names=[m.ZeroOrMore(), alias, m.ZeroOrMore()])))


def _local_key(statement: cst.BaseStatement, local: frozenset[str]) -> tuple[int, str] | None:
    """How isort orders an import of the project's own code, the section the new import
    joins: a relative import furthest first, then by module name; an absolute one of a
    top-level module in `local` by module name. None: another section's import."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return None
    small = statement.body[0]
    if not isinstance(small, cst.ImportFrom):
        return None
    name = cst.Module(body=[]).code_for_node(small.module) if small.module else ""
    if small.relative:
        return (-len(small.relative), name.lower())
    if name.split(".")[0] in local:
        return (0, name.lower())
    return None


def _add_import(
    module: cst.Module, from_module: str, name: str, local: frozenset[str]
) -> cst.Module:
    if _imports_name(module, name):
        return module
    body = list(module.body)
    statement = cst.parse_statement(f"from {from_module} import {name}")
    key = _local_key(statement, local)
    start = (
        1 if body and m.matches(body[0], m.SimpleStatementLine([m.Expr(m.SimpleString())])) else 0
    )
    end = start
    while end < len(body) and _is_import(body[end]):
        end += 1
    imports = range(start, end)
    own = [i for i in imports if _local_key(body[i], local) is not None]
    position = end
    if not own:
        statement = statement.with_changes(leading_lines=[cst.EmptyLine()] if end else [])
    else:
        later = [i for i in own if (_local_key(body[i], local) or (0, "")) > (key or (0, ""))]
        if later:
            position = later[0]
            if position - 1 not in own:  # the new import opens the section
                following = body[position]
                lines = list(following.leading_lines)
                blank = 0
                while blank < len(lines) and lines[blank].comment is None:
                    blank += 1
                # The blank lines that open the section move above the new import; a
                # comment block on the next import keeps a blank line above it, as isort's.
                statement = statement.with_changes(leading_lines=lines[:blank])
                comments = lines[blank:]
                if comments:
                    comments = [cst.EmptyLine(), *comments]
                body[position] = following.with_changes(leading_lines=comments)
        else:
            position = own[-1] + 1
    body.insert(position, statement)
    return module.with_changes(body=body)
