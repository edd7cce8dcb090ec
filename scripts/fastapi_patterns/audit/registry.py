"""Every rule of ours, from the rule modules, with their checks."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fastapi_patterns.audit import (
    rules_async,
    rules_config,
    rules_deprecated,
    rules_health,
    rules_resources,
    rules_security,
)
from fastapi_patterns.audit.model import Finding, Rule
from fastapi_patterns.audit.project import ProjectIndex

Check = Callable[[ProjectIndex], Iterable[Finding]]


@dataclass(frozen=True)
class RuleModule:
    name: str
    rules: tuple[Rule, ...]
    check: Check


# One module per family of rules; each exposes RULES and check(index).
_MODULES = (
    rules_async,
    rules_resources,
    rules_deprecated,
    rules_security,
    rules_health,
    rules_config,
)


def rule_modules() -> list[RuleModule]:
    return [
        RuleModule(module.__name__.rpartition(".")[2], tuple(module.RULES), module.check)
        for module in _MODULES
    ]


def all_rules() -> list[Rule]:
    """Our rules by code; a code used twice is a bug in the bundle, caught by the tests."""
    rules = [rule for module in rule_modules() for rule in module.rules]
    codes = [rule.code for rule in rules]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise RuntimeError(f"rule codes defined twice: {', '.join(duplicates)}")
    return sorted(rules, key=lambda rule: rule.code)
