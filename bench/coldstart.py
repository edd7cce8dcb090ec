"""Section 3: cold start — import time of the app module and time to the first 200."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from server import Uvicorn, clean_env
from summary import spread

_IMPORT = (
    "import importlib, sys, time; t = time.perf_counter(); "
    "importlib.import_module(sys.argv[1]); print(time.perf_counter() - t)"
)


def import_seconds(module: str, app_dir: Path, env: dict[str, str]) -> float:
    """Seconds to import `module` in a fresh interpreter (interpreter start excluded)."""
    done = subprocess.run(
        ["taskset", "-c", "0", sys.executable, "-c", _IMPORT, module],
        cwd=app_dir,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def measure(
    module: str, app_dir: Path, env: dict[str, str], path: str, reps: int, log: Path
) -> dict[str, object]:
    imports, firsts = [], []
    for _ in range(reps):
        imports.append(import_seconds(module, app_dir, env))
        server = Uvicorn(
            f"{module}:app", app_dir=app_dir, cwd=app_dir, env=clean_env(**env), log_path=log
        )
        with server:
            firsts.append(server.start(path))
    return {
        "module": module,
        "path": path,
        "import_s": spread(imports).as_dict(),
        "first_200_s": spread(firsts).as_dict(),
    }
