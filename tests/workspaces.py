"""Folders that make the generator's detection choose a package manager.

The generator has no --package-manager flag: it uses the one the surrounding project
uses (scripts/fastapi_patterns/detect/package_manager.py). Generating into a new folder
inside one of these workspaces gives a project for that manager, as a user would get it.
"""

from __future__ import annotations

from pathlib import Path

# The smallest evidence each manager is detected from; pip is the default of an empty folder.
MARKERS: dict[str, dict[str, str]] = {
    "pip": {},
    "uv": {"uv.lock": "version = 1\n"},
    "poetry": {"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.11"\n'},
    "pdm": {"pdm.lock": ""},
    "pipenv": {"Pipfile.lock": "{}\n"},
    "hatch": {"hatch.toml": ""},
}
PACKAGE_MANAGERS = tuple(MARKERS)


def make_workspace(directory: Path, package_manager: str) -> Path:
    """Fill `directory` (created if missing) with the evidence for `package_manager`."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in MARKERS[package_manager].items():
        (directory / name).write_text(content)
    return directory
