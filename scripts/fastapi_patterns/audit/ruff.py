"""ruff's FAST and ASYNC rules, run as a subprocess and read back as findings.

We do not re-implement what ruff checks. ruff honours its own `# noqa` comments and the
project's ruff configuration (excludes, per-file ignores), so we run it from the audited root.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fastapi_patterns.audit.model import Finding

SELECT = "FAST,ASYNC"
# Set to a ruff executable to use that one (tests use it to simulate a missing ruff).
ENV_VAR = "FASTAPI_PATTERNS_RUFF"
_ARGS_BUDGET = 100_000  # characters of file names per ruff invocation, well under ARG_MAX


@dataclass
class RuffRun:
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    version: str | None = None
    ran: bool = False
    urls: dict[str, str] = field(default_factory=dict)  # code -> ruff's docs page


def rule_name(url: str | None) -> str | None:
    """ruff's rule name: the last part of its docs address."""
    return (url.rstrip("/").rpartition("/")[2] or None) if url else None


def find_ruff() -> str | None:
    """The ruff to run: $FASTAPI_PATTERNS_RUFF, the one installed with this Python, or PATH's."""
    chosen = os.environ.get(ENV_VAR)
    if chosen is not None:
        return shutil.which(chosen)
    try:
        # the `ruff` distribution ships a finder for its binary next to this interpreter
        finder = importlib.import_module("ruff").find_ruff_bin
        found = finder()
        return str(found) if found else None
    except (ImportError, AttributeError, FileNotFoundError):
        return shutil.which("ruff")


def _batches(files: Sequence[str]) -> list[list[str]]:
    batches: list[list[str]] = [[]]
    size = 0
    for name in files:
        if size + len(name) > _ARGS_BUDGET and batches[-1]:
            batches.append([])
            size = 0
        batches[-1].append(name)
        size += len(name) + 1
    return batches


def _finding(item: dict[str, object], root: Path) -> Finding | None:
    code = item.get("code")
    if not isinstance(code, str):  # syntax errors: our own parser already warns about them
        return None
    location = item.get("location")
    end = item.get("end_location")
    filename = item.get("filename")
    if not (isinstance(location, dict) and isinstance(end, dict) and isinstance(filename, str)):
        return None
    return Finding(
        rule=None,
        code=code,
        message=str(item.get("message", "")).splitlines()[0] if item.get("message") else code,
        path=Path(os.path.relpath(filename, root)).as_posix(),
        line=int(location["row"]),
        column=int(location["column"]),
        end_line=int(end["row"]),
        end_column=int(end["column"]),
        source="ruff",
    )


def run_ruff(root: Path, files: Sequence[str]) -> RuffRun:
    """ruff's FAST and ASYNC findings for `files` (paths relative to `root`)."""
    result = RuffRun()
    executable = find_ruff()
    if executable is None:
        result.warnings.append(
            "ruff was not found, so its FAST and ASYNC rules were not checked"
            " (pip install ruff, or pass --no-ruff to silence this)"
        )
        return result
    if not files:
        return result
    started = time.perf_counter()
    try:
        version = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, check=False, timeout=60
        )
        result.version = version.stdout.strip().removeprefix("ruff ") or None
        for batch in _batches(files):
            command = [executable, "check", "--select", SELECT, "--output-format", "json"]
            command += ["--no-cache", "--exit-zero", "--force-exclude", "--quiet", "--", *batch]
            done = subprocess.run(
                command, cwd=root, capture_output=True, text=True, check=False, timeout=600
            )
            if done.returncode != 0:
                reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
                result.warnings.append(f"ruff failed (exit {done.returncode}): {reason}")
                return result
            for item in json.loads(done.stdout or "[]"):
                finding = _finding(item, root)
                if finding is not None:
                    result.findings.append(finding)
                    if isinstance(item.get("url"), str):
                        result.urls[finding.code] = item["url"]
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as error:
        result.warnings.append(f"ruff could not be run: {error}")
        return result
    finally:
        result.seconds = time.perf_counter() - started
    result.ran = True
    return result
