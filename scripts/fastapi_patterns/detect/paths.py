"""POSIX paths relative to the scanned folder: how the detector names every file.

"" is the scanned folder. "..", "../.." are the folders above it that `Tree` lists when
they belong to the same repository (a workspace's lock file or pyproject sits there).
"""

from __future__ import annotations


def parent(rel: str) -> str:
    """The folder of a relative path; "" is the scanned folder."""
    return rel.rpartition("/")[0]


def join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def ancestors(folder: str) -> list[str]:
    """`folder` and each folder above it up to the scanned folder "" (nearest first)."""
    chain = [folder]
    while folder:
        folder = parent(folder)
        chain.append(folder)
    return chain


def fold_path(rel: str) -> str:
    """Fold "." and ".." out of a relative path as written in a file ("app/../.env").

    A ".." that climbs above the scanned folder stays ("../.env"): `Tree` can answer for
    the folders above it, so whether such a path may be read is the caller's decision.
    """
    parts: list[str] = []
    for part in rel.split("/"):
        if part in ("", "."):
            continue
        if part == ".." and parts and parts[-1] != "..":
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


def above_root(rel: str) -> bool:
    """Whether a folded path leaves the scanned folder."""
    return rel == ".." or rel.startswith("../")
