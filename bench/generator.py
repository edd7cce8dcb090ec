"""Section 2: generator speed — library render+write, the CLI, and command-to-ready."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from project import BIN, Project, migrate, service_env
from server import Uvicorn, clean_env
from summary import spread

# The fullest combination: every optional part is rendered.
FULL = {"db": "postgresql", "redis": True, "auth": "jwt", "layout": "src", "python": "3.11"}
HERE = Path(__file__).resolve().parent
DETECT_SCRIPT = HERE / "bench_detect.py"


def render_write(reps: int) -> dict[str, object]:
    """generate() in-process into a fresh folder, after one untimed call loads Jinja."""
    from fastapi_patterns.generate import generate

    times, files = [], 0
    with tempfile.TemporaryDirectory(prefix="bench-gen-") as tmp:
        for n in range(reps + 1):
            target = Path(tmp) / str(n) / "svc"
            target.parent.mkdir()  # an empty folder of its own: no app beside it
            started = time.perf_counter()
            generation = generate("svc", target, **FULL)
            elapsed = time.perf_counter() - started
            files = len(generation.files)
            if n:
                times.append(elapsed)
    return {"seconds": spread(times).as_dict(), "files": files, "target_s": 0.3}


def cli(reps: int) -> dict[str, object]:
    """The create-fastapi-app command as a user runs it: interpreter, imports, write."""
    times = []
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        for n in range(reps):
            (Path(tmp) / str(n)).mkdir()  # an empty folder of its own: no app beside it
            command = [
                str(BIN / "create-fastapi-app"),
                "svc",
                "--dir",
                f"{tmp}/{n}/svc",
                "--db",
                "postgresql",
                "--redis",
                "--auth",
                "jwt",
                "--layout",
                "src",
                "--python",
                "3.11",
                "--json",
            ]
            started = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True, timeout=60)
            times.append(time.perf_counter() - started)
    return {"seconds": spread(times).as_dict(), "target_s": 0.3}


def to_ready(reps: int, work: Path) -> dict[str, object]:
    """From the command to 200 on /health/ready: generate, migrate, boot (deps installed)."""
    steps: dict[str, list[float]] = {"generate": [], "migrate": [], "boot": [], "total": []}
    for n in range(reps):
        folder = work / f"ready{n}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        env = clean_env(**service_env(f"sqlite:///{folder}/app.db"))
        started = time.perf_counter()
        subprocess.run(
            [
                str(BIN / "create-fastapi-app"),
                "svc",
                "--dir",
                str(folder / "svc"),
                "--db",
                "sqlite",
                "--no-redis",
                "--auth",
                "jwt",
                "--layout",
                "flat",
                "--server",  # served below by uvicorn; the default is granian
                "uvicorn",
            ],
            capture_output=True,
            check=True,
            timeout=60,
        )
        generated = time.perf_counter()
        project = Project(folder / "svc", "svc")
        migrated = generated + migrate(project, env)
        server = Uvicorn(
            "svc.main:app",
            app_dir=project.app_dir,
            cwd=project.path,
            env=env,
            log_path=folder / "uvicorn.log",
            pin=False,
        )
        with server:
            booted = migrated + server.start("/health/ready")
        steps["generate"].append(generated - started)
        steps["migrate"].append(migrated - generated)
        steps["boot"].append(booted - migrated)
        steps["total"].append(booted - started)
    return {name: spread(values).as_dict() for name, values in steps.items()} | {"target_s": 2.0}


def detector(smoke: bool) -> dict[str, object]:
    """bench/bench_detect.py (another module's job): --detect and the `!` lines."""
    if not DETECT_SCRIPT.exists():
        return {"skipped": f"{DETECT_SCRIPT.name} is not present"}
    command = [sys.executable, str(DETECT_SCRIPT), "--json"] + (["--smoke"] if smoke else [])
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{DETECT_SCRIPT.name} failed:\n{done.stderr or done.stdout}")
    return dict(json.loads(done.stdout))
