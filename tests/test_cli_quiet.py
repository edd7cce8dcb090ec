"""Ending the real command the ways users end it: a reader that goes away (`| head`),
Ctrl-C, output that cannot be encoded, a folder that cannot be read. No traceback, ever.

Each runs the installed console script and the bundle's shim as real processes, with
stdout on a real pipe shrunk to one page, so "the reader left before the writer was done"
is certain rather than a race: the output is several times what the pipe holds.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastapi_patterns import cli as command

BIN = Path(sys.executable).parent
SHIM = Path(__file__).resolve().parents[1] / "scripts" / "create_fastapi_app.py"
COMMANDS = {
    "console-script": [str(BIN / "create-fastapi-app")],
    "shim": [sys.executable, str(SHIM)],
}
PIPE_SIZE = 4096
# Python ignores SIGINT when it starts with SIGINT ignored (a background job): give the
# command the default disposition, as an interactive shell would.
INTERACTIVE = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL);"
    " os.execv(sys.argv[1], sys.argv[1:])"
)


@pytest.fixture
def noisy(tmp_path: Path) -> Path:
    """A folder whose detection warns 300 times (dangling links): output of ~20 KiB."""
    root = tmp_path / "noisy"
    root.mkdir()
    for index in range(300):
        (root / f"dangling-link-number-{index:03}").symlink_to(f"missing/target-{index:03}")
    return root


def environment(home: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(home), "LC_ALL": "C.UTF-8", **extra}


def small_pipe() -> tuple[int, int]:
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    assert fcntl.fcntl(write_end, fcntl.F_GETPIPE_SZ) == PIPE_SIZE
    return read_end, write_end


def read_line(fd: int) -> bytes:
    """One line, byte by byte, so nothing beyond it is taken from the pipe."""
    line = b""
    while not line.endswith(b"\n"):
        byte = os.read(fd, 1)
        assert byte, f"the command ended before writing a line: {line!r}"
        line += byte
    return line


def invocations(noisy: Path) -> Iterator[tuple[str, list[str]]]:
    for name, prefix in COMMANDS.items():
        yield f"{name} generate", [*prefix, "demo", "--dir", str(noisy / "demo"), "--dry-run"]
        yield f"{name} detect", [*prefix, "--detect", str(noisy), "--json"]


def test_output_is_larger_than_the_pipe(noisy: Path) -> None:
    # The premise of the tests below: each command writes far more than the pipe holds.
    for label, args in invocations(noisy):
        done = subprocess.run(
            args, env=environment(noisy.parent), capture_output=True, timeout=60, check=False
        )
        assert done.returncode == 0, (label, done.stderr)
        assert len(done.stdout) > 3 * PIPE_SIZE, (label, len(done.stdout))


@contextlib.contextmanager
def reaped(child: subprocess.Popen[bytes]) -> Iterator[None]:
    """A failed assertion must not leave the command running into later tests."""
    try:
        yield
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        if child.stderr is not None:
            child.stderr.close()


def test_a_reader_going_away_ends_the_command_quietly(noisy: Path) -> None:
    for label, args in invocations(noisy):
        read_end, write_end = small_pipe()
        child = subprocess.Popen(
            args, stdout=write_end, stderr=subprocess.PIPE, env=environment(noisy.parent)
        )
        with reaped(child):
            os.close(write_end)
            first = read_line(read_end)
            os.close(read_end)  # `| head -1` exits here
            _, stderr = child.communicate(timeout=60)
        assert first.strip(), label
        assert child.returncode == 141, (label, child.returncode, stderr)
        assert stderr == b"", (label, stderr)
    assert not (noisy / "demo").exists()


def test_ctrl_c_ends_the_command_quietly_with_130(noisy: Path) -> None:
    for label, args in invocations(noisy):
        read_end, write_end = small_pipe()
        child = subprocess.Popen(
            [sys.executable, "-c", INTERACTIVE, *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=environment(noisy.parent),
        )
        with reaped(child):
            os.close(write_end)
            read_line(read_end)  # it is inside the command, and cannot finish: the pipe is full
            child.send_signal(signal.SIGINT)
            with os.fdopen(read_end, "rb") as rest:
                rest.read()
            stderr = child.communicate(timeout=60)[1]
        assert child.returncode == 130, (label, child.returncode, stderr)
        assert stderr == b"", (label, stderr)


CLOSED_STDOUT = "import os, sys; os.close(1); os.execv(sys.argv[1], sys.argv[1:])"


def test_output_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("from fastapi import FastAPI\napp = FastAPI()\n")
    for name, prefix in COMMANDS.items():
        with open("/dev/full", "wb") as full:  # every write fails: ENOSPC
            done = subprocess.run(
                [*prefix, "--detect", str(tmp_path), "--json"],
                stdout=full,
                stderr=subprocess.PIPE,
                env=environment(tmp_path),
                timeout=60,
                check=False,
            )
        assert done.returncode == 1, (name, done.stderr)
        assert done.stderr == b"create-fastapi-app: error: No space left on device\n", name
        # Started with stdout closed (`>&-`): nothing to print to, nothing to complain about.
        closed = subprocess.run(
            [sys.executable, "-c", CLOSED_STDOUT, *prefix, "--detect", str(tmp_path)],
            stderr=subprocess.PIPE,
            env=environment(tmp_path),
            timeout=60,
            check=False,
        )
        assert (closed.returncode, closed.stderr) == (0, b""), name


def test_paths_that_are_not_utf8_are_printed_escaped(tmp_path: Path) -> None:
    # A UTF-8 terminal (strict encoding) and a folder whose name is not UTF-8.
    odd = tmp_path / os.fsdecode(b"caf\xe9")
    odd.mkdir()
    (odd / os.fsdecode(b"\xff-link")).symlink_to("missing")
    for name, prefix in COMMANDS.items():
        for args in (["--detect", str(odd)], ["svc", "--dir", str(odd / "svc"), "--dry-run"]):
            done = subprocess.run(
                [*prefix, *args],
                env=environment(tmp_path, PYTHONIOENCODING="utf-8:strict"),
                capture_output=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, (name, args, done.stderr)
            assert done.stderr == b"", (name, args, done.stderr)
            assert b"caf\\udce9" in done.stdout, (name, args, done.stdout)
        missing = subprocess.run(
            [*prefix, "--detect", str(tmp_path / os.fsdecode(b"\xfe")), "--json"],
            env=environment(tmp_path, PYTHONIOENCODING="ascii:strict"),
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert missing.returncode == 2, (name, missing.stderr)
        assert "does not exist" in json.loads(missing.stdout)["error"]
        assert missing.stderr.count(b"\n") == 1 and b"Traceback" not in missing.stderr


def _as_nobody(args: list[str]) -> tuple[int, str]:
    """The command's main() in a child that dropped to `nobody` (root ignores modes)."""
    nobody = pwd.getpwnam("nobody")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        code = 99
        try:
            os.close(read_end)
            sys.stderr = os.fdopen(write_end, "w", buffering=1)
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the child exits right after
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            code = command.main(args)
        except BaseException as error:  # reported through the pipe
            sys.stderr.write(f"child failed: {error!r}\n")
        finally:
            sys.stderr.flush()
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        stderr = pipe.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), stderr


def test_a_folder_that_cannot_be_read_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    base = Path(tempfile.mkdtemp(prefix="cfa-unreadable-"))  # outside pytest's 0700 tree
    try:
        base.chmod(0o755)
        locked = base / "locked"
        locked.mkdir()
        (locked / "main.py").write_text("from fastapi import FastAPI\napp = FastAPI()\n")
        locked.chmod(0o000)
        if os.geteuid() == 0:
            code, stderr = _as_nobody(["--detect", str(locked)])
        else:
            code = command.main(["--detect", str(locked)])
            stderr = capsys.readouterr().err
        assert code == 2, stderr
        assert stderr == f"create-fastapi-app: error: {locked} cannot be read: Permission denied\n"
    finally:
        (base / "locked").chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)
