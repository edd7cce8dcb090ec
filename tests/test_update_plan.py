"""Every per-file case of the update, on small in-memory sides (plan.py), with the real
git merge-file and ruff format."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from fastapi_patterns.update.engine import _normalize
from fastapi_patterns.update.merge import Labels, merge3
from fastapi_patterns.update.normalize import find_ruff
from fastapi_patterns.update.plan import (
    Action,
    FileChange,
    Formatted,
    Sides,
    plan_changes,
    sha256,
)
from servers import require_binary

LABELS = Labels("ours (your project)", "base (0.1.0)", "theirs (0.2.0)")
BASE = b"one\ntwo\nthree\nfour\nfive\nsix\n"


def plan(
    base: dict[str, bytes], theirs: dict[str, bytes], disk: dict[str, bytes], root: Path
) -> dict[str, FileChange]:
    recorded = {path: sha256(content) for path, content in base.items()}
    sides = Sides(base, theirs, recorded, LABELS, "0.2.0")
    for path, content in disk.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(content)

    def read(path: str) -> bytes | None:
        return (root / path).read_bytes() if (root / path).is_file() else None

    def normalize(b: Mapping[str, bytes], t: Mapping[str, bytes]) -> Formatted:
        return _normalize(b, t, root=root, ruff=find_ruff())

    changes = plan_changes(sides, read, normalize, merge3)
    return {change.path: change for change in changes}


def one(change: dict[str, FileChange], path: str = "f.txt") -> FileChange:
    assert list(change) == [path], change
    return change[path]


def test_untouched_file_takes_theirs(tmp_path: Path) -> None:
    theirs = BASE.replace(b"two", b"TWO")
    change = one(plan({"f.txt": BASE}, {"f.txt": theirs}, {"f.txt": BASE}, tmp_path))
    assert (change.action, change.content) == (Action.UPDATED, theirs)


def test_untouched_and_unchanged_file_is_not_reported(tmp_path: Path) -> None:
    assert plan({"f.txt": BASE}, {"f.txt": BASE}, {"f.txt": BASE}, tmp_path) == {}


def test_user_change_kept_when_the_template_did_not_change(tmp_path: Path) -> None:
    ours = BASE + b"mine\n"
    change = one(plan({"f.txt": BASE}, {"f.txt": BASE}, {"f.txt": ours}, tmp_path))
    assert (change.action, change.content) == (Action.KEPT, None)


def test_changes_on_both_sides_merge(tmp_path: Path) -> None:
    ours = BASE.replace(b"one", b"ONE")
    theirs = BASE.replace(b"six", b"SIX")
    change = one(plan({"f.txt": BASE}, {"f.txt": theirs}, {"f.txt": ours}, tmp_path))
    assert change.action is Action.MERGED
    assert change.content == b"ONE\ntwo\nthree\nfour\nfive\nSIX\n"


def test_same_lines_changed_on_both_sides_conflict_with_labels(tmp_path: Path) -> None:
    ours = BASE.replace(b"three", b"ours-3")
    theirs = BASE.replace(b"three", b"theirs-3")
    change = one(plan({"f.txt": BASE}, {"f.txt": theirs}, {"f.txt": ours}, tmp_path))
    assert (change.action, change.conflicts) == (Action.CONFLICT, 1)
    assert change.content is not None
    assert (
        b"<<<<<<< ours (your project)\nours-3\n||||||| base (0.1.0)\nthree\n=======\n"
        b"theirs-3\n>>>>>>> theirs (0.2.0)\n"
    ) in change.content


def test_deleted_by_the_user_stays_deleted(tmp_path: Path) -> None:
    theirs = BASE.replace(b"two", b"TWO")
    change = one(plan({"f.txt": BASE}, {"f.txt": theirs}, {}, tmp_path))
    assert (change.action, change.content) == (Action.DELETED, None)


def test_new_in_theirs_is_created(tmp_path: Path) -> None:
    change = one(plan({}, {"f.txt": BASE}, {}, tmp_path))
    assert (change.action, change.content) == (Action.CREATED, BASE)


def test_new_in_theirs_over_a_different_file_of_the_users_is_a_conflict(tmp_path: Path) -> None:
    change = one(plan({}, {"f.txt": BASE}, {"f.txt": b"my own file\n"}, tmp_path))
    assert change.action is Action.CONFLICT and change.conflicts >= 1
    assert change.content is not None
    assert b"my own file\n" in change.content and b"three\n" in change.content
    assert b"||||||| base (no such file)" in change.content


def test_removed_from_theirs_and_unchanged_is_removed(tmp_path: Path) -> None:
    change = one(plan({"f.txt": BASE}, {}, {"f.txt": BASE}, tmp_path))
    assert change.action is Action.REMOVED


def test_removed_from_theirs_but_changed_by_the_user_is_kept(tmp_path: Path) -> None:
    change = one(plan({"f.txt": BASE}, {}, {"f.txt": BASE + b"mine\n"}, tmp_path))
    assert change.action is Action.KEPT and "no longer generated" in change.note


def test_files_of_the_users_own_are_not_reported(tmp_path: Path) -> None:
    assert plan({}, {}, {"mine.py": b"x = 1\n"}, tmp_path) == {}


@pytest.mark.parametrize("path", [".env", "uv.lock", "poetry.lock", "app.db", ".env.local"])
def test_env_lock_and_database_files_are_never_touched(tmp_path: Path, path: str) -> None:
    change = one(plan({path: BASE}, {path: BASE + b"new\n"}, {path: BASE}, tmp_path), path)
    assert (change.action, change.content) == (Action.PROTECTED, None)


MIGRATION = "migrations/versions/0001_initial.py"


def test_new_migration_is_added(tmp_path: Path) -> None:
    change = one(plan({}, {MIGRATION: BASE}, {}, tmp_path), MIGRATION)
    assert (change.action, change.content) == (Action.CREATED, BASE)


@pytest.mark.parametrize("ours", [BASE, BASE + b"mine\n"], ids=["untouched", "edited"])
def test_changed_migration_is_reported_never_rewritten(tmp_path: Path, ours: bytes) -> None:
    theirs = BASE.replace(b"two", b"TWO")
    changes = plan({MIGRATION: BASE}, {MIGRATION: theirs}, {MIGRATION: ours}, tmp_path)
    change = one(changes, MIGRATION)
    assert (change.action, change.content) == (Action.REVIEW, None)


def test_migration_gone_from_theirs_is_kept(tmp_path: Path) -> None:
    change = one(plan({MIGRATION: BASE}, {}, {MIGRATION: BASE}, tmp_path), MIGRATION)
    assert change.action is Action.REVIEW and "never removed" in change.note


def test_formatting_only_template_change_keeps_the_users_file(tmp_path: Path) -> None:
    require_binary(find_ruff() or "ruff", "it formats BASE and THEIRS")
    base = b"x = {'a': 1}\n\n\ndef f():\n    return x\n"
    theirs = b'x = {"a": 1}\n\n\ndef f():\n    return x\n'  # ruff format's quotes
    ours = base + b"\n\ndef g():\n    return 2\n"
    change = one(plan({"m.py": base}, {"m.py": theirs}, {"m.py": ours}, tmp_path), "m.py")
    assert (change.action, change.content) == (Action.KEPT, None)


def test_merges_the_formatted_sides(tmp_path: Path) -> None:
    require_binary(find_ruff() or "ruff", "it formats BASE and THEIRS")
    # The template's only real change is the last line; its quote style is noise.
    base = b"x = {'a': 1}\ny = 2\nz = 3\n"
    theirs = b'x = {"a": 1}\ny = 2\nz = 4\n'
    ours = b'x = {"a": 1, "b": 2}\ny = 2\nz = 3\n'
    change = one(plan({"m.py": base}, {"m.py": theirs}, {"m.py": ours}, tmp_path), "m.py")
    assert change.action is Action.MERGED
    assert change.content == b'x = {"a": 1, "b": 2}\ny = 2\nz = 4\n'
