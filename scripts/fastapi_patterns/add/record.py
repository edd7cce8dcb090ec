"""`.create-fastapi-app.yml`: the added modules and their hashes, so `update` can keep them.

A generated project's manifest is edited in place with ruamel.yaml's round trip, so the
comments and order a person gave it survive; a project without one gets a new one.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Mapping

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from .. import __version__
from ..plan import MANIFEST
from .refusal import AddRefused

HEADER = "Written by fastapi-patterns add; a later version reads it to update the added modules."

__all__ = ["MANIFEST", "record"]


def _yaml() -> YAML:
    yaml = YAML()  # round trip: comments, order and quoting are kept
    yaml.default_flow_style = False
    yaml.width = 4096
    return yaml


def record(existing: bytes | None, patterns: Iterable[str], modules: Mapping[str, bytes]) -> bytes:
    """The manifest with `patterns` and the `modules` (path -> content) recorded."""
    yaml = _yaml()
    if existing is None:
        data = CommentedMap()
        data["generator"] = "fastapi-patterns add"
        data["generator_version"] = __version__
        data.yaml_set_start_comment(HEADER)
    else:
        try:
            data = yaml.load(existing)
        except YAMLError as error:
            raise AddRefused(f"{MANIFEST} is not valid YAML ({error}); fix or remove it.") from None
        if not isinstance(data, CommentedMap):
            raise AddRefused(f"{MANIFEST} is not a mapping; fix or remove it.")
    added = data.get("added_patterns")
    if not isinstance(added, CommentedSeq):
        added = CommentedSeq()
        data["added_patterns"] = added
    for name in patterns:
        if name not in added:
            added.append(name)
    files = data.get("files")
    if not isinstance(files, CommentedMap):
        files = CommentedMap()
        data["files"] = files
    for path, content in sorted(modules.items()):
        files[path] = hashlib.sha256(content).hexdigest()
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue().encode("utf-8")


def recorded_hash(existing: bytes | None, path: str) -> str | None:
    """The hash the manifest holds for `path`, if any."""
    if existing is None:
        return None
    try:
        data = YAML(typ="safe").load(existing)
    except YAMLError:
        return None
    files = data.get("files") if isinstance(data, dict) else None
    value = files.get(path) if isinstance(files, dict) else None
    return value if isinstance(value, str) else None


_GENERATED_MODULES = ("/core/errors.py", "/core/middleware.py", "/services/health.py")


def generated_by_us(existing: bytes | None) -> bool:
    """Whether the manifest is the generator's own (a project create-fastapi-app wrote),
    not one `add` started in a project of somebody else's."""
    if existing is None:
        return False
    try:
        data = YAML(typ="safe").load(existing)
    except YAMLError:
        return False
    if not isinstance(data, dict) or data.get("generator") != "create-fastapi-app":
        return False
    # and it still records the generated modules the patterns live in
    files = data.get("files")
    names = [str(name) for name in files] if isinstance(files, dict) else []
    return all(any(n.endswith(module) for n in names) for module in _GENERATED_MODULES)
