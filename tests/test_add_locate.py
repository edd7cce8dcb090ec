"""Finding the app to wire (fastapi_patterns.add.locate): every fixture shape, --app, and the
refusals (several apps, an app outside any package, a name that does not resolve)."""

from __future__ import annotations

from pathlib import Path

import pytest

from add_fixtures import SHAPES, Shape, write
from fastapi_patterns.add.locate import locate, module_path
from fastapi_patterns.add.refusal import AddRefused


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.id)
def test_each_shape_is_found(shape: Shape, tmp_path: Path) -> None:
    target, _ = locate(write(tmp_path, shape.files), None)
    assert target.file == shape.app_file
    assert target.reference == shape.module
    assert target.modules_dir == shape.modules_dir
    assert module_path(target, "x") == f"{shape.modules_dir}/x.py"


def test_relative_import_from_the_app_module(tmp_path: Path) -> None:
    files = {
        "svc/__init__.py": "",
        "svc/core/__init__.py": "",
        "svc/api/__init__.py": "",
        "svc/api/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
    }
    target, _ = locate(write(tmp_path, files), None)
    assert target.modules_package == "svc.core"
    assert target.import_from("svc.core.problem_details") == "..core.problem_details"


SEVERAL = {
    "one/__init__.py": "",
    "one/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
    "two/__init__.py": "",
    "two/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
}


def test_several_apps_without_app_are_refused(tmp_path: Path) -> None:
    with pytest.raises(AddRefused, match=r"several modules \(one/main.py, two/main.py\).*--app"):
        locate(write(tmp_path, SEVERAL), None)


def test_app_option_picks_one(tmp_path: Path) -> None:
    target, _ = locate(write(tmp_path, SEVERAL), "two.main:app")
    assert target.file == "two/main.py"


def test_run_configuration_decides_between_several(tmp_path: Path) -> None:
    files = {**SEVERAL, "Procfile": "web: uvicorn two.main:app --host 0.0.0.0\n"}
    target, _ = locate(write(tmp_path, files), None)
    assert target.file == "two/main.py"


def test_mounted_sub_app_is_not_a_rival(tmp_path: Path) -> None:
    files = {
        "svc/__init__.py": "",
        "svc/admin.py": "from fastapi import FastAPI\n\nadmin = FastAPI()\n",
        "svc/main.py": "from fastapi import FastAPI\n\nfrom .admin import admin\n\n"
        'app = FastAPI()\napp.mount("/admin", admin)\n',
    }
    target, _ = locate(write(tmp_path, files), None)
    assert target.file == "svc/main.py"


@pytest.mark.parametrize(
    ("reference", "message"),
    [("nothing.here:app", "no module nothing.here"), ("not a reference", "module:attribute")],
)
def test_bad_app_option(tmp_path: Path, reference: str, message: str) -> None:
    with pytest.raises(AddRefused, match=message):
        locate(write(tmp_path, SEVERAL), reference)


def test_app_outside_a_package_is_refused(tmp_path: Path) -> None:
    files = {"main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n"}
    with pytest.raises(AddRefused, match="not inside a package"):
        locate(write(tmp_path, files), None)


def test_no_app(tmp_path: Path) -> None:
    with pytest.raises(AddRefused, match="No FastAPI app"):
        locate(write(tmp_path, {"pkg/__init__.py": "x = 1\n"}), None)
