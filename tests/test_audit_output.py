"""The audit engine and its outputs: suppression, selection, ruff's share, the four formats."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from audit_fixtures import ON_EVENT_AND_SLEEP, write_files
from fastapi_patterns.audit import AuditReport, audit
from fastapi_patterns.audit.model import Finding, Rule
from fastapi_patterns.audit.output import format_github, format_json, format_sarif, format_text
from fastapi_patterns.audit.project import ProjectIndex
from fastapi_patterns.audit.registry import RuleModule, all_rules, rule_modules
from fastapi_patterns.audit.ruff import ENV_VAR, find_ruff
from fastapi_patterns.audit.suppress import ConfigError, noqa_codes

DATA = Path(__file__).parent / "data"
SARIF_SCHEMA = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())

RULE = Rule(
    code="FPA999",
    name="example-rule",
    summary="An example.",
    severity="error",
    reference="references/anti-patterns.md#example",
    fix_hint="Do the other thing.",
)


def codes(report: AuditReport) -> list[tuple[str, int, str]]:
    return [(f.path, f.line, f.code) for f in report.findings]


def finding(code: str = "FPA999", rule: Rule | None = RULE, **where: object) -> Finding:
    place = {"path": "app/main.py", "line": 3, "column": 5, "end_line": 3, "end_column": 9}
    place.update(where)
    return Finding(
        rule=rule,
        code=code,
        message="`requests.get(...)` blocks, the event loop: 100%",
        source="fastapi-patterns" if rule else "ruff",
        **place,  # type: ignore[arg-type]
    )


def report_of(findings: list[Finding], ruff: bool = True) -> AuditReport:
    return AuditReport(
        root=Path("/srv/project"),
        findings=findings,
        warnings=["bad.py:1: does not parse (invalid syntax); skipped"],
        errors=[],
        rules=[RULE],
        files=3,
        ruff_seconds=0.5 if ruff else None,
        ruff_version="0.17.6" if ruff else None,
        ruff_urls={
            "ASYNC251": "https://docs.astral.sh/ruff/rules/blocking-sleep-in-async-function"
        },
    )


# -- the rules ---------------------------------------------------------------------------------


def test_every_rule_is_well_formed() -> None:
    rules = all_rules()  # raises on a code defined twice
    assert len(rules) >= 10
    for rule in rules:
        assert rule.code.startswith("FPA") and rule.code[3:].isdigit(), rule
        assert rule.severity in ("error", "warning"), rule
        assert rule.reference.startswith("references/anti-patterns.md#"), rule
        assert rule.name == rule.name.lower() and " " not in rule.name, rule
        assert "\n" not in rule.summary + rule.fix_hint, rule


def test_a_failing_rule_module_is_an_internal_error_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_files(tmp_path, {"main.py": ON_EVENT_AND_SLEEP})

    def broken(index: ProjectIndex) -> list[Finding]:
        raise KeyError("surprise")

    failing = RuleModule("rules_broken", (RULE,), broken)
    monkeypatch.setattr("fastapi_patterns.audit.rule_modules", lambda: [failing, *rule_modules()])
    report = audit(tmp_path, select=["FPA301", "FPA999"], use_ruff=False)
    assert codes(report) == [("main.py", 4, "FPA301")]  # the other modules still report
    [error] = report.errors
    assert error.startswith("internal error in rules_broken (KeyError: 'surprise', at ")
    assert report.exit_code == 2


# -- suppression and selection -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("x = 1", None),
        ("x = 1  # noqa", frozenset()),
        ("x = 1  # NOQA:FPA301", frozenset({"FPA301"})),
        ("x = 1  # noqa: FPA301, ASYNC251 trailing words", frozenset({"FPA301", "ASYNC251"})),
        ("x = 1  # noqa:fpa301 FAST002", frozenset({"FPA301", "FAST002"})),
        ("x = 1  # noqa-ish", None),
        ("x = 1  # noqaX", None),
        ("x = 1  # noqa # why", frozenset()),
    ],
)
def test_noqa_comments(line: str, expected: frozenset[str] | None) -> None:
    assert noqa_codes(line) == expected


def test_noqa_on_the_line_suppresses_only_the_named_code(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "a.py": ON_EVENT_AND_SLEEP.replace(
                "@app.on_event('startup')", "@app.on_event('startup')  # noqa"
            ),
            "b.py": ON_EVENT_AND_SLEEP.replace("('startup')", "('startup')  # noqa: FPA301"),
            "c.py": ON_EVENT_AND_SLEEP.replace("('startup')", "('startup')  # noqa: FPA302"),
        },
    )
    report = audit(tmp_path, select=["FPA301"])
    assert codes(report) == [("c.py", 4, "FPA301")]


def test_pyproject_select_and_ignore(tmp_path: Path) -> None:
    write_files(tmp_path, {"main.py": ON_EVENT_AND_SLEEP})
    assert codes(audit(tmp_path, select=["FPA301"])) == [("main.py", 4, "FPA301")]
    (tmp_path / "pyproject.toml").write_text('[tool.fastapi-patterns]\nignore = ["FPA3"]\n')
    assert "FPA301" not in {c for _, _, c in codes(audit(tmp_path, use_ruff=False))}
    # --select replaces the project's select but --ignore only adds to its ignore
    assert codes(audit(tmp_path, select=["FPA301"])) == []
    (tmp_path / "pyproject.toml").write_text('[tool.fastapi-patterns]\nselect = ["FPA301"]\n')
    assert codes(audit(tmp_path)) == [("main.py", 4, "FPA301")]
    assert codes(audit(tmp_path, ignore=["FPA301"])) == []
    assert [r.code for r in audit(tmp_path).rules] == ["FPA301"]


@pytest.mark.parametrize(
    ("pyproject", "message"),
    [
        ('[tool.fastapi-patterns]\nselect = "FPA1"\n', "select must be a list of rule codes"),
        ('[tool.fastapi-patterns]\nselekt = ["FPA1"]\n', "unknown keys: selekt"),
        ('[tool.fastapi-patterns]\nignore = ["E501"]\n', "'E501' is not a rule code"),
        ("[tool.fastapi-patterns\n", "cannot be read as TOML"),
    ],
)
def test_bad_configuration_is_a_usage_error(tmp_path: Path, pyproject: str, message: str) -> None:
    write_files(tmp_path, {"main.py": ON_EVENT_AND_SLEEP, "pyproject.toml": pyproject})
    with pytest.raises(ConfigError, match=message) as raised:
        audit(tmp_path)
    assert raised.value.exit_code == 2


def test_configuration_comes_from_the_audited_project(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "svc/pyproject.toml": '[tool.fastapi-patterns]\nselect = ["FPA301"]\n',
            "svc/app/main.py": ON_EVENT_AND_SLEEP,
        },
    )
    report = audit(tmp_path, [tmp_path / "svc/app"])
    assert codes(report) == [("svc/app/main.py", 4, "FPA301")]


# -- ruff ----------------------------------------------------------------------------------------


def test_ruff_findings_are_merged_under_ruffs_codes(tmp_path: Path) -> None:
    assert find_ruff() is not None, "the dev extra installs ruff"
    write_files(tmp_path, {"main.py": ON_EVENT_AND_SLEEP, "broken.py": "def f(:\n"})
    report = audit(tmp_path, select=["FPA301", "ASYNC"])
    assert codes(report) == [("main.py", 4, "FPA301"), ("main.py", 6, "ASYNC251")]
    ruff_finding = report.findings[1]
    assert (ruff_finding.source, ruff_finding.rule, ruff_finding.column) == ("ruff", None, 5)
    assert report.ruff_seconds is not None and report.ruff_version
    assert report.warnings == ["broken.py:1: does not parse (invalid syntax); skipped"]
    # ruff honours its own noqa comments
    write_files(
        tmp_path, {"main.py": ON_EVENT_AND_SLEEP.replace("sleep(1)", "sleep(1)  # noqa: ASYNC251")}
    )
    assert codes(audit(tmp_path, select=["ASYNC"])) == []


def test_absent_ruff_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_files(tmp_path, {"main.py": ON_EVENT_AND_SLEEP})
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "no-such-ruff"))
    report = audit(tmp_path, select=["FPA301", "ASYNC"])
    assert codes(report) == [("main.py", 4, "FPA301")]
    assert report.ruff_seconds is None
    [warning] = report.warnings
    assert warning.startswith("ruff was not found, so its FAST and ASYNC rules were not checked")
    # not asked for, not missed
    assert audit(tmp_path, select=["FPA301"]).warnings == []
    assert audit(tmp_path, use_ruff=False).warnings == []


def test_ruff_failing_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_files(tmp_path, {"main.py": ON_EVENT_AND_SLEEP})
    # a ruff that rejects the project's configuration (here: an unknown setting)
    (tmp_path / "ruff.toml").write_text("no-such-setting = 1\n")
    report = audit(tmp_path, select=["FPA301", "ASYNC"])
    assert codes(report) == [("main.py", 4, "FPA301")]
    assert len(report.warnings) == 1 and report.warnings[0].startswith("ruff failed (exit 2)")
    ruff = shutil.which("ruff") or find_ruff()
    assert ruff is not None
    monkeypatch.setenv(ENV_VAR, ruff)  # naming ruff explicitly works like finding it
    assert audit(tmp_path, select=["ASYNC"]).warnings == report.warnings


# -- formats -----------------------------------------------------------------------------------


def test_text_format() -> None:
    report = report_of([finding(), finding("ASYNC251", None, path="b.py", line=7, column=1)])
    assert format_text(report) == (
        "app/main.py:3:5: FPA999 `requests.get(...)` blocks, the event loop: 100%\n"
        "b.py:7:1: ASYNC251 `requests.get(...)` blocks, the event loop: 100%\n"
        "Found 2 findings in 2 files.\n"
        "How to fix (our rules; ruff's link their docs in --format json):\n"
        "  FPA999: Do the other thing. (references/anti-patterns.md#example)\n"
    )
    assert format_text(report_of([])) == "All checks passed (3 files audited).\n"


def test_json_format_has_findings_and_a_summary_per_rule() -> None:
    report = report_of([finding(), finding(line=9), finding("ASYNC251", None, line=5)])
    document = json.loads(format_json(report))
    assert document["exit_code"] == 1 and document["files"] == 3
    assert [(f["code"], f["line"]) for f in document["findings"]] == [
        ("FPA999", 3),
        ("FPA999", 9),
        ("ASYNC251", 5),
    ]
    assert document["findings"][0] | {"message": ""} == {
        "code": "FPA999",
        "source": "fastapi-patterns",
        "severity": "error",
        "message": "",
        "path": "app/main.py",
        "line": 3,
        "column": 5,
        "end_line": 3,
        "end_column": 9,
        "name": "example-rule",
        "fix_hint": "Do the other thing.",
        "reference": "references/anti-patterns.md#example",
        "fixable": False,
    }
    assert [(s["code"], s["count"], s["source"], s["name"]) for s in document["summary"]] == [
        ("ASYNC251", 1, "ruff", "blocking-sleep-in-async-function"),
        ("FPA999", 2, "fastapi-patterns", "example-rule"),
    ]
    assert document["warnings"] == ["bad.py:1: does not parse (invalid syntax); skipped"]
    assert document["ruff"] == {"ran": True, "version": "0.17.6"}


@pytest.mark.parametrize("ruff", [True, False])
def test_sarif_validates_against_the_sarif_2_1_0_schema(ruff: bool) -> None:
    findings = [finding(), finding("ASYNC251", None, line=5)] if ruff else [finding()]
    document = json.loads(format_sarif(report_of(findings, ruff=ruff)))
    jsonschema.validate(document, SARIF_SCHEMA, cls=jsonschema.Draft4Validator)
    runs = document["runs"]
    assert [run["tool"]["driver"]["name"] for run in runs] == ["fastapi-patterns", "ruff"][
        : 2 if ruff else 1
    ]
    [result] = runs[0]["results"]
    assert result["ruleId"] == "FPA999" and result["level"] == "error"
    rules = runs[0]["tool"]["driver"]["rules"]
    assert rules[result["ruleIndex"]]["id"] == "FPA999"
    region = result["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 3, "startColumn": 5, "endLine": 3, "endColumn": 9}
    notes = runs[0]["invocations"][0]["toolExecutionNotifications"]
    assert notes[0]["message"]["text"].startswith("bad.py:1: does not parse")


def test_sarif_of_a_real_audit_validates(tmp_path: Path) -> None:
    write_files(tmp_path, {"app/main.py": ON_EVENT_AND_SLEEP, "bad.py": "def f(:\n"})
    report = audit(tmp_path)
    assert {"FPA301", "ASYNC251"} <= {f.code for f in report.findings}
    jsonschema.validate(json.loads(format_sarif(report)), SARIF_SCHEMA)


def test_sarif_schema_rejects_a_broken_document() -> None:
    # the validation above can fail: a result without its message is not SARIF
    document = json.loads(format_sarif(report_of([finding()])))
    del document["runs"][0]["results"][0]["message"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, SARIF_SCHEMA)


def test_github_annotations_escape_their_properties_and_message() -> None:
    report = report_of(
        [finding(), finding("ASYNC251", None, path="we,ird:name.py", line=2, column=1)]
    )
    assert format_github(report).splitlines() == [
        "::error file=app/main.py,line=3,col=5,endLine=3,endColumn=9,title=FPA999::"
        "`requests.get(...)` blocks, the event loop: 100%25",
        "::warning file=we%2Cird%3Aname.py,line=2,col=1,endLine=3,endColumn=9,title=ASYNC251::"
        "`requests.get(...)` blocks, the event loop: 100%25",
    ]
