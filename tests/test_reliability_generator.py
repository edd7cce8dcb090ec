"""Issue 6.9: the generator under bad input, through the installed command and real templates.

Unit tests already cover the pieces in-process with small fake template trees:
test_options.py (names: path separators, keywords, non-ASCII, shadowing), test_cli.py
(exit codes, conflicts, --force, the shim), test_write.py (all-or-nothing writes, a
failure midway via an injected replace, a read-only directory as `nobody`) and
test_detect_fuzz.py (the detector's parsers and random trees). This module adds what
only the real command shows: argv decoding and stderr encoding, the real template set,
a write that really fails halfway through (RLIMIT_FSIZE), a read-only target, and
detection of a hostile tree (FIFOs, symlink loops, binary and broken files).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

# Imported here, not in the forked child: a child that dropped to `nobody` may not be
# allowed to read the interpreter's own library (a Python installed under /root).
from fastapi_patterns import cli as command
from fastapi_patterns import generate, options, render, write  # noqa: F401 - see above
from reliability import figure

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("rel-generator")]

CLI = str(Path(sys.executable).parent / "create-fastapi-app")
ERROR = "create-fastapi-app: error: "


def cli(
    *args: str | bytes, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": os.environ["PATH"], "HOME": str(cwd), "LC_ALL": "C"}
    environment.update(env or {})
    return subprocess.run(
        [CLI, *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        errors="backslashreplace",
        timeout=120,
        check=False,
    )


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every entry below root: file contents, and directories as markers."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        found[relative] = path.read_bytes() if path.is_file() else "dir"
    return found


BAD_NAMES: list[str | bytes] = [
    "",
    "../evil",
    "a/b",
    "a\\b",
    "/absolute",
    ".",
    "..",
    "class",
    "import",
    "json",
    "fastapi",
    "ünïcode",
    "名前",
    "🚀-app",
    "a b",
    "tab\there",
    "new\nline",
    "right-to-left-\u202eexe.py",
    b"\xff\xfe-not-utf8",
]


def test_bad_names_through_the_command_exit_2_with_one_line(
    tmp_path: Path, record_property: Any
) -> None:
    for name in BAD_NAMES:
        result = cli(name, cwd=tmp_path)
        shown = repr(name)
        assert result.returncode == 2, (shown, result.stderr)
        assert result.stdout == "", (shown, result.stdout)
        assert result.stderr.startswith(ERROR), (shown, result.stderr)
        assert result.stderr.count("\n") == 1, (shown, result.stderr)  # one line, even for \n
        assert "Traceback" not in result.stderr, (shown, result.stderr)
        assert list(tmp_path.iterdir()) == [], (shown, list(tmp_path.iterdir()))
    as_json = cli("ünïcode", "--json", cwd=tmp_path)
    assert (
        as_json.returncode == 2
        and "not a valid distribution name" in json.loads(as_json.stdout)["error"]
    )
    figure(
        record_property,
        f"{len(BAD_NAMES)} bad names through the real command (LC_ALL=C): exit 2, one line, "
        "nothing written",
    )


@pytest.mark.parametrize("where", ["name", "dir"])
def test_overlong_names_are_a_clear_error(where: str, tmp_path: Path) -> None:
    long = "a" * 300
    args = [long] if where == "name" else ["svc", "--dir", long]
    result = cli(*args, cwd=tmp_path)
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode in (1, 2) and result.stderr.startswith(ERROR), result.stderr
    assert list(tmp_path.iterdir()) == []


def test_existing_files_are_listed_and_never_clobbered(tmp_path: Path) -> None:
    target = tmp_path / "svc"
    target.mkdir()
    (target / "README.md").write_text("my own notes\n")
    (target / "pyproject.toml").write_text('[project]\nname = "mine"\n')
    (target / "keep.txt").write_text("unrelated\n")
    before = snapshot(target)
    refused = cli("svc", "--db", "postgresql", "--redis", cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert "README.md" in refused.stderr and "pyproject.toml" in refused.stderr
    assert "--force" in refused.stderr
    assert snapshot(target) == before
    forced = cli("svc", "--db", "postgresql", "--redis", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert (target / "keep.txt").read_text() == "unrelated\n"
    assert (target / "README.md").read_text() != "my own notes\n"


def _as_nobody(target: Path, args: list[str]) -> tuple[int, str]:
    """Run the command's main() in a child that dropped to `nobody` (root ignores modes)."""
    nobody = pwd.getpwnam("nobody")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        code = 99
        try:
            os.close(read_end)
            # pytest captures sys.stderr in this process; the command's output goes here.
            sys.stderr = os.fdopen(write_end, "w", buffering=1)
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the child exits right after
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            os.chdir(target.parent)
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


def test_read_only_target_is_a_clear_error(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = Path(tempfile.mkdtemp(prefix="cfa-ro-"))  # outside pytest's 0700 tree
    try:
        base.chmod(0o755)
        target = base / "readonly"
        target.mkdir()
        target.chmod(0o555)
        args = ["svc", "--dir", str(target / "svc"), "--db", "sqlite"]
        if os.geteuid() == 0:
            code, stderr = _as_nobody(target, args)
        else:
            result = cli(*args, cwd=base)
            code, stderr = result.returncode, result.stderr
        assert code == 1, stderr
        assert stderr.startswith(f"{ERROR}Cannot write to {target / 'svc'}: Permission denied"), (
            stderr
        )
        assert list(target.iterdir()) == []
    finally:
        shutil.rmtree(base, ignore_errors=True)


# Runs the real command with writes limited to FILE_LIMIT bytes per file: small files are
# written, the first larger one fails with EFBIG ("File too large"), halfway through.
FILE_LIMIT = 2000
# The limited process must not write bytecode caches: a .pyc larger than the limit is written
# short without an error (a partial write returns a count, importlib does not check it) and
# then breaks every later import of that module, in every test that follows (found when the
# suite ran shuffled and this test was the first to import fastapi_patterns.generate).
LIMITED = """
import os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of killing the process
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
os.execv(sys.argv[1], sys.argv[1:])
"""


@pytest.mark.parametrize("existing", [False, True], ids=["new-folder", "existing-project"])
def test_a_write_failing_midway_leaves_everything_as_it_was(
    existing: bool, tmp_path: Path, record_property: Any
) -> None:
    target = tmp_path / "svc"
    if existing:
        target.mkdir()
        (target / "README.md").write_text("my own notes\n")
        (target / "keep.txt").write_text("unrelated\n")
    before = snapshot(tmp_path)
    wrapper = [sys.executable, "-c", LIMITED.format(limit=FILE_LIMIT), CLI]
    result = subprocess.run(
        [*wrapper, "svc", "--db", "postgresql", "--redis", "--force"],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "File too large" in result.stderr and "nothing was changed" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(tmp_path) == before  # no staging folder, no half project, originals kept
    # Control: without the limit the same command writes the project.
    written = cli("svc", "--db", "postgresql", "--redis", "--force", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    sizes = [path.stat().st_size for path in target.rglob("*") if path.is_file()]
    assert min(sizes) < FILE_LIMIT < max(sizes)  # so the failure came after some writes
    if existing:
        figure(
            record_property,
            f"write failing midway (RLIMIT_FSIZE {FILE_LIMIT} B, {len(sizes)} files planned): "
            "exit 1, target byte-identical before and after",
        )


def _hostile_tree(root: Path) -> None:
    root.mkdir()
    (root / "pyproject.toml").write_text('[project\nname = "broken')
    (root / ".env").write_bytes(b"\xff\xfe\x00DATABASE_URL=\x00")
    (root / "compose.yaml").write_text("services:\n\t- db: [\n")
    (root / "Dockerfile").write_bytes(b"\x00\x01\x02\x03")
    (root / ".python-version").write_text("banana\n")
    (root / "requirements.txt").write_text("fastapi>=\n-r missing.txt\n--weird\n")
    (root / "setup.cfg").mkdir()  # a folder where a file is expected
    (root / "main.py").write_text("from fastapi import FastAPI\napp = FastAPI(\n")
    (root / "package.json").write_text('{"name": 1')
    (root / "Pipfile").write_bytes(b"x" * (3 << 20))  # bigger than any config file
    (root / "loop-a").symlink_to("loop-b")
    (root / "loop-b").symlink_to("loop-a")
    (root / "dangling").symlink_to("/nonexistent/target")
    (root / "outside").symlink_to("/etc")
    os.mkfifo(root / "docker-compose.yml")  # opening a FIFO for reading would block
    os.mkfifo(root / ".env.local")
    (root / os.fsdecode(b"\xff\xfe.toml")).write_text("x = 1\n")
    deep = root
    for level in range(40):
        deep = deep / f"d{level}"
    deep.mkdir(parents=True)
    (deep / "main.py").write_text("from fastapi import FastAPI\napp = FastAPI()\n")


def test_hostile_files_during_detection_are_warnings_not_crashes(
    tmp_path: Path, record_property: Any
) -> None:
    root = tmp_path / "hostile"
    _hostile_tree(root)
    detected = cli("--detect", str(root), "--json", cwd=tmp_path)
    assert detected.returncode == 0, detected.stderr
    assert "Traceback" not in detected.stderr
    report = json.loads(detected.stdout)
    warnings = "\n".join(report["warnings"])
    for name in ("pyproject.toml", "compose.yaml", "Dockerfile", ".env", "main.py", "loop-a"):
        assert name in warnings, (name, warnings)
    assert report["existing_fastapi"] is False  # the only valid app is below MAX_DEPTH

    generated = cli("svc", "--dir", str(root / "svc"), "--db", "sqlite", cwd=tmp_path)
    assert generated.returncode == 0, generated.stderr
    assert "Traceback" not in generated.stderr
    shown = [line for line in generated.stdout.splitlines() if line.startswith("warning: ")]
    assert len(shown) >= 5, generated.stdout
    assert (root / "svc" / "svc" / "main.py").is_file()
    figure(
        record_property,
        f"hostile tree (FIFOs, symlink loops, binary, broken TOML/YAML/JSON/Python, a 3 MiB "
        f"config, a non-UTF-8 file name, 40 levels deep): detection exit 0 with "
        f"{len(report['warnings'])} warnings, generation exit 0",
    )
