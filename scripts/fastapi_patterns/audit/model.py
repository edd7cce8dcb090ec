"""What the audit reports: rules (our own checks) and findings (ours and ruff's).

Both are frozen dataclasses so rule modules can declare their rules as module constants and
findings can be sorted, deduplicated and compared in tests. Only the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("error", "warning")


@dataclass(frozen=True)
class Rule:
    """One check of ours: a stable code, what it finds, and where the fix is explained."""

    code: str  # "FPA101": 1xx async/blocking, 2xx resources/state, 3xx API/deprecations/config
    name: str  # kebab-case, e.g. "blocking-call-in-async-path"
    summary: str  # one line
    severity: str  # "error" | "warning"
    reference: str  # "references/anti-patterns.md#anchor"
    fix_hint: str  # one line: what to do instead
    fixable: bool = False  # an automatic fix exists (a later issue)


@dataclass(frozen=True)
class Finding:
    """One place in the audited code that breaks a rule (ours, or ruff's when rule is None)."""

    rule: Rule | None  # None for ruff findings
    code: str  # rule.code or ruff's code ("FAST002", "ASYNC251")
    message: str  # one line naming the offending construct
    path: str  # POSIX path relative to the audited root
    line: int  # 1-based
    column: int  # 1-based (ruff style)
    end_line: int
    end_column: int
    source: str = "fastapi-patterns"  # or "ruff"

    @property
    def severity(self) -> str:
        """Our rule's severity; ruff's findings count as warnings (ruff has no severities)."""
        return self.rule.severity if self.rule is not None else "warning"

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.code)
