"""The plugin's slash commands as Claude Code reads them, and a harness that expands one the way
Claude Code does: arguments substituted, then each `!` command run in the project by bash with
only the allowed tools on PATH. Used by tests/test_command.py, tests/test_command_audit.py and
tests/test_command_update.py.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

BUNDLE = Path(__file__).resolve().parent.parent
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
class Spec:
    """What one command file promises: its hint, and the one `!` line it runs."""

    file: str  # under scripts/
    argument_hint: str
    shim: str  # the bundle script every `!` line runs, under scripts/
    arguments: str  # what every `!` line passes it, reading the repository it stands in
    heading: str  # the section the `!` output fills
    fallback: str  # how the line printed when the command cannot run begins

    @property
    def path(self) -> Path:
        return BUNDLE / "scripts" / self.file

    @property
    def command_line(self) -> str:
        return f'python3 "${{CLAUDE_PLUGIN_ROOT}}/scripts/{self.shim}" {self.arguments}'


CREATE = Spec(
    "create-fastapi-app.md",
    "[app-name]",
    "create_fastapi_app.py",
    "--detect .",
    "## Context detected in this repository",
    "Context detection failed;",
)
AUDIT = Spec(
    "fastapi-audit.md",
    "[path ...]",
    "fastapi_patterns_cli.py",
    "audit --format json .",
    "## Audit of this repository",
    "(The audit exited with a non-zero status",
)
UPDATE = Spec(
    "fastapi-update.md",
    "[path]",
    "fastapi_patterns_cli.py",
    "update --check --json .",
    "## State of this project",
    "(The update check exited with a non-zero status",
)
COMMANDS = (CREATE, AUDIT, UPDATE)


@dataclass(frozen=True)
class Command:
    frontmatter: dict[str, object]
    raw_frontmatter: str
    body: str


def load(path: Path) -> Command:
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


def section(prompt: str, heading: str) -> str:
    """The text between a heading of the expanded prompt and the next blank line."""
    return prompt.split(f"{heading}\n\n", 1)[1].split("\n\n", 1)[0]


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
    """A PATH folder holding only the allowed programs. Its python3 is the base interpreter
    without site-packages (-S): what a `!` line runs must work before anything is installed."""
    folder.mkdir()
    for tool in tools:
        if tool == "python3":
            base = shlex.quote(os.path.realpath(sys.executable))  # no virtualenv either
            (folder / tool).write_text(f'#!/bin/sh\nexec {base} -S "$@"\n')
            (folder / tool).chmod(0o755)
            continue
        found = shutil.which(tool)
        assert found, f"{tool} is not installed"
        (folder / tool).symlink_to(found)
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
