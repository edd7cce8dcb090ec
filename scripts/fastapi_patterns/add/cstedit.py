"""Small libcst edits the transforms share: keyword arguments of a call, and a standard
library `from x import y` placed where isort (and ruff's I rules) would put it.

Each keeps the call's layout: a one-line call stays on one line, a call with one argument
per line and a trailing comma gets the new argument on its own line the same way.
"""

from __future__ import annotations

import sys

import libcst as cst


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def without_keyword(call: cst.Call, name: str) -> cst.Call:
    """`call` without the `name=` argument (its comma and line go with it)."""
    args = list(call.args)
    index = next(i for i, a in enumerate(args) if a.keyword and a.keyword.value == name)
    removed = args.pop(index)
    if not args:
        return call.with_changes(args=[], whitespace_before_args=cst.SimpleWhitespace(""))
    if index == len(args):  # it was the last: the new last one takes its comma (or none)
        args[-1] = args[-1].with_changes(comma=removed.comma)
    return call.with_changes(args=args)


def with_keyword(call: cst.Call, name: str, value: cst.BaseExpression) -> cst.Call:
    """`call` with `name=value` set: replaced in place, or appended in the call's layout."""
    args = list(call.args)
    existing = keyword(call, name)
    if existing is not None:
        return call.with_changes(
            args=[a.with_changes(value=value) if a is existing else a for a in args]
        )
    new = cst.Arg(
        value=value,
        keyword=cst.Name(name),
        equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
    )
    if not args:
        return call.with_changes(args=[new])
    last = args[-1]
    if isinstance(last.comma, cst.Comma):  # a trailing comma: one argument per line
        separator = (
            args[-2].comma
            if len(args) > 1 and isinstance(args[-2].comma, cst.Comma)
            else cst.Comma(whitespace_after=call.whitespace_before_args)
        )
        args[-1] = last.with_changes(comma=separator)
        new = new.with_changes(comma=last.comma)
    else:
        separator = (
            args[-2].comma
            if len(args) > 1 and isinstance(args[-2].comma, cst.Comma)
            else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
        args[-1] = last.with_changes(comma=separator)
    return call.with_changes(args=[*args, new])


def _sort_key(statement: cst.BaseStatement) -> tuple[int, str] | None:
    """isort's order inside the standard-library section: `import x` lines, then
    `from x import y` lines, each by module name; None for anything else."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return None
    small = statement.body[0]
    if isinstance(small, cst.Import):
        name = cst.Module(body=[]).code_for_node(small.names[0].name)
        return (0, name.lower()) if _stdlib(name) else None
    if isinstance(small, cst.ImportFrom) and not small.relative and small.module is not None:
        name = cst.Module(body=[]).code_for_node(small.module)
        return (1, name.lower()) if _stdlib(name) and name != "__future__" else None
    return None


def _stdlib(module: str) -> bool:
    return module.split(".")[0] in sys.stdlib_module_names


def _is_import(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(small, cst.Import | cst.ImportFrom) for small in statement.body
    )


def _name_order(name: str) -> tuple[int, str]:
    # isort's order_by_type: CONSTANTS, then Classes, then functions
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return (kind, name)


def add_stdlib_import(module: cst.Module, from_module: str, name: str) -> cst.Module:
    """`from from_module import name` in the module's leading standard-library imports."""
    body = list(module.body)
    for index, statement in enumerate(body):
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            continue
        small = statement.body[0]
        if (
            isinstance(small, cst.ImportFrom)
            and not small.relative
            and small.module is not None
            and cst.Module(body=[]).code_for_node(small.module) == from_module
            and not isinstance(small.names, cst.ImportStar)
        ):
            names = [a.name.value for a in small.names if isinstance(a.name, cst.Name)]
            if name in names or any(a.asname for a in small.names):
                return module if name in names else _insert(module, from_module, name)
            ordered = sorted([*names, name], key=_name_order)
            aliases = [cst.ImportAlias(cst.Name(n)) for n in ordered]
            if small.lpar is None:
                body[index] = statement.with_changes(
                    body=[small.with_changes(names=aliases, lpar=None, rpar=None)]
                )
                return module.with_changes(body=body)
            return _insert(module, from_module, name)
    return _insert(module, from_module, name)


def _insert(module: cst.Module, from_module: str, name: str) -> cst.Module:
    body = list(module.body)
    statement = cst.parse_statement(f"from {from_module} import {name}")
    key = _sort_key(statement)
    start = 0
    while start < len(body) and not _is_import(body[start]):
        if not _is_docstring(body[start]):
            break
        start += 1
    while start < len(body) and _is_future(body[start]):
        start += 1
    end = start
    while end < len(body) and _is_import(body[end]):
        end += 1
    stdlib = [i for i in range(start, end) if _sort_key(body[i]) is not None]
    if stdlib:
        later = [i for i in stdlib if (_sort_key(body[i]) or (0, "")) > (key or (0, ""))]
        if later:
            position = later[0]
            if position == stdlib[0]:  # the new line opens the section: it takes its lines
                following = body[position]
                statement = statement.with_changes(leading_lines=following.leading_lines)
                body[position] = following.with_changes(leading_lines=[])
        else:
            position = stdlib[-1] + 1
    else:
        position = start
        if start < end:  # the section before the others, a blank line between
            following = body[start]
            statement = statement.with_changes(leading_lines=following.leading_lines)
            body[start] = following.with_changes(leading_lines=[cst.EmptyLine()])
        elif start > 0:
            statement = statement.with_changes(leading_lines=[cst.EmptyLine()])
    body.insert(position, statement)
    return module.with_changes(body=body)


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )


def _is_future(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.ImportFrom)
        and isinstance(statement.body[0].module, cst.Name)
        and statement.body[0].module.value == "__future__"
    )
