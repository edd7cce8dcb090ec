"""Every valid combination x target Python x package manager, rendered and checked cheaply.

test_generated.py boots a handful of combinations on real servers; this module renders all
of them (28 option combinations with uvicorn and 7 with granian, Python 3.11-3.13, every
package manager the templates know) and holds each to the static part of the bar: the
Python files pass `ruff check` and `ruff format --check` under the project's own
configuration (whose target version follows --python) and compile for their target;
config files parse; and no file carries template residue. Rendering happens in memory;
only one package manager's files are written, and one ruff run covers all of them, which
is sound because Python files do not depend on the package manager (checked below).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from combos import Combo
from rendering import ALL_COMBOS, PYTHONS, compiled_once, render_dry
from service import run
from workspaces import PACKAGE_MANAGERS, make_workspace

# One worker renders the matrix once for every test in the module.
pytestmark = pytest.mark.xdist_group("all-combinations")
BIN = Path(sys.executable).parent
WRITTEN_MANAGER = "pip"


@dataclass(frozen=True)
class Rendered:
    combo: Combo
    python: str
    package_manager: str
    files: dict[str, bytes]

    @property
    def label(self) -> str:
        return f"{self.combo.id}-py{self.python.replace('.', '')}-{self.package_manager}"

    def texts(self) -> Iterator[tuple[str, str]]:
        for path, content in sorted(self.files.items()):
            yield path, content.decode("utf-8")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> list[Rendered]:
    base = tmp_path_factory.mktemp("all-combinations")
    found = []
    with compiled_once():
        for manager in PACKAGE_MANAGERS:
            workspace = make_workspace(base / manager, manager)
            for combo in ALL_COMBOS:
                for python in PYTHONS:
                    generation = render_dry(combo, workspace, python)
                    options = generation.options
                    assert (options.package_manager, options.python) == (manager, python)
                    found.append(Rendered(combo, python, manager, generation.files))
    return found


@pytest.fixture(scope="module")
def written(rendered: list[Rendered], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One package manager's projects on disk, each in its own folder under one root."""
    root = tmp_path_factory.mktemp("written")
    for project in rendered:
        if project.package_manager != WRITTEN_MANAGER:
            continue
        folder = root / project.label
        for path, content in project.files.items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_bytes(content)
    return root


def test_the_matrix_is_complete(rendered: list[Rendered]) -> None:
    assert len(ALL_COMBOS) == 28 + 7  # every combination with uvicorn, 7 with granian
    labels = {project.label for project in rendered}
    assert len(labels) == len(ALL_COMBOS) * len(PYTHONS) * len(PACKAGE_MANAGERS) == len(rendered)


def test_python_files_do_not_depend_on_the_package_manager(rendered: list[Rendered]) -> None:
    """What makes checking one manager's Python files enough."""
    python_files: dict[tuple[str, str], dict[str, bytes]] = {}
    for project in rendered:
        files = {path: data for path, data in project.files.items() if path.endswith(".py")}
        key = (project.combo.id, project.python)
        assert python_files.setdefault(key, files) == files, project.label


def test_ruff_check_and_format_pass_for_every_combination(written: Path) -> None:
    expected = sorted(str(path) for path in written.rglob("*.py"))
    # Each file is checked under its own project's pyproject.toml (ruff picks the nearest).
    listed = run([str(BIN / "ruff"), "check", "--no-cache", "--show-files", "."], written)
    assert listed.returncode == 0, listed.stderr
    assert sorted(line for line in listed.stdout.splitlines() if line.endswith(".py")) == expected
    check = run(
        [str(BIN / "ruff"), "check", "--no-cache", "--output-format", "concise", "."], written
    )
    assert check.returncode == 0, check.stdout[-8000:] + check.stderr
    fmt = run([str(BIN / "ruff"), "format", "--check", "--no-cache", "."], written)
    assert fmt.returncode == 0, fmt.stdout[-8000:] + fmt.stderr


def distinct(rendered: list[Rendered]) -> dict[tuple[str, str], Rendered]:
    """Each distinct (path, text) once, with the project of the oldest Python that has it.

    Most files are identical across Python versions and package managers: checking each
    text once keeps this module fast without checking less. A file that compiles for the
    oldest target compiles for the newer ones too."""
    found: dict[tuple[str, str], Rendered] = {}
    for project in sorted(rendered, key=lambda p: PYTHONS.index(p.python)):
        for path, text in project.texts():
            found.setdefault((path, text), project)
    return found


def test_python_files_compile_for_their_target(rendered: list[Rendered]) -> None:
    for (path, text), project in distinct(rendered).items():
        if path.endswith(".py"):
            where = f"{project.label}/{path}"
            minor = int(project.python.split(".")[1])
            compile(ast.parse(text, where, feature_version=(3, minor)), where, "exec")


def test_config_files_parse(rendered: list[Rendered]) -> None:
    for (path, text), project in distinct(rendered).items():
        where = f"{project.label}/{path}"
        if path.endswith(".toml"):
            tomllib.loads(text)
        elif path.endswith((".yml", ".yaml")):
            documents = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
            assert documents and all(isinstance(d, dict) for d in documents), where
            for document in documents:
                assert not list(_empty_yaml_values(document, path)), (where, document)


def test_no_template_residue(rendered: list[Rendered]) -> None:
    problems = [
        f"{project.label}/{path}: {problem}"
        for (path, text), project in distinct(rendered).items()
        for problem in residue(path, text)
    ]
    assert not problems, "\n".join(problems[:50])


@pytest.mark.parametrize(
    ("path", "text", "problem"),
    [
        ("a.py", "x = 1  # {{ package }}\n", "Jinja delimiter"),
        ("a.yml", "a: 1\n  \nb: 2\n", "a line of only whitespace"),
        ("a.md", "# A\n\ntext \n", "trailing whitespace"),
        ("a.yml", "a: 1\n\n\nb: 2\n", "two blank lines in a row"),
        ("a.py", "x = 1\n\n\n\ny = 2\n", "three blank lines in a row"),
        ("a.toml", "a = 1\n\n", "does not end with exactly one newline"),
        ("a.py", '"""Doc.\n\n"""\n', "docstring with a blank first or last line"),
        ("a.py", "if x:\n    pass\n", "an if block that only passes (line 1)"),
        ("a.md", "# A\n\n## B\n\ntext\n\n## C\n", "an empty section '## C'"),
        ("a.md", "# A\n\n```sh\n```\n", "an empty code block after '```sh'"),
    ],
)
def test_residue_rules_catch_what_they_name(path: str, text: str, problem: str) -> None:
    found = residue(path, text)
    assert any(item.startswith(problem) for item in found), found


def test_residue_rules_pass_clean_text() -> None:
    assert residue("a.md", "# A\n\n## B\n\ntext\n\n```sh\nls\n```\n") == []
    assert residue("a.py", '"""Doc.\n\nMore.\n"""\n\n\ndef f() -> None:\n    return\n') == []
    assert residue("a.yml", "a: 1\n\nb:\n  - c\n") == []


# -- residue rules ----------------------------------------------------------------------

_JINJA = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")
_WHITESPACE_ONLY_LINE = re.compile(r"^[ \t]+$", re.MULTILINE)
_TRAILING_WHITESPACE = re.compile(r"[ \t]+$", re.MULTILINE)
_HEADING = re.compile(r"^(#{1,6}) ")


def residue(path: str, text: str) -> list[str]:
    """What an `{% if %}` left behind: delimiters, stray whitespace, empty blocks."""
    found = []
    if path.endswith(".mako"):
        return found  # Alembic's own template language, copied as it is
    if _JINJA.search(text):
        found.append("Jinja delimiter")
    if _WHITESPACE_ONLY_LINE.search(text):
        found.append("a line of only whitespace")
    elif _TRAILING_WHITESPACE.search(text):
        found.append("trailing whitespace")
    if text.startswith("\n"):
        found.append("starts with a blank line")
    if not text.endswith("\n") or text.endswith("\n\n"):
        found.append("does not end with exactly one newline")
    if path.endswith(".py"):
        # PEP 8 allows two blank lines; ruff format removes more from code, not from strings.
        if "\n\n\n\n" in text:
            found.append("three blank lines in a row")
        found += _python_residue(text)
    elif "\n\n\n" in text:
        found.append("two blank lines in a row")
    if path.endswith(".md"):
        found += _markdown_residue(text)
    return found


def _python_residue(text: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node, clean=False)
            if doc is not None:
                if doc.startswith("\n") or doc.rstrip(" ").endswith("\n\n"):
                    found.append(f"docstring with a blank first or last line: {doc[:60]!r}")
                if "\n\n\n" in doc.replace(" ", ""):
                    found.append(f"docstring with two blank lines in a row: {doc[:60]!r}")
        if isinstance(node, ast.If):
            for block in (node.body, node.orelse):
                if len(block) == 1 and isinstance(block[0], ast.Pass):
                    found.append(f"an if block that only passes (line {node.lineno})")
    return found


def _markdown_residue(text: str) -> list[str]:
    found = []
    lines = [line for line in text.splitlines() if line.strip()]
    fenced = False
    for line, following in zip(lines, [*lines[1:], ""], strict=True):
        if line.startswith("```"):
            if fenced is False and following.startswith("```"):
                found.append(f"an empty code block after {line!r}")
            fenced = not fenced
            continue
        heading, next_heading = _HEADING.match(line), _HEADING.match(following)
        # A heading followed by the end, or by one of the same or a higher level.
        if (
            not fenced
            and heading
            and (
                following == ""
                or (next_heading and len(next_heading.group(1)) <= len(heading.group(1)))
            )
        ):
            found.append(f"an empty section {line!r}")
    return found


def _empty_yaml_values(value: object, path: str, keys: tuple[str, ...] = ()) -> Iterator[str]:
    """Keys whose block an `{% if %}` emptied. Compose declares named volumes as bare keys."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _empty_yaml_values(item, path, (*keys, str(key)))
    elif isinstance(value, list):
        for item in value:
            yield from _empty_yaml_values(item, path, keys)
    elif value is None and not (path == "docker-compose.yml" and keys[:1] == ("volumes",)):
        yield "/".join(keys)
