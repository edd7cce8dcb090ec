"""Locate the bundle's assets, in a wheel or in the source tree (editable installs)."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
# Left behind by tools and editors; never part of a project.
_SKIPPED_NAMES = frozenset({"__pycache__", ".DS_Store", ".mypy_cache", ".ruff_cache"})


def assets_dir() -> Path:
    # The wheel ships assets inside the package; a source checkout keeps them at the root.
    for candidate in (_HERE / "_assets", _HERE.parents[1] / "assets"):
        if (candidate / "project").is_dir():
            return candidate
    raise FileNotFoundError(
        "The project templates were not found next to the package or in the source tree;"
        " reinstall fastapi-advanced-patterns."
    )


def project_templates() -> Path:
    return assets_dir() / "project"


def template_files(root: Path) -> list[str]:
    """Every file below `root`, as sorted POSIX paths relative to it: what `plan` plans from."""
    found = []
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if path.is_file() and not _SKIPPED_NAMES.intersection(relative.parts):
            found.append(relative.as_posix())
    return sorted(found)
