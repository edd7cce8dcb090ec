"""The update as library calls: plan it, write it, continue it, check it.

`update_project` rebuilds BASE and THEIRS, decides per file (`plan.py`) and, unless a
dry run, writes the result as a set (`apply.py`). A clean update records the target
version and its hashes in the manifest; one with conflicts records them in `PENDING`,
for `continue_update` once the user has resolved every conflict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from .. import __version__
from ..plan import MANIFEST
from .apply import refuse_uncommitted, write_update
from .base import CHANGEABLE, render_files, with_changes
from .errors import UpdateError
from .merge import Labels, has_markers, merge3
from .normalize import PYPROJECT, find_ruff, formatted
from .plan import WRITES, Action, FileChange, Formatted, Sides, plan_changes, sha256
from .record import PENDING, Pending, load_manifest, updated_manifest
from .snapshot import available_versions, recorded_options, version_key
from .status import project_status


@dataclass
class UpdateResult:
    root: Path
    from_version: str
    to_version: str
    option_changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    changes: list[FileChange] = field(default_factory=list)
    ours: dict[str, bytes | None] = field(default_factory=dict)  # before, for diffs
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    continued: bool = False

    @property
    def conflicts(self) -> list[str]:
        return [c.path for c in self.changes if c.action is Action.CONFLICT]

    @property
    def up_to_date(self) -> bool:
        return self.from_version == self.to_version and not self.option_changes


def read_project(root: Path) -> tuple[bytes, dict[str, Any]]:
    project_status(root)  # the refusals of `update --check`, worded alike
    text = (root / MANIFEST).read_bytes()
    return text, load_manifest(text)


def update_project(
    root: Path,
    *,
    to: str | None = None,
    changes: Mapping[str, Any] | None = None,
    dry_run: bool = False,
    force: bool = False,
) -> UpdateResult:
    """Update the project at `root` to version `to` (default: the bundle's), with the
    option `changes` (db, redis, auth, server; None: as recorded)."""
    if (root / PENDING).is_file():
        raise UpdateError(
            f"an update is waiting for its conflicts to be resolved ({PENDING}); resolve them"
            " and run `fastapi-patterns update --continue`."
        )
    text, manifest = read_project(root)
    recorded = str(manifest["generator_version"])
    target = _target_version(recorded, to)
    old_options: dict[str, Any] = dict(manifest["options"])
    new_options = with_changes(old_options, changes or {})
    result = UpdateResult(root, recorded, target, dry_run=dry_run)
    # An option the recorded version did not have is a change only when it differs from
    # what that version generated (a 0.2.0 project is served by uvicorn).
    implied = recorded_options(old_options)
    result.option_changes = {
        key: (implied.get(key), new_options[key])
        for key in CHANGEABLE
        if implied.get(key) != new_options[key]
    }
    if result.up_to_date:
        return result
    base = render_files(recorded, old_options)
    theirs = render_files(target, new_options)
    recorded_hashes = {str(k): str(v) for k, v in manifest["files"].items()}
    result.warnings += _unfaithful(base, recorded_hashes, recorded)
    sides = Sides(base, theirs, recorded_hashes, _labels(recorded, target, result), target)
    ruff = find_ruff()
    if ruff is None:
        result.warnings.append("ruff was not found: BASE and THEIRS were merged unformatted.")
    normalize = partial(_normalize, root=root, ruff=ruff)
    result.changes = plan_changes(sides, partial(_read, root), normalize, merge3)
    result.ours = {c.path: _read(root, c.path) for c in result.changes}
    if dry_run:
        return result
    written = {c.path: c.content for c in result.changes if c.action in WRITES and c.content}
    removed = [c.path for c in result.changes if c.action is Action.REMOVED]
    if not force:
        refuse_uncommitted(root, [*written, *removed, MANIFEST])
    hashes = {p: sha256(c) for p, c in theirs.items() if p != MANIFEST}
    generated = sorted((set(base) | set(theirs)) - {MANIFEST})
    if result.conflicts:
        pending = Pending(recorded, target, new_options, hashes, generated, result.conflicts)
        written[PENDING] = pending.dump()
    else:
        written[MANIFEST] = updated_manifest(text, target, new_options, hashes, generated)
    write_update(root, written, removed)
    return result


def continue_update(root: Path) -> UpdateResult:
    """Record a conflicted update once no listed file holds conflict markers any more."""
    path = root / PENDING
    if not path.is_file():
        raise UpdateError("no update is waiting to be continued in this project.")
    pending = Pending.load(path.read_bytes())
    text, _ = read_project(root)
    left = [p for p in pending.conflicts if has_markers(_read(root, p) or b"")]
    if left:
        raise UpdateError(
            f"conflict markers remain in {', '.join(left)}; resolve them, then run"
            " `fastapi-patterns update --continue` again."
        )
    manifest = updated_manifest(
        text, pending.to_version, pending.options, pending.hashes, pending.generated
    )
    write_update(root, {MANIFEST: manifest}, [PENDING])
    return UpdateResult(root, pending.from_version, pending.to_version, continued=True)


def _target_version(recorded: str, to: str | None) -> str:
    target = to or __version__
    known = [*available_versions(), __version__]
    if target not in known:
        versions = ", ".join(sorted(set(known), key=version_key))
        raise UpdateError(f"--to {target}: this bundle knows versions {versions}.")
    if version_key(recorded) > version_key(__version__):
        raise UpdateError(
            f"the project was generated by version {recorded}, newer than this bundle's"
            f" {__version__}; install that version to update it."
        )
    if version_key(target) < version_key(recorded):
        raise UpdateError(f"--to {target} is older than the project's version {recorded}.")
    return target


def _labels(recorded: str, target: str, result: UpdateResult) -> Labels:
    changed = ", ".join(f"{key}={new}".lower() for key, (_, new) in result.option_changes.items())
    return Labels(
        "ours (your project)",
        f"base ({recorded})",
        f"theirs ({target}{', ' + changed if changed else ''})",
    )


def _unfaithful(base: Mapping[str, bytes], recorded: Mapping[str, str], version: str) -> list[str]:
    """BASE files whose rebuilt hash is not the recorded one (a hand-edited manifest)."""
    differing = [p for p, c in base.items() if p in recorded and sha256(c) != recorded[p]]
    if not differing:
        return []
    return [
        f"rebuilding version {version} did not reproduce the recorded hash of"
        f" {', '.join(sorted(differing))}; those files count as changed by you."
    ]


def _normalize(
    base: Mapping[str, bytes], theirs: Mapping[str, bytes], *, root: Path, ruff: str | None
) -> Formatted:
    if ruff is None:
        return dict(base), dict(theirs)
    pyproject = _read(root, PYPROJECT)
    return formatted(base, pyproject, ruff), formatted(theirs, pyproject, ruff)


def _read(root: Path, path: str) -> bytes | None:
    file = root / path
    return file.read_bytes() if file.is_file() and not file.is_symlink() else None
