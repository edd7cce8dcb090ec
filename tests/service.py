"""Boot a generated project under a real uvicorn or granian process and talk HTTP to it.

The service binds port 0, so the kernel gives it a port no other process holds, and
tells us which: uvicorn in its own log ("Uvicorn running on http://127.0.0.1:PORT"),
granian (which logs the port it was given, 0) through the socket its worker listens on,
read from /proc. There is no window in which another process could take the port between
picking and binding it, and what answers on it is the service itself.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

STARTUP_DEADLINE = 60.0
_LISTENING = re.compile(rb"Uvicorn running on http://127\.0\.0\.1:(\d+) ")
_STARTED = b"Application startup complete."
# Logged by each granian worker once the app's lifespan has started.
_GRANIAN_STARTED = re.compile(rb"Started worker-\d+")
_LOG_NUMBERS = itertools.count(1)


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port on which every connection is refused, for as long as the block runs.

    The socket is bound but never listens: the kernel answers a connection attempt with a
    reset, and no other process can bind the port meanwhile (a released "free" port could
    be taken by anyone before the test uses it).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def base_env(**values: str) -> dict[str, str]:
    """A minimal environment: nothing from the developer's shell leaks into the service."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    env.update(values)
    return env


def listening_ports(pid: int) -> set[int]:
    """The TCP ports process `pid` and its descendants listen on (Linux /proc)."""
    pids, sockets = [pid], set()
    while pids:
        current = pids.pop()
        with contextlib.suppress(OSError):  # a process that just ended
            for task in os.listdir(f"/proc/{current}/task"):
                children = Path(f"/proc/{current}/task/{task}/children").read_text()
                pids += [int(child) for child in children.split()]
            for fd in os.listdir(f"/proc/{current}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{current}/fd/{fd}")
                    if target.startswith("socket:["):
                        sockets.add(target.removeprefix("socket:[").removesuffix("]"))
    ports = set()
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and fields[9] in sockets:  # 0A: LISTEN
            ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


class Service:
    """A uvicorn (or granian) process serving `package.main:app` from a generated project
    folder; `server` names what the project's `python -m package` runs."""

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
        server: str = "uvicorn",
    ) -> None:
        self.project = project
        self.workers = workers
        self.server = "uvicorn" if uvicorn_cli else server
        # Known once the service has said where it listens (start()).
        self.port = 0
        self.base_url = ""
        env = dict(env)
        if uvicorn_cli:
            self.command = [
                python, "-m", "uvicorn", f"{package}.main:app", "--host", "127.0.0.1",
                "--port", "0", "--no-access-log", "--workers", str(workers),
            ]  # fmt: skip
            if src_layout:
                self.command += ["--app-dir", "src"]
        else:
            # The project's own entry point, as its container runs it.
            self.command = [python, "-m", package]
            env.update(HOST="127.0.0.1", PORT="0", WEB_CONCURRENCY=str(workers))
            if src_layout:
                env["PYTHONPATH"] = "src"
        self.env = env
        self.log_path = project / f".{self.server}-{os.getpid()}-{next(_LOG_NUMBERS)}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(timeout=10.0)

    def start(self, *, wait_path: str = "/health/live") -> Self:
        """Start the service; return once every worker has started and `wait_path` answers."""
        log = self.log_path.open("wb")
        try:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.project,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                # granian serves from worker processes: kill() reaches them through the group.
                start_new_session=self.server == "granian",
            )
        finally:
            log.close()
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.server} exited with {self.process.returncode}:\n{self.log()}"
                )
            if self._started() and self._answers(wait_path):
                return self
            time.sleep(0.05)  # polling interval while the server starts, bounded by the deadline
        self.kill()
        raise RuntimeError(
            f"{self.server} did not answer {wait_path} in {STARTUP_DEADLINE}s:\n{self.log()}"
        )

    def _started(self) -> bool:
        """True once the log names the port and every worker has run its startup."""
        text = self.log_path.read_bytes() if self.log_path.exists() else b""
        if self.server == "granian":
            if len(_GRANIAN_STARTED.findall(text)) < self.workers:
                return False
            assert self.process is not None
            ports = listening_ports(self.process.pid)
            if len(ports) != 1:  # each worker binds port 0 alone: one worker, one port
                return False
            port = ports.pop()
        else:
            listening = _LISTENING.search(text)
            if listening is None or text.count(_STARTED) < self.workers:
                return False
            port = int(listening.group(1))
        if not self.port:
            self.port = port
            self.base_url = f"http://127.0.0.1:{self.port}"
            self.client.base_url = httpx.URL(self.base_url)
        return True

    def _answers(self, path: str) -> bool:
        try:
            return self.client.get(path, timeout=1.0).status_code < 500
        except httpx.TransportError:
            return False

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
            if self.server == "granian":
                os.killpg(self.process.pid, signal.SIGKILL)
            else:
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
