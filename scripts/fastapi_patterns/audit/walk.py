"""One pass over a module's syntax tree that every rule shares.

Parsing is most of an audit's cost, and walking the trees again and again came next: each rule
grouped nodes by type, and every function was walked on its own for the code it runs. This
module walks a tree once and keeps both answers:

- `by_type`: every node of the module, grouped by exact type, in `ast.walk`-like stack order;
- `owned`: for the module and each function, lambda and class in it, its *own* nodes as
  (node, parent) pairs: the code that runs when it runs. Nested functions, lambdas and classes
  are left out (they run later, if ever), and so are a function's decorators, defaults and
  annotations (they run when the `def` does, in the enclosing scope).

Expression contexts (`Load`, `Store`, `Del`) are not listed: rules read them as `node.ctx`.
The order of both lists is the order of a depth-first walk with an explicit stack, so results
that depend on "the first match" do not change with the caching.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

# Code inside these runs later, if ever, not when the enclosing code runs.
DEFERRED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
# Fields that never hold a syntax node: skipping them saves a getattr per node.
_SCALAR_FIELDS = frozenset(
    {"ctx", "id", "attr", "arg", "asname", "module", "level", "type_comment", "kind",
     "conversion", "is_async", "simple", "name"}
)  # fmt: skip
_CHILD_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}

Pairs = list[tuple[ast.AST, ast.AST]]


@dataclass
class Walked:
    by_type: dict[type[ast.AST], list[ast.AST]] = field(default_factory=dict)
    owned: dict[ast.AST, Pairs] = field(default_factory=dict)


# The results are kept on the nodes themselves, in attributes of these names: they live exactly
# as long as the tree, and a lookup costs far less than a weak dictionary's (measured: the weak
# references alone took a third of the pass).
_WALKED = "_fpa_walked"
_OWN = "_fpa_own_nodes"
_SUBTREE = "_fpa_subtree"


def _child_fields(kind: type[ast.AST]) -> tuple[str, ...]:
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = _CHILD_FIELDS[kind] = tuple(f for f in kind._fields if f not in _SCALAR_FIELDS)
    return fields


def _signature_ids(function: ast.AST) -> set[int]:
    if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
        return set()
    parts: list[ast.AST] = [function.args, *function.decorator_list]
    if function.returns is not None:
        parts.append(function.returns)
    return {id(part) for part in parts}


def walk(tree: ast.AST) -> Walked:
    """The shared pass over `tree` (usually a module), remembered while the tree lives."""
    walked: Walked | None = getattr(tree, _WALKED, None)
    if walked is not None:
        return walked
    walked = Walked()
    by_type, owned = walked.by_type, walked.owned
    owned[tree] = []
    signatures: dict[int, set[int]] = {id(tree): _signature_ids(tree)}
    # (node, owner): owner is whose own code the node is, None inside a signature
    stack: list[tuple[ast.AST, ast.AST | None]] = [(tree, tree)]
    while stack:
        node, owner = stack.pop()
        kind = type(node)
        group = by_type.get(kind)
        if group is None:
            by_type[kind] = [node]
        else:
            group.append(node)
        own = owned[owner] if owner is not None else None
        skipped = signatures[id(node)] if node is owner else ()
        for name in _child_fields(kind):
            value = getattr(node, name, None)
            children: list[ast.AST] | tuple[ast.AST]
            if value.__class__ is list:
                children = value
            elif isinstance(value, ast.AST):
                children = (value,)
            else:
                continue
            for child in children:
                if not isinstance(child, ast.AST):
                    continue
                if isinstance(child, DEFERRED):
                    owned[child] = []
                    signatures[id(child)] = _signature_ids(child)
                    stack.append((child, child))
                elif own is None or id(child) in skipped:
                    stack.append((child, None))
                else:
                    own.append((child, node))
                    stack.append((child, owner))
    setattr(tree, _WALKED, walked)
    for holder, pairs in owned.items():
        setattr(holder, _OWN, pairs)
    return walked


def nodes_of_type(tree: ast.AST, kind: type[ast.AST]) -> list[ast.AST]:
    """Every node of exactly type `kind` in `tree`."""
    return walk(tree).by_type.get(kind, [])


def own_nodes(function: ast.AST) -> Pairs:
    """(node, parent) for the code that runs when `function` (a def, lambda, class or module)
    runs. Answered from the shared pass when the function's module was walked already."""
    cached: Pairs | None = getattr(function, _OWN, None)
    if cached is None:
        cached = walk(function).owned[function]
    return cached


def subtree(node: ast.AST) -> list[ast.AST]:
    """`list(ast.walk(node))`, in the same breadth-first order, without expression contexts;
    remembered on the node, since rules walk the same functions again."""
    found: list[ast.AST] | None = getattr(node, _SUBTREE, None)
    if found is not None:
        return found
    found = [node]
    position = 0
    while position < len(found):
        current = found[position]
        position += 1
        for name in _child_fields(type(current)):
            value = getattr(current, name, None)
            if value.__class__ is list:
                found.extend(item for item in value if isinstance(item, ast.AST))
            elif isinstance(value, ast.AST):
                found.append(value)
    setattr(node, _SUBTREE, found)
    return found
