"""Run one of bench/'s scripts as `make bench` would, for the tests that check its plumbing."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_bench_script(script: str, *args: str) -> str:
    """Run bench/SCRIPT with ARGS from the project root; its standard output, once it exits 0."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout
