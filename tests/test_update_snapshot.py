"""Snapshots rebuild what each released version wrote, and go stale loudly.

The current version's snapshot must hold exactly today's rendering inputs: change a
template or the rendering code and `python scripts/release_snapshot.py` must run (or,
once a version is released, __version__ must move on). A released snapshot never changes.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from fastapi_patterns import __version__
from fastapi_patterns.manifest import read_manifest
from fastapi_patterns.update.base import render_files
from fastapi_patterns.update.errors import UpdateError
from fastapi_patterns.update.inputs import (
    DRIVER,
    DRIVER_NAME,
    rendering_inputs,
    work_tree_reader,
)
from fastapi_patterns.update.inputs import digest as inputs_digest
from fastapi_patterns.update.snapshot import (
    SNAPSHOTS,
    available_versions,
    read_archive,
    render_version,
    snapshot_path,
    version_key,
    write_archive,
)
from update_fixtures import OPTIONS

ROOT = Path(__file__).resolve().parents[1]
REFRESH = "python scripts/release_snapshot.py"
V010 = "50dab3a0c15aea0bde4b9cfbf233417821b8bc61"  # tagged v0.1.0
# sha256 of the manifest `create-fastapi-app svc-up --db sqlite --no-redis --auth jwt
# --layout flat --python 3.11` wrote when run from V010 (it holds every file's hash).
MANIFEST_010 = "bec0c172a2419dffce90f04ad861e7009dfed9daa2558acacb355d2125620f52"
# Released snapshots, pinned: the bytes of a released version's archive never change.
RELEASED = {
    "0.1.0": "203b6f7f9afb22bac6c8c7d42c59efad559de95fa1a83349bf14ec1dd022c4e0",
    "0.2.0": "fe3b51e42021ef32f611206fbfc13ccae50844dc36980da173cd269693783622",
    "0.3.0": "6f5c72b679548a273a337140174d842c6f459e3ed34c2880e1cd008865dbf045",
}


def test_current_version_has_a_fresh_snapshot() -> None:
    read, list_files = work_tree_reader(ROOT)
    current = inputs_digest(rendering_inputs(read, list_files, (ROOT / DRIVER).read_bytes()))
    path = snapshot_path(__version__)
    assert path.is_file(), f"no snapshot for {__version__}: run `{REFRESH}`"
    stored = read_archive(path)[0]["digest"]
    assert stored == current, (
        f"templates or rendering code changed since the {__version__} snapshot: run"
        f" `{REFRESH}` (or, if {__version__} is released, bump __version__ first)"
    )


def test_every_version_before_the_current_one_is_released_and_pinned() -> None:
    older = [v for v in available_versions() if v != __version__]
    assert older == sorted(RELEASED, key=version_key)
    for version, expected in RELEASED.items():
        actual = hashlib.sha256(snapshot_path(version).read_bytes()).hexdigest()
        assert actual == expected, f"the released snapshot {version} was rewritten"


def test_snapshots_are_small_and_self_consistent() -> None:
    for path in SNAPSHOTS.glob("*.zip"):
        assert path.stat().st_size < 200_000, path
        metadata, entries = read_archive(path)
        assert metadata["version"] == path.stem
        assert metadata["digest"] == inputs_digest(entries)
        assert not any("__pycache__" in name for name in entries)


def test_the_010_snapshot_rebuilds_what_010_wrote() -> None:
    files = render_files("0.1.0", OPTIONS)
    recorded = files.pop(".create-fastapi-app.yml")
    # What 0.1.0's own create-fastapi-app (commit V010) wrote for these options, hashed.
    assert hashlib.sha256(recorded).hexdigest() == MANIFEST_010
    manifest = read_manifest(recorded.decode())
    assert manifest["generator_version"] == "0.1.0"
    # 0.1.0's own manifest hashes its own files: the rebuild is that version's output.
    hashes = {path: hashlib.sha256(content).hexdigest() for path, content in files.items()}
    assert manifest["files"] == hashes
    assert "svc_up/core/openapi.py" not in files  # new in 0.2.0


def test_the_current_snapshot_renders_what_the_current_code_renders() -> None:
    assert render_version(__version__, OPTIONS) == render_files(__version__, OPTIONS)


def test_an_unknown_version_cannot_be_rebuilt() -> None:
    with pytest.raises(UpdateError, match=r"cannot rebuild generator version 0\.0\.9"):
        render_version("0.0.9", OPTIONS)


def release(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts/release_snapshot.py"), *args],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_release_script_checks_the_current_snapshot(tmp_path: Path) -> None:
    assert release("--check").returncode == 0
    stale = release("--check", "--snapshots", str(tmp_path))
    assert stale.returncode == 1 and REFRESH in stale.stdout


def test_release_script_never_rewrites_a_released_snapshot(tmp_path: Path) -> None:
    if subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", V010], check=False).returncode:
        pytest.skip(f"commit {V010} (0.1.0) is not in this clone")
    other = snapshot_path("0.1.0", tmp_path)
    write_archive(other, "0.1.0", {"render_snapshot.py": b"# not 0.1.0\n"}, "test")
    before = other.read_bytes()
    refused = release("--ref", V010, "--snapshots", str(tmp_path))
    assert refused.returncode == 1 and "never rewritten" in refused.stdout
    assert other.read_bytes() == before
    # Built again from the tagged commit, it holds the same code and templates (the
    # driver is today's, which may have learnt more since).
    other.unlink()
    assert release("--ref", V010, "--snapshots", str(tmp_path)).returncode == 0
    rebuilt, pinned = read_archive(other)[1], read_archive(snapshot_path("0.1.0"))[1]
    for entries in (rebuilt, pinned):
        del entries[DRIVER_NAME]
    assert rebuilt == pinned
