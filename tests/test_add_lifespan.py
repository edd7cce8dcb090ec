"""`fastapi-patterns add lifespan`: on_event / add_event_handler hooks become one lifespan.

Each fixture app's hooks append a word to the file named by HOOKS_LOG; after the patched app
was served by a real uvicorn process and stopped, the file holds each word exactly once, in
the order Starlette ran the hooks. Refusals leave the tree byte-identical.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from add_fixtures import git_commit_all, ruff_findings, snapshot, write
from fastapi_patterns.add.engine import add_patterns
from fastapi_patterns.add.refusal import AddRefused
from fastapi_patterns.commands import main
from service import Service, base_env

_PYPROJECT = '[project]\nname = "shop"\nversion = "0.1.0"\ndependencies = ["fastapi"]\n'
_LOG_HELPER = '''\
import os


def note(word: str) -> None:
    """Append `word` to the file the test names, one line per hook run."""
    with open(os.environ["HOOKS_LOG"], "a") as log:
        log.write(word + "\\n")
'''

MODULE_LEVEL = '''\
"""The shop's API."""

from fastapi import FastAPI

from .hooks import note

app = FastAPI(title="Shop")  # the one app


# Open what the app needs.
@app.on_event("startup")
async def open_pool() -> None:
    note("startup")


@app.on_event("shutdown")
def close_pool() -> None:  # sync: on_event called it directly
    note("shutdown")


@app.get("/")
async def root() -> dict[str, str]:
    return {"name": "shop"}
'''

FACTORY = '''\
from fastapi import FastAPI

from .hooks import note


def create_app(*, title: str = "Shop") -> FastAPI:
    """The app; tests call this with their own title."""
    application = FastAPI(
        title=title,
        on_startup=[warm_cache],
    )

    @application.on_event("startup")
    async def connect() -> None:
        note("startup")

    @application.on_event("shutdown")
    async def disconnect() -> None:
        note("shutdown")

    return application


def warm_cache() -> None:
    note("warm")


app = create_app()
'''

EXISTING_LIFESPAN = """\
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .hooks import note


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    note("lifespan-enter")
    yield
    note("lifespan-exit")


app = FastAPI(lifespan=lifespan)


@app.on_event("startup")
async def startup() -> None:
    note("startup")


@app.on_event("shutdown")
async def shutdown() -> None:
    note("shutdown")
"""

ADD_EVENT_HANDLER = """\
from fastapi import FastAPI

from .hooks import note


async def open_pool() -> None:
    note("startup")


def close_pool() -> None:
    note("shutdown")


app = FastAPI()
app.add_event_handler("startup", open_pool)
# closed when the server stops
app.add_event_handler("shutdown", close_pool)
"""

APPS = {
    "module-level": (MODULE_LEVEL, ["startup", "shutdown"]),
    "factory": (FACTORY, ["warm", "startup", "shutdown"]),
    "existing-lifespan": (
        EXISTING_LIFESPAN,
        ["lifespan-enter", "startup", "shutdown", "lifespan-exit"],
    ),
    "add-event-handler": (ADD_EVENT_HANDLER, ["startup", "shutdown"]),
}


def project(root: Path, main_source: str, **extra: str) -> Path:
    files = {
        "pyproject.toml": _PYPROJECT,
        "shop/__init__.py": "",
        "shop/hooks.py": _LOG_HELPER,
        "shop/main.py": main_source,
        **extra,
    }
    write(root, files)
    git_commit_all(root)
    return root


@pytest.mark.parametrize("shape", list(APPS))
def test_hooks_become_a_lifespan_and_a_second_run_changes_nothing(
    shape: str, tmp_path: Path
) -> None:
    source, _ = APPS[shape]
    root = project(tmp_path / "p", source)
    before_ruff = ruff_findings(root / "shop/main.py")
    result = add_patterns(root, ["lifespan"])
    assert result.patched == ["shop/main.py"] and result.created == []
    patched = (root / "shop/main.py").read_text()
    assert ".on_event(" not in patched and ".add_event_handler(" not in patched
    assert "on_startup=" not in patched
    assert "lifespan=" in patched and "@asynccontextmanager" in patched
    assert ruff_findings(root / "shop/main.py") == before_ruff
    assert not (root / ".create-fastapi-app.yml").exists()  # a transform adds no module
    # comments and the handlers themselves survive
    for line in source.splitlines():
        if line.strip().startswith("#") or line.startswith(("async def", "def ")):
            assert line in patched.splitlines()

    subprocess.run(["git", "commit", "-qam", "lifespan"], cwd=root, check=True)
    tree = snapshot(root)
    again = add_patterns(root, ["lifespan"])
    assert again.patched == [] and again.diff == ""
    assert snapshot(root) == tree


@pytest.mark.xdist_group("add-lifespan-served")
@pytest.mark.parametrize("shape", list(APPS))
def test_served_app_runs_each_hook_exactly_once(shape: str, tmp_path: Path) -> None:
    source, expected = APPS[shape]
    root = project(tmp_path / "p", source)
    add_patterns(root, ["lifespan"])
    log = tmp_path / "hooks.log"
    service = Service(root, "shop", base_env(HOOKS_LOG=str(log)), uvicorn_cli=True)
    with service:
        assert service.client.get("/docs").status_code == 200
        assert log.read_text().split() == expected[: expected.index("shutdown")]
        # SIGTERM: uvicorn finishes the lifespan's shutdown side, then re-raises the signal
        assert service.stop() in (0, -15)
    assert "Application shutdown complete." in service.log()
    assert log.read_text().split() == expected


def test_dry_run_prints_the_diff_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path / "p", MODULE_LEVEL)
    tree = snapshot(root)
    assert main(["add", "lifespan", str(root), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert '-@app.on_event("startup")' in out
    assert '+app = FastAPI(title="Shop", lifespan=lifespan)  # the one app' in out
    assert "would patch: shop/main.py" in out
    assert snapshot(root) == tree


REFUSED = {
    "in-a-loop": (
        MODULE_LEVEL + "\n\nfor hook in (open_pool,):\n"
        "    app.add_event_handler('startup', hook)\n",
        {},
        "loop",
    ),
    "imported-handler": (
        "from fastapi import FastAPI\n\nfrom .hooks import note\n\napp = FastAPI()\n"
        "app.add_event_handler('startup', note)\n",
        {},
        "whether it is async is unknown",
    ),
    "lifespan-from-elsewhere": (
        EXISTING_LIFESPAN.replace("from contextlib import asynccontextmanager\n", "").replace(
            '@asynccontextmanager\nasync def lifespan(app: FastAPI) -> AsyncIterator[None]:\n'
            '    note("lifespan-enter")\n    yield\n    note("lifespan-exit")\n\n\n',
            "",
        ).replace("from .hooks import note\n", "from .hooks import lifespan, note\n"),
        {},
        "cannot be composed safely",
    ),
    "router-hooks-in-another-module": (
        MODULE_LEVEL,
        {
            "shop/routes.py": "from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n"
            "@router.on_event('startup')\nasync def hello() -> None:\n    pass\n"
        },
        "shop/routes.py also register event hooks",
    ),
    "app-not-built-by-fastapi": (
        "from .hooks import note\nfrom .factory import make\n\napp = make()\n\n\n"
        "@app.on_event('startup')\nasync def hi() -> None:\n    note('x')\n",
        {"shop/factory.py": "from fastapi import FastAPI\n\n\ndef make() -> FastAPI:\n"
         "    return FastAPI()\n"},
        "not built by a FastAPI(...) call",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(REFUSED))
def test_refusals_leave_the_tree_byte_identical(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, extra, reason = REFUSED[case]
    root = project(tmp_path / "p", source, **extra)
    tree = snapshot(root)
    with pytest.raises(AddRefused, match=re.escape(reason)):
        add_patterns(root, ["lifespan"], app="shop.main:app")
    assert main(["add", "lifespan", str(root), "--app", "shop.main:app"]) == 1
    out, err = capsys.readouterr()
    assert "Nothing was written" in err
    if case != "router-hooks-in-another-module":  # the lifespan to write by hand
        assert "  @asynccontextmanager" in out.splitlines()
    assert snapshot(root) == tree


def test_refusal_prints_the_lifespan_to_write_with_the_hooks_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, extra, _ = REFUSED["in-a-loop"]
    root = project(tmp_path / "p", source, **extra)
    assert main(["add", "lifespan", str(root)]) == 1
    out = capsys.readouterr().out
    assert "  async def lifespan(app: FastAPI) -> AsyncIterator[None]:" in out
    assert "      await open_pool()" in out and "          close_pool()" in out


def test_an_app_without_hooks_is_left_alone(tmp_path: Path) -> None:
    root = project(tmp_path / "p", "from fastapi import FastAPI\n\napp = FastAPI()\n")
    tree = snapshot(root)
    result = add_patterns(root, ["lifespan"])
    assert result.patched == [] and result.created == []
    assert snapshot(root) == tree
