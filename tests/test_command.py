"""The /create-fastapi-app slash command: a lint of its format, and a harness that expands it
the way Claude Code does (arguments substituted, then each `!` command run in the project
with only the allowed tools on PATH) over several fixture projects."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from fastapi_patterns.cli import build_parser
from fastapi_patterns.detect import detect_project, format_summary
from test_detect import EXPECTED, KEYS, SHAPES, build

BUNDLE = Path(__file__).resolve().parent.parent
COMMAND = BUNDLE / "scripts" / "create-fastapi-app.md"
FRONTMATTER_KEYS = {
    "description",
    "argument-hint",
    "allowed-tools",
    "model",
    "disable-model-invocation",
}
# `!` + backtick runs a command where it starts a line or follows whitespace, even inside
# code spans and fences. A fence opened with three backticks and `!` runs its whole body.
INLINE = re.compile(r"(?:(?<=\s)|^)!`([^`\n]*)`", re.MULTILINE)
FENCE = re.compile(r"^```!\s*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
ARGUMENT = re.compile(r"\$ARGUMENTS(?:\[\d+\])?|\$\d+")
TOOL = re.compile(r"^Bash\(([A-Za-z0-9_.-]+):\*\)$")


@dataclass(frozen=True)
class Command:
    frontmatter: dict[str, object]
    raw_frontmatter: str
    body: str


def load(path: Path = COMMAND) -> Command:
    text = path.read_text()
    match = re.match(r"^---\n(.*?)\n---\n(.*)$", text, re.DOTALL)
    assert match, f"{path.name} must start with --- frontmatter ---"
    data = yaml.safe_load(match.group(1))
    assert isinstance(data, dict)
    return Command(data, match.group(1), match.group(2))


def shell_commands(body: str) -> list[str]:
    """Every command Claude Code would run for this body, in order."""
    found = [(m.start(), m.group(1)) for m in FENCE.finditer(body)]
    outside = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), body)
    found += [(m.start(), m.group(1)) for m in INLINE.finditer(outside)]
    return [command for _, command in sorted(found)]


def allowed_tools(command: Command) -> set[str]:
    value = command.frontmatter["allowed-tools"]
    assert isinstance(value, str), "allowed-tools is one comma-separated string"
    tools = set()
    for entry in (e.strip() for e in value.split(",")):
        match = TOOL.match(entry)
        assert match, f"allowed-tools entry {entry!r} is not of the form Bash(command:*)"
        tools.add(match.group(1))
    return tools


def programs(command: str) -> set[str]:
    """The program each simple command of a shell line runs (a || b && c | d ; e)."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    names: set[str] = set()
    expect_program = True
    redirect = False
    for token in lexer:
        if token in ("||", "&&", "|", ";", "&", "\n"):
            expect_program = True
        elif token in (">", ">>", "<", "2>", "2>>", "&>") or token.endswith(">"):
            redirect = True
        elif redirect:
            redirect = False
        elif expect_program:
            if token.isdigit():  # the 2 of 2>/dev/null
                continue
            names.add(token)
            expect_program = False
    return names


# -- lint -----------------------------------------------------------------------------------------


def test_frontmatter() -> None:
    command = load()
    assert set(command.frontmatter) <= FRONTMATTER_KEYS
    description = command.frontmatter["description"]
    assert isinstance(description, str) and 20 < len(description) <= 250
    assert "<" not in description and ">" not in description
    # Unquoted, [app-name] would be a YAML list.
    assert command.frontmatter["argument-hint"] == "[app-name]"
    assert re.search(r'^argument-hint: "\[app-name\]"$', command.raw_frontmatter, re.MULTILINE)


def test_allowed_tools_name_exactly_the_commands_run() -> None:
    command = load()
    run = set().union(*(programs(c) for c in shell_commands(command.body)))
    generator = {"python3"}  # the generator run the command asks for
    assert allowed_tools(command) == run | generator


def test_shell_lines() -> None:
    command = load()
    commands = shell_commands(command.body)
    assert commands, "the command must detect the context with a ! line"
    for line in commands:
        assert not ARGUMENT.search(line), f"user arguments must never reach a shell: {line}"
        assert '"${CLAUDE_PLUGIN_ROOT}/scripts/create_fastapi_app.py"' in line
        assert line.startswith("python3 ")
        assert "--detect ." in line
        assert "|| echo " in line, "detection failing must still exit 0 with a fallback line"
    # Nothing else in the file looks like a command to Claude Code.
    inline = INLINE.findall(FENCE.sub("", command.body))
    assert command.body.count("!`") == len(inline)
    assert command.body.count("```!") == len(FENCE.findall(command.body))


def test_inline_commands_are_single_lines() -> None:
    body = load().body
    for match in re.finditer(r"(?:(?<=\s)|^)!`", FENCE.sub("", body), re.MULTILINE):
        rest = body[match.end() :]
        assert "`" in rest.split("\n", 1)[0], "a multi-line command belongs in a ```! block"


def test_arguments_are_used_in_the_prompt() -> None:
    body = load().body
    assert "$ARGUMENTS" in body
    assert not re.search(r"\$\d", body), "positional $N would swallow text such as $0.50"


def test_generator_instructions_match_the_cli() -> None:
    body = load().body
    assert (BUNDLE / "scripts" / "create_fastapi_app.py").is_file()
    assert 'python3 "${CLAUDE_PLUGIN_ROOT}/scripts/create_fastapi_app.py" "NAME" --json' in body
    options = {o for action in build_parser()._actions for o in action.option_strings}
    generator_text = "\n".join(line for line in body.splitlines() if "uvicorn" not in line)
    for flag in set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", generator_text)):
        assert flag in options, f"{flag} is not a create-fastapi-app option"
    for step in ("pytest", "/health/ready", "--force", "generator flags"):
        assert step in body


# -- the expansion harness ---------------------------------------------------------------------


class CommandFailed(AssertionError):
    pass


def substitute(body: str, arguments: str) -> str:
    """Claude Code's argument substitution: $ARGUMENTS[N] and $N (0-based), then $ARGUMENTS;
    without any placeholder the arguments are appended."""
    try:
        words = shlex.split(arguments)
    except ValueError:
        words = arguments.split()

    def nth(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return words[index] if index < len(words) else ""

    had_placeholder = bool(ARGUMENT.search(body))
    body = re.sub(r"\$ARGUMENTS\[(\d+)\]", nth, body)
    body = re.sub(r"\$(\d+)", nth, body)
    body = body.replace("$ARGUMENTS", arguments)
    if not had_placeholder and arguments:
        body += f"\n\nARGUMENTS: {arguments}"
    return body


def restricted_path(tools: set[str], folder: Path) -> Path:
    """A PATH folder holding only the allowed programs."""
    folder.mkdir()
    for tool in tools:
        if tool == "python3":
            target = os.path.realpath(sys.executable)  # the base interpreter, no virtualenv
        else:
            found = shutil.which(tool)
            assert found, f"{tool} is not installed"
            target = found
        (folder / tool).symlink_to(target)
    return folder


def expand(
    command: Command, arguments: str, project: Path, plugin_root: Path, bin_dir: Path
) -> str:
    bash = shutil.which("bash")
    assert bash
    env = {"PATH": str(bin_dir), "CLAUDE_PLUGIN_ROOT": str(plugin_root), "LANG": "C.UTF-8"}
    body = substitute(command.body, arguments).replace("${CLAUDE_PLUGIN_ROOT}", str(plugin_root))

    def run(script: str) -> str:
        result = subprocess.run(
            [bash, "-c", script], cwd=project, env=env, capture_output=True, text=True, timeout=60
        )
        if result.returncode != 0:
            raise CommandFailed(f"{script!r} exited {result.returncode}: {result.stderr}")
        return result.stdout.rstrip("\n")

    body = FENCE.sub(lambda m: run(m.group(1)), body)
    return INLINE.sub(lambda m: run(m.group(1)), body)


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    return restricted_path(allowed_tools(load()), tmp_path / "bin")


def test_harness_substitutes_like_claude_code() -> None:
    text = "name $ARGUMENTS[0], db $1, all: $ARGUMENTS, missing [$5]"
    assert substitute(text, 'orders-api "with postgres"') == (
        'name orders-api, db with postgres, all: orders-api "with postgres", missing []'
    )
    assert substitute("no placeholder", "x y") == "no placeholder\n\nARGUMENTS: x y"


def test_harness_fails_on_a_non_zero_exit(tmp_path: Path, bin_dir: Path) -> None:
    command = Command({}, "", "before\n!`python3 -c 'raise SystemExit(2)'`\nafter\n")
    with pytest.raises(CommandFailed):
        expand(command, "", tmp_path, BUNDLE, bin_dir)
    fenced = Command({}, "", "```!\necho one\nfalse\n```\n")
    with pytest.raises(CommandFailed):
        expand(fenced, "", tmp_path, BUNDLE, bin_dir)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_expanded_prompt_holds_the_detected_context(
    tmp_path: Path, bin_dir: Path, name: str
) -> None:
    project = build(tmp_path / "project", SHAPES[name])
    prompt = expand(load(), "orders-api", project, BUNDLE, bin_dir)
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
    prompt = expand(load(), "", project, BUNDLE, bin_dir)
    assert "What they typed after the command: \n" in prompt
    assert "is empty; nothing was detected" in prompt


def test_detection_failure_prints_one_fallback_line(tmp_path: Path, bin_dir: Path) -> None:
    project = build(
        tmp_path / "project", {"main.py": "from fastapi import FastAPI\napp = FastAPI()\n"}
    )
    broken_bundle = tmp_path / "not-a-bundle"
    broken_bundle.mkdir()
    command = load()
    for bins in (bin_dir, tmp_path):  # the shim is missing; then python3 is missing too
        prompt = expand(command, "svc", project, broken_bundle, bins)
        section = prompt.split("## Context detected in this repository\n\n", 1)[1]
        fallback = section.split("\n\n", 1)[0]
        assert fallback.startswith("Context detection failed;")
        assert "\n" not in fallback


def test_arguments_never_reach_a_shell(tmp_path: Path, bin_dir: Path) -> None:
    project = build(tmp_path / "project", {"requirements.txt": "fastapi\n"})
    hostile = 'x"; touch pwned; echo "$(touch pwned2)` touch pwned3 `'
    prompt = expand(load(), hostile, project, BUNDLE, bin_dir)
    assert hostile in prompt
    assert not any((project / name).exists() for name in ("pwned", "pwned2", "pwned3"))
