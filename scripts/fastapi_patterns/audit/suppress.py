"""Which findings the user asked not to see: `# noqa` comments and rule selection.

Selection follows ruff: a selector is a code or a code prefix (`FPA1`, `ASYNC`); a code is on
when some `select` entry is a prefix of it and no `ignore` entry is. `[tool.fastapi-patterns]`
in pyproject.toml gives the project's defaults; `--select` replaces its select, `--ignore` adds
to its ignore.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi_patterns.audit.model import Finding
from fastapi_patterns.errors import USAGE_ERROR, GeneratorError

# Code families this audit reports: ours, and the ruff rules it runs.
FAMILIES = ("FPA", "FAST", "ASYNC")
RUFF_FAMILIES = ("FAST", "ASYNC")
_SELECTOR = re.compile(r"^[A-Z]+[0-9]*$")
# A noqa comment, bare or with a list of codes: ruff's syntax, keyword in any case.
_NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*)|(?=\s|#|$))",
    re.IGNORECASE,
)


class ConfigError(GeneratorError):
    """`[tool.fastapi-patterns]` or a --select/--ignore value cannot be used as given."""

    exit_code = USAGE_ERROR


@dataclass(frozen=True)
class Selection:
    select: tuple[str, ...] = FAMILIES
    ignore: tuple[str, ...] = ()

    def enabled(self, code: str) -> bool:
        return any(code.startswith(s) for s in self.select) and not any(
            code.startswith(i) for i in self.ignore
        )

    def may_enable(self, family: str) -> bool:
        """Whether any code of `family` (a prefix such as "ASYNC") can be enabled."""
        return any(family.startswith(s) or s.startswith(family) for s in self.select)


def parse_selectors(values: Iterable[str], where: str) -> tuple[str, ...]:
    """Validate selectors: upper-case letters then digits, in one of the audited families."""
    found: list[str] = []
    for value in values:
        selector = value.strip().upper()
        if not selector:
            continue
        if not _SELECTOR.match(selector) or not any(
            selector.startswith(f) or f.startswith(selector) for f in FAMILIES
        ):
            known = ", ".join(FAMILIES)
            raise ConfigError(
                f"{where}: {value!r} is not a rule code or prefix of the audited families ({known})"
            )
        found.append(selector)
    return tuple(found)


def split_option(value: str | None) -> list[str] | None:
    """`--select FPA1,ASYNC` -> ["FPA1", "ASYNC"]; None when the option was not given."""
    return None if value is None else value.split(",")


def project_config(root: Path) -> dict[str, Any]:
    """`[tool.fastapi-patterns]` from the nearest pyproject.toml at or above `root`."""
    for folder in [root, *root.parents]:
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
                raise ConfigError(f"{pyproject}: cannot be read as TOML ({error})") from None
            table = data.get("tool", {}).get("fastapi-patterns", {})
            if not isinstance(table, dict):
                raise ConfigError(f"{pyproject}: [tool.fastapi-patterns] must be a table")
            return table
    return {}


def _config_list(table: dict[str, Any], key: str) -> list[str] | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"[tool.fastapi-patterns] {key} must be a list of rule codes")
    return value


def selection(
    root: Path, select: Sequence[str] | None = None, ignore: Sequence[str] | None = None
) -> Selection:
    table = project_config(root)
    unknown = sorted(set(table) - {"select", "ignore"})
    if unknown:
        raise ConfigError(f"[tool.fastapi-patterns] has unknown keys: {', '.join(unknown)}")
    chosen = select if select is not None else _config_list(table, "select")
    ignored = [*(_config_list(table, "ignore") or []), *(ignore or [])]
    return Selection(
        select=FAMILIES if chosen is None else parse_selectors(chosen, "select"),
        ignore=parse_selectors(ignored, "ignore"),
    )


def noqa_codes(line: str) -> frozenset[str] | None:
    """None when the line has no noqa comment; an empty set for a bare `# noqa` (all codes)."""
    match = _NOQA.search(line)
    if match is None:
        return None
    codes = match.group("codes")
    return frozenset(re.split(r"[\s,]+", codes.upper())) if codes else frozenset()


def suppressed(finding: Finding, lines: Sequence[str]) -> bool:
    """Whether a `# noqa` on the finding's first line covers its code."""
    if not 1 <= finding.line <= len(lines):
        return False
    codes = noqa_codes(lines[finding.line - 1])
    return codes is not None and (not codes or finding.code in codes)
