"""ruff format for BASE and THEIRS before merging, so formatting never becomes a conflict.

Both sides are formatted with the project's own pyproject.toml (generated projects use
ruff's defaults there; a user's line length applies to both sides alike), in one ruff run
per side. The user's files are never formatted: their formatting is theirs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

PYPROJECT = "pyproject.toml"


def find_ruff() -> str | None:
    """The ruff beside this interpreter (a venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "ruff"
    if beside.is_file():
        return str(beside)
    return shutil.which("ruff")


def formatted(files: Mapping[str, bytes], pyproject: bytes | None, ruff: str) -> dict[str, bytes]:
    """`files` with their Python ones formatted as `pyproject` says; a file ruff cannot
    parse stays as it is."""
    python = {path: content for path, content in files.items() if path.endswith(".py")}
    if not python:
        return dict(files)
    with tempfile.TemporaryDirectory(prefix="fastapi-patterns-format-") as temp:
        root = Path(temp)
        if pyproject is not None:
            (root / PYPROJECT).write_bytes(pyproject)
        for path, content in python.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(content)
        # Exit 2 when one file does not parse; the others are formatted all the same.
        subprocess.run(
            [ruff, "format", "--no-cache", "--quiet", *python],
            cwd=root,
            capture_output=True,
            timeout=300,
            check=False,
        )
        return {
            path: (root / path).read_bytes() if path in python else content
            for path, content in files.items()
        }
