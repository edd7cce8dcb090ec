"""`fastapi-patterns audit --fix`: the audit's automatic fixes, through `add`'s safety rails.

Only three rules have a fix, each made with libcst on the lines the audit reported:
FPA301 (on_event hooks -> one lifespan, the `add lifespan` transform), FPA304
(`default_response_class=ORJSONResponse/UJSONResponse` removed, and its import when nothing
else uses it) and FPA311 (`await client.close()` -> `await client.aclose()`). A fix that
cannot be made safely is skipped with the reason; the finding stays. Every file is planned
in memory first; files with uncommitted git changes are refused unless forced; then all are
written at once (or only diffed).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import RemoveImportsVisitor
from libcst.metadata import MetadataWrapper, PositionProvider

from ..audit.model import Finding
from ..write import write_files
from .cstedit import without_keyword
from .engine import unified_diff
from .gitstate import uncommitted
from .lifespan import LifespanUnsupported, convert
from .refusal import AddRefused
from .wiring import Unsupported

ON_EVENT, DEFAULT_RESPONSE_CLASS, REDIS_CLOSE = "FPA301", "FPA304", "FPA311"
FIXABLE = frozenset({ON_EVENT, DEFAULT_RESPONSE_CLASS, REDIS_CLOSE})
_DEPRECATED_RESPONSES = ("ORJSONResponse", "UJSONResponse")


@dataclass
class FixResult:
    dry_run: bool
    fixed: dict[str, list[str]] = field(default_factory=dict)  # path -> codes fixed there
    skipped: list[str] = field(default_factory=list)  # a finding left, and why
    patched: list[str] = field(default_factory=list)
    diff: str = ""

    @property
    def count(self) -> int:
        return sum(len(codes) for codes in self.fixed.values())


def fix_findings(
    root: Path, findings: Iterable[Finding], *, dry_run: bool = False, force: bool = False
) -> FixResult:
    """Fix what can be fixed among `findings` (paths relative to `root`)."""
    result = FixResult(dry_run)
    by_file: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for finding in findings:
        if finding.code in FIXABLE:
            by_file[finding.path][finding.code].append(finding)
    changes: dict[str, bytes] = {}
    on_event_files = {path for path, codes in by_file.items() if ON_EVENT in codes}
    converted: set[str] = set()
    for path, codes in sorted(by_file.items()):
        try:
            source = (root / path).read_bytes()
        except OSError as error:
            result.skipped.append(f"{path}: cannot be read ({error.strerror or error})")
            continue
        text, fixed = source, list[str]()
        # the apps FPA301 names, read before the other fixes move lines
        owners = _owners(source, codes[ON_EVENT]) if ON_EVENT in codes else []
        for code, fix in ((REDIS_CLOSE, _aclose), (DEFAULT_RESPONSE_CLASS, _no_default_class)):
            if code in codes:
                lines = {f.line for f in codes[code]}
                changed = fix(text, lines)
                if changed != text:
                    text, fixed = changed, [*fixed, *(f.code for f in codes[code])]
        if ON_EVENT in codes:
            try:
                changed = _lifespan(text, owners)
            except Unsupported as error:
                where = ", ".join(str(f.line) for f in codes[ON_EVENT])
                result.skipped.append(f"{path}:{where}: FPA301 not fixed: {error}")
            else:
                if changed != text:
                    text, fixed = changed, [*fixed, *(f.code for f in codes[ON_EVENT])]
                    converted.add(path)
        if text != source:
            changes[path] = text
            result.fixed[path] = fixed
    left = sorted(on_event_files - converted)
    if converted and left:
        # Once an app has a lifespan FastAPI runs no on_event hooks, also not those of
        # routers it includes: converting one file while others keep hooks would drop them.
        for path in sorted(converted):
            result.skipped.append(
                f"{path}: FPA301 not fixed: {', '.join(left)} keep on_event hooks FastAPI"
                " would stop running once the app has a lifespan; move those first"
            )
            original = (root / path).read_bytes()
            redone = _without_lifespan(original, by_file[path])
            if redone == original:
                changes.pop(path, None)
                result.fixed.pop(path, None)
            else:
                changes[path] = redone
                result.fixed[path] = [c for c in result.fixed[path] if c != ON_EVENT]
    if not force:
        dirty = uncommitted(root, sorted(changes))
        if dirty:
            raise AddRefused(
                f"{', '.join(dirty)} {'has' if len(dirty) == 1 else 'have'} uncommitted changes;"
                " commit or stash them first (or pass --force). Nothing was written."
            )
    result.patched = sorted(changes)
    result.diff = unified_diff(root, changes)
    if not dry_run and changes:
        write_files(root, changes, force=True)
    return result


def _without_lifespan(source: bytes, codes: dict[str, list[Finding]]) -> bytes:
    text = source
    if REDIS_CLOSE in codes:
        text = _aclose(text, {f.line for f in codes[REDIS_CLOSE]})
    if DEFAULT_RESPONSE_CLASS in codes:
        text = _no_default_class(text, {f.line for f in codes[DEFAULT_RESPONSE_CLASS]})
    return text


# FPA311 ---------------------------------------------------------------------------------


class _ACloseOnLines(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, lines: set[int]) -> None:
        super().__init__()
        self.lines = lines

    def leave_Await(self, original_node: cst.Await, updated_node: cst.Await) -> cst.Await:
        call = updated_node.expression
        if not (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value == "close"
            and not call.args
        ):
            return updated_node
        line = self.get_metadata(PositionProvider, original_node.expression).start.line
        if line not in self.lines:
            return updated_node
        func = call.func.with_changes(attr=cst.Name("aclose"))
        return updated_node.with_changes(expression=call.with_changes(func=func))


def _aclose(source: bytes, lines: set[int]) -> bytes:
    wrapper = MetadataWrapper(cst.parse_module(source))
    return wrapper.visit(_ACloseOnLines(lines)).bytes


# FPA304 ---------------------------------------------------------------------------------


class _DropDefaultClass(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, lines: set[int]) -> None:
        super().__init__()
        self.lines = lines

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        for arg in original_node.args:
            if arg.keyword is None or arg.keyword.value != "default_response_class":
                continue
            value = arg.value
            name = value.attr.value if isinstance(value, cst.Attribute) else None
            name = value.value if isinstance(value, cst.Name) else name
            line = self.get_metadata(PositionProvider, arg).start.line
            if name in _DEPRECATED_RESPONSES and line in self.lines:
                return without_keyword(updated_node, "default_response_class")
        return updated_node


def _no_default_class(source: bytes, lines: set[int]) -> bytes:
    module = MetadataWrapper(cst.parse_module(source)).visit(_DropDefaultClass(lines))
    unused = [
        (node.module, alias.name, alias.asname)
        for node in ast.walk(ast.parse(module.bytes))
        if isinstance(node, ast.ImportFrom) and node.module and not node.level
        for alias in node.names
        if alias.name in _DEPRECATED_RESPONSES
    ]
    if not unused:
        return module.bytes
    # removed only when nothing else in the module uses the name (scope analysis)
    wrapper = MetadataWrapper(module)
    remover = RemoveImportsVisitor(CodemodContext(wrapper=wrapper), unused)
    return wrapper.visit(remover).bytes


# FPA301 ---------------------------------------------------------------------------------


def _owners(source: bytes, findings: list[Finding]) -> list[str | None]:
    tree = ast.parse(source)
    owners: list[str | None] = []
    for finding in findings:
        owner = _owner(tree, finding.line)
        if owner not in owners:
            owners.append(owner)
    return owners


def _lifespan(source: bytes, owners: list[str | None]) -> bytes:
    """Each app (or factory) the hooks are registered on, converted in turn."""
    if None in owners:
        raise Unsupported("a registration is not on an app named at the module's top level")
    for attr in owners:
        assert attr is not None
        try:
            source = convert(source, attr)
        except LifespanUnsupported as error:
            raise Unsupported(str(error)) from None
    return source


def _owner(tree: ast.Module, line: int) -> str | None:
    """The top-level name `add lifespan` takes for the registration on `line`: the factory
    whose body holds it, else the module-level app it is called on (or assigned to, for
    `app = FastAPI(on_startup=[...])`)."""
    for statement in tree.body:
        decorators = (
            statement.decorator_list
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef)
            else []
        )
        first = min([statement.lineno, *(d.lineno for d in decorators)])
        if not first <= line <= (statement.end_lineno or statement.lineno):
            continue
        in_decorator = any(d.lineno <= line <= (d.end_lineno or d.lineno) for d in decorators)
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef) and not in_decorator:
            return statement.name  # a factory: the registration is in its body
        for node in ast.walk(statement):
            if not (isinstance(node, ast.Call) and node.lineno == line):
                continue
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.attr in ("on_event", "add_event_handler")
            ):
                return func.value.id
        if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
            return statement.targets[0].id
        return None
    return None
