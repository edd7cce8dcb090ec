"""Code and links in SKILL.md and references/*.md.

Every ```python block is compiled. A block preceded by the line
``<!-- example: run -->`` is a complete example: it is written to a file and run in a
fresh interpreter with warnings as errors; it builds an app, drives it over ASGI and
asserts what it shows. A block preceded by ``<!-- generated: app/PATH -->`` quotes the
generated project: it must appear verbatim (at any indentation) in that file of the
default project generated under the name "app", and, when the marker goes on with
``and the single-file template``, in assets/fastapi-app-template.py too. Every relative
link (and its #anchor) must resolve, and every reference file carries a table of
contents (required above 300 lines). anti-patterns.md lists exactly the codes the audit reports.
"""

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from combos import Combo
from fastapi_patterns.audit.registry import rule_modules
from fastapi_patterns.audit.suppress import RUFF_FAMILIES

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "SKILL.md", *sorted((ROOT / "references").glob("*.md"))]
RUN_MARKER = "<!-- example: run -->"
QUOTE_MARKER = re.compile(r"<!-- generated: (\S+)( and the single-file template)? -->")
TEMPLATE = ROOT / "assets" / "fastapi-app-template.py"
FENCE = re.compile(r"^(`{3,})\s*([\w+-]*)\s*$")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the first code line
    lang: str
    code: str
    run: bool
    marker: str = ""  # the last non-blank line before the block

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}"


def parse_blocks(path: Path) -> tuple[list[Block], list[str]]:
    """Fenced blocks of a Markdown file, and the file's lines outside any block."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    prose: list[str] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            prose.append(lines[index])
            index += 1
            continue
        fence, lang = opening.groups()
        end = index + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        if end == len(lines):
            raise AssertionError(f"{path}:{index + 1}: code block is never closed")
        previous = next((line for line in reversed(lines[:index]) if line.strip()), "")
        code = "\n".join(lines[index + 1 : end]) + "\n"
        marker = previous.strip()
        blocks.append(Block(path, index + 2, lang, code, marker == RUN_MARKER, marker))
        prose.append("")  # keep line structure without the block's content
        index = end + 1
    return blocks, prose


PARSED = {path: parse_blocks(path) for path in DOCS}
PYTHON = [b for blocks, _ in PARSED.values() for b in blocks if b.lang in {"python", "py"}]
RUNNABLE = [b for b in PYTHON if b.run]
QUOTED = [b for blocks, _ in PARSED.values() for b in blocks if QUOTE_MARKER.fullmatch(b.marker)]


def test_documents_exist() -> None:
    assert (ROOT / "SKILL.md") in DOCS
    assert len(DOCS) == 18  # SKILL.md + 17 references


@pytest.mark.parametrize("block", PYTHON, ids=lambda b: b.id)
def test_python_block_compiles(block: Block) -> None:
    compile(block.code, block.id, "exec")


def test_run_marker_only_marks_python_blocks() -> None:
    for path, (blocks, prose) in PARSED.items():
        markers = sum(1 for line in prose if line.strip() == RUN_MARKER)
        marked = [b for b in blocks if b.run]
        assert markers == len(marked), f"{path.name}: a run marker is not followed by code"
        assert all(b.lang == "python" for b in marked), path.name


def test_every_reference_has_a_complete_example() -> None:
    for path in DOCS[1:]:
        assert any(b.run for b in PARSED[path][0]), f"{path.name} has no runnable example"


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda b: b.id)
def test_complete_example_runs(block: Block, tmp_path: Path) -> None:
    # A complete example must exercise an app, not just define one.
    assert "assert " in block.code
    assert "ASGITransport" in block.code or "LifespanManager" in block.code
    assert "asyncio.run(main())" in block.code
    script = tmp_path / "example.py"
    script.write_text(block.code, encoding="utf-8")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{block.id} failed:\n{result.stdout}\n{result.stderr}"


# --------------------------------------------------------------------------------- links


def slugify(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result: set[str] = set()
    for line in PARSED[path][1] if path in PARSED else parse_blocks(path)[1]:
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        slug = slugify(heading.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def test_slugify_matches_github() -> None:
    assert slugify('Why `scope="function"`') == "why-scopefunction"
    assert slugify("Return type or `response_model`") == "return-type-or-response_model"
    assert slugify("Other streams: NDJSON media type, SSE, bytes") == (
        "other-streams-ndjson-media-type-sse-bytes"
    )


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(path: Path) -> None:
    prose = PARSED[path][1]
    broken = []
    checked = 0
    for line in prose:
        for target in LINK.findall(re.sub(r"`[^`]*`", "", line)):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            checked += 1
            file_part, _, anchor = target.partition("#")
            destination = (path.parent / file_part).resolve() if file_part else path
            if not destination.exists():
                broken.append(f"{target}: no such file")
            elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
                broken.append(f"{target}: no heading with that anchor")
    assert checked > 0
    assert broken == []


@pytest.mark.parametrize("path", DOCS[1:], ids=lambda p: p.name)
def test_reference_has_a_complete_table_of_contents(path: Path) -> None:
    # Required above 300 lines; every reference here has one, so hold them all to it.
    text = "\n".join(PARSED[path][1])
    contents = re.search(r"^## Contents\n(.*?)(?=^## )", text, re.MULTILINE | re.DOTALL)
    assert contents, f"{path.name} has no '## Contents' section"
    listed = re.findall(r"\]\(#([^)]+)\)", contents.group(1))
    sections = [slugify(h) for h in re.findall(r"^## (.+)$", text, re.MULTILINE) if h != "Contents"]
    assert listed == sections  # every section, in order


# ------------------------------------------------------ blocks quoting the generated project


class _DefaultProject(Combo):
    """The generator's default project (SQLite, no Redis, JWT, flat), named "app" as the
    references name it, on uvicorn (`--server uvicorn`), whose entry point and logging
    deployment.md and observability.md quote."""

    @property
    def name(self) -> str:
        return "app"


@pytest.fixture(scope="module")
def default_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = _DefaultProject("sqlite", False, "jwt", "flat")
    return project.generate(tmp_path_factory.mktemp("references") / "app")


def _appears(code: str, text: str) -> bool:
    """Whether `code` is in `text` verbatim, as written or indented (a quoted method)."""
    for indent in ("", "    ", "        "):
        lines = [indent + line if line.strip() else line for line in code.splitlines()]
        if "\n".join(lines) + "\n" in text:
            return True
    return False


def test_quote_marker_only_marks_code_blocks() -> None:
    for path, (blocks, prose) in PARSED.items():
        markers = sum(1 for line in prose if QUOTE_MARKER.fullmatch(line.strip()))
        quoted = [b for b in blocks if QUOTE_MARKER.fullmatch(b.marker)]
        assert markers == len(quoted), f"{path.name}: a generated marker is not followed by code"
    assert len(QUOTED) >= 8  # the production code the references teach


@pytest.mark.parametrize("block", QUOTED, ids=lambda b: b.id)
def test_quoted_block_is_the_generated_code(block: Block, default_project: Path) -> None:
    match = QUOTE_MARKER.fullmatch(block.marker)
    assert match is not None
    source = default_project / match.group(1)
    assert source.is_file(), f"{block.id}: the generated project has no {match.group(1)}"
    assert _appears(block.code, source.read_text(encoding="utf-8")), (
        f"{block.id} is not verbatim in the generated {match.group(1)}"
    )
    if match.group(2):
        assert _appears(block.code, TEMPLATE.read_text(encoding="utf-8")), (
            f"{block.id} is not verbatim in assets/fastapi-app-template.py"
        )


# ------------------------------------------------------------------------ the audit's codes


def audit_code_rows() -> dict[str, list[str]]:
    """The rows of anti-patterns.md's table of audit codes, by code."""
    text = "\n".join(PARSED[ROOT / "references" / "anti-patterns.md"][1])
    part = re.search(r"^## Audit rule codes\n(.*?)(?=^## )", text, re.MULTILINE | re.DOTALL)
    assert part, "anti-patterns.md has no '## Audit rule codes' section"
    rows = [line.strip().strip("|").split("|") for line in part.group(1).splitlines()]
    cells = [[cell.strip() for cell in row] for row in rows if len(row) == 5]
    assert cells[0] == ["Code", "Rule", "Severity", "From", "Explained in"]
    table = {row[0]: row for row in cells[2:]}
    assert len(table) == len(cells) - 2, "a code is listed twice"
    return table


def test_anti_patterns_lists_exactly_the_audit_codes() -> None:
    rows = audit_code_rows()
    ours = {rule.code: rule for module in rule_modules() for rule in module.rules}
    reported = set(ours) | set(RUFF_FAMILIES)
    assert set(rows) - reported == set(), "listed, but the audit has no such code"
    assert reported - set(rows) == set(), "reported by the audit, but not listed"
    for code, rule in ours.items():
        anchor = rule.reference.partition("#")[2]
        expected = [code, rule.name, rule.severity, "fastapi-patterns", f"[{code}](#{anchor})"]
        assert rows[code] == expected
    for family in RUFF_FAMILIES:
        assert rows[family][2:4] == ["warning", "ruff"]  # ruff's findings count as warnings
        assert "(https://docs.astral.sh/ruff/rules/#" in rows[family][4]
