"""Snapshots: one zip per released generator version, to rebuild what it wrote.

A snapshot holds that version's rendering code, its templates and a driver
(`driver.py`, frozen in as `render_snapshot.py`), plus `snapshot.json` with the version
and the digest of the rest (`inputs.digest`). Rebuilding extracts it into a temporary
folder and runs the driver in a subprocess: no git, no network, no detection.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..options import UVICORN
from .errors import UpdateError
from .inputs import DRIVER_NAME, digest

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
METADATA = "snapshot.json"
# Fixed, so the same inputs give the same bytes (zip cannot store dates before 1980).
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# Options added after 0.1.0: the version that added each, and what a project recorded
# without it was generated with (0.1.0-0.2.0 served every project with uvicorn). Not the
# current defaults: those may change.
ADDED = {"server": ("0.3.0", UVICORN)}


def snapshot_path(version: str, folder: Path = SNAPSHOTS) -> Path:
    return folder / f"{version}.zip"


def available_versions(folder: Path = SNAPSHOTS) -> list[str]:
    return sorted((p.stem for p in folder.glob("*.zip")), key=version_key)


def version_key(version: str) -> tuple[int, ...]:
    """Sorts 0.10.0 after 0.9.1; refuses a version that is not dotted numbers."""
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        raise UpdateError(f"{version!r} is not a version of the form X.Y.Z.") from None


def write_archive(path: Path, version: str, entries: Mapping[str, bytes], source: str) -> str:
    """Write a snapshot of `entries`; returns their digest. Same entries, same bytes."""
    metadata = {"version": version, "digest": digest(entries), "source": source, "format": 1}
    members = {METADATA: (json.dumps(metadata, indent=2) + "\n").encode(), **entries}
    partial = path.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, members[name])
    partial.replace(path)
    return str(metadata["digest"])


def read_archive(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The metadata and the entries of a snapshot."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    metadata = json.loads(members.pop(METADATA))
    return metadata, members


def recorded_options(record: Mapping[str, Any]) -> dict[str, Any]:
    """A manifest's options with what the versions before an option implied filled in."""
    return {**{key: implied for key, (_, implied) in ADDED.items()}, **record}


def known_to(version: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """`options` as generator `version` reads them: every option it has (filled in when
    the record predates it), none it predates (which must hold what it generated)."""
    known = recorded_options(options)
    for key, (added, implied) in ADDED.items():
        if version_key(version) < version_key(added) and known.pop(key) != implied:
            raise UpdateError(
                f"version {version} has no --{key} option (it generated {implied} only);"
                f" update to {added} or later."
            )
    return known


def render_version(
    version: str, options: Mapping[str, Any], folder: Path = SNAPSHOTS
) -> dict[str, bytes]:
    """Every file generator `version` writes for the recorded `options`, manifest included."""
    options = known_to(version, options)
    path = snapshot_path(version, folder)
    if not path.is_file():
        known = ", ".join(available_versions(folder)) or "none"
        raise UpdateError(
            f"This bundle cannot rebuild generator version {version} (it carries {known});"
            " install the bundle release that knows it."
        )
    metadata, entries = read_archive(path)
    if metadata.get("digest") != digest(entries):
        raise UpdateError(f"The snapshot {path.name} is damaged; reinstall the bundle.")
    with tempfile.TemporaryDirectory(prefix="fastapi-patterns-base-") as temp:
        root = Path(temp)
        for name, content in entries.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        result = subprocess.run(
            [sys.executable, "-B", str(root / DRIVER_NAME)],
            input=json.dumps({"options": dict(options)}).encode(),
            capture_output=True,
            cwd=root,
            timeout=300,
            check=False,
        )
    if result.returncode != 0:
        last = (result.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise UpdateError(f"Rebuilding what version {version} generated failed: {last}")
    answer = json.loads(result.stdout)
    return {path: base64.b64decode(data) for path, data in answer["files"].items()}
