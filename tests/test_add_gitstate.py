"""add/gitstate.py: which files have uncommitted changes, read without writing to .git."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from add_fixtures import git_commit_all, write
from fastapi_patterns.add.gitstate import uncommitted

FILES = {
    "app/main.py": "app = 1\n",
    "app/clean.py": "x = 1\n",
    "app/staged.py": "y = 1\n",
    "app/old_name.py": "z = 1\n",
}


def _repository(root: Path) -> Path:
    write(root, FILES)
    git_commit_all(root)
    return root


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_modified_staged_untracked_and_renamed_files_are_uncommitted(tmp_path: Path) -> None:
    root = _repository(tmp_path / "repo")
    (root / "app/main.py").write_text("app = 2\n")
    (root / "app/staged.py").write_text("y = 2\n")
    _git(root, "add", "app/staged.py")
    (root / "app/new.py").write_text("")
    _git(root, "mv", "app/old_name.py", "app/new_name.py")
    asked = ["app/main.py", "app/clean.py", "app/staged.py", "app/new.py", "app/new_name.py"]
    assert uncommitted(root, asked) == [
        "app/main.py",
        "app/staged.py",
        "app/new.py",
        "app/new_name.py",
    ]
    assert uncommitted(root, ["app/clean.py", "app/absent.py"]) == []


def test_a_project_in_a_subfolder_of_the_repository(tmp_path: Path) -> None:
    repo = _repository(tmp_path / "repo")
    (repo / "app/main.py").write_text("app = 2\n")
    # `add` was given the subfolder; git reports paths from the repository's top.
    assert uncommitted(repo / "app", ["main.py", "clean.py"]) == ["main.py"]


def test_outside_a_repository_nothing_is_uncommitted(tmp_path: Path) -> None:
    root = write(tmp_path / "plain", FILES)
    assert uncommitted(root, list(FILES)) == []


def test_asking_never_rewrites_the_index(tmp_path: Path) -> None:
    root = _repository(tmp_path / "repo")
    index = root / ".git/index"
    # A file touched but not changed: a plain `git status` re-hashes it and rewrites the
    # index with its new stat data (checked by hand: the index bytes change).
    later = index.stat().st_mtime_ns + 10**9
    os.utime(root / "app/main.py", ns=(later, later))
    before = index.read_bytes()
    assert uncommitted(root, list(FILES)) == []
    assert index.read_bytes() == before
