"""The wheel ships the package and its templates, and generates without the source tree."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("packaging")]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = out.glob("fastapi_advanced_patterns-*.whl")
    return path


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
