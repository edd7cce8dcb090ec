"""The shared pass of audit/walk.py gives exactly what the simple walks it replaced gave: the
same nodes by type, and for each function the same own nodes in the same order (rules take
"the first match" from them, so the order is part of the contract)."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest

from fastapi_patterns.audit.walk import DEFERRED, nodes_of_type, own_nodes, subtree, walk

BUNDLE = Path(__file__).resolve().parent.parent
# Our own code plus a standard-library package: every statement and expression kind occurs.
SOURCES = sorted([*(BUNDLE / "scripts").rglob("*.py"), *Path(asyncio.__file__).parent.glob("*.py")])


def reference_walk(tree: ast.AST) -> list[ast.AST]:
    stack, found = [tree], []
    while stack:
        node = stack.pop()
        found.append(node)
        for name in node._fields:
            value = getattr(node, name, None)
            if name == "ctx":
                continue
            if isinstance(value, ast.AST):
                stack.append(value)
            elif isinstance(value, list):
                stack.extend(item for item in value if isinstance(item, ast.AST))
    return found


def reference_own_nodes(function: ast.AST) -> list[tuple[ast.AST, ast.AST]]:
    skipped: set[int] = set()
    if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
        parts = [function.args, *function.decorator_list, function.returns]
        skipped = {id(part) for part in parts if part is not None}
    found: list[tuple[ast.AST, ast.AST]] = []
    stack = [function]
    while stack:
        parent = stack.pop()
        for name in parent._fields:
            if name == "ctx":
                continue
            value = getattr(parent, name, None)
            for child in value if isinstance(value, list) else (value,):
                if not isinstance(child, ast.AST) or isinstance(child, DEFERRED):
                    continue
                if parent is function and id(child) in skipped:
                    continue
                found.append((child, parent))
                stack.append(child)
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_one_pass_matches_the_simple_walks(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    everything = reference_walk(tree)
    for kind in {type(node) for node in everything}:
        assert nodes_of_type(tree, kind) == [n for n in everything if type(n) is kind]
    holders = [tree, *(node for node in everything if isinstance(node, DEFERRED))]
    assert set(map(id, walk(tree).owned)) == set(map(id, holders))
    for holder in holders:
        assert own_nodes(holder) == reference_own_nodes(holder)
        walked = [n for n in ast.walk(holder) if not isinstance(n, ast.expr_context)]
        assert subtree(holder) == walked


def test_a_function_alone_is_walked_on_demand() -> None:
    tree = ast.parse("def outer(x=len([])):\n    y = 1\n    def inner():\n        z = 2\n")
    outer = tree.body[0]
    # never walked as part of its module: answered by a walk of its own
    kinds = [type(node).__name__ for node, _ in own_nodes(outer)]
    assert kinds == ["Assign", "Name", "Constant"]  # not the default, not `inner`


def test_decorators_and_defaults_belong_to_no_one() -> None:
    tree = ast.parse("@deco(a)\ndef f(x=b):\n    return c\n")
    names = {n.id for n in nodes_of_type(tree, ast.Name)}  # type: ignore[attr-defined]
    assert names == {"deco", "a", "b", "c"}
    module_own = {n.id for n, _ in own_nodes(tree) if isinstance(n, ast.Name)}
    function_own = {n.id for n, _ in own_nodes(tree.body[0]) if isinstance(n, ast.Name)}
    assert module_own == set()  # the def is deferred code of the module's own walk
    assert function_own == {"c"}
