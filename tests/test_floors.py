"""Reproducible environments: the suite's lock, the bundle's floors, generated projects at theirs.

The suite installs from tests/constraints.txt (`make lock` rewrites it), so two runs of the same
tree test the same library versions. Generated projects declare lower bounds; the bundle's dev
extra must declare the same ones, or the suite would pass against versions a generated project
calls too old. And a generated project must really work at the bounds it declares, not only at
the newest releases the lock holds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from ci import missing
from combos import Combo
from fastapi_patterns.generate import generate
from fastapi_patterns.options import DATABASES, SERVERS

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "tests" / "constraints.txt"


def _bundle_dev_extra() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(line) for line in project["optional-dependencies"]["dev"]]
    return {canonicalize_name(req.name): req for req in requirements}


def _locked_versions() -> dict[str, str]:
    pins: dict[str, str] = {}
    for raw in CONSTRAINTS.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        (spec,) = requirement.specifier  # every line is an exact pin
        assert spec.operator == "==", line
        pins[canonicalize_name(requirement.name)] = spec.version
    return pins


def _generated_requirements(tmp_path: Path) -> dict[str, set[str]]:
    """Every requirement any combination declares (dependencies and the dev group)."""
    declared: dict[str, set[str]] = {}
    shapes = [
        (db, redis, auth, server)
        for db in DATABASES
        for redis in (False, True)
        for auth in ("jwt", "none")
        for server in SERVERS
        if not (db == "none" and auth == "jwt")
    ]
    for db, redis, auth, server in shapes:
        files = generate(
            "floors",
            tmp_path / f"{db}-{redis}-{auth}-{server}",
            db=db,
            redis=redis,
            auth=auth,
            server=server,
            layout="flat",
            python="3.11",
            dry_run=True,
        ).files
        pyproject = tomllib.loads(files["pyproject.toml"].decode())
        lines = pyproject["project"]["dependencies"] + pyproject["dependency-groups"]["dev"]
        for line in lines:
            requirement = Requirement(line)
            name = canonicalize_name(requirement.name)
            declared.setdefault(name, set()).add(str(requirement.specifier))
    return declared


def test_every_generated_floor_is_the_bundles_floor(tmp_path: Path) -> None:
    declared = _generated_requirements(tmp_path)
    bundle = _bundle_dev_extra()
    assert {"fastapi", "sqlalchemy", "asyncmy", "redis", "mypy", "granian"} <= declared.keys()
    for name, specifiers in sorted(declared.items()):
        assert len(specifiers) == 1, f"{name} is declared differently by combinations: {specifiers}"
        assert name in bundle, f"generated projects need {name}; the dev extra lacks it"
        assert specifiers == {str(bundle[name].specifier)}, (
            f"{name}: generated projects declare {specifiers}, the dev extra "
            f"{bundle[name].specifier}"
        )


def test_the_lock_pins_every_dev_requirement_within_its_bounds() -> None:
    pins = _locked_versions()
    for name, requirement in sorted(_bundle_dev_extra().items()):
        assert name in pins, f"{name} is not in tests/constraints.txt: run `make lock`"
        assert SpecifierSet(str(requirement.specifier)).contains(pins[name], prereleases=True), (
            f"tests/constraints.txt pins {name}=={pins[name]} outside {requirement.specifier}:"
            " run `make lock`"
        )


def test_the_suite_runs_on_the_locked_versions() -> None:
    from importlib.metadata import version

    pins = _locked_versions()
    for name in ("fastapi", "starlette", "pydantic", "sqlalchemy", "mypy", "ruff", "pytest"):
        assert version(name) == pins[name], (
            f"{name} {version(name)} is installed but the lock says {pins[name]}:"
            " reinstall with `make test` (it installs from tests/constraints.txt)"
        )


# The combinations that together declare every optional dependency, both servers included.
FLOOR_COMBOS = [
    Combo("postgresql", True, "jwt", "src"),
    Combo("mysql", False, "jwt", "flat", "granian"),
]


def _uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if found is None:
        missing("uv is not installed; it comes with the dev extra (pip install -e '.[dev]')")
    assert found is not None  # missing() never returns
    return found


@pytest.mark.slow
@pytest.mark.parametrize(
    "combo",
    [pytest.param(c, id=c.id, marks=pytest.mark.xdist_group("floors")) for c in FLOOR_COMBOS],
)
def test_generated_project_passes_at_its_declared_floors(combo: Combo, tmp_path: Path) -> None:
    """uv's lowest-direct resolution: every requirement the project names at its lower bound."""
    uv = _uv()
    project = combo.generate(tmp_path / combo.name)
    venv = tmp_path / "venv"
    # The machine's own settings (certificates, proxies, caches) reach the installer.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env |= {"PATH": f"{venv / 'bin'}:{os.environ['PATH']}", "VIRTUAL_ENV": str(venv)}

    def run(*command: str) -> str:
        done = subprocess.run(
            command, cwd=project, env=env, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    run(uv, "venv", "--quiet", "--python", sys.executable, str(venv))
    run(
        uv, "pip", "install", "--quiet", "--resolution", "lowest-direct",
        "-e", ".", "--group", "dev",
    )  # fmt: skip
    installed = {
        canonicalize_name(line.split("==")[0]): line.split("==")[1]
        for line in run(uv, "pip", "freeze").splitlines()
        if "==" in line
    }
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    for line in pyproject["project"]["dependencies"] + pyproject["dependency-groups"]["dev"]:
        requirement = Requirement(line)
        floor = next(s.version for s in requirement.specifier if s.operator == ">=")
        name = canonicalize_name(requirement.name)
        assert _same_release(installed[name], floor), (
            f"{name}: installed {installed[name]}, declared floor {floor}"
        )

    python = str(venv / "bin" / "python")
    run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    run(python, "-m", "ruff", "check", "--no-cache", ".")
    run(python, "-m", "mypy", "--no-incremental", "--cache-dir", os.devnull)


def _same_release(installed: str, floor: str) -> bool:
    """`>=2.1` is met at its floor by 2.1.0 and by 2.1.x bug-fix releases of that series."""
    from packaging.version import Version

    have, want = Version(installed).release, Version(floor).release
    return have[: len(want)] == want
