"""An AuditReport as text (ruff's style), JSON (for assistants), SARIF 2.1.0 or GitHub annotations.

Each formatter returns the whole document as a string; the command prints it. Warnings go into
the JSON and SARIF documents; for text and github the command prints them to stderr.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi_patterns import __version__
from fastapi_patterns.audit import AuditReport
from fastapi_patterns.audit.model import Finding, Rule
from fastapi_patterns.audit.ruff import rule_name

FORMATS = ("text", "json", "sarif", "github")
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
TOOL_URI = "https://github.com/fastapi-advanced-patterns/fastapi-advanced-patterns"
RUFF_URI = "https://docs.astral.sh/ruff/"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def format_text(report: AuditReport) -> str:
    lines = [f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}" for f in report.findings]
    if report.findings:
        files = len({f.path for f in report.findings})
        lines.append(
            f"Found {_plural(len(report.findings), 'finding')} in {_plural(files, 'file')}."
        )
        hints = [f"  {r.code}: {r.fix_hint} ({r.reference})" for r in _rules_found(report)]
        if hints:
            lines += ["How to fix (our rules; ruff's link their docs in --format json):", *hints]
    else:
        lines.append(f"All checks passed ({_plural(report.files, 'file')} audited).")
    return "\n".join(lines) + "\n"


def _rules_found(report: AuditReport) -> list[Rule]:
    found = {f.rule.code: f.rule for f in report.findings if f.rule is not None}
    return [found[code] for code in sorted(found)]


def _finding_json(finding: Finding, report: AuditReport) -> dict[str, Any]:
    rule = finding.rule
    return {
        "code": finding.code,
        "source": finding.source,
        "severity": finding.severity,
        "message": finding.message,
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "name": rule.name if rule else rule_name(report.ruff_urls.get(finding.code)),
        "fix_hint": rule.fix_hint if rule else None,
        "reference": rule.reference if rule else report.ruff_urls.get(finding.code),
        "fixable": rule.fixable if rule else None,
    }


def format_json(report: AuditReport) -> str:
    document = {
        "version": __version__,
        "exit_code": report.exit_code,
        "files": report.files,
        "findings": [_finding_json(f, report) for f in report.findings],
        "summary": report.summary(),
        "rules": [r.code for r in report.rules],
        "ruff": {
            "ran": report.ruff_seconds is not None,
            "version": report.ruff_version,
        },
        "warnings": report.warnings,
        "errors": report.errors,
        "seconds": round(report.seconds, 3),
        "ruff_seconds": None if report.ruff_seconds is None else round(report.ruff_seconds, 3),
    }
    return json.dumps(document, indent=2) + "\n"


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "help": {"text": f"{rule.fix_hint} See {rule.reference}."},
        "defaultConfiguration": {"level": rule.severity},
        "properties": {"reference": rule.reference, "fixable": rule.fixable},
    }


def _sarif_result(finding: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    return {
        "ruleId": finding.code,
        "ruleIndex": rule_index[finding.code],
        "level": finding.severity,
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": finding.path, "uriBaseId": "%SRCROOT%"},
                    "region": {
                        "startLine": finding.line,
                        "startColumn": finding.column,
                        "endLine": finding.end_line,
                        "endColumn": finding.end_column,
                    },
                }
            }
        ],
    }


def _sarif_run(
    driver: dict[str, Any],
    rules: list[dict[str, Any]],
    findings: list[Finding],
    report: AuditReport,
) -> dict[str, Any]:
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    return {
        "tool": {"driver": {**driver, "rules": rules}},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": report.root.as_uri() + "/"}},
        "results": [_sarif_result(f, index) for f in findings],
    }


def format_sarif(report: AuditReport) -> str:
    """One run for our rules and, when ruff ran, one for ruff's: SARIF keeps each tool's rules
    with the tool that defines them."""
    ours = [f for f in report.findings if f.rule is not None]
    runs = [
        _sarif_run(
            {"name": "fastapi-patterns", "version": __version__, "informationUri": TOOL_URI},
            [_sarif_rule(rule) for rule in report.rules],
            ours,
            report,
        )
    ]
    notes = [{"level": "warning", "message": {"text": w}} for w in report.warnings]
    notes += [{"level": "error", "message": {"text": e}} for e in report.errors]
    runs[0]["invocations"] = [
        {"executionSuccessful": not report.errors, "toolExecutionNotifications": notes}
    ]
    if report.ruff_seconds is not None:
        theirs = [f for f in report.findings if f.rule is None]
        codes = sorted({f.code for f in theirs})
        rules = [
            {
                "id": code,
                **({"helpUri": report.ruff_urls[code]} if code in report.ruff_urls else {}),
            }
            for code in codes
        ]
        driver = {"name": "ruff", "informationUri": RUFF_URI}
        if report.ruff_version:
            driver["version"] = report.ruff_version
        runs.append(_sarif_run(driver, rules, theirs, report))
    document = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": runs}
    return json.dumps(document, indent=2) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(report: AuditReport) -> str:
    """Workflow commands GitHub Actions turns into annotations on the changed lines."""
    lines = []
    for f in report.findings:
        properties = ",".join(
            [
                f"file={_escape_property(f.path)}",
                f"line={f.line}",
                f"col={f.column}",
                f"endLine={f.end_line}",
                f"endColumn={f.end_column}",
                f"title={_escape_property(f.code)}",
            ]
        )
        lines.append(f"::{f.severity} {properties}::{_escape_data(f.message)}")
    return "".join(line + "\n" for line in lines)


FORMATTERS: dict[str, Callable[[AuditReport], str]] = {
    "text": format_text,
    "json": format_json,
    "sarif": format_sarif,
    "github": format_github,
}
