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


_APP = "from fastapi import FastAPI\n\napp = FastAPI()\n"

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


def test_app_outside_a_package_gets_its_modules_beside_it(tmp_path: Path) -> None:
    files = {
        "service/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
        "service/db.py": "engine = None\n",
        "service/requirements.txt": "fastapi\n",
    }
    target, _ = locate(write(tmp_path, files), None)
    assert (target.file, target.module) == ("service/main.py", "main")
    assert target.modules_dir == "service"
    assert target.package == ""
    assert target.qualified("health") == "health"
    assert target.import_from("health") == "health"  # absolute: no package to be relative to
    assert {"main", "db", "health", "problem_details"} <= target.top_level_modules
    assert module_path(target, "health") == "service/health.py"


def test_app_in_a_package_imports_relatively(tmp_path: Path) -> None:
    target, _ = locate(write(tmp_path, {"shop/__init__.py": "", "shop/main.py": _APP}), None)
    assert (target.package, target.qualified("health")) == ("shop", "shop.health")
    assert target.import_from("shop.health") == ".health"
    assert target.top_level_modules == frozenset()


def test_no_app(tmp_path: Path) -> None:
    with pytest.raises(AddRefused, match="No FastAPI app"):
        locate(write(tmp_path, {"pkg/__init__.py": "x = 1\n"}), None)
