#!/usr/bin/env python3
"""Run `fastapi-patterns` (new, detect, audit) straight from the bundle, without installing it.

`detect` and `audit` need only the standard library, so `/fastapi-audit` works on a machine
where nothing is installed; `new` needs what create_fastapi_app.py says it needs and, when a
package is missing, prints the same one install command and exits with 3.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Beside this file; put there explicitly, since `python3 -I` leaves the script's folder out.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from create_fastapi_app import run_from_bundle

if __name__ == "__main__":
    raise SystemExit(run_from_bundle("commands", "fastapi-patterns", sys.argv[1:]))
