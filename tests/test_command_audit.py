"""/fastapi-audit (scripts/fastapi-audit.md): its instructions against the audit's command line
and JSON, and its expansion over a project with an anti-pattern and over a clean one.

The lint and the checks on arguments and failures that every command gets are in
tests/test_command.py; the harness is tests/slash_commands.py.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fastapi_patterns.audit import audit
from fastapi_patterns.audit.output import format_json
from fastapi_patterns.commands import build_command_parser
from slash_commands import (
    AUDIT,
    BUNDLE,
    CREATE,
    Spec,
    allowed_tools,
    expand,
    load,
    restricted_path,
    section,
)
from test_detect import build
from test_references import anchors

ON_EVENT = """\
    from fastapi import FastAPI

    app = FastAPI()


    @app.on_event("startup")
    async def start() -> None:
        pass
    """
CLEAN = """\
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    from fastapi import FastAPI


    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield


    app = FastAPI(lifespan=lifespan)


    @app.get("/items/{item_id}")
    async def read_item(item_id: int) -> dict[str, int]:
        return {"id": item_id}
    """
# The keys of the audit's JSON the instructions tell the assistant to read.
KEYS_READ = (
    "exit_code",
    "files",
    "findings",
    "summary",
    "severity",
    "count",
    "path",
    "source",
    "reference",
    "fixable",
    "warnings",
    "errors",
    "error",
)


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """`fastapi-patterns`' subcommands and their parsers."""
    action = next(
        action
        for action in build_command_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    choices: dict[str, argparse.ArgumentParser] = action.choices
    return choices


def audit_options() -> set[str]:
    return {o for action in subcommands()["audit"]._actions for o in action.option_strings}


def run_shim(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The shim the command runs, as a process of this interpreter without site-packages."""
    shim = str(BUNDLE / "scripts" / AUDIT.shim)
    return subprocess.run(
        [sys.executable, "-S", shim, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def expanded(tmp_path: Path, files: dict[str, str], arguments: str = "") -> tuple[str, str]:
    """The expanded prompt for a project of `files`, and what the `!` line printed."""
    project = build(tmp_path / "project", files)
    command = load(AUDIT.path)
    bin_dir = restricted_path(allowed_tools(command), tmp_path / "bin")
    prompt = expand(command, arguments, project, BUNDLE, bin_dir)
    return prompt, section(prompt, AUDIT.heading)


def split_output(output: str) -> tuple[dict[str, Any], str]:
    """The audit's JSON document, and the line printed after it (the fallback, or nothing)."""
    document, end = json.JSONDecoder().raw_decode(output)
    assert isinstance(document, dict)
    return document, output[end:].strip()


# -- expansion -----------------------------------------------------------------------------------


def test_a_finding_reaches_the_prompt_as_json(tmp_path: Path) -> None:
    prompt, output = expanded(tmp_path, {"main.py": ON_EVENT, "app/api.py": "x = 1\n"}, "app")
    assert "!`" not in prompt and "${CLAUDE_PLUGIN_ROOT}" not in prompt
    assert "What they typed after the\ncommand: app\n" in prompt
    document, after = split_output(output)
    # Exit 1 (findings) must not abort the command: the fallback line says so after the JSON.
    assert document["exit_code"] == 1
    assert after.startswith(AUDIT.fallback)
    # The same findings as the library reports, with ruff missing from the harness's PATH.
    expected = json.loads(format_json(audit(tmp_path / "project", use_ruff=False)))
    assert document["findings"] == expected["findings"]
    [finding] = document["findings"]
    assert (finding["code"], finding["path"], finding["line"]) == ("FPA301", "main.py", 6)
    assert finding["severity"] == "warning"
    [entry] = document["summary"]
    assert (entry["code"], entry["count"]) == ("FPA301", 1)
    file, _, anchor = entry["reference"].partition("#")
    assert anchor in anchors(BUNDLE / file)  # where the prompt sends the assistant to read
    assert document["files"] == 2  # the whole repository, whatever paths the user named
    assert any(w.startswith("ruff was not found") for w in document["warnings"])


def test_a_clean_project_prints_only_the_json(tmp_path: Path) -> None:
    _, output = expanded(tmp_path, {"main.py": CLEAN})
    document, after = split_output(output)
    assert after == ""
    assert document["exit_code"] == 0
    assert document["findings"] == document["summary"] == document["errors"] == []
    assert document["files"] == 1


# -- the instructions ------------------------------------------------------------------------------


def test_instructions_name_keys_the_json_has(tmp_path: Path) -> None:
    body = load(AUDIT.path).body
    _, output = expanded(tmp_path, {"main.py": ON_EVENT})
    document, _ = split_output(output)
    usage = run_shim(tmp_path, "audit", "--json", "missing")
    assert usage.returncode == 2
    present = (
        set(document)
        | set(document["findings"][0])
        | set(document["summary"][0])
        | set(json.loads(usage.stdout))
    )
    for key in KEYS_READ:
        assert f"`{key}`" in body, key
        assert key in present, f"the audit's JSON has no {key!r}"


@pytest.mark.parametrize("spec", [AUDIT, CREATE], ids=lambda spec: spec.file)
def test_audit_lines_match_the_cli(spec: Spec) -> None:
    body = load(spec.path).body
    # /create-fastapi-app offers exactly the audit /fastapi-audit runs.
    assert AUDIT.command_line in body
    options = audit_options()
    # `add` lines: tests/test_command.py checks them against add's options.
    lines = [line for line in body.splitlines() if AUDIT.shim in line and '" add' not in line]
    assert lines
    for line in lines:
        for flag in re.findall(r"(?<![\w-])--[a-z]*", line):
            assert flag == "--" or flag in options, f"{flag} is not an audit option"


def test_paths_go_after_the_end_of_options_in_single_quotes() -> None:
    body = load(AUDIT.path).body
    command = AUDIT.command_line.removesuffix(" .")
    assert f"{command} -- 'PATH'\n" in body


def test_add_and_fix_are_offered_as_dry_runs() -> None:
    assert "add" in subcommands()
    assert {"--fix", "--dry-run", "--force"} <= audit_options()
    text = " ".join(load(AUDIT.path).body.split())
    sentences = re.split(r"(?<=\.) ", text)
    [offer] = [s for s in sentences if "`fastapi-patterns add" in s]
    assert "--dry-run" in offer
    [fix] = [s for s in sentences if "`fastapi-patterns audit --fix" in s]
    assert "--fix --dry-run" in fix and "consent" in fix


def test_create_fastapi_app_hands_an_existing_app_to_the_audit() -> None:
    body = load(CREATE.path).body
    step = body.split("2. **An existing app.**", 1)[1].split("\n3. ", 1)[0]
    assert AUDIT.command_line in step
    assert f"${{CLAUDE_PLUGIN_ROOT}}/scripts/{AUDIT.file}" in step
    assert "## What to do" in load(AUDIT.path).body
    assert "--dir" in step and "--force" in step  # still never generated over without them


# -- the shim the command runs -------------------------------------------------------------------


def test_shim_new_without_jinja2_names_the_install(tmp_path: Path) -> None:
    result = run_shim(tmp_path, "new", "svc")
    assert result.returncode == 3
    assert result.stderr.startswith("fastapi-patterns: missing Python packages (jinja2")
    assert "pip install" in result.stderr
    assert not (tmp_path / "svc").exists()
