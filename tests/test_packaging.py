"""The wheel ships the package, its templates and the skill, and generates without the source tree.

`wheel` is the session fixture of conftest.py (built once, tests/wheel.py).
"""

from __future__ import annotations

import json
import posixpath
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from wheel import SKILL_DIR

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("packaging")]


def test_wheel_contents(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "fastapi_patterns/cli.py" in names
    assert "fastapi_patterns/detect/__init__.py" in names
    assert any(n.startswith("fastapi_patterns/_assets/project/") for n in names)
    assert not any("__pycache__" in n for n in names)
    metadata = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert (
        "create-fastapi-app = fastapi_patterns.cli:main"
        in zipfile.ZipFile(wheel).read(metadata).decode()
    )


def test_unpacked_wheel_generates_from_its_own_assets(wheel: Path, tmp_path: Path) -> None:
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    script = (
        "import sys, json; sys.path.insert(0, sys.argv[1]);"
        "import fastapi_patterns.assets as a, fastapi_patterns.cli as c;"
        "print(json.dumps([a.__file__, str(a.project_templates())]));"
        "sys.exit(c.main(['svc', '--dir', sys.argv[2], '--json']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(unpacked), str(tmp_path / "svc")],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    first, rest = result.stdout.split("\n", 1)
    module, templates = json.loads(first)
    assert module.startswith(str(unpacked)) and templates.startswith(str(unpacked))
    assert (tmp_path / "svc" / "svc" / "main.py").is_file()
    assert json.loads(rest)["options"]["db"]["value"] == "sqlite"


# The skill inside the wheel, where library-skills looks (as fastapi ships its own skill):
# byte-for-byte copies of the repository's files, so there is one source.
REFERENCES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "references").glob("*.md"))
SKILL_SOURCES = ["SKILL.md", "assets/fastapi-app-template.py", *REFERENCES]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s#]+)(?:#[^)\s]*)?\)")


def _skill_files(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as archive:
        return {
            name.removeprefix(SKILL_DIR + "/"): archive.read(name)
            for name in archive.namelist()
            if name.startswith(SKILL_DIR + "/")
        }


def test_wheel_skill_is_a_copy_of_the_root_files(wheel: Path) -> None:
    files = _skill_files(wheel)
    assert sorted(files) == sorted(SKILL_SOURCES)
    for relative in SKILL_SOURCES:
        assert files[relative] == (ROOT / relative).read_bytes(), relative


def test_wheel_skill_links_resolve_inside_the_skill(wheel: Path) -> None:
    # Linked from the installed package, the skill has only its own folder: every relative
    # link must land in it, except the benchmark results, which live in the repository.
    files = _skill_files(wheel)
    broken = []
    for name, data in files.items():
        if not name.endswith(".md"):
            continue
        for target in LINK.findall(data.decode()):
            if "://" in target or target.startswith("mailto:"):
                continue
            path = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
            if path not in files and not path.startswith("bench/"):
                broken.append(f"{name}: {target}")
    assert broken == []


def test_wheel_skill_says_how_to_run_the_installed_tools(wheel: Path) -> None:
    text = _skill_files(wheel)["SKILL.md"].decode()
    # Without the plugin there is no scripts/ folder and no slash command: the skill must
    # send the assistant to the console scripts the wheel installs.
    entry_points = _entry_points(wheel)
    for script in ("create-fastapi-app", "fastapi-patterns"):
        assert script in entry_points
        assert f"`{script}`" in text
    assert "no `scripts/` folder" in text


def _entry_points(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
        return archive.read(name).decode()


def test_unpacked_wheel_rebuilds_a_released_version_from_its_snapshot(
    wheel: Path, tmp_path: Path
) -> None:
    # `fastapi-patterns update` rebuilds what 0.1.0 wrote without git or the source tree.
    names = zipfile.ZipFile(wheel).namelist()
    assert "fastapi_patterns/update/snapshots/0.1.0.zip" in names
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    options = {"name": "svc", "package": "svc", "db": "sqlite", "redis": False, "auth": "jwt",
               "layout": "flat", "python": "3.11", "package_manager": "pip"}  # fmt: skip
    script = (
        "import sys, json; sys.path.insert(0, sys.argv[1]);"
        "from fastapi_patterns.update import snapshot;"
        "files = snapshot.render_version('0.1.0', json.loads(sys.argv[2]));"
        "print(json.dumps([str(snapshot.SNAPSHOTS), sorted(files)]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(unpacked), json.dumps(options)],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    folder, files = json.loads(result.stdout)
    assert folder.startswith(str(unpacked))
    assert "svc/main.py" in files and "svc/core/openapi.py" not in files  # 0.1.0's tree
