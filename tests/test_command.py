"""The plugin's slash commands: a lint of their format and, with the harness of
tests/slash_commands.py, their expansion over fixture projects. Every command gets the lint and
the checks on arguments and failures; /create-fastapi-app's own instructions and detected
context are checked here, /fastapi-audit's in tests/test_command_audit.py."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from fastapi_patterns.add.patterns import ALL, PATTERNS
from fastapi_patterns.cli import build_parser
from fastapi_patterns.commands import build_command_parser
from fastapi_patterns.detect import detect_project, format_summary
from slash_commands import (
    ARGUMENT,
    AUDIT,
    BUNDLE,
    COMMANDS,
    CREATE,
    FENCE,
    FRONTMATTER_KEYS,
    INLINE,
    Command,
    CommandFailed,
    Spec,
    allowed_tools,
    expand,
    load,
    programs,
    restricted_path,
    section,
    shell_commands,
    substitute,
)
from test_detect import EXPECTED, KEYS, SHAPES, build

# -- lint, every command ---------------------------------------------------------------------

each_command = pytest.mark.parametrize("spec", COMMANDS, ids=lambda spec: spec.file)


@each_command
def test_frontmatter(spec: Spec) -> None:
    command = load(spec.path)
    assert set(command.frontmatter) <= FRONTMATTER_KEYS
    description = command.frontmatter["description"]
    assert isinstance(description, str) and 20 < len(description) <= 250
    assert "<" not in description and ">" not in description
    # Unquoted, a hint in brackets would be a YAML list.
    assert command.frontmatter["argument-hint"] == spec.argument_hint
    hint = f'^argument-hint: "{re.escape(spec.argument_hint)}"$'
    assert re.search(hint, command.raw_frontmatter, re.MULTILINE)


@each_command
def test_allowed_tools_name_exactly_the_commands_run(spec: Spec) -> None:
    command = load(spec.path)
    run = set().union(*(programs(c) for c in shell_commands(command.body)))
    shim = {"python3"}  # the shim the instructions ask the assistant to run
    assert allowed_tools(command) == run | shim


@each_command
def test_shell_lines(spec: Spec) -> None:
    command = load(spec.path)
    commands = shell_commands(command.body)
    assert commands, "the command must read the repository with a ! line"
    assert (BUNDLE / "scripts" / spec.shim).is_file()
    for line in commands:
        assert not ARGUMENT.search(line), f"user arguments must never reach a shell: {line}"
        # a failing command must still exit 0, with a fallback line
        assert line.startswith(f"{spec.command_line} 2>/dev/null || echo ")
    # Nothing else in the file looks like a command to Claude Code.
    inline = INLINE.findall(FENCE.sub("", command.body))
    assert command.body.count("!`") == len(inline)
    assert command.body.count("```!") == len(FENCE.findall(command.body))


@each_command
def test_inline_commands_are_single_lines(spec: Spec) -> None:
    body = load(spec.path).body
    for match in re.finditer(r"(?:(?<=\s)|^)!`", FENCE.sub("", body), re.MULTILINE):
        rest = body[match.end() :]
        assert "`" in rest.split("\n", 1)[0], "a multi-line command belongs in a ```! block"


@each_command
def test_arguments_are_used_in_the_prompt(spec: Spec) -> None:
    body = load(spec.path).body
    assert "$ARGUMENTS" in body
    assert not re.search(r"\$\d", body), "positional $N would swallow text such as $0.50"


# -- `add`, offered by every command for an existing app ----------------------------------------

# The list of patterns the instructions offer: "`add` patterns: `errors`, `health`, ...".
ADD_LIST = re.compile(r"`add` patterns: ((?:`[^`]+`(?:, or |, )?)+)")
# A command line running `add`, installed or from the bundle, up to the end of its code span.
ADD_LINE = re.compile(r"(?:fastapi-patterns|fastapi_patterns_cli\.py\") add ([^`\n]*)")


def add_options() -> set[str]:
    parser = build_command_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {o for action in subparsers.choices["add"]._actions for o in action.option_strings}


@each_command
def test_add_is_offered_with_exactly_the_patterns_that_exist(spec: Spec) -> None:
    # The instructions can neither promise a pattern `add` lacks nor hide one it has.
    text = " ".join(load(spec.path).body.split())
    [listed] = ADD_LIST.findall(text)
    assert set(re.findall(r"`([^`]+)`", listed)) - {ALL} == set(PATTERNS)
    lines = ADD_LINE.findall(text)
    assert lines
    for line in lines:
        words = line.split()
        for word in words:
            if word.startswith("-"):
                assert word in add_options(), f"{word} is not an option of add"
            elif word not in (".", "PATTERN..."):
                assert word in PATTERNS or word == ALL, f"{word} is not a pattern of add"
    assert any("--dry-run" in line.split() for line in lines)


# -- the expansion harness, on every command ---------------------------------------------------


def bin_dir_for(spec: Spec, tmp_path: Path) -> Path:
    return restricted_path(allowed_tools(load(spec.path)), tmp_path / "bin")


def test_harness_substitutes_like_claude_code() -> None:
    text = "name $ARGUMENTS[0], db $1, all: $ARGUMENTS, missing [$5]"
    assert substitute(text, 'orders-api "with postgres"') == (
        'name orders-api, db with postgres, all: orders-api "with postgres", missing []'
    )
    assert substitute("no placeholder", "x y") == "no placeholder\n\nARGUMENTS: x y"


def test_harness_fails_on_a_non_zero_exit(tmp_path: Path) -> None:
    bin_dir = bin_dir_for(CREATE, tmp_path)
    command = Command({}, "", "before\n!`python3 -c 'raise SystemExit(2)'`\nafter\n")
    with pytest.raises(CommandFailed):
        expand(command, "", tmp_path, BUNDLE, bin_dir)
    fenced = Command({}, "", "```!\necho one\nfalse\n```\n")
    with pytest.raises(CommandFailed):
        expand(fenced, "", tmp_path, BUNDLE, bin_dir)


def test_harness_python_has_no_site_packages(tmp_path: Path) -> None:
    # The `!` lines must work before anything is installed: the harness's python3 proves it.
    bin_dir = bin_dir_for(CREATE, tmp_path)
    probe = Command({}, "", "!`python3 -c 'import sys; print(\"site\" in sys.modules)'`\n")
    assert expand(probe, "", tmp_path, BUNDLE, bin_dir).strip() == "False"


@each_command
def test_failure_prints_one_fallback_line(tmp_path: Path, spec: Spec) -> None:
    project = build(
        tmp_path / "project", {"main.py": "from fastapi import FastAPI\napp = FastAPI()\n"}
    )
    broken_bundle = tmp_path / "not-a-bundle"
    broken_bundle.mkdir()
    command = load(spec.path)
    for bins in (bin_dir_for(spec, tmp_path), tmp_path):  # no shim; then no python3 either
        fallback = section(expand(command, "svc", project, broken_bundle, bins), spec.heading)
        assert fallback.startswith(spec.fallback)
        assert "\n" not in fallback


@each_command
def test_arguments_never_reach_a_shell(tmp_path: Path, spec: Spec) -> None:
    project = build(tmp_path / "project", {"requirements.txt": "fastapi\n"})
    hostile = "x\"; touch pwned; echo \"$(touch pwned2)` touch pwned3 `'; touch pwned4; '"
    prompt = expand(load(spec.path), hostile, project, BUNDLE, bin_dir_for(spec, tmp_path))
    assert hostile in prompt
    assert "${CLAUDE_PLUGIN_ROOT}" not in prompt
    assert not any((project / f"pwned{n}").exists() for n in ("", 2, 3, 4))


# -- /create-fastapi-app -----------------------------------------------------------------------


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    return bin_dir_for(CREATE, tmp_path)


def test_generator_instructions_match_the_cli() -> None:
    body = load(CREATE.path).body
    assert (BUNDLE / "scripts" / "create_fastapi_app.py").is_file()
    assert 'python3 "${CLAUDE_PLUGIN_ROOT}/scripts/create_fastapi_app.py" "NAME" --json' in body
    options = {o for action in build_parser()._actions for o in action.option_strings}
    # uvicorn's flags are uvicorn's; the audit line is checked in tests/test_command_audit.py.
    generator_text = "\n".join(
        line for line in body.splitlines() if "uvicorn" not in line and AUDIT.shim not in line
    )
    for flag in set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", generator_text)):
        assert flag in options, f"{flag} is not a create-fastapi-app option"
    for step in ("pytest", "/health/ready", "--force", "generator flags"):
        assert step in body


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_expanded_prompt_holds_the_detected_context(
    tmp_path: Path, bin_dir: Path, name: str
) -> None:
    project = build(tmp_path / "project", SHAPES[name])
    prompt = expand(load(CREATE.path), "orders-api", project, BUNDLE, bin_dir)
    assert "!`" not in prompt and "```!" not in prompt
    assert "What they typed after the command: orders-api" in prompt
    assert f"{BUNDLE}/scripts/create_fastapi_app.py" in prompt
    assert "${CLAUDE_PLUGIN_ROOT}" not in prompt
    assert format_summary(detect_project(project)) in prompt
    expected = dict(zip(KEYS, EXPECTED[name], strict=True))
    assert f"package manager: {expected['package_manager']}" in prompt
    database = expected["database"] + (
        f" via {expected['database_driver']}" if expected["database_driver"] else ""
    )
    assert f"database: {database}" in prompt
    assert f"redis: {'yes' if expected['redis'] else 'no'}" in prompt
    if expected["fastapi_app"]:
        assert f"existing FastAPI app: {expected['fastapi_app']}" in prompt
    else:
        assert "existing FastAPI app: none" in prompt
    assert f"--python {expected['python_version']}" in prompt


def test_empty_project_and_no_arguments(tmp_path: Path, bin_dir: Path) -> None:
    project = tmp_path / "empty"
    project.mkdir()
    prompt = expand(load(CREATE.path), "", project, BUNDLE, bin_dir)
    assert "What they typed after the command: \n" in prompt
    assert "is empty; nothing was detected" in prompt
