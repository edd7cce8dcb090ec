"""A generated project installs from its own pyproject into a fresh venv and boots."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from combos import TEST_SECRET, Combo
from service import Service, base_env, run

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("install")]


def test_fresh_venv_install_boots_on_real_servers(
    tmp_path: Path,
    postgres_server,
    redis_server,  # type: ignore[no-untyped-def]
) -> None:
    combo = Combo("postgresql", True, "jwt", "src")
    project = combo.generate(tmp_path / combo.name)
    venv = tmp_path / "venv"
    created = run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    assert created.returncode == 0, created.stderr
    python = str(venv / "bin" / "python")
    # The suite's lock keeps the run reproducible; the project's own bounds still apply.
    constraints = Path(__file__).with_name("constraints.txt")
    installed = run(
        [python, "-m", "pip", "install", "--quiet", "-c", str(constraints), str(project)],
        tmp_path,
        timeout=900,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr

    # Served from outside the project folder: every import must come from the installed wheel.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = base_env(
        SECRET_KEY=TEST_SECRET,
        DATABASE_URL=postgres_server.create_database("install_check"),
        REDIS_URL=redis_server.url_for_db(1),
    )
    with Service(elsewhere, combo.package, env, python=python) as service:
        ready = service.client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        assert set(ready.json()["checks"]) == {"database", "redis"}
        assert service.stop() == 0
