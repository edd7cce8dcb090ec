"""How fast `--detect` reads a big repository, and how fast the slash command's `!` lines run.

Builds a 20,000-file monorepo in a temporary folder (a FastAPI backend of 1,500 modules, a
frontend, docs, plus node_modules and a .venv that detection must skip), then times:

- detect_project() in-process (median of --runs, after one warm-up run);
- `python3 scripts/create_fastapi_app.py --detect ROOT --json` as a new process;
- every `!` line of scripts/create-fastapi-app.md together, run by bash in the project
  with ${CLAUDE_PLUGIN_ROOT} pointing at this bundle, as Claude Code runs them.

Targets (issue 3): detection under 0.1 s; all `!` lines together under 0.3 s.

    python bench/bench_detect.py            # table
    python bench/bench_detect.py --json     # rows and targets for bench/run.py
    python bench/bench_detect.py --smoke    # 2,000 files, 3 runs
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BUNDLE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BUNDLE / "scripts"))

from fastapi_patterns.detect import detect_project  # noqa: E402

SHIM = BUNDLE / "scripts" / "create_fastapi_app.py"
COMMAND = BUNDLE / "scripts" / "create-fastapi-app.md"
INLINE = re.compile(r"(?:(?<=\s)|^)!`([^`\n]*)`", re.MULTILINE)
FENCE = re.compile(r"^```!\s*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
DETECT_TARGET_S = 0.1
LINES_TARGET_S = 0.3

# Share of the files per part of the tree (the rest are docs and static assets).
PARTS = {"node_modules": 0.45, ".venv": 0.25, "frontend": 0.075, "backend": 0.075, "tests": 0.05}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def build_tree(root: Path, total: int) -> int:
    """A monorepo of `total` files; returns how many were written."""
    counts = {part: int(total * share) for part, share in PARTS.items()}
    written = 0

    def spread(prefix: Path, count: int, per_folder: int, name: str, text: str) -> None:
        nonlocal written
        for i in range(count):
            folder = prefix / f"p{i // per_folder:03d}" / ("lib" if i % 3 else "dist")
            _write(folder / name.format(i=i), text)
            written += 1

    spread(
        root / "frontend" / "node_modules",
        counts["node_modules"],
        30,
        "m{i}.js",
        "module.exports = {};\n",
    )
    (root / ".venv").mkdir(parents=True, exist_ok=True)
    _write(root / ".venv" / "pyvenv.cfg", "home = /usr/bin\n")
    written += 1
    site = root / ".venv" / "lib" / "python3.12" / "site-packages"
    spread(
        site, counts[".venv"] - 1, 50, "mod{i}.py", "from fastapi import FastAPI\napp = FastAPI()\n"
    )
    for i in range(counts["frontend"]):
        _write(
            root / "frontend" / "src" / f"c{i // 40}" / f"View{i}.tsx",
            "export const V = () => null;\n",
        )
        written += 1

    backend = root / "backend"
    _write(
        backend / "pyproject.toml",
        '[project]\nname = "app"\nrequires-python = ">=3.12"\n'
        'dependencies = ["fastapi[standard]", "sqlalchemy[asyncio]", "asyncpg", "redis"]\n'
        '[dependency-groups]\ndev = ["pytest", "aiosqlite"]\n',
    )
    _write(backend / "uv.lock", "version = 1\n")
    _write(backend / "Dockerfile", 'FROM python:3.12-slim\nCMD ["fastapi", "run", "app/main.py"]\n')
    _write(backend / ".env.example", "DATABASE_URL=postgresql+asyncpg://app:app@db/app\n")
    _write(backend / "app" / "__init__.py", "")
    _write(
        backend / "app" / "main.py",
        "from fastapi import FastAPI\nfrom app.api import router\n\napp = FastAPI()\n"
        "app.include_router(router)\n",
    )
    _write(backend / "app" / "core" / "config.py", "DATABASE_URL = 'postgresql+asyncpg://x/app'\n")
    written += 7
    modules = counts["backend"] - 7
    body = (
        "from __future__ import annotations\n\nfrom fastapi import APIRouter, Depends\n"
        "from app.core.config import DATABASE_URL\n\nrouter = APIRouter()\n\n\n"
        '@router.get("/{i}")\nasync def read_{i}(limit: int = 10) -> dict[str, int]:\n'
        "    return {{'limit': limit, 'n': {i}}}\n" * 3
    )
    for i in range(modules):
        domain = backend / "app" / f"domain{i // 30:02d}"
        text = body.format(i=i)
        if i % 20 == 0:  # some modules mention FastAPI in type hints, as lifespans do
            text += "\n\ndef lifespan(app: 'FastAPI') -> None:\n    return None\n"
        _write(domain / ("__init__.py" if i % 30 == 0 else f"m{i}.py"), text)
        written += 1
    for i in range(counts["tests"]):
        _write(backend / "tests" / f"t{i // 50}" / f"test_{i}.py", "from app.main import app\n")
        written += 1
    _write(
        root / "compose.yaml",
        "services:\n  db:\n    image: postgres:17\n  cache:\n    image: redis:7\n",
    )
    _write(root / ".python-version", "3.12\n")
    written += 2
    for i in range(max(0, total - written)):
        suffix = "md" if i % 2 else "svg"
        _write(root / "docs" / f"s{i // 100}" / f"page{i}.{suffix}", "# page\n")
        written += 1
    return written


def shell_lines() -> list[str]:
    body = COMMAND.read_text()
    lines = [m.group(1) for m in FENCE.finditer(body)]
    return lines + [m.group(1) for m in INLINE.finditer(FENCE.sub("", body))]


def median_seconds(run: Any, runs: int) -> tuple[float, float, float]:
    run()  # warm-up: the page cache and imports, as on a second invocation
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times), max(times)


def measure(root: Path, runs: int) -> dict[str, Any]:
    detection = detect_project(root)
    assert detection.fastapi_app == "app.main:app", detection
    assert detection.project_root == "backend" and detection.database == "postgresql"

    # `python3` as a plain system interpreter: this one's real binary, without the virtualenv
    # (and without version-manager shims such as pyenv's, which add their own startup).
    bin_dir = root.parent / "bin"
    bin_dir.mkdir(exist_ok=True)
    python3 = bin_dir / "python3"
    if not python3.exists():
        python3.symlink_to(os.path.realpath(sys.executable))
    bash = shutil.which("bash") or "/bin/bash"
    lines = shell_lines()
    env = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "CLAUDE_PLUGIN_ROOT": str(BUNDLE),
        "LANG": "C.UTF-8",
    }

    def library() -> None:
        detect_project(root)

    def process() -> None:
        subprocess.run(
            [str(python3), str(SHIM), "--detect", str(root), "--json"],
            check=True,
            capture_output=True,
            env=env,
        )

    def bang_lines() -> None:
        for line in lines:
            script = line.replace("${CLAUDE_PLUGIN_ROOT}", str(BUNDLE))
            done = subprocess.run([bash, "-c", script], cwd=root, env=env, capture_output=True)
            assert done.returncode == 0 and b"existing FastAPI app: app.main:app" in done.stdout

    return {
        "library": median_seconds(library, runs),
        "process": median_seconds(process, runs),
        "lines": median_seconds(bang_lines, runs),
        "line_count": len(lines),
    }


def _shown(spread: tuple[float, float, float]) -> str:
    median, low, high = spread
    return f"{median * 1000:.1f} ms ({low * 1000:.1f} to {high * 1000:.1f})"


def report(files: int, result: dict[str, Any]) -> dict[str, Any]:
    rows = [
        {"name": f"--detect, library call ({files:,} files)", "shown": _shown(result["library"])},
        {"name": "--detect --json, new python3 process", "shown": _shown(result["process"])},
        {
            "name": f"slash command: all {result['line_count']} `!` line(s)",
            "shown": _shown(result["lines"]),
        },
    ]
    targets = [
        {
            "name": f"--detect on {files:,} files (library call)",
            "value": result["library"][0],
            "shown": _shown(result["library"]),
            "target": "≤ 0.1 s",
            "met": result["library"][0] <= DETECT_TARGET_S,
        },
        {
            "name": "slash command `!` lines together",
            "value": result["lines"][0],
            "shown": _shown(result["lines"]),
            "target": "≤ 0.3 s",
            "met": result["lines"][0] <= LINES_TARGET_S,
        },
    ]
    return {"files": files, "rows": rows, "targets": targets}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true", help="print rows and targets as JSON")
    parser.add_argument("--smoke", action="store_true", help="2,000 files and 3 runs")
    parser.add_argument("--keep", type=Path, help="build the tree in this folder and keep it")
    args = parser.parse_args(argv)
    files, runs = (2_000, 3) if args.smoke else (args.files, args.runs)

    with tempfile.TemporaryDirectory(prefix="bench-detect-") as scratch:
        root = (args.keep or Path(scratch)) / "repo"
        if root.exists():
            shutil.rmtree(root)
        written = build_tree(root, files)
        result = report(written, measure(root, runs))

    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for row in result["rows"]:
        print(f"{row['name']:<48} {row['shown']}")
    for target in result["targets"]:
        verdict = "met" if target["met"] else "MISSED"
        print(f"target {target['name']}: {target['target']} -> {verdict}")
    return 0 if all(t["met"] for t in result["targets"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
