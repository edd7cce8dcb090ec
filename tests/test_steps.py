"""The next steps (issue 19) and the development .env (issue 10), over the real templates.

tests/test_next_steps.py runs the steps end to end; this module checks, fast and for every
package manager, that they are plain shell lines in the right order, that the README's
quick start is the same lines, and what the written .env and .gitignore do.
"""

from __future__ import annotations

import itertools
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from factories import make_options
from fastapi_patterns.assets import project_templates
from fastapi_patterns.envfile import development_env
from fastapi_patterns.generate import generate
from fastapi_patterns.render import build_context, make_environment
from fastapi_patterns.steps import quick_start

MANAGERS = ["pip", "uv", "poetry", "pdm", "pipenv", "hatch"]
SHAPES = [
    {"db": db, "redis": redis, "auth": auth}
    for db, redis, auth in itertools.product(
        ["sqlite", "postgresql", "mysql", "none"], [False, True], ["jwt", "none"]
    )
]
FENCE = re.compile(r"^## Quick start\n.*?^```bash\n(.*?)^```\n", re.MULTILINE | re.DOTALL)


def readme(**overrides: object) -> str:
    environment = make_environment(project_templates())
    return environment.get_template("README.md.jinja").render(
        build_context(make_options(**overrides))
    )


@pytest.mark.parametrize("manager", MANAGERS)
def test_readme_quick_start_is_the_next_steps(manager: str) -> None:
    for shape in SHAPES:
        text = readme(package_manager=manager, **shape)
        block = FENCE.search(text)
        assert block, "README.md has no quick start block"
        steps = quick_start(make_options(package_manager=manager, **shape))
        assert block.group(1).splitlines() == steps, (manager, shape)
        assert "cp .env.example" not in text and "# then set SECRET_KEY" not in text


@pytest.mark.parametrize("manager", MANAGERS)
def test_steps_install_then_migrate_test_and_serve_last(manager: str) -> None:
    steps = quick_start(make_options(package_manager=manager, db="postgresql", redis=True))
    assert steps[-1].endswith("uvicorn orders_api.main:app --reload --no-access-log")
    assert steps[-2].endswith("python -m pytest")
    assert steps[-3].endswith("alembic upgrade head")
    assert steps[-4] == "docker compose up --wait db redis"
    for step in steps:
        syntax = subprocess.run(["bash", "-n", "-c", step], capture_output=True, check=False)
        assert syntax.returncode == 0, (step, syntax.stderr)
    no_db = quick_start(make_options(package_manager=manager, db="none"))
    assert not any("alembic" in step or "docker" in step for step in no_db)


@pytest.mark.parametrize("manager", ["pip", "uv"])
def test_granian_projects_serve_with_granian_and_their_readme_says_so(manager: str) -> None:
    options = make_options(package_manager=manager, server="granian")
    steps = quick_start(options)
    assert steps[-1].endswith(
        "granian --interface asgi --reload --reload-paths orders_api orders_api.main:app"
    )
    src = quick_start(make_options(package_manager=manager, server="granian", layout="src"))
    assert " --reload-paths src/orders_api orders_api.main:app" in src[-1]
    assert not any("uvicorn" in step for step in steps)
    text = readme(package_manager=manager, server="granian")
    block = FENCE.search(text)
    assert block and block.group(1).splitlines() == steps
    assert "GRANIAN_PORT=8001" in text and "UVICORN_PORT" not in text


@pytest.mark.parametrize("manager", ["pip", "pipenv", "hatch"])
def test_pip_flow_upgrades_pip_before_reading_the_dev_group(manager: str) -> None:
    steps = quick_start(make_options(package_manager=manager))
    assert steps[:4] == [
        "python3 -m venv .venv",
        ". .venv/bin/activate",
        "python -m pip install --upgrade 'pip>=25.1'",
        "python -m pip install -e . --group dev",
    ]


def test_generated_env_file_gitignore_and_key_rotation(tmp_path: Path) -> None:
    project = tmp_path / "svc"
    generate("svc", project, db="sqlite", auth="jwt", python="3.11", cwd=tmp_path)
    env = project / ".env"
    example = (project / ".env.example").read_text()
    key = re.search(r"^SECRET_KEY=(.+)$", env.read_text(), re.MULTILINE)
    assert key and len(key.group(1)) == 86  # token_urlsafe(64)
    # Everything else is the example's, under its own header.
    assert (
        env.read_text().replace(key.group(1), "").split("\n\n", 1)[1] == example.split("\n\n", 1)[1]
    )
    # The README's rotation line, run as printed, changes the key and keeps the file private.
    text = (project / "README.md").read_text()
    rotate = next(line for line in text.splitlines() if "token_urlsafe(64)" in line)
    assert rotate.startswith('python3 -c "')
    rotate = rotate.replace("python3", shutil.which("python3") or sys.executable, 1)
    subprocess.run(["bash", "-c", rotate], cwd=project, check=True, timeout=60)
    rotated = re.search(r"^SECRET_KEY=(.+)$", env.read_text(), re.MULTILINE)
    assert rotated and len(rotated.group(1)) == 86 and rotated.group(1) != key.group(1)
    assert stat.S_IMODE(env.stat().st_mode) == 0o600


def test_gitignore_keeps_env_files_out_and_the_example_in(tmp_path: Path) -> None:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    project = tmp_path / "svc"
    generate("svc", project, python="3.11", cwd=tmp_path)
    subprocess.run([git, "init", "-q"], cwd=project, check=True)
    (project / ".env.production").write_text("ENVIRONMENT=production\n")

    def ignored(name: str) -> bool:
        found = subprocess.run([git, "check-ignore", "-q", name], cwd=project, check=False)
        return found.returncode == 0

    assert ignored(".env") and ignored(".env.production")
    assert not ignored(".env.example") and not ignored("README.md")


def test_env_without_jwt_has_no_secret_and_a_missing_line_is_a_template_bug() -> None:
    example = b"# header\n\nAPP_NAME=x\n"
    assert development_env(example, needs_secret=False) == (
        development_env(b"# other\n\nAPP_NAME=x\n", needs_secret=False)
    )
    assert b"SECRET_KEY" not in development_env(example, needs_secret=False)
    with pytest.raises(ValueError, match="SECRET_KEY"):
        development_env(example, needs_secret=True)
