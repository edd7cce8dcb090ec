"""`fastapi-patterns audit`: the anti-patterns the skill forbids, found in an existing project.

Reads the project's source with `ast` only: it never imports or runs user code. The library
call is `audit()`; `output` turns its report into text, JSON, SARIF or GitHub annotations.
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
import traceback
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from fastapi_patterns.audit.model import Finding, Rule
from fastapi_patterns.audit.project import ProjectIndex, build_index, source_files
from fastapi_patterns.audit.registry import rule_modules
from fastapi_patterns.audit.ruff import RuffRun, rule_name, run_ruff
from fastapi_patterns.audit.suppress import RUFF_FAMILIES, Selection, selection, suppressed

__all__ = ["AuditReport", "Finding", "Rule", "audit"]

CLEAN, FOUND, FAILED = 0, 1, 2  # exit codes, as ruff's


@dataclass
class AuditReport:
    root: Path
    findings: list[Finding]  # sorted by path, line, column, code
    warnings: list[str]  # files skipped, ruff missing: the audit still ran
    errors: list[str]  # a rule failed: its findings are missing (exit 2)
    rules: list[Rule]  # our rules that were enabled
    files: int  # Python files read
    seconds: float = 0.0
    ruff_seconds: float | None = None  # None when ruff did not run
    ruff_version: str | None = None
    ruff_urls: dict[str, str] = field(default_factory=dict)  # ruff code -> its docs page

    @property
    def exit_code(self) -> int:
        if self.errors:
            return FAILED
        return FOUND if self.findings else CLEAN

    def summary(self) -> list[dict[str, object]]:
        """One entry per code that has findings: how many, and where the fix is explained."""
        counts = Counter(finding.code for finding in self.findings)
        firsts: dict[str, Finding] = {}
        for finding in self.findings:
            firsts.setdefault(finding.code, finding)
        entries: list[dict[str, object]] = []
        for code in sorted(counts):
            rule = firsts[code].rule
            entries.append(
                {
                    "code": code,
                    "source": firsts[code].source,
                    "name": rule.name if rule else rule_name(self.ruff_urls.get(code)),
                    "severity": firsts[code].severity,
                    "count": counts[code],
                    "summary": rule.summary if rule else None,
                    "fix_hint": rule.fix_hint if rule else None,
                    "reference": rule.reference if rule else self.ruff_urls.get(code),
                    "fixable": rule.fixable if rule else None,
                }
            )
        return entries


def _our_findings(
    index: ProjectIndex, chosen: Selection, errors: list[str]
) -> tuple[list[Finding], list[Rule]]:
    findings: list[Finding] = []
    enabled: list[Rule] = []
    for module in rule_modules():
        codes = {rule.code for rule in module.rules if chosen.enabled(rule.code)}
        if not codes:
            continue
        enabled.extend(rule for rule in module.rules if rule.code in codes)
        try:
            findings.extend(f for f in module.check(index) if f.code in codes)
        except Exception as error:  # a bug in one rule must not hide the others' findings
            where = traceback.extract_tb(error.__traceback__)[-1]
            errors.append(
                f"internal error in {module.name} ({type(error).__name__}: {error}, at"
                f" {Path(where.filename).name}:{where.lineno}); its findings are missing"
            )
    return findings, sorted(enabled, key=lambda rule: rule.code)


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Syntax trees are millions of small objects without cycles: left on, the cyclic garbage
    collector walks all of them again and again while they are built, which made parsing 2,000
    files five times slower (bench/audit.py). Reference counting still frees them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _merge_ruff(
    report: AuditReport, findings: list[Finding], ruff: RuffRun, chosen: Selection
) -> list[Finding]:
    report.warnings.extend(ruff.warnings)
    if ruff.ran:
        report.ruff_seconds = ruff.seconds
        report.ruff_version = ruff.version
        report.ruff_urls = ruff.urls
    theirs = [f for f in ruff.findings if chosen.enabled(f.code)]
    # ruff's ASYNC rules and our blocking-call rules (FPA1xx) can flag the same call; the
    # issue asks for ruff's code then, so ours gives way at the identical position
    spots = {(f.path, f.line, f.column) for f in theirs if f.code.startswith("ASYNC")}
    kept = [f for f in findings if (f.path, f.line, f.column) not in spots or f.code[:4] != "FPA1"]
    return kept + theirs


def audit(
    root: Path,
    paths: Sequence[Path] | None = None,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    use_ruff: bool = True,
) -> AuditReport:
    """Audit the project at `root` (or only `paths` inside it). `select`/`ignore` are rule codes
    or prefixes and override/extend `[tool.fastapi-patterns]`; raises ConfigError for bad ones."""
    started = time.perf_counter()
    root = root.resolve()
    # the configuration belongs to the project holding the audited paths
    first = paths[0].resolve() if paths else root
    chosen = selection(first if first.is_dir() else first.parent, select, ignore)
    files = source_files(root, paths)
    with _no_cyclic_gc(), ThreadPoolExecutor(max_workers=1) as pool:
        # ruff works in its own process while we parse: its time overlaps ours
        ruff = None
        if use_ruff and any(chosen.may_enable(family) for family in RUFF_FAMILIES):
            relpaths = [Path(os.path.relpath(path, root)).as_posix() for path in files]
            ruff = pool.submit(run_ruff, root, relpaths)
        index = build_index(root, files=files)
        errors: list[str] = []
        findings, enabled = _our_findings(index, chosen, errors)
        sources = {m.relpath: m.source for m in index.modules.values()}
        lines = {path: sources[path].splitlines() for path in {f.path for f in findings}}
        findings = [f for f in findings if not suppressed(f, lines.get(f.path, []))]
        warnings = list(index.warnings)
        if not index.modules and not warnings:
            warnings.append("no Python files found to audit")
        report = AuditReport(root, [], warnings, errors, enabled, files=len(index.modules))
        if ruff is not None:
            findings = _merge_ruff(report, findings, ruff.result(), chosen)
    report.findings = sorted(set(findings), key=Finding.sort_key)
    report.seconds = time.perf_counter() - started
    return report
