"""Boot a generated project under a real uvicorn process and talk HTTP to it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

STARTUP_DEADLINE = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(**values: str) -> dict[str, str]:
    """A minimal environment: nothing from the developer's shell leaks into the service."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    env.update(values)
    return env


class Service:
    """A uvicorn process serving `package.main:app` from a generated project folder."""

    def __init__(
        self,
        project: Path,
        package: str,
        env: dict[str, str],
        *,
        src_layout: bool = False,
        workers: int = 1,
        python: str = sys.executable,
        uvicorn_cli: bool = False,
    ) -> None:
        self.project = project
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = dict(env)
        if uvicorn_cli:
            self.command = [
                python, "-m", "uvicorn", f"{package}.main:app", "--host", "127.0.0.1",
                "--port", str(self.port), "--no-access-log", "--workers", str(workers),
            ]  # fmt: skip
            if src_layout:
                self.command += ["--app-dir", "src"]
        else:
            # The project's own entry point, as its container runs it.
            self.command = [python, "-m", package]
            env.update(HOST="127.0.0.1", PORT=str(self.port), WEB_CONCURRENCY=str(workers))
            if src_layout:
                env["PYTHONPATH"] = "src"
        self.env = env
        self.log_path = project / f".uvicorn-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=self.base_url, timeout=10.0)

    def start(self, *, wait_path: str = "/health/live") -> Self:
        log = self.log_path.open("wb")
        try:
            self.process = subprocess.Popen(
                self.command, cwd=self.project, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        finally:
            log.close()
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {self.process.returncode}:\n{self.log()}")
            try:
                if self.client.get(wait_path, timeout=1.0).status_code < 500:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)  # polling interval while the server binds, bounded by the deadline
        self.kill()
        raise RuntimeError(
            f"uvicorn did not answer {wait_path} in {STARTUP_DEADLINE}s:\n{self.log()}"
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        finally:
            self.client.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.client.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.kill()


def run(
    command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
