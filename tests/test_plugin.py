"""The bundle as a Claude Code plugin: the manifest, its files, and Claude Code's own validator.

The validator test runs whenever the `claude` CLI is on PATH; under CI (tests/ci.py) a
missing CLI fails the test instead of skipping it (.ci/run installs the pinned release).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

from ci import missing
from fastapi_patterns import __version__
from slash_commands import COMMANDS

BUNDLE = Path(__file__).resolve().parent.parent
MANIFEST = BUNDLE / ".claude-plugin" / "plugin.json"
VALIDATE = ["plugin", "validate", ".", "--strict", "--profile", "directory"]


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(MANIFEST.read_text())
    return data


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_manifest_metadata() -> None:
    data = manifest()
    assert data["name"] == "fastapi-advanced-patterns"
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", data["name"])
    assert data["version"] == __version__
    assert len(data["description"]) > 40
    assert data["author"]["name"]
    assert data["license"] == "MIT"
    assert (BUNDLE / "LICENSE").read_text().startswith("MIT License")


def test_manifest_paths_exist() -> None:
    data = manifest()
    # Every command in the manifest gets the lint and expansion tests of tests/test_command.py.
    assert data["commands"] == [f"./scripts/{spec.file}" for spec in COMMANDS]
    for path in data["commands"]:
        assert path.startswith("./") and (BUNDLE / path).is_file()
    for path in data["skills"]:
        assert path.startswith("./") and (BUNDLE / path / "SKILL.md").is_file()


def test_icon_is_a_square_png_the_directory_accepts() -> None:
    icon = BUNDLE / manifest()["icon"]
    width, height = png_size(icon)
    assert width == height
    assert 512 <= width <= 2048
    assert icon.stat().st_size < 2 * 1024 * 1024


def test_readme_is_long_enough_for_the_directory() -> None:
    assert len((BUNDLE / "README.md").read_text().split()) >= 40


def _claude() -> str:
    claude = shutil.which("claude")
    if claude is None:
        missing(
            "The claude CLI is not on PATH; install it with"
            " npm install -g @anthropic-ai/claude-code@2.1.328"
        )
    return claude


def _run(claude: str, home: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    # A private HOME: the CLI writes its settings file there, and nothing is sent anywhere.
    env = {
        **os.environ,
        "HOME": str(home),
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [claude, *VALIDATE, *extra],
        cwd=BUNDLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_claude_plugin_validate_strict_directory_profile(tmp_path: Path) -> None:
    claude = _claude()
    result = _run(claude, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "found nothing to report" in result.stdout
    assert "Validation passed" in result.stdout

    report = json.loads(_run(claude, tmp_path, "--json").stdout)
    assert report["success"] is True
    assert report["manifest"]["errors"] == report["manifest"]["warnings"] == []
    assert all(not item.get("errors") and not item.get("warnings") for item in report["contents"])
    directory = report["directory"]
    assert (directory["findings"], directory["undecided"], directory["failure"]) == ([], [], None)
    provides = report["provides"]
    assert provides["commands"] == [
        "fastapi-advanced-patterns:create-fastapi-app",
        "fastapi-advanced-patterns:fastapi-audit",
        "fastapi-advanced-patterns:fastapi-update",
    ]
    assert provides["skills"] == ["fastapi-advanced-patterns:fastapi-advanced-patterns"]
