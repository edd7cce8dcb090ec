"""The `.create-fastapi-app.yml` record a generated project keeps of its choices.

It lets a later generator version tell its own files (hash unchanged) from files
the user has edited. Written with ruamel.yaml so later updates keep user comments.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from . import __version__
from .options import Options

HEADER = "Written by create-fastapi-app; a later version reads it to update this project."


def render_manifest(options: Options, files: Mapping[str, bytes]) -> bytes:
    data = CommentedMap()
    data["generator"] = "create-fastapi-app"
    data["generator_version"] = __version__
    data["options"] = CommentedMap(options.as_dict())
    data["files"] = CommentedMap(
        (path, hashlib.sha256(content).hexdigest()) for path, content in sorted(files.items())
    )
    data.yaml_set_start_comment(HEADER)
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096  # one line per file: wrapped long keys left a trailing space
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue().encode("utf-8")


def read_manifest(text: str) -> dict[str, object]:
    loaded = YAML(typ="safe").load(text)
    if not isinstance(loaded, dict):
        raise ValueError("The manifest is not a mapping.")
    return dict(loaded)
