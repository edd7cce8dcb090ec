"""Paths as the detector names them: one normaliser, and one rule for what may sit above
the scanned folder (configuration, yes; the app, no). One list of side folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from factories import detect_tree
from fastapi_patterns.detect import Detection, detect_project
from fastapi_patterns.detect.paths import above_root, fold_path

APP = "from fastapi import FastAPI\n\napp = FastAPI()\n"


def detect_inside_a_repository(root: Path, files: dict[str, str]) -> Detection:
    """Detect root/svc, with `files` written around it and root/.git above it."""
    (root / ".git").mkdir()
    detect_tree(root, files)
    return detect_project(root / "svc")


@pytest.mark.parametrize(
    ("written", "folded"),
    [
        ("app/main.py", "app/main.py"),
        ("./app//main.py", "app/main.py"),
        ("app/../.env", ".env"),
        ("app/..", ""),
        ("../.env", "../.env"),
        ("docker/../../.env", "../.env"),
        ("../../x/../y", "../../y"),
        ("a/b/../../../c", "../c"),
    ],
)
def test_fold_path(written: str, folded: str) -> None:
    assert fold_path(written) == folded
    assert above_root(folded) == folded.startswith("..")


def test_a_requirements_include_above_the_scanned_folder_is_read(tmp_path: Path) -> None:
    files = {"common.txt": "asyncpg\n", "svc/requirements.txt": "-r ../common.txt\nfastapi\n"}
    d = detect_inside_a_repository(tmp_path, files)
    assert (d.database, d.database_driver) == ("postgresql", "asyncpg")
    assert d.sources["database"] == "../common.txt"


def test_a_compose_env_file_above_the_scanned_folder_is_read(tmp_path: Path) -> None:
    files = {
        "settings": "DATABASE_URL=mysql+asyncmy://u@db/x\n",
        "svc/compose.yaml": "services:\n  api:\n    env_file: ./deploy/../../settings\n",
    }
    d = detect_inside_a_repository(tmp_path, files)
    assert (d.database, d.sources["database"]) == ("mysql", "../settings")


@pytest.mark.parametrize(
    "command", ["fastapi run ../main.py", "uvicorn main:app --app-dir ..", "fastapi run .."]
)
def test_a_run_configuration_never_finds_the_app_above_the_scanned_folder(
    tmp_path: Path, command: str
) -> None:
    files = {"main.py": APP, "svc/Dockerfile": f"FROM python:3.12\nCMD {command}\n"}
    d = detect_inside_a_repository(tmp_path, files)
    assert (d.fastapi_app, d.existing_fastapi, d.project_root) == (None, False, ".")


@pytest.mark.parametrize("side", ["sdk", "cli", "deploy", "contrib", "packages", "libs"])
def test_apps_and_project_roots_avoid_the_same_side_folders(tmp_path: Path, side: str) -> None:
    # The side folder is the shallower one, so only its being a side folder can lose.
    project = '[project]\nname = "x"\ndependencies = ["fastapi"]\n'
    roots = detect_tree(
        tmp_path / "roots",
        {f"{side}/pyproject.toml": project, "team/orders/pyproject.toml": project},
    )
    assert roots.project_root == "team/orders"
    apps = detect_tree(tmp_path / "apps", {f"{side}/main.py": APP, "team/orders/main.py": APP})
    assert apps.fastapi_app == "main:app"
    assert apps.sources["fastapi_app"] == "team/orders/main.py"
