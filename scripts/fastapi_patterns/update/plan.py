"""Per file: what the update does, from BASE (the recorded version's output), THEIRS (the
target's) and OURS (the disk). Reads the project, writes nothing.

- untouched by the user (its hash is the recorded one) -> THEIRS
- changed by the user, BASE and THEIRS the same (after formatting) -> OURS kept
- changed on both sides -> three-way merge, conflicts as labelled markers
- deleted by the user -> stays deleted
- new in THEIRS -> created; a conflict when a different file is there
- gone from THEIRS -> removed when unchanged, else kept
- `.env`, lock files, databases: never touched; alembic migrations: new ones added,
  changed ones reported for review and never rewritten.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..plan import MANIFEST
from .merge import Labels, Merged

MIGRATIONS = "migrations/versions/"
_PROTECTED_NAMES = frozenset({".env", "uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock"})
_DATABASE_SUFFIXES = frozenset({".db", ".sqlite", ".sqlite3"})


class Action(enum.StrEnum):
    UPDATED = "updated"  # THEIRS written over an untouched file
    KEPT = "kept"  # the user's file stays as it is
    MERGED = "merged"  # both sides merged cleanly
    CONFLICT = "conflict"  # written with conflict markers
    CREATED = "created"  # new in THEIRS
    REMOVED = "removed"  # gone from THEIRS, never changed by the user
    DELETED = "deleted"  # the user deleted it; stays deleted
    REVIEW = "review"  # a migration the target changed or dropped: never rewritten
    PROTECTED = "protected"  # .env, lock files, databases: never touched


# Actions that write a file's new content.
WRITES = frozenset({Action.UPDATED, Action.MERGED, Action.CONFLICT, Action.CREATED})


@dataclass(frozen=True)
class FileChange:
    path: str
    action: Action
    content: bytes | None = None  # what is written (WRITES only)
    note: str = ""
    conflicts: int = 0


@dataclass(frozen=True)
class Sides:
    base: Mapping[str, bytes]
    theirs: Mapping[str, bytes]
    recorded: Mapping[str, str]  # path -> hash the manifest holds
    labels: Labels
    target: str  # the version THEIRS is, for notes


Read = Callable[[str], bytes | None]
Formatted = tuple[dict[str, bytes], dict[str, bytes]]
Normalize = Callable[[Mapping[str, bytes], Mapping[str, bytes]], Formatted]
Merge = Callable[[str, bytes, bytes, bytes, Labels], Merged]


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def protected(path: str) -> bool:
    name = PurePosixPath(path).name
    return (
        name in _PROTECTED_NAMES
        or (name.startswith(".env") and name != ".env.example")
        or PurePosixPath(path).suffix in _DATABASE_SUFFIXES
    )


def plan_changes(sides: Sides, ours: Read, normalize: Normalize, merge: Merge) -> list[FileChange]:
    """Every file that needs reporting, sorted by path (files with nothing to do left out)."""
    paths = sorted((set(sides.base) | set(sides.theirs)) - {MANIFEST})
    disk = {path: ours(path) for path in paths}
    # Both sides changed these: compare and merge them formatted, in one ruff run per side.
    both = [p for p in paths if _needs_merge(p, sides, disk[p])]
    base_fmt, theirs_fmt = normalize(
        {p: sides.base[p] for p in both}, {p: sides.theirs[p] for p in both}
    )
    changes = []
    for path in paths:
        change = _decide(path, sides, disk[path], base_fmt, theirs_fmt, merge)
        if change is not None:
            changes.append(change)
    return changes


def _changed_by_user(path: str, sides: Sides, current: bytes) -> bool:
    recorded = sides.recorded.get(path)
    if recorded is None:  # not in the manifest: compare with the rebuilt BASE
        return path not in sides.base or sides.base[path] != current
    return sha256(current) != recorded


def _needs_merge(path: str, sides: Sides, current: bytes | None) -> bool:
    base, theirs = sides.base.get(path), sides.theirs.get(path)
    if current is None or base is None or theirs is None or base == theirs:
        return False
    if protected(path) or path.startswith(MIGRATIONS) or current == theirs:
        return False
    return _changed_by_user(path, sides, current)


def _decide(
    path: str,
    sides: Sides,
    current: bytes | None,
    base_fmt: Mapping[str, bytes],
    theirs_fmt: Mapping[str, bytes],
    merge: Merge,
) -> FileChange | None:
    base, theirs = sides.base.get(path), sides.theirs.get(path)
    if protected(path):
        if current is None or theirs is None or current == theirs:
            return None
        return FileChange(path, Action.PROTECTED, note="never touched by update")
    if base is not None and current is None:
        if theirs is None:
            return None  # gone on both sides
        return FileChange(path, Action.DELETED, note="you deleted it; it stays deleted")
    if path.startswith(MIGRATIONS):
        return _migration(path, sides, base, theirs, current)
    if base is None:
        assert theirs is not None
        return _new_in_theirs(path, sides, theirs, current, merge)
    assert current is not None
    user_changed = _changed_by_user(path, sides, current)
    if theirs is None:
        if user_changed:
            note = f"no longer generated by {sides.target}; kept because you changed it"
            return FileChange(path, Action.KEPT, note=note)
        return FileChange(path, Action.REMOVED, note=f"no longer generated by {sides.target}")
    if current == theirs:
        return None
    if not user_changed:
        return FileChange(path, Action.UPDATED, theirs)
    if base == theirs or base_fmt.get(path, base) == theirs_fmt.get(path, theirs):
        return FileChange(path, Action.KEPT, note="your changes; the template did not change it")
    merged = merge(path, current, base_fmt[path], theirs_fmt[path], sides.labels)
    if merged.conflicts:
        count = f"{merged.conflicts} conflict{'s' * (merged.conflicts != 1)}"
        return FileChange(path, Action.CONFLICT, merged.content, count, merged.conflicts)
    if merged.content == current:
        return None  # the template's change is already in the user's file
    return FileChange(path, Action.MERGED, merged.content, "your changes and the template's")


def _new_in_theirs(
    path: str, sides: Sides, theirs: bytes, current: bytes | None, merge: Merge
) -> FileChange | None:
    if current is None:
        return FileChange(path, Action.CREATED, theirs, f"new in {sides.target}")
    if current == theirs:
        return None
    # A file of the user's where the target puts a new one: both in full, an empty base.
    labels = Labels(sides.labels.ours, "base (no such file)", sides.labels.theirs)
    merged = merge(path, current, b"", theirs, labels)
    note = f"new in {sides.target}, but a different file of yours is there"
    return FileChange(path, Action.CONFLICT, merged.content, note, max(merged.conflicts, 1))


def _migration(
    path: str, sides: Sides, base: bytes | None, theirs: bytes | None, current: bytes | None
) -> FileChange | None:
    if base is None and theirs is not None:
        if current is None:
            return FileChange(path, Action.CREATED, theirs, f"new migration in {sides.target}")
        if current == theirs:
            return None
        note = f"{sides.target} adds a migration here, but yours differs; never rewritten"
        return FileChange(path, Action.REVIEW, note=note)
    if base == theirs or current == theirs:
        return None
    if theirs is None:
        note = f"no longer generated by {sides.target}; kept (a migration is never removed)"
    else:
        note = f"changed in {sides.target}; review it by hand, migrations are never rewritten"
    return FileChange(path, Action.REVIEW, note=note)
