"""The three ways a user installs the bundle, each run for real, and the one version they share.

* Claude Code: the repository is its own marketplace; the real `claude` CLI adds a clean
  copy of the checkout and installs the plugin under a private HOME (offline).
* library-skills: the wheel, installed in a fresh project venv, carries the skill where
  `library-skills --all --yes --claude` finds it and links it into `.claude/skills/`.
* uvx: `uvx --from <the wheel> create-fastapi-app orders-api` generates a project. The
  PyPI form (`--from fastapi-advanced-patterns`) is not tested: the package is not
  published yet, and its name must not be resolved against someone else's upload.

A missing `claude`, `library-skills` or `uv` skips locally and fails under CI (tests/ci.py).
The wheel is conftest.py's session fixture, built once (tests/wheel.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ci import missing
from fastapi_patterns import __version__
from fastapi_patterns.manifest import read_manifest
from fastapi_patterns.plan import MANIFEST
from wheel import wheel_metadata

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / ".claude-plugin" / "plugin.json"
MARKETPLACE = ROOT / ".claude-plugin" / "marketplace.json"
CONSTRAINTS = ROOT / "tests" / "constraints.txt"
BIN = Path(sys.executable).parent
SKILL_NAME = "fastapi-advanced-patterns"

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("packaging")]


def _json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _tool(name: str, how: str) -> str:
    """A program from the suite's venv (the dev extra installs it) or PATH."""
    beside = BIN / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        missing(f"{name} is not installed; {how}")
    return found


def _run(
    command: list[str], cwd: Path, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


def _user_env(**extra: str) -> dict[str, str]:
    # As a user's shell would be: not inside the suite's venv, so the tools must find the
    # project's own environment (library-skills looks at VIRTUAL_ENV and friends).
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "CONDA_PREFIX", "PYTHONPATH"}
    }
    return {**env, "NO_COLOR": "1", **extra}


# ------------------------------------------------------------------- Claude Code


def test_marketplace_lists_this_plugin_from_this_repository() -> None:
    market, plugin = _json(MARKETPLACE), _json(PLUGIN)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", market["name"])
    assert market["owner"]["name"]
    assert len(market["description"]) > 40
    (entry,) = market["plugins"]
    assert entry["name"] == plugin["name"]
    assert entry["source"] == "./"  # the repository is the plugin
    assert entry["description"]


def test_readme_gives_the_install_lines_for_this_marketplace() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    market, plugin = _json(MARKETPLACE), _json(PLUGIN)
    assert "/plugin marketplace add OWNER/REPO" in readme
    assert f"/plugin install {plugin['name']}@{market['name']}" in readme
    assert f"claude plugin install {plugin['name']}@{market['name']}" in readme


def _copy_of_the_checkout(destination: Path) -> Path:
    """What a clone holds: tracked and new unignored files (a local directory marketplace
    is copied whole, so the suite's .venv and caches must stay out)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if listed.returncode != 0:
        missing(f"git could not list the checkout's files: {listed.stderr.strip()}")
    for relative in filter(None, listed.stdout.split("\0")):
        source = ROOT / relative
        if source.is_file():  # tracked files deleted in the work tree are listed too
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def _claude_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    # `--json` prints one machine-readable line, last on stdout.
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def test_claude_code_installs_the_plugin_from_the_repository_marketplace(tmp_path: Path) -> None:
    claude = _tool("claude", "npm install -g @anthropic-ai/claude-code@2.1.328 (.ci/run does this)")
    market, plugin = _json(MARKETPLACE), _json(PLUGIN)
    plugin_id = f"{plugin['name']}@{market['name']}"
    home = tmp_path / "home"
    home.mkdir()
    # A private HOME: the CLI writes its settings and plugin cache there; nothing is sent.
    env = _user_env(
        HOME=str(home), CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1", DISABLE_TELEMETRY="1"
    )
    checkout = _copy_of_the_checkout(tmp_path / "fastapi-advanced-patterns")

    validated = _run(
        [claude, "plugin", "validate", str(checkout), "--strict", "--json"], tmp_path, env
    )
    report = json.loads(validated.stdout)
    assert report["success"] is True
    assert report["manifest"]["type"] == "marketplace"
    assert report["manifest"]["errors"] == report["manifest"]["warnings"] == []
    assert report["advice"] == []  # it asks for a README install line when there is none
    # With both manifests in the folder, `validate .` checks the marketplace; the plugin's own
    # manifest is checked by its path.
    only_plugin = [claude, "plugin", "validate", str(checkout / ".claude-plugin" / "plugin.json")]
    plugin_report = json.loads(_run([*only_plugin, "--strict", "--json"], tmp_path, env).stdout)
    assert plugin_report["manifest"]["type"] == "plugin"
    assert plugin_report["manifest"]["errors"] == plugin_report["manifest"]["warnings"] == []
    namespaced = report["provides"]["commands"]
    assert plugin_report["provides"]["commands"] == namespaced
    assert namespaced == [f"{plugin['name']}:{Path(c).stem}" for c in plugin["commands"]]
    for document in ("README.md", "SKILL.md"):
        text = (ROOT / document).read_text(encoding="utf-8")
        assert all(f"/{name}" in text for name in namespaced), document

    added = _claude_json(
        _run([claude, "plugin", "marketplace", "add", str(checkout), "--json"], tmp_path, env)
    )
    assert (added["outcome"], added["marketplace"]) == ("ok", market["name"])
    installed = _claude_json(
        _run([claude, "plugin", "install", plugin_id, "--json"], tmp_path, env)
    )
    assert (installed["outcome"], installed["pluginId"], installed["scope"]) == (
        "ok",
        plugin_id,
        "user",
    )

    settings = _json(home / ".claude" / "settings.json")
    assert settings["enabledPlugins"] == {plugin_id: True}
    assert settings["extraKnownMarketplaces"][market["name"]]["source"] == {
        "source": "directory",
        "path": str(checkout),
    }
    (record,) = _json(home / ".claude" / "plugins" / "installed_plugins.json")["plugins"][plugin_id]
    assert record["version"] == __version__
    install_path = Path(record["installPath"])
    assert install_path.is_relative_to(home / ".claude" / "plugins" / "cache")

    listed = json.loads(_run([claude, "plugin", "list", "--json"], tmp_path, env).stdout)
    (entry,) = [item for item in listed if item["id"] == plugin_id]
    assert (entry["enabled"], entry["version"], entry["installPath"]) == (
        True,
        __version__,
        str(install_path),
    )

    # The installed copy runs what the checkout holds: the commands, the skill and the
    # scripts the commands call through ${CLAUDE_PLUGIN_ROOT}.
    shipped = [
        *(c.removeprefix("./") for c in plugin["commands"]),
        "SKILL.md",
        *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "references").glob("*.md")),
        "scripts/create_fastapi_app.py",
        "scripts/fastapi_patterns_cli.py",
    ]
    different = [r for r in shipped if (install_path / r).read_bytes() != (ROOT / r).read_bytes()]
    assert different == []


# ---------------------------------------------------------------- library-skills


def test_library_skills_links_the_wheels_skill_into_a_project(wheel: Path, tmp_path: Path) -> None:
    library_skills = _tool("library-skills", "pip install library-skills (in the dev extra)")
    uv = _tool("uv", "pip install uv (in the dev extra)")
    project = tmp_path / "orders"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "orders"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        'dependencies = ["fastapi-advanced-patterns"]\n'
    )
    env = _user_env(UV_PYTHON_DOWNLOADS="never")
    _run([uv, "venv", "--quiet", "--python", sys.executable, ".venv"], project, env)
    python = project / ".venv" / "bin" / "python"
    install = [uv, "pip", "install", "--quiet", "--python", str(python), "-c", str(CONSTRAINTS)]
    _run([*install, str(wheel)], project, env, timeout=600)

    linked = _run([library_skills, "--all", "--yes", "--claude"], project, env)
    assert "Installed 2 skill target(s)." in linked.stdout, linked.stdout

    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            project,
            env,
        ).stdout.strip()
    )
    packaged = site / "fastapi_patterns" / ".agents" / "skills" / SKILL_NAME
    for target in (".claude/skills", ".agents/skills"):
        link = project / target / SKILL_NAME
        # A symlink into the installed package keeps the skill at the installed version.
        assert link.is_symlink(), target
        assert link.resolve() == packaged.resolve()
        assert (link / "SKILL.md").read_bytes() == (ROOT / "SKILL.md").read_bytes()

    agentskills = _tool("agentskills", "pip install skills-ref (in the dev extra)")
    validated = _run(
        [agentskills, "validate", str(project / ".claude/skills" / SKILL_NAME)], project, env
    )
    assert "Valid skill" in validated.stdout

    # What the linked skill tells the assistant to run exists in that environment.
    version = _run([str(project / ".venv/bin/create-fastapi-app"), "--version"], project, env)
    assert version.stdout.strip() == f"create-fastapi-app {__version__}"
    _run([str(project / ".venv/bin/fastapi-patterns"), "--help"], project, env)
    routed = _run(
        [str(python), "-m", "fastapi_patterns.skill", "--json", "k8s readiness probe"], project, env
    )
    assert json.loads(routed.stdout)[0]["id"] == "health-checks"


# ----------------------------------------------------------------------- uvx


@pytest.fixture(scope="module")
def uvx_generated(
    wheel: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], Path]:
    """`uvx --from <wheel> create-fastapi-app orders-api --json`, run once in an empty folder."""
    uvx = _tool("uvx", "pip install uv (in the dev extra)")
    work = tmp_path_factory.mktemp("uvx")
    # Pinned to this interpreter and the suite's lock; never downloads a Python.
    env = _user_env(UV_PYTHON_DOWNLOADS="never")
    result = _run(
        [uvx, "--python", sys.executable, "--constraints", str(CONSTRAINTS),
         "--refresh-package", "fastapi-advanced-patterns",
         "--from", str(wheel), "create-fastapi-app", "orders-api", "--json"],
        work, env, timeout=600,
    )  # fmt: skip
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary, work / "orders-api"


def test_uvx_runs_the_generator_from_the_wheel(uvx_generated: tuple[dict[str, Any], Path]) -> None:
    summary, project = uvx_generated
    assert (summary["project"], summary["package"]) == ("orders-api", "orders_api")
    assert summary["directory"] == str(project)
    assert summary["options"]["db"] == {"value": "sqlite", "source": "default"}
    assert (project / "orders_api" / "main.py").is_file()
    assert (project / "pyproject.toml").is_file()
    assert set(summary["files"]) <= {
        p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()
    }


def test_readme_documents_uvx_without_the_unrelated_pypi_project() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "uvx --from fastapi-advanced-patterns create-fastapi-app orders-api" in readme
    assert "uvx --from ./dist/fastapi_advanced_patterns-" in readme
    # `create-fastapi-app` on PyPI is somebody else's 2023 project.
    for wrong in (
        "pip install create-fastapi-app",
        "uvx create-fastapi-app",
        "uv add create-fastapi-app",
    ):
        assert wrong not in readme


# ------------------------------------------------------------------ one version


def test_every_place_that_states_the_version_agrees(
    wheel: Path, uvx_generated: tuple[dict[str, Any], Path]
) -> None:
    _, project = uvx_generated
    skill_text = (ROOT / "SKILL.md").read_text(encoding="utf-8")
    frontmatter = yaml.safe_load(skill_text.split("---\n", 2)[1])
    (entry,) = _json(MARKETPLACE)["plugins"]
    manifest = read_manifest((project / MANIFEST).read_text(encoding="utf-8"))
    readme_wheels = re.findall(
        r"fastapi_advanced_patterns-([^-\s]+)-py3", (ROOT / "README.md").read_text(encoding="utf-8")
    )
    stated = {
        "wheel (pyproject via hatch)": wheel_metadata(wheel)["Version"],
        ".claude-plugin/plugin.json": _json(PLUGIN)["version"],
        ".claude-plugin/marketplace.json": entry["version"],
        "SKILL.md metadata.version": frontmatter["metadata"]["version"],
        f"{MANIFEST} of a project the wheel generated": manifest["generator_version"],
        "README's wheel file names": " ".join(sorted(set(readme_wheels))),
    }
    assert stated == dict.fromkeys(stated, __version__)
