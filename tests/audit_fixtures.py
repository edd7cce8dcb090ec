"""Small fixture projects for the audit's tests: files written below a folder, the project
index built over them, and the findings of the rule modules under test."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path

from fastapi_patterns.audit import rules_deprecated, rules_health, rules_security
from fastapi_patterns.audit.model import Finding, Rule
from fastapi_patterns.audit.project import ProjectIndex, build_index
from fastapi_patterns.audit.registry import Check
from test_references import ROOT, anchors

# One finding of ours (FPA301, `@app.on_event`) and one of ruff's (ASYNC251, `time.sleep` in
# an async def): the smallest service that shows both sources in a report.
ON_EVENT_AND_SLEEP = (
    "import time\n"
    "from fastapi import FastAPI\n"
    "app = FastAPI()\n"
    "@app.on_event('startup')\n"
    "async def start():\n"
    "    time.sleep(1)\n"
)


def write_files(root: Path, files: Mapping[str, str]) -> Path:
    """Write each file (path relative to `root` -> text) and return `root`. Texts are
    dedented, so a test can indent a fixture's source along with its own code."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def index_files(root: Path, files: Mapping[str, str]) -> ProjectIndex:
    return build_index(write_files(root, files))


def run_rules(root: Path, files: Mapping[str, str], *checks: Check) -> list[Finding]:
    """What the rule modules' `check`s find in the project made of `files`, in report order."""
    index = index_files(root, files)
    return sorted((found for check in checks for found in check(index)), key=Finding.sort_key)


def code_places(found: Iterable[Finding]) -> list[tuple[str, str, int]]:
    """(code, path, line) of each finding, by path, line and code."""
    places = [(f.code, f.path, f.line) for f in found]
    return sorted(places, key=lambda item: (item[1], item[2], item[0]))


# The FPA30x family: its three test modules run all of it on every fixture, so a fixture
# written for one rule also shows that the others stay quiet on it.
FPA30X: tuple[Check, ...] = (rules_deprecated.check, rules_security.check, rules_health.check)


def fpa30x(root: Path, files: Mapping[str, str]) -> list[tuple[str, str, int]]:
    """(code, path, line) of every FPA301-FPA309 finding in the project made of `files`."""
    return code_places(run_rules(root, files, *FPA30X))


def where(found: Iterable[Finding]) -> list[tuple[str, int]]:
    return [(f.path, f.line) for f in found]


def assert_documented(rules: Iterable[Rule]) -> None:
    """Each rule links to its own section of references/anti-patterns.md (`#fpa301-on-event-handler`
    for FPA301 on-event-handler), and that section exists."""
    headings = anchors(ROOT / "references" / "anti-patterns.md")
    for rule in rules:
        document, _, anchor = rule.reference.partition("#")
        assert document == "references/anti-patterns.md", rule.code
        assert anchor == f"{rule.code.lower()}-{rule.name}", rule.code
        assert anchor in headings, rule.code
