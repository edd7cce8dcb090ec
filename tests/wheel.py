"""The bundle's wheel, built once per test session (conftest.py's `wheel` fixture).

Tests that need it share the "packaging" xdist group, so one worker builds it once.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKILL_DIR = "fastapi_patterns/.agents/skills/fastapi-advanced-patterns"


def build_wheel(out: Path) -> Path:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = out.glob("fastapi_advanced_patterns-*.whl")
    return path


def wheel_metadata(wheel: Path) -> dict[str, str]:
    """The first value of each field of the wheel's METADATA (Name, Version, ...)."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(name).decode()
    fields: dict[str, str] = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        key, _, value = line.partition(": ")
        fields.setdefault(key, value)
    return fields
