"""Writing an update: every changed file, and the manifest or pending record, as one set.

The generator's staged write (`write.py`) puts all of them in place or none; files the
target no longer generates are removed after it, with folders left empty by that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ..add.gitstate import uncommitted
from ..write import write_files
from .errors import UpdateError


def refuse_uncommitted(root: Path, paths: Sequence[str]) -> None:
    """An update must be undoable: refuse to change files git holds uncommitted edits of."""
    dirty = uncommitted(root, [p for p in paths if (root / p).exists()])
    if dirty:
        shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        raise UpdateError(
            f"uncommitted changes in {shown}; commit them first so the update can be undone"
            " (or pass --force)."
        )


def write_update(root: Path, files: Mapping[str, bytes], removed: Sequence[str]) -> None:
    write_files(root, files, force=True)
    for path in removed:
        target = root / path
        target.unlink(missing_ok=True)
        for folder in target.parents:
            if folder == root or any(folder.iterdir()):
                break
            folder.rmdir()  # emptied by this removal
