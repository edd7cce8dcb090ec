"""Write the snapshot `fastapi-patterns update` rebuilds a generator version from.

    python scripts/release_snapshot.py              # the current version, from the work tree
    python scripts/release_snapshot.py --ref v0.1.0 # a released version, from a git ref
    python scripts/release_snapshot.py --check      # exit 1 when the current one is stale

Run the first after changing templates or rendering code of an unreleased version (tests
fail until you do). A released version's snapshot is never rewritten: the script refuses
when it exists with other contents, or when the current version is tagged v<version>.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from fastapi_patterns import __version__  # noqa: E402
from fastapi_patterns.update.inputs import (  # noqa: E402
    DRIVER,
    PACKAGE_ROOT,
    ListFiles,
    Read,
    digest,
    rendering_inputs,
    work_tree_reader,
)
from fastapi_patterns.update.snapshot import (  # noqa: E402
    SNAPSHOTS,
    read_archive,
    snapshot_path,
    write_archive,
)


def git_reader(ref: str) -> tuple[Read, ListFiles]:
    def read(path: str) -> bytes | None:
        shown = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{ref}:{path}"], capture_output=True, check=False
        )
        return shown.stdout if shown.returncode == 0 else None

    def list_files(folder: str) -> list[str]:
        listed = subprocess.run(
            ["git", "-C", str(ROOT), "ls-tree", "-r", "--name-only", ref, "--", folder],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return sorted(listed.stdout.splitlines())

    return read, list_files


def commit_of(ref: str) -> str:
    """The commit a ref names, so a tag and its commit give the same snapshot."""
    parsed = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{ref}^{{commit}}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if parsed.returncode != 0:
        raise SystemExit(f"error: {ref} is not a commit of this repository")
    return parsed.stdout.strip()


def version_at(read: Read) -> str:
    source = read(f"{PACKAGE_ROOT}/__init__.py")
    if source is None:
        raise SystemExit("error: that ref has no scripts/fastapi_patterns/__init__.py")
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "__version__":
            return str(ast.literal_eval(node.value))
    raise SystemExit("error: no __version__ in scripts/fastapi_patterns/__init__.py")


def tagged(version: str) -> bool:
    found = subprocess.run(
        ["git", "-C", str(ROOT), "tag", "--list", f"v{version}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return bool(found.stdout.strip())


def current_inputs() -> dict[str, bytes]:
    read, list_files = work_tree_reader(ROOT)
    return rendering_inputs(read, list_files, (ROOT / DRIVER).read_bytes())


def stored_digest(version: str, folder: Path) -> str | None:
    path = snapshot_path(version, folder)
    return str(read_archive(path)[0]["digest"]) if path.is_file() else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", help="build a released version from this git ref")
    parser.add_argument("--check", action="store_true", help="only check the current snapshot")
    parser.add_argument("--snapshots", type=Path, default=SNAPSHOTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder: Path = args.snapshots
    if args.check:
        if stored_digest(__version__, folder) == digest(current_inputs()):
            print(f"snapshot {__version__} is up to date")
            return 0
        print(f"snapshot {__version__} is stale: run python scripts/release_snapshot.py")
        return 1
    if args.ref:
        read, list_files = git_reader(args.ref)
        version = version_at(read)
        # Today's driver: it knows how every version's rendering code is called.
        entries = rendering_inputs(read, list_files, (ROOT / DRIVER).read_bytes())
        source = f"git {commit_of(args.ref)}"
    else:
        version, entries, source = __version__, current_inputs(), "work tree"
        if tagged(version):
            print(f"error: {version} is released (tag v{version}); bump __version__ first")
            return 1
    existing = stored_digest(version, folder)
    if existing == digest(entries):
        print(f"snapshot {version} is already up to date")
        return 0
    if existing is not None and version != __version__:
        print(f"error: snapshot {version} is released and differs; it is never rewritten")
        return 1
    folder.mkdir(exist_ok=True)
    path = snapshot_path(version, folder)
    write_archive(path, version, entries, source)
    print(f"wrote {path} ({path.stat().st_size} bytes, {len(entries)} files)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
