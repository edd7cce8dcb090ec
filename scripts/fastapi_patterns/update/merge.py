"""One file's three-way merge, with `git merge-file` (the standard primitive).

Without git on PATH the update still takes every file that needs no three-way merge,
and stops with one line before writing anything when one does.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import UpdateError

# git merge-file's exit code is the number of conflicts, capped at 127; above: an error.
_MAX_CONFLICTS = 127
_MARKER = re.compile(rb"^(<<<<<<< |>>>>>>> |\|\|\|\|\|\|\| |=======$)", re.MULTILINE)


@dataclass(frozen=True)
class Labels:
    ours: str
    base: str
    theirs: str


@dataclass(frozen=True)
class Merged:
    content: bytes
    conflicts: int


def merge3(path: str, ours: bytes, base: bytes, theirs: bytes, labels: Labels) -> Merged:
    """Merge the user's `ours` and the template's `theirs` from their common `base`;
    conflicts come back as labelled diff3 markers in the content."""
    git = shutil.which("git")
    if git is None:
        raise UpdateError(
            f"{path} changed in your project and in the templates; merging it needs git"
            " (git merge-file) on PATH: install git and run the update again."
        )
    with tempfile.TemporaryDirectory(prefix="fastapi-patterns-merge-") as temp:
        sides = []
        for name, content in (("ours", ours), ("base", base), ("theirs", theirs)):
            side = Path(temp) / name
            side.write_bytes(content)
            sides.append(str(side))
        result = subprocess.run(
            [git, "merge-file", "-p", "--diff3",
             "-L", labels.ours, "-L", labels.base, "-L", labels.theirs, *sides],
            capture_output=True, timeout=120, check=False,
        )  # fmt: skip
    if result.returncode < 0 or result.returncode > _MAX_CONFLICTS:
        reason = result.stderr.decode(errors="replace").strip() or "unknown error"
        raise UpdateError(f"Merging {path} failed: {reason}")
    return Merged(result.stdout, result.returncode)


def has_markers(content: bytes) -> bool:
    """Whether a file still holds conflict markers as merge3 writes them."""
    return _MARKER.search(content) is not None
