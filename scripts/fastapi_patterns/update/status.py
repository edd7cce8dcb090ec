"""Whether a project is behind the bundle: `update --check`, with the standard library only,
so /fastapi-update can ask before anything is installed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..detect.formats import FormatError
from ..detect.yaml_subset import parse_yaml
from ..plan import MANIFEST
from .errors import UpdateError
from .snapshot import version_key

PENDING = ".create-fastapi-app.pending.yml"


@dataclass(frozen=True)
class Status:
    version: str  # the generator version the manifest records
    pending: bool  # an update waits for `update --continue`

    @property
    def behind(self) -> bool:
        return self.pending or version_key(self.version) < version_key(__version__)


def project_status(root: Path) -> Status:
    path = root / MANIFEST
    if not path.is_file():
        raise UpdateError(
            f"{root} has no {MANIFEST}: update works on projects create-fastapi-app generated."
        )
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))
    except (FormatError, UnicodeDecodeError):
        raise UpdateError(f"{MANIFEST} is not valid YAML; restore it from git.") from None
    if not isinstance(data, dict) or data.get("generator") != "create-fastapi-app":
        raise UpdateError(
            f"{MANIFEST} was not written by create-fastapi-app; update only updates projects"
            " it generated (`fastapi-patterns add` adds patterns to other apps)."
        )
    version = data.get("generator_version")
    if not isinstance(version, str):
        raise UpdateError(f"{MANIFEST} has no valid 'generator_version'; restore it from git.")
    return Status(version, (root / PENDING).is_file())
