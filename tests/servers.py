"""Throwaway PostgreSQL, MariaDB and Redis servers for tests.

Each server is a child process listening on a loopback port, with its data in a
temporary directory:

    with PostgresServer() as pg:             # start() on enter, close() on exit
        url = pg.create_database("app")      # postgresql://postgres@127.0.0.1:PORT/app
        pg.kill()                            # outage: SIGKILL, connections now fail
        pg.restart()                         # back on the same port with the same data

stop() shuts a server down gracefully but keeps its data, so start() or restart()
brings it back on the same port (clients keep their URLs). Ports come from a range
that only this process picks from (see _owned_ports), and stay reserved to their server
until close(), so a stopped server's port is still free when it starts again. close()
stops it and removes its directory. An atexit hook kills whatever an interrupted run left behind.
Redis runs without persistence, so its data does not survive a stop or kill.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

LOOPBACK = "127.0.0.1"
_PORT_ATTEMPTS = 3
_POLL_INTERVAL = 0.02
_LOG_TAIL_LINES = 25
_DATABASE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class ServerError(RuntimeError):
    """A throwaway server could not be started, stopped or used."""


class _PortInUse(Exception):
    """The server lost the race for its port to another process."""


def require_binary(name_or_path: str, why: str) -> str:
    """Return the program's full path, or skip the calling test when it is missing.

    Under CI (see tests/ci.py) a missing program fails the test instead: CI must never
    silently skip the tests that need real servers.
    """
    import pytest  # only this helper needs pytest; the servers themselves do not

    from ci import in_ci  # the suite's one answer to "is this CI?"

    found = shutil.which(name_or_path)
    if found:
        return found
    message = f"The program {name_or_path!r} is not installed, and {why}."
    if in_ci():
        pytest.fail(
            f"{message} CI=true, so this is a failure rather than a skip: "
            "install the server packages (.ci/run does).",
            pytrace=False,
        )
    pytest.skip(f"{message} Install it (see .ci/run) to run this test.")


# The lowest port handed out; below it live well-known and registered services.
_OWNED_FLOOR = 10000
# Ports some Server of this process holds, from its first start until close(): never
# offered again meanwhile, so a stopped server can restart on its own port.
_RESERVED: set[int] = set()
_PICK = random.Random()  # private: pytest-randomly reseeds the global generator per test


def _owned_ports() -> range:
    """The ports this process picks from.

    They lie below the kernel's ephemeral range, so no port-0 bind (uvicorn under test
    binds port 0) and no outgoing connection is ever given one; and each pytest-xdist
    worker has a slice of its own, so the other worker never picks one of ours. What is
    left is a program outside the suite that listens on a fixed port in the slice, which
    start() steps around.
    """
    try:
        ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral = 32768  # Linux's default
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    index = int(worker) if worker.isdigit() else 0
    size = (ephemeral - _OWNED_FLOOR) // max(workers, 1)
    if size < 100:
        raise ServerError(
            f"The ephemeral port range starts at {ephemeral}, leaving too few ports below it "
            f"for {workers} test workers; lower PYTEST_WORKERS or the range's start."
        )
    start = _OWNED_FLOOR + index * size
    return range(start, start + size)


def _free_port() -> int:
    """A port of this process's slice that no server of ours holds and nothing listens on."""
    owned = _owned_ports()
    for _ in range(len(owned)):
        port = _PICK.choice(owned)
        if port in _RESERVED:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((LOOPBACK, port))
            except OSError:
                continue  # a program outside the suite has it
        return port
    raise ServerError(f"No free port left in {owned}.")


def _find_program(names: Sequence[str], extra_dirs: Sequence[str] = ()) -> str | None:
    search = os.pathsep.join([os.environ.get("PATH", os.defpath), *extra_dirs])
    for name in names:
        found = shutil.which(name, path=search)
        if found:
            return found
    return None


def _client_env(*prefixes: str) -> dict[str, str]:
    # Variables like PGSSLMODE or MYSQL_PWD would change how the clients connect.
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def _group_has_live_members(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    # Unreaped zombies still count for killpg, but they hold no ports or shared memory.
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_INTERVAL)


class Server:
    """A server process on a free loopback port with its data in a temporary directory."""

    kind: ClassVar[str]
    TOOLS: ClassVar[tuple[str, ...]]
    # Signal for a graceful shutdown of the main process.
    stop_signal: ClassVar[signal.Signals] = signal.SIGTERM
    # What the server logs (lower-cased) once it listens: proof that a ping was
    # answered by this process, not by whoever else might hold the port.
    ready_marker: ClassVar[str]

    def __init__(
        self,
        *,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 60.0,
        shutdown_timeout: float = 30.0,
    ) -> None:
        self.host = LOOPBACK
        self.port: int | None = None
        self.directory: Path | None = None
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.shutdown_timeout = shutdown_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    # -- hooks for subclasses -------------------------------------------------------

    @classmethod
    def tool_path(cls, tool: str) -> str:
        """Full path of one of TOOLS, or its bare name when it cannot be found."""
        raise NotImplementedError

    def _initialise(self) -> None:
        """Create the server's data files in self.directory (once per server)."""

    def _command(self, port: int) -> list[str]:
        raise NotImplementedError

    def _ping(self, port: int) -> bool:
        """True once the server accepts connections on the port."""
        raise NotImplementedError

    def _process_options(self) -> dict[str, Any]:
        """Extra subprocess options for every server program (e.g. which user runs it)."""
        return {}

    # -- lifecycle ------------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def log_path(self) -> Path:
        return self._require_directory() / "server.log"

    def start(self) -> Self:
        """Start the server and wait until it accepts connections; a no-op if it runs."""
        if self.is_running:
            return self
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix=f"test-{self.kind.lower()}-"))
            _LIVE.add(self)
            try:
                self._initialise()
            except BaseException:
                self.close()
                raise
        if self.port is not None:
            # A restart keeps the port: clients hold URLs that name it.
            try:
                self._launch(self.port)
            except _PortInUse:
                raise ServerError(
                    f"{self.kind} could not restart because a process outside the suite now "
                    f"listens on port {self.port}.\n{self._log_tail()}"
                ) from None
            return self
        for _ in range(_PORT_ATTEMPTS):
            port = _free_port()
            try:
                self._launch(port)
            except _PortInUse:
                continue
            self.port = port
            _RESERVED.add(port)
            return self
        raise ServerError(
            f"{self.kind} found its port taken by another process {_PORT_ATTEMPTS} times "
            f"in a row.\n{self._log_tail()}"
        )

    def stop(self) -> None:
        """Shut the server down gracefully and wait for it; its data is kept."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(self.stop_signal)
            try:
                process.wait(self.shutdown_timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise ServerError(
                    f"{self.kind} on port {self.port} did not shut down within "
                    f"{self.shutdown_timeout:g} seconds of {self.stop_signal.name}, so it "
                    f"was killed.\n{self._log_tail()}"
                ) from None
        self._process = None
        _wait_for(lambda: not _group_has_live_members(process.pid), self.shutdown_timeout)

    def kill(self) -> None:
        """SIGKILL the server and all its processes, like a crash; its data is kept."""
        process = self._process
        if process is None:
            return
        self._process = None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # its own session: pgid == pid
        process.wait()
        _wait_for(lambda: not _group_has_live_members(process.pid), self.shutdown_timeout)

    def restart(self) -> Self:
        """Stop the server if it runs, then start it again on the same port."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the server and delete its directory; it can be started afresh later."""
        try:
            self.stop()
        finally:
            self._discard()

    def _discard(self) -> None:
        self.kill()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
        self.directory = None
        if self.port is not None:
            _RESERVED.discard(self.port)
        self.port = None
        _LIVE.discard(self)

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return f"<{type(self).__name__} {self.host}:{self.port} {state}>"

    # -- helpers --------------------------------------------------------------------

    def _launch(self, port: int) -> None:
        directory = self._require_directory()
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            process = subprocess.Popen(
                self._command(port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=directory,
                # Own process group: kill() reaches every child, and Ctrl-C in the
                # terminal does not shut the server down under a running test.
                start_new_session=True,
                **self._process_options(),
            )
        self._process = process
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            code = process.poll()
            if code is not None:
                self._process = None
                if "Address already in use" in self._log_since_launch():
                    raise _PortInUse
                raise ServerError(
                    f"{self.kind} exited with code {code} while starting on port {port}."
                    f"\n{self._log_tail()}"
                )
            if self.ready_marker in self._log_since_launch().lower() and self._ping(port):
                return
            time.sleep(_POLL_INTERVAL)
        self.kill()
        raise ServerError(
            f"{self.kind} did not accept connections on port {port} within "
            f"{self.startup_timeout:g} seconds, so it was killed.\n{self._log_tail()}"
        )

    def _run_logged(self, command: list[str], what: str) -> None:
        """Run a setup program (initdb, install-db) with its output in the server log."""
        with open(self.log_path, "ab") as log:
            try:
                result = subprocess.run(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.directory,
                    timeout=self.startup_timeout,
                    check=False,
                    **self._process_options(),
                )
            except subprocess.TimeoutExpired:
                raise ServerError(
                    f"{what} did not finish within {self.startup_timeout:g} seconds."
                    f"\n{self._log_tail(whole=True)}"
                ) from None
        if result.returncode != 0:
            raise ServerError(
                f"{what} failed with exit code {result.returncode}.\n{self._log_tail(whole=True)}"
            )

    def _run_client(self, command: list[str], what: str, env: dict[str, str]) -> str:
        """Run a command-line client against the server and return its output."""
        try:
            result = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                env=env,
                timeout=30,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ServerError(
                f"{what} on {self.kind} at port {self.port} did not finish within 30 seconds."
            ) from None
        if result.returncode != 0:
            raise ServerError(
                f"{what} on {self.kind} at port {self.port} failed with exit code "
                f"{result.returncode}: {result.stderr.strip() or result.stdout.strip()}"
            )
        return result.stdout

    def _log_since_launch(self, *, whole: bool = False) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(0 if whole else self._log_offset)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def _log_tail(self, *, whole: bool = False) -> str:
        lines = self._log_since_launch(whole=whole).splitlines()[-_LOG_TAIL_LINES:]
        if not lines:
            return f"Its log ({self.directory}/server.log) is empty."
        body = "\n".join(f"    {line}" for line in lines)
        return f"Last lines of its log ({self.directory}/server.log):\n{body}"

    def _require_directory(self) -> Path:
        if self.directory is None:
            raise ServerError(f"This {self.kind} server has been closed; call start() first.")
        return self.directory

    def _require_port(self) -> int:
        if self.port is None:
            raise ServerError(f"This {self.kind} server has not been started; call start().")
        return self.port


def _database_name(name: str | None) -> str:
    if name is None:
        return f"test_{uuid.uuid4().hex[:12]}"
    if not _DATABASE_NAME.fullmatch(name):
        raise ValueError(
            f"Database name {name!r} must be 1-63 letters, digits or underscores, "
            "not starting with a digit."
        )
    return name


# -- PostgreSQL ---------------------------------------------------------------------


def _postgres_bindir() -> Path | None:
    """PG_BINDIR, else the newest Debian/Ubuntu /usr/lib/postgresql/N/bin."""
    override = os.environ.get("PG_BINDIR")
    if override:
        return Path(override)
    versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()]
    versions.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return versions[-1] if versions else None


class PostgresServer(Server):
    """PostgreSQL with trust authentication for the user `postgres`.

    PostgreSQL refuses to run as root, so under root initdb and postgres run as the
    `postgres` system user and the directory belongs to it.
    """

    kind = "PostgreSQL"
    TOOLS = ("initdb", "postgres", "pg_isready", "psql")
    # SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to leave.
    stop_signal = signal.SIGINT
    ready_marker = "database system is ready to accept connections"
    user = "postgres"

    @classmethod
    def tool_path(cls, tool: str) -> str:
        # Prefer the versioned directory: /usr/bin/psql is a Perl wrapper, slower to start.
        bindir = _postgres_bindir()
        if bindir is not None and (bindir / tool).is_file():
            return str(bindir / tool)
        return shutil.which(tool) or tool

    @property
    def data_directory(self) -> Path:
        return self._require_directory() / "data"

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self._require_port()}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database (dropping one of that name) and return its URL."""
        name = _database_name(name)
        self._run_client(
            [
                *self._psql_command(),
                "-c",
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                "-c",
                f'CREATE DATABASE "{name}"',
            ],
            f"Creating database {name!r}",
            _client_env("PG"),
        )
        return self.url_for(name)

    def execute(self, sql: str, database: str = "postgres") -> str:
        """Run SQL with psql and return its unaligned output (rows as a|b lines)."""
        return self._run_client(
            [*self._psql_command(database), "-A", "-t", "-c", sql],
            "Running SQL",
            _client_env("PG"),
        )

    def _psql_command(self, database: str = "postgres") -> list[str]:
        return [
            self.tool_path("psql"),
            "-X",  # ignore ~/.psqlrc
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            self.host,
            "-p",
            str(self._require_port()),
            "-U",
            self.user,
            "-d",
            database,
        ]

    def _process_options(self) -> dict[str, Any]:
        if os.geteuid() != 0:
            return {}
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            raise ServerError(
                "PostgreSQL refuses to run as root, and there is no 'postgres' system user to "
                "run it as. Install the postgresql package or run the tests as a normal user."
            ) from None
        return {
            "user": account.pw_uid,
            "group": account.pw_gid,
            "extra_groups": os.getgrouplist(account.pw_name, account.pw_gid),
        }

    def _initialise(self) -> None:
        directory = self._require_directory()
        options = self._process_options()
        if options:
            os.chown(directory, options["user"], options["group"])
        self._run_logged(
            [
                self.tool_path("initdb"),
                "--pgdata",
                str(self.data_directory),
                "--auth=trust",
                f"--username={self.user}",
                "--encoding=UTF8",
                "--locale=C",  # exists everywhere, unlike C.UTF-8 or the caller's LANG
                "--no-sync",
            ],
            "initdb",
        )

    def _command(self, port: int) -> list[str]:
        data = str(self.data_directory)
        return [
            self.tool_path("postgres"),
            "-D",
            data,
            "-p",
            str(port),
            "-k",
            data,  # unix socket inside the private directory
            "-c",
            "listen_addresses=" + self.host,
            # Throwaway data need not survive power loss; commits still reach the OS,
            # so they do survive kill().
            "-c",
            "fsync=off",
            "-c",
            "full_page_writes=off",
            *self.extra_args,
        ]

    def _ping(self, port: int) -> bool:
        try:
            result = subprocess.run(
                [
                    self.tool_path("pg_isready"),
                    "-q",
                    "-h",
                    self.host,
                    "-p",
                    str(port),
                    "-U",
                    self.user,
                    "-d",
                    "postgres",
                    "-t",
                    "1",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=_client_env("PG"),
                timeout=5,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return False
        return result.returncode == 0  # 1 means "starting up, rejecting connections"


# -- MariaDB ------------------------------------------------------------------------


class MariaDBServer(Server):
    """MariaDB whose `root` user logs in over TCP from 127.0.0.1 without a password."""

    kind = "MariaDB"
    TOOLS = ("mariadbd", "mariadb-install-db", "mariadb-admin", "mariadb")
    ready_marker = "ready for connections"
    _NAMES: ClassVar[dict[str, tuple[str, ...]]] = {
        "mariadbd": ("mariadbd", "mysqld"),
        "mariadb-install-db": ("mariadb-install-db", "mysql_install_db"),
        "mariadb-admin": ("mariadb-admin", "mysqladmin"),
        "mariadb": ("mariadb", "mysql"),
    }
    _SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/libexec")
    # Small and fast; nothing here needs to survive more than a killed process.
    _TUNING = (
        "--skip-name-resolve",
        "--innodb-buffer-pool-size=32M",
        "--innodb-log-file-size=8M",
        "--innodb-flush-log-at-trx-commit=2",  # written to the OS at commit, no fsync
        "--innodb-doublewrite=0",
        "--performance-schema=OFF",
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_unicode_ci",
    )
    user = "root"

    @classmethod
    def tool_path(cls, tool: str) -> str:
        return _find_program(cls._NAMES.get(tool, (tool,)), cls._SBIN_DIRS) or tool

    @property
    def url(self) -> str:
        return self.url_for("mysql")

    def url_for(self, database: str) -> str:
        return f"mysql://{self.user}@{self.host}:{self._require_port()}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database (dropping one of that name) and return its URL."""
        name = _database_name(name)
        self.execute(f"DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}`")
        return self.url_for(name)

    def execute(self, sql: str, database: str = "mysql") -> str:
        """Run SQL with the mariadb client and return its output (tab-separated rows)."""
        return self._run_client(
            [*self._client_options(self.tool_path("mariadb")), "-N", "-B", database, "-e", sql],
            "Running SQL",
            _client_env("MYSQL", "MARIADB"),
        )

    def _client_options(self, program: str, port: int | None = None) -> list[str]:
        return [
            program,
            "--no-defaults",
            "--protocol=TCP",
            "-h",
            self.host,
            "-P",
            str(port or self._require_port()),
            "-u",
            self.user,
        ]

    def _user_option(self) -> list[str]:
        # mariadbd refuses to run as root unless told to.
        return ["--user=root"] if os.geteuid() == 0 else []

    def _initialise(self) -> None:
        self._run_logged(
            [
                self.tool_path("mariadb-install-db"),
                "--no-defaults",
                f"--datadir={self._require_directory() / 'data'}",
                *self._user_option(),
                "--auth-root-authentication-method=normal",  # root without a password
                "--skip-test-db",
                *self._TUNING,
            ],
            "mariadb-install-db",
        )

    def _command(self, port: int) -> list[str]:
        directory = self._require_directory()
        return [
            self.tool_path("mariadbd"),
            "--no-defaults",
            f"--datadir={directory / 'data'}",
            f"--port={port}",
            f"--bind-address={self.host}",
            f"--socket={directory / 'mysqld.sock'}",
            f"--pid-file={directory / 'mysqld.pid'}",
            f"--tmpdir={directory}",
            *self._user_option(),
            "--skip-log-bin",
            *self._TUNING,
            *self.extra_args,
        ]

    def _ping(self, port: int) -> bool:
        try:
            result = subprocess.run(
                [
                    *self._client_options(self.tool_path("mariadb-admin"), port),
                    "--connect-timeout=1",
                    "ping",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=_client_env("MYSQL", "MARIADB"),
                timeout=5,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return False
        return result.returncode == 0


# -- Redis --------------------------------------------------------------------------


class RedisServer(Server):
    """Redis without persistence: stop(), kill() and restart() lose all keys."""

    kind = "Redis"
    TOOLS = ("redis-server",)
    ready_marker = "ready to accept connections"
    databases = 16

    @classmethod
    def tool_path(cls, tool: str) -> str:
        return _find_program((tool,), ("/usr/sbin", "/usr/local/sbin")) or tool

    @property
    def url(self) -> str:
        return self.url_for_db(0)

    def url_for_db(self, n: int) -> str:
        if not 0 <= n < self.databases:
            raise ValueError(f"Redis database {n} does not exist; use 0 to {self.databases - 1}.")
        return f"redis://{self.host}:{self._require_port()}/{n}"

    def flushall(self) -> None:
        """Delete every key in every database."""
        reply = self._command_reply(self._require_port(), b"FLUSHALL")
        if reply != b"+OK":
            raise ServerError(f"Redis answered FLUSHALL with {reply!r}.")

    def _command(self, port: int) -> list[str]:
        return [
            self.tool_path("redis-server"),
            "--port",
            str(port),
            "--bind",
            self.host,
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--databases",
            str(self.databases),
            "--dir",
            str(self._require_directory()),
            *self.extra_args,
        ]

    def _ping(self, port: int) -> bool:
        try:
            return self._command_reply(port, b"PING", timeout=1) == b"+PONG"  # not -LOADING
        except OSError:
            return False

    def _command_reply(self, port: int, command: bytes, timeout: float = 10) -> bytes:
        """Send an inline command and return its one-line reply without CRLF."""
        with socket.create_connection((self.host, port), timeout=timeout) as sock:
            sock.sendall(command + b"\r\n")
            reply = b""
            while not reply.endswith(b"\r\n"):
                chunk = sock.recv(256)
                if not chunk:
                    raise ConnectionError(f"Redis closed the connection after {command!r}.")
                reply += chunk
        return reply[:-2]


class MongoWireServer(Server):
    """tests/mongo_wire.py: a stand-in that answers a driver's handshake and ping, no data.

    No MongoDB server is installable here (see that module), so this is the one server in
    this file that is not the real thing; it stops and restarts like the others.
    """

    kind = "MongoDB stand-in"
    TOOLS = ()
    ready_marker = "listening on"

    @classmethod
    def tool_path(cls, tool: str) -> str:
        return tool

    @property
    def url(self) -> str:
        return f"mongodb://{self.host}:{self._require_port()}"

    def _command(self, port: int) -> list[str]:
        return [sys.executable, str(Path(__file__).with_name("mongo_wire.py")), str(port)]

    def _ping(self, port: int) -> bool:
        try:
            with socket.create_connection((self.host, port), timeout=1):
                return True
        except OSError:
            return False


# -- safety net ---------------------------------------------------------------------

# Servers with a directory on disk; close() removes them, atexit sweeps the rest.
_LIVE: set[Server] = set()


@atexit.register
def _kill_leftovers() -> None:
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server._discard()
