"""Parsers for the files that say how a project runs: Dockerfiles (their images and
commands), Procfiles, Makefile recipes, and the server command lines in them. Each
takes text and never raises."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

from .formats import expand

# -- Dockerfiles ----------------------------------------------------------------------------


@dataclass
class Dockerfile:
    images: list[str] = field(default_factory=list)  # FROM images, variables resolved
    commands: list[str] = field(default_factory=list)  # CMD/ENTRYPOINT of the last stage
    workdir: str = ""


def _exec_form(argument: str) -> str:
    """A CMD/ENTRYPOINT argument as one shell-like string (JSON exec form joined)."""
    argument = argument.strip()
    if argument.startswith("["):
        try:
            parts = json.loads(argument)
        except (ValueError, RecursionError):
            return argument
        if isinstance(parts, list):
            return " ".join(shlex.quote(str(p)) for p in parts)
    return argument


def parse_dockerfile(text: str) -> Dockerfile:
    result = Dockerfile()
    args: dict[str, str] = {}
    stage_args: dict[str, str] = {}
    stages: set[str] = set()
    seen_from = False
    joined = re.sub(r"\\[ \t]*\r?\n", " ", text)
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        rest = rest.strip()
        if instruction == "ARG":
            name, sep, default = rest.partition("=")
            name = name.strip()
            value = default.strip().strip("\"'") if sep else args.get(name, "")
            (stage_args if seen_from else args)[name] = value
        elif instruction == "ENV":
            name, sep, value = rest.partition("=")
            if not sep:
                name, _, value = rest.partition(" ")
            stage_args[name.strip()] = value.strip().strip("\"'")
        elif instruction == "FROM":
            seen_from = True
            stage_args = dict(args)
            words = [w for w in rest.split() if not w.startswith("--")]
            if not words:
                continue
            image = expand(words[0], args)
            if len(words) >= 3 and words[1].upper() == "AS":
                stages.add(words[2].lower())
            if image.lower() not in stages:
                result.images.append(image)
            result.commands = []
        elif instruction in ("CMD", "ENTRYPOINT"):
            result.commands.append(expand(_exec_form(rest), stage_args))
        elif instruction == "WORKDIR":
            result.workdir = rest
    return result


def image_name(image: str) -> tuple[str, str]:
    """The last path part of an image's repository and its tag, lowercased:
    "ghcr.io/astral-sh/uv:0.5-python3.12@sha256:..." -> ("uv", "0.5-python3.12").
    A registry's port ("localhost:5000/python") is not a tag."""
    reference = image.split("@", 1)[0]
    repository, _, tag = reference.rpartition(":")
    if not repository or "/" in tag:
        repository, tag = reference, ""
    return repository.rsplit("/", 1)[-1].lower(), tag.lower()


def python_from_image(image: str) -> tuple[int, int] | None:
    """3.X from a Python image reference; None when the tag pins no minor version."""
    name, tag = image_name(image)
    if name == "python":
        match = re.match(r"^3\.(\d+)(?![\d])", tag)
    else:
        match = re.search(r"(?:^|[-_])(?:python|py|cpython)-?3\.(\d+)(?![\d])", tag)
    return (3, int(match.group(1))) if match else None


# -- run commands ---------------------------------------------------------------------------

_APP_SPEC = re.compile(
    r"^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*):([A-Za-z_]\w*)(\(\))?$"
)
_SERVERS = ("uvicorn", "gunicorn", "hypercorn", "granian", "daphne", "fastapi", "uvicorn.main")


@dataclass(frozen=True)
class AppReference:
    module: str  # dotted module, or a file path when `path` is True
    attr: str
    factory: bool = False
    app_dir: str = ""  # --app-dir / --chdir, as written
    path: bool = False  # `fastapi run app/main.py`: module is a file or folder path


def _split(command: str) -> list[str]:
    try:
        return shlex.split(command, comments=False)
    except ValueError:
        return command.split()


def app_references(command: str) -> list[AppReference]:
    """ASGI app references in a run command (uvicorn/gunicorn/hypercorn/granian/fastapi)."""
    found: list[AppReference] = []
    words = _split(command)
    for word in list(words):
        if " " in word and any(server in word for server in _SERVERS):
            found.extend(app_references(word))  # sh -c "uvicorn ..."
    names = [w.rsplit("/", 1)[-1] for w in words]
    for index, name in enumerate(names):
        if name not in _SERVERS:
            continue
        tail = words[index + 1 :]
        if name == "fastapi":
            found.extend(_fastapi_cli(tail))
            continue
        factory = "--factory" in tail
        app_dir = _option(tail, ("--app-dir", "--chdir"))
        for word in tail:
            match = _APP_SPEC.match(word)
            if match:
                found.append(
                    AppReference(
                        match.group(1), match.group(2), factory or bool(match.group(3)), app_dir
                    )
                )
                break
    return found


def _option(words: list[str], names: tuple[str, ...]) -> str:
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                return words[index + 1]
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return ""


def _fastapi_cli(words: list[str]) -> list[AppReference]:
    if not words or words[0] not in ("run", "dev"):
        return []
    entry = _option(words, ("--entrypoint", "-e"))
    match = _APP_SPEC.match(entry) if entry else None
    if match:
        return [AppReference(match.group(1), match.group(2))]
    attr = _option(words, ("--app",)) or "app"
    skip = False
    for word in words[1:]:
        if skip:
            skip = False
            continue
        if word.startswith("-"):
            skip = "=" not in word and word not in ("--reload", "--no-reload", "--proxy-headers")
            continue
        return [AppReference(word, attr, path=True)]
    return []


def parse_procfile(text: str) -> dict[str, str]:
    processes: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"^\s*([A-Za-z0-9_-]+)\s*:\s*(.+?)\s*$", line)
        if match:
            processes[match.group(1)] = match.group(2)
    return processes


def make_recipes(text: str) -> list[str]:
    """Recipe lines of a Makefile (tab-indented), with `@`/`-` prefixes removed."""
    return [
        line.strip().lstrip("@-").strip() for line in text.splitlines() if line.startswith("\t")
    ]
