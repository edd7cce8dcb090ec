"""Writing: all files or none, never clobbering a user's file without force.

Files are first written to a staging folder next to their destination (same
filesystem), then moved into place. Any failure moves every original back and
removes what was created, so the target is left as it was found.

Private files (the development `.env`) join the same all-or-nothing write, readable
only by their owner, and only where no file of that name exists: an existing one is
kept, even with force.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConflictError, WriteError

Replace = Callable[[Path, Path], None]


@dataclass
class WriteResult:
    created: list[str] = field(default_factory=list)
    overwritten: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # private files that already existed


PRIVATE_MODE = 0o600


def classify(
    target: Path, files: Mapping[str, bytes], private: Collection[str] = ()
) -> WriteResult:
    """Split files into new, changed (would overwrite) and identical ones; private files
    into new and kept ones."""
    result = WriteResult()
    for relative in private:
        destination = target / relative
        exists = destination.exists() or destination.is_symlink()
        (result.kept if exists else result.created).append(relative)
    for relative, content in files.items():
        destination = target / relative
        if destination.is_dir():
            result.overwritten.append(relative)
        elif destination.exists() or destination.is_symlink():
            same = destination.is_file() and destination.read_bytes() == content
            (result.unchanged if same else result.overwritten).append(relative)
        else:
            result.created.append(relative)
    return result


def _missing_dirs(path: Path, stop: Path) -> list[Path]:
    missing = []
    while path != stop and not path.exists():
        missing.append(path)
        path = path.parent
    return missing


def write_files(
    target: Path,
    files: Mapping[str, bytes],
    *,
    force: bool = False,
    replace: Replace = os.replace,
    private: Mapping[str, bytes] | None = None,
) -> WriteResult:
    """Write files below target atomically as a set. `replace` is injectable for tests.

    `private` files are created with mode 0600 as part of the same set, and only where
    nothing of that name exists yet (force or not).
    """
    private = private or {}
    if set(private) & set(files):
        raise ValueError("A file cannot be both private and ordinary.")
    try:
        result = classify(target, files, private)
    except OSError as error:
        raise WriteError(f"Cannot read {target}: {error.strerror or error}") from error
    if result.overwritten and not force:
        raise ConflictError(result.overwritten)
    pending = result.created + result.overwritten
    if not pending:
        return result

    anchor = target
    while not anchor.exists():
        anchor = anchor.parent
    created_dirs = _missing_dirs(target, anchor)
    moved_in: list[Path] = []
    backups: list[tuple[Path, Path]] = []
    try:
        target.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".create-fastapi-app-", dir=target))
    except OSError as error:
        _remove_dirs(created_dirs)
        raise WriteError(f"Cannot write to {target}: {error.strerror or error}") from error
    try:
        staged = _stage(staging, {**files, **private}, pending, private)
        for relative in pending:
            destination = target / relative
            for directory in reversed(_missing_dirs(destination.parent, target)):
                directory.mkdir()
                created_dirs.append(directory)
            if relative in result.overwritten:
                backup = staging / "backup" / relative
                backup.parent.mkdir(parents=True, exist_ok=True)
                replace(destination, backup)
                backups.append((backup, destination))
            replace(staged[relative], destination)
            moved_in.append(destination)
    except OSError as error:
        _roll_back(moved_in, backups)
        shutil.rmtree(staging, ignore_errors=True)
        _remove_dirs(created_dirs)
        raise WriteError(
            f"Writing {target} failed ({error.strerror or error}); nothing was changed."
        ) from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


def _stage(
    staging: Path, files: Mapping[str, bytes], pending: list[str], private: Collection[str]
) -> dict[str, Path]:
    staged = {}
    for index, relative in enumerate(pending):
        path = staging / "new" / str(index)
        path.parent.mkdir(parents=True, exist_ok=True)
        if relative in private:
            # Created private, so the content is never readable by others, not even briefly;
            # the move into place keeps the mode. fchmod: the umask could remove owner bits.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
            with os.fdopen(descriptor, "wb") as stream:
                os.fchmod(stream.fileno(), PRIVATE_MODE)
                stream.write(files[relative])
        else:
            path.write_bytes(files[relative])
        staged[relative] = path
    return staged


def _roll_back(moved_in: list[Path], backups: list[tuple[Path, Path]]) -> None:
    for path in reversed(moved_in):
        path.unlink(missing_ok=True)
    for backup, original in reversed(backups):
        if backup.exists():
            os.replace(backup, original)


def _remove_dirs(directories: list[Path]) -> None:
    # Deepest first; only folders this run created, and only when empty.
    for directory in sorted(directories, key=lambda d: len(d.parts), reverse=True):
        with contextlib.suppress(OSError):
            directory.rmdir()
