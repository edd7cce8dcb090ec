"""A uvicorn process pinned to the server CPU: start, wait until healthy, read RSS, stop."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Self

SERVER_CPU = "0"  # wrk owns CPU 1
HOST = "127.0.0.1"
_POLL = 0.005  # seconds between readiness probes: small, so cold-start figures stay sharp


class ServerError(RuntimeError):
    """The server did not start, answer or stop as expected."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def clean_env(**values: str) -> dict[str, str]:
    """PATH and locale only: nothing from the caller's shell changes what is measured."""
    env = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8"}
    env["HOME"] = os.environ.get("HOME", "/tmp")
    env.update(values)
    return env


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


class Uvicorn:
    """`uvicorn APP` with one worker, uvloop and httptools, uvicorn's access log off (on
    with `access_log`, as `fastapi run` serves)."""

    def __init__(
        self,
        app: str,
        *,
        app_dir: Path,
        cwd: Path,
        env: dict[str, str],
        log_path: Path,
        pin: bool = True,
        access_log: bool = False,
        loop: str = "uvloop",
    ) -> None:
        self.port = free_port()
        self.loop = loop
        self.cwd = cwd
        self.env = self._server_env(env, app_dir)
        self.log_path = log_path
        self.command = self._server_command(app, app_dir, access_log)
        if pin:
            self.command[:0] = ["taskset", "-c", SERVER_CPU]  # taskset execs: same pid
        self.process: subprocess.Popen[bytes] | None = None

    def _server_env(self, env: dict[str, str], app_dir: Path) -> dict[str, str]:
        """The environment the server runs with (uvicorn finds the app by --app-dir)."""
        return env

    def _server_command(self, app: str, app_dir: Path, access_log: bool) -> list[str]:
        return [
            sys.executable,
            *("-m", "uvicorn", app, "--app-dir", str(app_dir)),
            *("--host", HOST, "--port", str(self.port), "--workers", "1"),
            *("--loop", self.loop, "--http", "httptools"),
            "--access-log" if access_log else "--no-access-log",
        ]

    def worker_pid(self) -> int:
        """The process that runs the app (uvicorn's one worker is the process itself)."""
        if self.process is None:
            raise ServerError("The server is not running.")
        return self.process.pid

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def start(
        self, wait_path: str, headers: dict[str, str] | None = None, timeout: float = 60
    ) -> float:
        """Start and poll `wait_path` until it answers 200; returns the seconds that took."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            started = time.perf_counter()
            self.process = subprocess.Popen(
                self.command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"uvicorn exited with {self.process.returncode}:\n{self.log()}")
            try:
                if get(self.port, wait_path, headers)[0] == 200:
                    return time.perf_counter() - started
            except OSError:
                pass
            time.sleep(_POLL)
        self.stop()
        raise ServerError(f"{wait_path} did not answer 200 within {timeout:g}s:\n{self.log()}")

    def status_kb(self, field: str) -> int:
        """A memory field of /proc/PID/status (VmRSS, VmHWM) in KiB."""
        if self.process is None:
            raise ServerError("The server is not running.")
        status = Path(f"/proc/{self.worker_pid()}/status")
        for line in status.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise ServerError(f"{status} has no {field} line.")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class Granian(Uvicorn):
    """The same app under granian: one worker process (a child of granian's own), uvloop,
    granian's access log off (the generated app writes its own)."""

    def _server_env(self, env: dict[str, str], app_dir: Path) -> dict[str, str]:
        # granian imports the target from its working directory; the app may live elsewhere.
        path = ":".join(filter(None, [str(app_dir), env.get("PYTHONPATH")]))
        return env | {"PYTHONPATH": path}

    def _server_command(self, app: str, app_dir: Path, access_log: bool) -> list[str]:
        return [
            str(Path(sys.executable).with_name("granian")),
            *("--interface", "asgi", "--host", HOST, "--port", str(self.port)),
            *("--workers", "1", "--loop", "uvloop"),
            "--access-log" if access_log else "--no-access-log",
            app,
        ]

    def worker_pid(self) -> int:
        main = super().worker_pid()
        children = Path(f"/proc/{main}/task/{main}/children").read_text().split()
        if len(children) != 1:
            raise ServerError(f"granian {main} has {len(children)} worker processes, not 1.")
        return int(children[0])


SERVERS = {"uvicorn": Uvicorn, "granian": Granian}
