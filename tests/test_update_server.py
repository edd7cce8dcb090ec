"""`fastapi-patterns update --server`: a project recorded before the option existed is a
uvicorn project, a recorded server is kept (granian is the default only for new projects),
and switching servers rewrites exactly what the server changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastapi_patterns import __version__
from fastapi_patterns.commands import main
from fastapi_patterns.manifest import read_manifest
from fastapi_patterns.plan import MANIFEST
from fastapi_patterns.update.base import render_files, with_changes
from fastapi_patterns.update.errors import UpdateError
from fastapi_patterns.update.snapshot import recorded_options
from update_fixtures import OPTIONS, PACKAGE, edit, fresh_copy, generate_at, tree, update

# The last release whose manifest has no `server`: every project it made runs uvicorn.
BEFORE_SERVER = "0.2.0"
ENTRY = f"{PACKAGE}/__main__.py"


@pytest.fixture(scope="module")
def generated_020(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_at(BEFORE_SERVER, tmp_path_factory.mktemp("generated") / "svc-up")


@pytest.fixture
def project(generated_020: Path, tmp_path: Path) -> Path:
    """A fresh copy of a project 0.2.0 generated, untouched."""
    return fresh_copy(generated_020, tmp_path)


def without_manifests(a: dict[str, bytes], b: dict[str, bytes]) -> tuple[dict, dict]:
    """Both trees without their manifests, once the manifests' records are equal."""
    assert read_manifest(a.pop(MANIFEST).decode()) == read_manifest(b.pop(MANIFEST).decode())
    return a, b


def test_a_project_recorded_without_a_server_is_a_uvicorn_project(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "server" not in read_manifest((project / MANIFEST).read_text())["options"]
    code, out, _ = update(capsys, project)
    assert code == 0
    assert "option" not in out  # no option changed: 0.2.0 served with uvicorn too
    assert read_manifest((project / MANIFEST).read_text())["options"]["server"] == "uvicorn"
    assert "import uvicorn" in (project / ENTRY).read_text()
    updated, fresh = without_manifests(
        tree(project), tree(generate_at(__version__, tmp_path / "fresh", server="uvicorn"))
    )
    assert updated == fresh


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_a_recorded_server_is_kept_though_the_default_is_now_granian(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 0.3.0 recorded the server it chose (uvicorn was its default): update keeps either.
    project = generate_at("0.3.0", tmp_path / "svc-up", server=server)
    code, out, _ = update(capsys, project)
    assert code == 0, out
    assert "option" not in out
    assert read_manifest((project / MANIFEST).read_text())["options"]["server"] == server
    served = {"uvicorn": "import uvicorn", "granian": "from granian import Granian"}[server]
    assert served in (project / ENTRY).read_text()
    updated, fresh = without_manifests(
        tree(project), tree(generate_at(__version__, tmp_path / "fresh", server=server))
    )
    assert updated == fresh


def test_server_switches_an_old_edited_project_to_granian_keeping_the_edits(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The README changes with the server too: a merge, not a copy.
    edit(project, "README.md", "# Svc Up\n", "# Svc Up, the orders service\n")
    code, out, _ = update(capsys, project, "--server", "granian", "--dry-run")
    assert code == 0 and "  option    server: uvicorn -> granian\n" in out
    code, out, _ = update(capsys, project, "--server", "granian")
    assert code == 0, out
    assert "merged    README.md" in out
    readme = (project / "README.md").read_text()
    assert readme.startswith("# Svc Up, the orders service\n")
    entry = (project / ENTRY).read_text()
    assert "from granian import Granian" in entry and "uvicorn" not in entry
    pyproject = (project / "pyproject.toml").read_text()
    assert '"granian[uvloop]>=2.8"' in pyproject and "uvicorn" not in pyproject
    assert "granian --interface asgi --reload --reload-paths svc_up svc_up.main:app" in readme
    assert read_manifest((project / MANIFEST).read_text())["options"]["server"] == "granian"


def test_switching_back_and_forth_gives_a_fresh_generation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = generate_at(__version__, tmp_path / "svc-up", server="uvicorn")
    assert update(capsys, project, "--server", "granian")[0] == 0
    updated, fresh = without_manifests(
        tree(project), tree(generate_at(__version__, tmp_path / "fresh", server="granian"))
    )
    assert updated == fresh
    code, out, _ = update(capsys, project, "--server", "uvicorn")
    assert code == 0 and "  option    server: granian -> uvicorn\n" in out
    updated, fresh = without_manifests(
        tree(project), tree(generate_at(__version__, tmp_path / "back", server="uvicorn"))
    )
    assert updated == fresh
    again = update(capsys, project, "--server", "uvicorn")[1]
    assert again == f"Already at version {__version__} with these options; nothing to do.\n"


def test_an_unknown_server_is_refused_in_one_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree(project)
    with pytest.raises(SystemExit) as exited:
        main(["update", str(project), "--server", "hypercorn"])
    assert exited.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and "argument --server: invalid choice: 'hypercorn'" in errors[0]
    assert tree(project) == before
    with pytest.raises(UpdateError, match=r"^--server 'hypercorn' is not one of uvicorn, granian"):
        with_changes(OPTIONS, {"server": "hypercorn"})


def test_a_version_before_the_option_renders_as_it_did_and_refuses_another_server() -> None:
    # An update to (or from) 0.2.0 hands it the options it knows.
    assert render_files(BEFORE_SERVER, recorded_options(OPTIONS)) == render_files(
        BEFORE_SERVER, OPTIONS
    )
    with pytest.raises(UpdateError, match=r"^version 0\.2\.0 has no --server option"):
        render_files(BEFORE_SERVER, {**OPTIONS, "server": "granian"})


def test_an_old_project_updates_to_an_old_version_without_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = generate_at("0.1.0", tmp_path / "svc-up")
    code, out, err = update(capsys, project, "--to", BEFORE_SERVER)
    assert (code, err) == (0, ""), out
    assert "option" not in out
    code, _, err = update(capsys, project, "--to", BEFORE_SERVER, "--server", "granian")
    assert code == 2 and "version 0.2.0 has no --server option" in err
