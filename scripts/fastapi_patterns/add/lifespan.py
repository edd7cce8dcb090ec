"""`add lifespan`: the app's on_event / add_event_handler hooks become one lifespan.

The handler functions stay where they are (their comments, formatting and any other code
calling them survive); only their `@app.on_event(...)` decorators, the
`app.add_event_handler(...)` lines and `on_startup=`/`on_shutdown=` arguments go. A new
`@asynccontextmanager` function calls them, and the app's constructor gets `lifespan=`. An
app that already has a lifespan keeps it: the new one enters it, then runs the hooks.

What is not certain is refused (`Unsupported`, with the lines to write by hand): hooks
registered in a loop, a condition or another function, a handler whose sync/async nature
cannot be read in the module, an existing lifespan not defined here as an async context
manager.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
import libcst.matchers as m

from .cstedit import add_stdlib_import, keyword, with_keyword, without_keyword
from .wiring import Scope, Unsupported, find_scope, scope_body, with_scope_body

EVENTS = ("startup", "shutdown")
_REGISTER = ("on_event", "add_event_handler")
_ON_KEYWORDS = m.Arg(keyword=m.Name("on_startup") | m.Name("on_shutdown"))
_HOOK_TEXT = re.compile(r"\.(on_event|add_event_handler)\(|\bon_(startup|shutdown)\s*=")
_SKIPPED = frozenset({"node_modules", "__pycache__", "venv", "site-packages", "migrations"})
# Starlette's old lifespan ran every startup hook in order before serving and every shutdown
# hook once serving ended, also after an error while serving, but none when a startup hook
# failed (the context was never entered). try/finally around the yield does the same.
_SEMANTICS = (
    "# As on_event ran them: startup hooks in order before serving; shutdown hooks\n"
    "    # after serving, also when it failed, but not when a startup hook raised."
)


@dataclass(frozen=True)
class Hook:
    event: str  # "startup" | "shutdown"
    name: str  # the handler as the lifespan calls it
    is_async: bool

    @property
    def call(self) -> str:
        return f"await {self.name}()" if self.is_async else f"{self.name}()"


@dataclass
class _Plan:
    hooks: list[Hook] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    registrations: set[int] = field(default_factory=set)  # id() of the handled nodes
    trailing: list[cst.EmptyLine] = field(default_factory=list)


class LifespanUnsupported(Unsupported):
    """Refused; `lines` is what to write by hand, with the hooks found so far."""

    def __init__(self, message: str, lines: list[str]) -> None:
        super().__init__(message)
        self.lines = lines


def convert(source: bytes, attr: str) -> bytes:
    """`source` with the hooks of the app (or factory) `attr` turned into a lifespan;
    unchanged when it has none."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        raise Unsupported(f"it does not parse ({error.message})") from None
    if not _registers(module):
        return source
    scope = find_scope(module, attr)
    body = scope_body(module, scope)
    plan = _plan(module, scope, body)
    constructor = _constructor(body[scope.anchor])
    existing = keyword(constructor, "lifespan")
    if existing is not None:
        _check_existing(module, scope, body, existing.value, plan)
    if plan.problems:
        raise LifespanUnsupported(plan.problems[0], manual_lines(plan.hooks, scope.app_var))
    if not plan.hooks:
        return source
    name = _free_name(module, "lifespan" if existing is None else "lifespan_with_event_handlers")
    app_type = cst.Module(body=[]).code_for_node(constructor.func)
    function = _lifespan_function(name, app_type, plan.hooks, existing, module, body)
    new_body = _rewrite(body, scope, plan, name, function)
    module = with_scope_body(module, scope, new_body)
    if plan.trailing:
        module = module.with_changes(footer=[*plan.trailing, *module.footer])
    for from_module, imported in (
        ("contextlib", "asynccontextmanager"),
        ("collections.abc", "AsyncIterator"),
    ):
        if imported in module.code_for_node(function) and not _binds(module, imported):
            module = add_stdlib_import(module, from_module, imported)
    return module.bytes


def hooks_elsewhere(root: Path, folder: str, app_file: str) -> list[str]:
    """Files below `folder` other than the app's that register event hooks (on routers or
    another app): once the app has a lifespan, FastAPI no longer runs those, so converting
    the app alone would silently drop them."""
    found = []
    base = root / folder if folder else root
    for path in sorted(base.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel == app_file or any(part.startswith(".") or part in _SKIPPED for part in path.parts):
            continue
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if _HOOK_TEXT.search(text):
            found.append(rel)
    return found


def manual_lines(hooks: Sequence[Hook], app: str = "app") -> list[str]:
    """The lifespan to write by hand: with the hooks found, or placeholders."""
    startup = [h.call for h in hooks if h.event == "startup"] or ["await on_startup()"]
    shutdown = [h.call for h in hooks if h.event == "shutdown"] or ["await on_shutdown()"]
    return [
        "  # at the top of the module:",
        "  from collections.abc import AsyncIterator",
        "  from contextlib import asynccontextmanager",
        "  # before the app is created (the handlers stay, without their on_event decorators",
        "  # and add_event_handler lines):",
        "  @asynccontextmanager",
        "  async def lifespan(app: FastAPI) -> AsyncIterator[None]:",
        *(f"      {call}" for call in startup),
        "      try:",
        "          yield",
        "      finally:",
        *(f"          {call}" for call in shutdown),
        f"  # and pass it: {app} = FastAPI(..., lifespan=lifespan)",
    ]


def _registers(module: cst.Module) -> bool:
    method = m.Attribute(attr=m.Name(_REGISTER[0]) | m.Name(_REGISTER[1]))
    if m.findall(module, method):
        return True
    return bool(m.findall(module, m.Call(args=[m.ZeroOrMore(), _ON_KEYWORDS, m.ZeroOrMore()])))


def _binds(module: cst.Module, name: str) -> bool:
    alias = m.ImportAlias(name=m.Name(name), asname=None) | m.ImportAlias(
        asname=m.AsName(name=m.Name(name))
    )
    return bool(m.findall(module, alias)) or _function(list(module.body), name) is not None


def _plan(module: cst.Module, scope: Scope, body: list[cst.BaseStatement]) -> _Plan:
    plan = _Plan()
    app = scope.app_var
    constructor = _constructor(body[scope.anchor])
    for listed in EVENTS:
        arg = keyword(constructor, f"on_{listed}")
        if arg is None:
            continue
        plan.registrations.add(id(arg))
        if not isinstance(arg.value, cst.List | cst.Tuple):
            plan.problems.append(f"`on_{listed}=` is not a list of handlers")
            continue
        for element in arg.value.elements:
            _add_hook(plan, module, body, listed, element.value)
    for statement in body:
        if isinstance(statement, cst.FunctionDef):
            for decorator in statement.decorators:
                hook = decorator.decorator
                if not (
                    isinstance(hook, cst.Call) and m.matches(hook.func, _method(app, "on_event"))
                ):
                    continue
                plan.registrations.add(id(hook))
                event = _event(hook.args[0].value) if len(hook.args) == 1 else None
                if event is None:
                    plan.problems.append(
                        f"`{statement.name.value}`'s on_event is not startup/shutdown"
                    )
                    continue
                plan.hooks.append(
                    Hook(event, statement.name.value, statement.asynchronous is not None)
                )
        elif isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
            small = statement.body[0]
            handler = small.value if isinstance(small, cst.Expr) else None
            if isinstance(handler, cst.Call) and m.matches(
                handler.func, _method(app, "add_event_handler")
            ):
                plan.registrations.add(id(handler))
                event = _event(handler.args[0].value) if len(handler.args) == 2 else None
                if event is None or any(a.keyword for a in handler.args):
                    plan.problems.append(
                        'an add_event_handler call is not ("startup"|"shutdown", handler)'
                    )
                    continue
                _add_hook(plan, module, body, event, handler.args[1].value)
    register = m.Attribute(attr=m.Name("on_event") | m.Name("add_event_handler"))
    for found in m.findall(module, m.Call(func=register)):
        if id(found) not in plan.registrations and isinstance(found, cst.Call):
            code = cst.Module(body=[]).code_for_node(found.func)
            plan.problems.append(
                f"`{code}(...)` registers an event handler that is not one of `{app}`'s own"
                " top-level registrations (in a loop, a condition, another function, or on"
                " a router), which FastAPI would stop running once the app has a lifespan"
            )
    for found in m.findall(module, m.Call(args=[m.ZeroOrMore(), _ON_KEYWORDS, m.ZeroOrMore()])):
        if found is not constructor:
            plan.problems.append("another call in this module passes on_startup=/on_shutdown=")
    # startup hooks in registration order (constructor lists first, as FastAPI appends)
    return plan


def _add_hook(
    plan: _Plan,
    module: cst.Module,
    body: list[cst.BaseStatement],
    event: str,
    value: cst.BaseExpression,
) -> None:
    if not isinstance(value, cst.Name):
        code = cst.Module(body=[]).code_for_node(value)
        plan.problems.append(f"the handler `{code}` is not a function named in this module")
        return
    function = _function(body, value.value) or _function(list(module.body), value.value)
    if function is None:
        plan.problems.append(
            f"`{value.value}` is not defined in this module, so whether it is async is unknown"
        )
        return
    plan.hooks.append(Hook(event, value.value, function.asynchronous is not None))


def _check_existing(
    module: cst.Module,
    scope: Scope,
    body: list[cst.BaseStatement],
    value: cst.BaseExpression,
    plan: _Plan,
) -> None:
    name = value.value if isinstance(value, cst.Name) else None
    function = (_function(body, name) or _function(list(module.body), name)) if name else None
    manager = m.Name("asynccontextmanager") | m.Attribute(attr=m.Name("asynccontextmanager"))
    if function is None or not any(m.matches(d.decorator, manager) for d in function.decorators):
        plan.problems.append(
            f"`{scope.app_var}` already has a lifespan that is not an @asynccontextmanager"
            " function defined in this module, so it cannot be composed safely"
        )


def _lifespan_function(
    name: str,
    app_type: str,
    hooks: list[Hook],
    existing: cst.Arg | None,
    module: cst.Module,
    body: list[cst.BaseStatement],
) -> cst.FunctionDef:
    startup = [h.call for h in hooks if h.event == "startup"]
    shutdown = [h.call for h in hooks if h.event == "shutdown"]
    if existing is None:
        returns, yielded, indent = "AsyncIterator[None]", "yield", ""
        lines = []
    else:
        inner = cst.Module(body=[]).code_for_node(existing.value)
        function = _function(body, inner) or _function(list(module.body), inner)
        annotation = function.returns if function is not None else None
        returns = (
            cst.Module(body=[]).code_for_node(annotation.annotation)
            if annotation
            else "AsyncIterator[None]"
        )
        lines = [
            "# FastAPI never ran on_event hooks of an app given a lifespan; now they run.",
            f"async with {inner}(app) as state:",
        ]
        yielded, indent = "yield state", "    "
    if shutdown:
        lines += [indent + s for s in startup]
        lines += [f"{indent}try:", f"{indent}    {yielded}", f"{indent}finally:"]
        lines += [f"{indent}    {s}" for s in shutdown]
    else:
        lines += [indent + s for s in startup] + [indent + yielded]
    docstring = '"""The app\'s former on_event hooks, run around serving."""'
    text = (
        f"@asynccontextmanager\nasync def {name}(app: {app_type}) -> {returns}:\n"
        f"    {docstring}\n    {_SEMANTICS}\n" + "".join(f"    {line}\n" for line in lines)
    )
    parsed = cst.parse_statement(text)
    assert isinstance(parsed, cst.FunctionDef)
    return parsed


def _rewrite(
    body: list[cst.BaseStatement], scope: Scope, plan: _Plan, name: str, function: cst.FunctionDef
) -> list[cst.BaseStatement]:
    out: list[cst.BaseStatement] = []
    carried: list[cst.EmptyLine] = []  # comments of a removed line, kept on the next one
    removed_lines: list[cst.EmptyLine] = []
    blank = [cst.EmptyLine(indent=False)] * (2 if scope.factory is None else 1)
    for index, statement in enumerate(body):
        if index == scope.anchor:
            assert isinstance(statement, cst.SimpleStatementLine)
            comments = [line for line in statement.leading_lines if line.comment is not None]
            out.append(function.with_changes(leading_lines=blank if index else []))
            small = statement.body[0]
            assert isinstance(small, cst.Assign | cst.AnnAssign) and isinstance(
                small.value, cst.Call
            )
            call = small.value
            for event in EVENTS:
                if keyword(call, f"on_{event}") is not None:
                    call = without_keyword(call, f"on_{event}")
            call = with_keyword(call, "lifespan", cst.Name(name))
            statement = statement.with_changes(
                body=[small.with_changes(value=call)], leading_lines=[*blank, *comments]
            )
        elif isinstance(statement, cst.FunctionDef):
            kept = [d for d in statement.decorators if id(d.decorator) not in plan.registrations]
            if len(kept) != len(statement.decorators):
                statement = statement.with_changes(decorators=kept)
        elif isinstance(statement, cst.SimpleStatementLine) and _is_registration(statement, plan):
            carried += [line for line in statement.leading_lines if line.comment is not None]
            removed_lines = list(statement.leading_lines)
            continue
        if carried and isinstance(statement, cst.SimpleStatementLine | cst.FunctionDef):
            statement = statement.with_changes(leading_lines=[*carried, *statement.leading_lines])
            carried = []
        out.append(statement)
    # a removed last line's comments (and the blank lines above them) end the module
    plan.trailing = removed_lines if carried else []
    return out


def _is_registration(statement: cst.BaseStatement, plan: _Plan) -> bool:
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return False
    small = statement.body[0]
    return isinstance(small, cst.Expr) and id(small.value) in plan.registrations


def _method(app: str, name: str) -> m.Attribute:
    return m.Attribute(value=m.Name(app), attr=m.Name(name))


def _event(value: cst.BaseExpression) -> str | None:
    if isinstance(value, cst.SimpleString) and value.evaluated_value in EVENTS:
        return str(value.evaluated_value)
    return None


def _constructor(statement: cst.BaseStatement) -> cst.Call:
    assert isinstance(statement, cst.SimpleStatementLine)
    small = statement.body[0]
    assert isinstance(small, cst.Assign | cst.AnnAssign) and isinstance(small.value, cst.Call)
    call = small.value
    if not m.matches(call.func, m.Name("FastAPI") | m.Attribute(attr=m.Name("FastAPI"))):
        raise Unsupported("the app is not built by a FastAPI(...) call in this scope")
    return call


def _function(body: Sequence[cst.BaseStatement], name: str | None) -> cst.FunctionDef | None:
    for statement in body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
            return statement
    return None


def _free_name(module: cst.Module, wanted: str) -> str:
    used = {n.value for n in m.findall(module, m.Name()) if isinstance(n, cst.Name)}
    name, number = wanted, 1
    while name in used:
        number += 1
        name = f"{wanted}_{number}"
    return name
