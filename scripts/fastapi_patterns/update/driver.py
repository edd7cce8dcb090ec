"""Renders a project with the generator in the snapshot this file is frozen into.

Not imported by the package: the release script copies it into every snapshot as
`render_snapshot.py`, next to that version's `fastapi_patterns` package and `project/`
templates, and `update` runs it in a subprocess (two versions of one package cannot share
a process). stdin: `{"options": {...}}` as that version's manifest recorded them;
stdout: `{"version": ..., "files": {path: base64}}`, exactly the files that version's
generator writes, its manifest included. No detection, no writes.
"""

from __future__ import annotations

import base64
import importlib
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def render_files(options_record: dict[str, Any]) -> tuple[str, dict[str, bytes]]:
    # The snapshot's package, not an installed one of the same name.
    sys.path.insert(0, str(HERE))
    package: Any = importlib.import_module("fastapi_patterns")
    plan: Any = importlib.import_module("fastapi_patterns.plan")
    render: Any = importlib.import_module("fastapi_patterns.render")
    options_module: Any = importlib.import_module("fastapi_patterns.options")
    options = options_module.Options(**options_record)
    templates = HERE / "project"
    files: dict[str, bytes]
    if hasattr(plan, "source_name"):
        # 0.2.0 on: plans from the template listing; rendering makes the manifest too.
        assets: Any = importlib.import_module("fastapi_patterns.assets")
        planned = plan.plan(options, assets.template_files(templates))
        files = render.render(planned, options, templates)
    else:
        # 0.1.0: plans from the folder; generate() added the manifest after rendering.
        manifest: Any = importlib.import_module("fastapi_patterns.manifest")
        files = render.render(plan.plan(options, templates), options, templates)
        files[plan.MANIFEST] = manifest.render_manifest(options, files)
    return str(package.__version__), files


def main() -> int:
    request = json.load(sys.stdin)
    version, files = render_files(request["options"])
    encoded = {path: base64.b64encode(content).decode("ascii") for path, content in files.items()}
    json.dump({"version": version, "files": encoded}, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
