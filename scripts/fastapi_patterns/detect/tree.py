"""A read-only, bounded view of a project tree: one scan, then cached size-limited reads.

Nothing here writes, follows a symlinked directory, or opens anything but a regular file.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Any

from .paths import ancestors, join

# Directories never entered: VCS data, virtualenvs, dependency and build output, caches.
SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".venv", "venv", ".virtualenv", ".direnv", "node_modules",
        "bower_components", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache",
        ".hypothesis", ".tox", ".nox", ".cache", ".eggs", "build", "dist", "site-packages",
        "htmlcov", ".next", ".nuxt", ".svelte-kit", ".turbo", ".parcel-cache", ".terraform",
        ".serverless", ".aws-sam", ".idea", "target", "coverage", ".gradle", ".pnpm-store",
        ".yarn", "vendor", "__pypackages__",
    }
)  # fmt: skip

MAX_ENTRIES = 200_000
MAX_DEPTH = 16
SCAN_SECONDS = 4.0
CONFIG_LIMIT = 1 << 20  # 1 MiB: no real config file is bigger
SOURCE_LIMIT = 512 << 10
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_open = os.open  # a module global, so tests can make a file unreadable


def _into_skipped_folder(link: str) -> bool:
    """A link into a virtualenv or node_modules, dangling until someone installs: agent
    skills linked from `.venv/.../site-packages` in a fresh clone are not worth a warning."""
    try:
        target = os.readlink(link)
    except OSError:
        return False
    return any(part in SKIP_DIRS for part in target.replace(os.sep, "/").split("/"))


class Tree:
    """The files of a directory, scanned once with bounds, and read at most once each."""

    def __init__(self, root: Path, warnings: list[str]) -> None:
        self.root = root
        self._root = str(root)
        self.warnings = warnings
        self.files: list[str] = []  # regular files (or links to them), POSIX, relative
        self.folders: dict[str, list[str]] = {}  # folder -> names of its files
        self.subfolders: dict[str, list[str]] = {}  # folder -> names of its folders
        self.truncated = False
        self.outside: list[str] = []  # folders above the root, inside the same repository
        self._cache: dict[tuple[str, int], bytes | None] = {}
        self.parsed: dict[tuple[str, str], Any] = {}  # (kind, file) -> parsed content
        self._sets: dict[str, frozenset[str]] = {}
        self._python: list[str] | None = None
        if root.is_dir():
            self._scan()
            self.outside = self._repository_parents()

    # -- scanning -------------------------------------------------------------------------

    def _scan(self) -> None:
        deadline = time.monotonic() + SCAN_SECONDS
        seen = 0
        stack: list[tuple[str, int]] = [("", 0)]
        while stack:
            folder, depth = stack.pop()
            names: list[str] = []
            dirs: list[str] = []
            try:
                with os.scandir(self.root / folder if folder else self.root) as entries:
                    listed = list(entries)
            except OSError as error:
                self.warn(f"Could not list {folder or '.'}: {error.strerror or error}.")
                continue
            if folder and any(e.name == "pyvenv.cfg" for e in listed):
                continue  # a virtualenv under any name
            for entry in listed:
                seen += 1
                name = entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if name in SKIP_DIRS or name.endswith(".egg-info"):
                            continue
                        dirs.append(name)
                    elif entry.is_symlink():
                        self._symlink(folder, entry, names)
                    elif entry.is_file(follow_symlinks=False):
                        names.append(name)
                except OSError:
                    continue
            self.folders[folder] = sorted(names)
            self.subfolders[folder] = sorted(dirs)
            self.files.extend(join(folder, n) for n in names)
            if depth + 1 >= MAX_DEPTH:
                if dirs:
                    self.truncated = True
                continue
            if seen > MAX_ENTRIES or time.monotonic() > deadline:
                self.truncated = True
                break
            stack.extend((join(folder, d), depth + 1) for d in reversed(sorted(dirs)))
        self.files.sort()
        if self.truncated:
            self.warn(
                f"The project is very large; the scan stopped after {seen} entries, so files"
                " deeper in the tree were not considered."
            )

    def _symlink(self, folder: str, entry: os.DirEntry[str], names: list[str]) -> None:
        rel = join(folder, entry.name)
        try:
            info = os.stat(entry.path)
        except OSError:
            if not _into_skipped_folder(entry.path):
                self.warn(f"Skipped {rel}: a broken or looping symlink.")
            return
        if stat.S_ISREG(info.st_mode):
            names.append(entry.name)
        elif stat.S_ISDIR(info.st_mode):
            real = os.path.realpath(entry.path)
            here = os.path.realpath(self.root)
            if here == real or here.startswith(real.rstrip(os.sep) + os.sep):
                self.warn(f"Skipped {rel}: a symlink loop back to a folder above it.")

    def _repository_parents(self) -> list[str]:
        """Folders above the root up to the repository's top (a folder holding .git).

        Lock files and workspace pyprojects often sit above a sub-project. Without a
        repository marker nothing above the root is read.
        """
        found: list[str] = []
        here = self.root.resolve()
        if (here / ".git").exists():
            return found
        climbed = here
        rel = ""
        for _ in range(6):
            if climbed.name in SKIP_DIRS:
                return []  # inside a virtualenv or node_modules: its repository is not ours
            if climbed.parent == climbed:
                return []
            climbed = climbed.parent
            rel = f"{rel}/.." if rel else ".."
            found.append(rel)
            try:
                names = os.listdir(climbed)
            except OSError:
                return []
            self.folders[rel] = sorted(names)
            if ".git" in names:
                return found
        return []

    # -- queries ----------------------------------------------------------------------------

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def names(self, folder: str) -> list[str]:
        return self.folders.get(folder, [])

    def has(self, rel: str) -> bool:
        folder, _, name = rel.rpartition("/")
        names = self._sets.get(folder)
        if names is None:
            names = self._sets[folder] = frozenset(self.folders.get(folder, ()))
        return name in names

    def chain(self, folder: str) -> list[str]:
        """`folder`, the folders above it, then those above the root in the same repository."""
        return [*ancestors(folder), *self.outside]

    def python_files(self) -> list[str]:
        if self._python is None:
            self._python = [f for f in self.files if f.endswith(".py")]
        return self._python

    # -- reading ----------------------------------------------------------------------------

    def read_bytes(self, rel: str, limit: int = CONFIG_LIMIT, quiet: bool = False) -> bytes | None:
        key = (rel, limit)
        if key in self._cache:
            return self._cache[key]
        data = self._read(rel, limit, quiet)
        self._cache[key] = data
        return data

    def _read(self, rel: str, limit: int, quiet: bool) -> bytes | None:
        # os-level calls: one open, one fstat, few reads. O_NONBLOCK so a FIFO never blocks.
        try:
            fd = _open(os.path.join(self._root, rel), _READ_FLAGS)
        except OSError as error:
            if not quiet:
                self.warn(f"Could not read {rel}: {error.strerror or error}.")
            return None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return None
            if info.st_size > limit:
                if not quiet:
                    self.warn(f"Skipped {rel}: {info.st_size} bytes is too large to be read.")
                return None
            chunks: list[bytes] = []
            size = 0
            while size <= limit:
                chunk = os.read(fd, limit + 1 - size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except OSError as error:
            if not quiet:
                self.warn(f"Could not read {rel}: {error.strerror or error}.")
            return None
        finally:
            os.close(fd)
        return None if size > limit else b"".join(chunks)

    def read_text(self, rel: str, limit: int = CONFIG_LIMIT) -> str | None:
        data = self.read_bytes(rel, limit)
        if data is None:
            return None
        if b"\x00" in data[:8192]:
            self.warn(f"Skipped {rel}: it is binary, not text.")
            return None
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            self.warn(f"Skipped {rel}: it is not UTF-8 text.")
            return None
