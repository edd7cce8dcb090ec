"""Which of the files `add` would change have uncommitted changes in git."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path


def uncommitted(root: Path, paths: Iterable[str]) -> list[str]:
    """The `paths` (relative to `root`) git reports as modified, staged or untracked.

    Outside a repository, or without git, there is nothing to compare with: none.
    """
    git = shutil.which("git")
    if git is None:
        return []
    dirty = []
    for path in paths:
        try:
            status = subprocess.run(
                [git, "-C", str(root), "status", "--porcelain", "--", path],
                capture_output=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return []
        if status.returncode != 0:
            return []  # not a repository
        if status.stdout.strip():
            dirty.append(path)
    return dirty
