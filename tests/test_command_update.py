"""/fastapi-update (scripts/fastapi-update.md): its instructions against update's command line
and JSON, and its expansion over a project that is behind, one that is current, and a folder
create-fastapi-app did not generate.

The lint and the checks on arguments and failures every command gets are in
tests/test_command.py; the harness is tests/slash_commands.py.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import pytest

from fastapi_patterns import __version__
from fastapi_patterns.commands import build_command_parser, main
from slash_commands import (
    BUNDLE,
    UPDATE,
    allowed_tools,
    expand,
    load,
    restricted_path,
    section,
)
from update_fixtures import OLD, generate_at

# The keys of update's JSON (--check, then the report) the instructions tell the assistant to read.
CHECK_KEYS = ("version", "bundle", "behind", "pending", "error")
REPORT_KEYS = (
    "from_version", "to_version", "options", "files", "action", "note", "diff", "warnings",
    "conflicts",
)  # fmt: skip
# A command line running update, installed or from the bundle, up to the end of its code span.
UPDATE_LINE = re.compile(r"(?:fastapi-patterns|fastapi_patterns_cli\.py\") update ([^`\n]*)")


def update_options() -> set[str]:
    action = next(
        a for a in build_command_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    parser: argparse.ArgumentParser = action.choices["update"]
    return {o for a in parser._actions for o in a.option_strings}


def expanded(tmp_path: Path, project: Path) -> tuple[dict[str, Any], str]:
    """What the `!` line printed into the prompt: its JSON, and the line after it."""
    command = load(UPDATE.path)
    bin_dir = restricted_path(allowed_tools(command), tmp_path / "bin")
    prompt = expand(command, "", project, BUNDLE, bin_dir)
    assert "!`" not in prompt and "${CLAUDE_PLUGIN_ROOT}" not in prompt
    output = section(prompt, UPDATE.heading)
    document, end = json.JSONDecoder().raw_decode(output)
    return document, output[end:].strip()


def test_a_project_behind_the_bundle(tmp_path: Path) -> None:
    document, after = expanded(tmp_path, generate_at(OLD, tmp_path / "svc"))
    assert document == {
        "project": ".", "version": OLD, "bundle": __version__, "behind": True, "pending": False,
    }  # fmt: skip
    assert after.startswith(UPDATE.fallback)  # exit 1, as the instructions expect


def test_a_current_project_prints_only_the_json(tmp_path: Path) -> None:
    document, after = expanded(tmp_path, generate_at(__version__, tmp_path / "svc"))
    assert (document["behind"], after) == (False, "")


def test_a_folder_not_generated_gets_the_error_the_instructions_name(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    document, after = expanded(tmp_path, tmp_path / "other")
    assert "has no .create-fastapi-app.yml" in document["error"]
    assert after.startswith(UPDATE.fallback)
    assert "there is no\n   `.create-fastapi-app.yml`" in load(UPDATE.path).body


def test_instructions_name_keys_the_json_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = load(UPDATE.path).body
    project = generate_at(OLD, tmp_path / "svc")
    main(["update", str(project), "--dry-run", "--json"])
    report = json.loads(capsys.readouterr().out)
    main(["update", str(project), "--check", "--json"])
    check = json.loads(capsys.readouterr().out)
    for key in CHECK_KEYS:
        assert f"`{key}`" in body or f" {key} " in body, key
        assert key in check or key == "error", key
    for key in REPORT_KEYS:
        assert f"`{key}`" in body, key
        assert key in report or key in report["files"][0], key
    actions = {entry["action"] for entry in report["files"]}
    for action in actions | {"kept", "deleted", "protected", "review", "conflict", "removed"}:
        assert f"`{action}`" in body, action


def test_update_lines_use_only_options_update_has() -> None:
    text = " ".join(load(UPDATE.path).body.split())
    lines = UPDATE_LINE.findall(text)
    assert len(lines) >= 3
    flags = {word for line in lines for word in line.split() if word.startswith("-")}
    mentioned = set(re.findall(r"`(--[a-z-]+)", text))
    assert flags | mentioned <= update_options()
    expected = {"--dry-run", "--continue", "--check", "--db", "--redis", "--no-redis", "--auth"}
    assert expected <= flags | mentioned
