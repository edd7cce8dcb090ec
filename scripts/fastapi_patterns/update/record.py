"""The manifest after an update, and the pending record an update with conflicts leaves.

The manifest is edited in place (ruamel.yaml round trip), so comments and what `add`
recorded (its patterns and modules) survive; the generated files' hashes become the
target version's, which the next update compares against. An update that wrote conflict
markers records nothing there: `PENDING` keeps what `update --continue` records once the
markers are gone.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from ..plan import MANIFEST
from .errors import UpdateError
from .status import PENDING

__all__ = ["PENDING", "Pending", "load_manifest", "updated_manifest"]
_PENDING_HEADER = (
    "Written by fastapi-patterns update: resolve the conflicts listed here, then run"
    " `fastapi-patterns update --continue`."
)


def _yaml() -> YAML:
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096  # one line per file, as the generator writes it
    return yaml


def load_manifest(text: bytes) -> dict[str, Any]:
    """The manifest as plain data; UpdateError when it is not a generated project's."""
    try:
        data = YAML(typ="safe").load(text)
    except YAMLError as error:
        raise UpdateError(f"{MANIFEST} is not valid YAML ({_first_line(error)}).") from None
    if not isinstance(data, dict) or data.get("generator") != "create-fastapi-app":
        raise UpdateError(
            f"{MANIFEST} was not written by create-fastapi-app; update only updates projects"
            " it generated (`fastapi-patterns add` adds patterns to other apps)."
        )
    for key, kind in (("generator_version", str), ("options", dict), ("files", dict)):
        if not isinstance(data.get(key), kind):
            raise UpdateError(f"{MANIFEST} has no valid {key!r}; restore it from git.")
    return data


def updated_manifest(
    existing: bytes,
    version: str,
    options: Mapping[str, Any],
    hashes: Mapping[str, str],
    generated: Iterable[str],
) -> bytes:
    """`existing` with the new version, options and generated files' hashes. `generated`:
    every path either version generates (their old entries go; `hashes` are the new)."""
    yaml = _yaml()
    data = yaml.load(existing)
    data["generator_version"] = version
    recorded_options = data["options"]
    for key, value in options.items():
        recorded_options[key] = value
    old_files = data["files"]
    stale = set(generated) - set(hashes)
    files = CommentedMap(
        sorted(
            [(p, h) for p, h in old_files.items() if p not in stale and p not in hashes]
            + list(hashes.items())
        )
    )
    data["files"] = files
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue().encode("utf-8")


@dataclass
class Pending:
    """An update that stopped with conflicts, waiting for `update --continue`."""

    from_version: str
    to_version: str
    options: dict[str, Any]
    hashes: dict[str, str]
    generated: list[str]
    conflicts: list[str] = field(default_factory=list)

    def dump(self) -> bytes:
        data = CommentedMap()
        data["update_from"] = self.from_version
        data["update_to"] = self.to_version
        data["conflicts"] = list(self.conflicts)
        data["options"] = CommentedMap(self.options)
        data["files"] = CommentedMap(sorted(self.hashes.items()))
        data["generated"] = sorted(self.generated)
        data.yaml_set_start_comment(_PENDING_HEADER)
        buffer = io.StringIO()
        _yaml().dump(data, buffer)
        return buffer.getvalue().encode("utf-8")

    @classmethod
    def load(cls, text: bytes) -> Pending:
        try:
            data = YAML(typ="safe").load(text)
            return cls(
                from_version=str(data["update_from"]),
                to_version=str(data["update_to"]),
                options=dict(data["options"]),
                hashes={str(k): str(v) for k, v in data["files"].items()},
                generated=[str(p) for p in data["generated"]],
                conflicts=[str(p) for p in data["conflicts"]],
            )
        except (YAMLError, KeyError, TypeError, AttributeError):
            raise UpdateError(
                f"{PENDING} is damaged; restore the project from git and update again."
            ) from None


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
