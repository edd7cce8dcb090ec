"""Which of the files `add` (or `update`) would change have uncommitted changes in git."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path


def uncommitted(root: Path, paths: Iterable[str]) -> list[str]:
    """The `paths` (relative to `root`) git reports as modified, staged or untracked.

    Outside a repository, or without git, there is nothing to compare with: none. Read
    only: `--no-optional-locks` keeps `git status` from refreshing the repository's index,
    so a refusal leaves every byte of the user's tree as it was.
    """
    wanted = list(paths)
    git = shutil.which("git")
    if git is None or not wanted:
        return []
    base = [git, "--no-optional-locks", "-C", str(root)]
    prefix = _run([*base, "rev-parse", "--show-prefix"])
    if prefix is None:
        return []  # not a repository
    # One call for every path; porcelain paths are relative to the repository's top.
    listing = _run([*base, "status", "--porcelain", "-z", "--untracked-files=all", "--", *wanted])
    if listing is None:
        return []
    reported = set()
    entries = iter(listing.split("\0"))
    for entry in entries:
        if len(entry) < 4:
            continue
        reported.add(entry[3:])
        if entry[0] in "RC":
            next(entries, None)  # a rename's or copy's source follows; not a path of ours
    top = prefix.strip()
    return [path for path in wanted if top + path in reported]


def _run(command: list[str]) -> str | None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None
