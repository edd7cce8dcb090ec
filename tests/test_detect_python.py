"""Detection of the lowest declared Python version, one rule per test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from factories import detect_tree as detect
from fastapi_patterns.detect.python_version import lower_bound
from fastapi_patterns.detect.run_files import python_from_image


@pytest.mark.parametrize(
    ("specifier", "expected"),
    [
        (">=3.10", (3, 10)),
        (">=3.10,<4.0", (3, 10)),
        (">=3.9.2, <3.13", (3, 9)),
        (">3.9", (3, 10)),
        (">3.9.1", (3, 9)),
        ("~=3.11", (3, 11)),
        ("==3.12.*", (3, 12)),
        ("3.11.*", (3, 11)),
        ("^3.11", (3, 11)),
        ("~3.10", (3, 10)),
        (">=3.8,<3.12", (3, 8)),
        ("^3.9 || ^3.11", (3, 9)),
        (">=3.10 <3.13", (3, 10)),
        (">=3.8,>=3.10", (3, 10)),
        ("*", None),
        (">=3", None),
        ("3.*", None),
        ("<3.13", None),
        ("!=3.9.*", None),
        (">=2.7", None),
        ("", None),
        ("banana", None),
    ],
)
def test_lower_bound_of_specifiers(specifier: str, expected: tuple[int, int] | None) -> None:
    assert lower_bound(specifier) == expected


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("python:3.12-slim", (3, 12)),
        ("python:3.12.4-bookworm", (3, 12)),
        ("docker.io/library/python:3.11@sha256:abc", (3, 11)),
        ("ghcr.io/astral-sh/uv:python3.13-bookworm-slim", (3, 13)),
        ("ghcr.io/astral-sh/uv:0.5-python3.12-alpine", (3, 12)),
        ("tiangolo/uvicorn-gunicorn-fastapi:python3.11", (3, 11)),
        ("cimg/python:3.10", (3, 10)),
        ("localhost:5000/python:3.9", (3, 9)),
        ("python:3", None),
        ("python:3-slim", None),
        ("python:slim", None),
        ("python", None),
        ("python:latest", None),
        ("node:20", None),
        ("postgres:16", None),
        ("ghcr.io/astral-sh/uv:latest", None),
    ],
)
def test_python_from_docker_images(image: str, expected: tuple[int, int] | None) -> None:
    assert python_from_image(image) == expected


def test_python_version_file(tmp_path: Path) -> None:
    d = detect(tmp_path, {".python-version": "3.12.1\n", "main.py": ""})
    assert d.python_version == "3.12"
    assert d.sources["python_version"] == ".python-version"


def test_python_version_file_with_implementation_prefix(tmp_path: Path) -> None:
    d = detect(tmp_path, {".python-version": "# pinned\npypy3.10-7.3.12\n"})
    assert d.python_version == "3.10"


def test_requires_python_lower_bound(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {"pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.11,<4"\n'},
    )
    assert d.python_version == "3.11"
    assert d.sources["python_version"] == "pyproject.toml"


def test_poetry_python_dependency(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.9"\nfastapi = "*"\n'},
    )
    assert d.python_version == "3.9"


def test_pipfile_python_version(tmp_path: Path) -> None:
    d = detect(
        tmp_path, {"Pipfile": '[packages]\nfastapi = "*"\n[requires]\npython_version = "3.10"\n'}
    )
    assert d.python_version == "3.10"
    assert d.sources["python_version"] == "Pipfile"


def test_runtime_txt(tmp_path: Path) -> None:
    d = detect(tmp_path, {"runtime.txt": "python-3.11.9\n", "requirements.txt": "fastapi\n"})
    assert d.python_version == "3.11"
    assert d.sources["python_version"] == "runtime.txt"


def test_setup_cfg_python_requires(tmp_path: Path) -> None:
    d = detect(
        tmp_path, {"setup.cfg": "[metadata]\nname = x\n[options]\npython_requires = >=3.8\n"}
    )
    assert d.python_version == "3.8"


def test_setup_py_python_requires(tmp_path: Path) -> None:
    d = detect(
        tmp_path, {"setup.py": "from setuptools import setup\nsetup(python_requires='>=3.9')\n"}
    )
    assert d.python_version == "3.9"


def test_tool_versions(tmp_path: Path) -> None:
    d = detect(tmp_path, {".tool-versions": "nodejs 20.1.0\npython 3.12.2\n"})
    assert d.python_version == "3.12"


def test_dockerfile_from_python(tmp_path: Path) -> None:
    d = detect(tmp_path, {"Dockerfile": 'FROM python:3.12-slim AS base\nCMD ["python"]\n'})
    assert d.python_version == "3.12"
    assert d.sources["python_version"] == "Dockerfile"


def test_dockerfile_uv_image(tmp_path: Path) -> None:
    d = detect(tmp_path, {"Dockerfile": "FROM ghcr.io/astral-sh/uv:python3.13-bookworm-slim\n"})
    assert d.python_version == "3.13"


def test_dockerfile_arg_default_in_from(tmp_path: Path) -> None:
    dockerfile = """\
        ARG PYTHON_VERSION=3.11
        FROM --platform=linux/amd64 python:${PYTHON_VERSION}-slim AS builder
        ARG PYTHON_VERSION
        FROM builder
        """
    d = detect(tmp_path, {"Dockerfile": dockerfile})
    assert d.python_version == "3.11"


@pytest.mark.parametrize("image", ["python:3", "python:slim", "python", "python:3-alpine"])
def test_unpinned_images_declare_nothing(tmp_path: Path, image: str) -> None:
    d = detect(tmp_path, {"Dockerfile": f"FROM {image}\n", "main.py": ""})
    assert d.python_version is None
    assert "python_version" not in d.sources


def test_dockerfile_in_docker_folder(tmp_path: Path) -> None:
    d = detect(tmp_path, {"docker/api.Dockerfile": "FROM python:3.12\n", "main.py": ""})
    assert d.python_version == "3.12"
    assert d.sources["python_version"] == "docker/api.Dockerfile"


def test_lowest_declaration_wins_and_the_difference_is_reported(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {
            ".python-version": "3.12\n",
            "pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.10"\n',
            "Dockerfile": "FROM python:3.12-slim\n",
        },
    )
    assert d.python_version == "3.10"
    assert d.sources["python_version"] == "pyproject.toml"
    [warning] = [w for w in d.warnings if w.startswith("Python versions differ")]
    assert ".python-version" in warning and "Dockerfile" in warning


def test_nothing_declared(tmp_path: Path) -> None:
    d = detect(tmp_path, {"main.py": "print('hi')\n"})
    assert d.python_version is None
    assert d.python_runtime == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert "python_runtime" in d.sources


def test_declarations_above_the_project_root_count(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {
            ".python-version": "3.13\n",
            "backend/pyproject.toml": '[project]\nname = "api"\ndependencies = ["fastapi"]\n',
            "backend/app/__init__.py": "",
            "backend/app/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
        },
    )
    assert d.project_root == "backend"
    assert d.python_version == "3.13"
    assert d.sources["python_version"] == ".python-version"


def test_version_in_a_leftover_pipfile_is_ignored(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {
            "pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.11"\n',
            "poetry.lock": "",
            "Pipfile": '[requires]\npython_version = "3.8"\n',
        },
    )
    assert d.python_version == "3.11"
    assert any(w.startswith("Ignored the Python version in Pipfile") for w in d.warnings)
