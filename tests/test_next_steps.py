"""Issue 19: the next steps the generator prints run literally, in one shell, to a served app.

The steps come from `--json` (`next_steps`) and run unchanged in one bash process, the
last one (the server) included; the test only sets UVICORN_PORT=0 and GRANIAN_PORT=0,
which uvicorn and granian (the default server) read like --port, so the kernel picks a
free port: uvicorn names it in its log, granian's worker listens on it. The pip
flow runs where a stock `python3 -m venv` leaves an old pip (forced below 25.1 here, so
the steps must cope with a pip that cannot read dependency groups); the uv flow runs
with uv from PyPI, in a project that the generator detects as a uv project. Installing
goes to the package index through pip's and uv's own configuration and caches, as a
user's would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reliability import figure
from servers import require_binary
from service import listening_ports

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("next-steps")]

SUITE_BIN = Path(sys.executable).parent
CLI = str(SUITE_BIN / "create-fastapi-app")
# Installing from the index with a cold cache takes minutes; a warm one, well under one.
DEADLINE = 900.0
_UVICORN_LISTENING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+) ")
# granian logs the port it was given (0); once its worker has started, the one socket
# listening in the steps' process tree is the port it got.
_GRANIAN_STARTED = "Started worker-"


def user_environment(*, extra_path: list[Path]) -> dict[str, str]:
    """The developer's shell without this suite's venv and pytest's own variables.

    pip's and uv's configuration (index, certificates) and HOME (their caches) stay, so
    installing works and is as fast as it would be for the user.
    """
    dropped = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT")
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in dropped and not name.startswith(("PYTEST_", "COV_"))
    }
    path = [entry for entry in env["PATH"].split(os.pathsep) if Path(entry) != SUITE_BIN]
    env["PATH"] = os.pathsep.join([*map(str, extra_path), *path])
    # The one thing the test chooses: any free port, whichever server the project runs.
    env["UVICORN_PORT"] = env["GRANIAN_PORT"] = "0"
    return env


def generate(name: str, where: Path) -> dict[str, Any]:
    result = subprocess.run(
        [CLI, name, "--json"], cwd=where, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


class StepsRun:
    """The steps as one bash script, running in the background until the test ends."""

    def __init__(self, steps: list[str], env: dict[str, str], log: Path) -> None:
        # -e: stop at the first failing step, and say which one.
        script = "\n".join(["set -e", "trap 'echo \"step failed: $BASH_COMMAND\" >&2' ERR", *steps])
        self.log_path = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                ["bash", "-c", script],
                cwd=log.parent,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # one process group: bash, the server, its reloader
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def ready_url(self, deadline: float) -> str:
        """Wait until the served app answers /health/ready with 200; return its base URL."""
        base = ""
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    pytest.fail(f"the steps exited with {self.process.returncode}:\n{self.tail()}")
                port = None if base else self.served_port()
                if port:
                    base = f"http://127.0.0.1:{port}"
                if base:
                    try:
                        if client.get(f"{base}/health/ready").status_code == 200:
                            return base
                    except httpx.TransportError:
                        pass
                time.sleep(0.2)  # polling interval while installing and starting, bounded
        pytest.fail(f"no 200 from /health/ready within {DEADLINE:.0f} s:\n{self.tail()}")

    def served_port(self) -> int | None:
        """The port the server listens on, once it says it serves (None until then)."""
        log = self.log()
        listening = _UVICORN_LISTENING.search(log)
        if listening:
            return int(listening.group(1))
        if _GRANIAN_STARTED in log:
            ports = listening_ports(self.process.pid)
            if len(ports) == 1:
                return ports.pop()
        return None

    def tail(self) -> str:
        return self.log()[-6000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture
def run_steps(tmp_path: Path) -> Iterator[Any]:
    runs: list[StepsRun] = []

    def start(steps: list[str], env: dict[str, str]) -> StepsRun:
        run = StepsRun(steps, env, tmp_path / f"steps-{len(runs)}.log")
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.stop()


def served(run: StepsRun, started: float) -> tuple[str, float]:
    base = run.ready_url(started + DEADLINE)
    elapsed = time.monotonic() - started
    response = httpx.get(f"{base}/health/ready", timeout=5.0)
    assert response.status_code == 200 and response.json()["status"] == "ok", response.text
    return base, elapsed


def test_pip_steps_run_as_printed_in_a_venv_with_an_old_pip(
    tmp_path: Path, run_steps: Any, record_property: Any
) -> None:
    summary = generate("steps-pip", tmp_path)
    assert summary["options"]["package_manager"]["value"] == "pip"
    assert summary["options"]["server"] == {"value": "granian", "source": "default"}
    assert summary["env_file"] == {"path": ".env", "status": "created"}
    steps: list[str] = summary["next_steps"]
    project = Path(summary["directory"])
    assert steps[0] == f"cd {project}" and "python3 -m venv .venv" in steps

    # The venv the steps create, made first with a pip that cannot read --group.
    env = user_environment(extra_path=[])
    python3 = shutil.which("python3", path=env["PATH"])
    assert python3, "python3 is not on PATH"
    subprocess.run([python3, "-m", "venv", ".venv"], cwd=project, env=env, check=True)
    old_pip = [".venv/bin/python", "-m", "pip", "install", "--quiet", "pip<25"]
    subprocess.run(old_pip, cwd=project, env=env, check=True, timeout=300)
    assert _pip_version(project) < (25, 1)

    started = time.monotonic()
    run = run_steps(steps, env)
    base, elapsed = served(run, started)
    assert _pip_version(project) >= (25, 1)  # the steps upgraded it themselves
    assert re.search(r"\d+ passed", run.log()), run.tail()  # the project's own tests ran
    assert (project / f"{summary['package']}.db").is_file()  # migrated from the .env URL
    assert base.startswith("http://127.0.0.1:")
    figure(
        record_property,
        f"next steps, pip flow (venv with pip<25; {len(steps)} lines: install, migrate, the "
        f"project's tests, serve): 200 from /health/ready after {elapsed:.0f} s",
    )


def test_uv_steps_run_as_printed(tmp_path: Path, run_steps: Any, record_property: Any) -> None:
    uv = require_binary(
        str(SUITE_BIN / "uv") if (SUITE_BIN / "uv").exists() else "uv",
        "the uv flow needs it (pip install uv; the dev extra has it)",
    )
    monorepo = tmp_path / "monorepo"
    monorepo.mkdir()
    (monorepo / "uv.lock").write_text("version = 1\n")  # what marks a uv repository
    summary = generate("steps-uv", monorepo)
    manager = summary["options"]["package_manager"]
    assert manager["value"] == "uv" and manager["source"] != "default", manager
    steps: list[str] = summary["next_steps"]
    assert steps[1] == "uv sync"

    tools = tmp_path / "tools"  # only uv from the suite's venv, not its python
    tools.mkdir()
    (tools / "uv").symlink_to(uv)
    started = time.monotonic()
    run = run_steps(steps, user_environment(extra_path=[tools]))
    _, elapsed = served(run, started)
    project = Path(summary["directory"])
    assert (project / "uv.lock").is_file() and (project / ".venv").is_dir()
    assert re.search(r"\d+ passed", run.log()), run.tail()
    figure(
        record_property,
        f"next steps, uv flow ({len(steps)} lines): 200 from /health/ready after {elapsed:.0f} s",
    )


def _pip_version(project: Path) -> tuple[int, ...]:
    shown = subprocess.run(
        [str(project / ".venv" / "bin" / "python"), "-m", "pip", "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.match(r"pip (\d+)\.(\d+)", shown)
    assert match, shown
    return int(match.group(1)), int(match.group(2))
