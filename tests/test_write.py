import os
import stat
from pathlib import Path

import pytest

from fastapi_patterns.write import ConflictError, WriteError, classify, write_files

FILES = {
    "README.md": b"readme\n",
    "pkg/__init__.py": b"",
    "pkg/core/config.py": b"config\n",
    ".gitignore": b".venv/\n",
}


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_writes_every_file_into_a_new_directory(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    result = write_files(target, FILES)
    assert snapshot(target) == FILES
    assert sorted(result.created) == sorted(FILES)
    assert not [p for p in target.iterdir() if p.name.startswith(".create-fastapi-app-")]


def test_existing_different_files_are_conflicts_and_nothing_is_written(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_bytes(b"mine\n")
    with pytest.raises(ConflictError) as raised:
        write_files(tmp_path, FILES)
    assert raised.value.paths == ["README.md"]
    assert "README.md" in str(raised.value) and "--force" in str(raised.value)
    assert snapshot(tmp_path) == {"README.md": b"mine\n"}


def test_identical_files_are_not_conflicts(tmp_path: Path) -> None:
    write_files(tmp_path, FILES)
    result = write_files(tmp_path, FILES)
    assert sorted(result.unchanged) == sorted(FILES)
    assert result.created == [] and result.overwritten == []


def test_force_overwrites(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_bytes(b"mine\n")
    result = write_files(tmp_path, FILES, force=True)
    assert result.overwritten == ["README.md"]
    assert snapshot(tmp_path) == FILES


def test_a_directory_in_the_way_is_a_conflict(tmp_path: Path) -> None:
    (tmp_path / "README.md").mkdir()
    assert classify(tmp_path, FILES).overwritten == ["README.md"]


def test_failure_midway_restores_everything(tmp_path: Path) -> None:
    target = tmp_path / "project"
    target.mkdir()
    (target / "README.md").write_bytes(b"mine\n")
    (target / "keep.txt").write_bytes(b"unrelated\n")
    before = snapshot(target)
    calls = []

    def flaky_replace(src: Path, dst: Path) -> None:
        calls.append(dst)
        if len(calls) == 4:
            raise OSError(28, "No space left on device")
        os.replace(src, dst)

    with pytest.raises(WriteError, match=r"No space left on device.*nothing was changed"):
        write_files(target, FILES, force=True, replace=flaky_replace)
    assert len(calls) == 4
    assert snapshot(target) == before
    assert sorted(p.name for p in target.iterdir()) == ["README.md", "keep.txt"]


def test_failure_in_a_new_directory_leaves_no_trace(tmp_path: Path) -> None:
    def failing_replace(src: Path, dst: Path) -> None:
        if dst.name == "config.py":
            raise OSError(5, "Input/output error")
        os.replace(src, dst)

    with pytest.raises(WriteError):
        write_files(tmp_path / "new" / "project", FILES, replace=failing_replace)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_target_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real read-only directory is exercised as a non-root user in test_cli.py.
    def refuse(**_: object) -> str:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkdtemp", refuse)
    with pytest.raises(WriteError, match=r"Cannot write to .*Permission denied"):
        write_files(tmp_path / "app", FILES)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to an unprivileged user")
def test_read_only_target_as_an_unprivileged_user() -> None:
    # Root ignores permission bits, so a forked child drops to 'nobody' before writing.
    import pwd
    import shutil
    import tempfile

    nobody = pwd.getpwnam("nobody")
    base = Path(tempfile.mkdtemp(prefix="cfa-ro-"))
    base.chmod(0o755)
    target = base / "readonly"
    target.mkdir(mode=0o555)
    target.chmod(0o555)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_end)
        message = b"wrote"
        try:
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            write_files(target / "svc", FILES)
        except WriteError as error:
            message = str(error).encode()
        except BaseException as error:
            message = repr(error).encode()
        os.write(write_end, message)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(pid, 0)
    try:
        assert message.startswith(f"Cannot write to {target / 'svc'}: Permission denied"), message
        assert list(target.iterdir()) == []
    finally:
        shutil.rmtree(base)


def test_unreadable_parent_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def refuse(self: Path, **_: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "is_dir", refuse)
    with pytest.raises(WriteError, match=r"Cannot read .*Permission denied"):
        write_files(tmp_path / "svc", FILES)


# -- private files (the development .env) -----------------------------------------------------

PRIVATE = {".env": b"SECRET_KEY=fresh\n"}


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o277])
def test_private_files_are_created_owner_only(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        result = write_files(tmp_path, FILES, private=PRIVATE)
    finally:
        os.umask(old)
    assert (tmp_path / ".env").read_bytes() == PRIVATE[".env"]
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600
    assert ".env" in result.created and result.kept == []


@pytest.mark.parametrize("force", [False, True])
def test_an_existing_private_file_is_kept_and_is_no_conflict(tmp_path: Path, force: bool) -> None:
    (tmp_path / ".env").write_bytes(b"SECRET_KEY=mine\n")
    result = write_files(tmp_path, FILES, force=force, private=PRIVATE)
    assert (tmp_path / ".env").read_bytes() == b"SECRET_KEY=mine\n"
    assert result.kept == [".env"] and ".env" not in result.created + result.overwritten
    (tmp_path / "other").symlink_to(tmp_path / "nowhere")  # a dangling link is a file too
    assert write_files(tmp_path, {}, private={"other": b"x"}).kept == ["other"]
    assert not (tmp_path / "nowhere").exists()


def test_a_failure_removes_the_private_file_too(tmp_path: Path) -> None:
    def failing_replace(src: Path, dst: Path) -> None:
        if dst.name == "config.py":
            raise OSError(5, "Input/output error")
        os.replace(src, dst)

    with pytest.raises(WriteError):
        write_files(tmp_path, FILES, private=PRIVATE, replace=failing_replace)
    assert list(tmp_path.iterdir()) == []


def test_classify_reports_private_files_without_writing(tmp_path: Path) -> None:
    assert classify(tmp_path, FILES, PRIVATE).created[0] == ".env"
    (tmp_path / ".env").mkdir()
    assert classify(tmp_path, FILES, PRIVATE).kept == [".env"]
    with pytest.raises(ValueError, match="both private and ordinary"):
        write_files(tmp_path, PRIVATE, private=PRIVATE)
