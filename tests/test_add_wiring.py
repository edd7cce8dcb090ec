"""The wiring patch (fastapi_patterns.add.wiring): insertions only, placed where the app is
built, imports where isort puts them, and a second run that changes nothing."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

import libcst as cst
import pytest

from fastapi_patterns.add.patterns import PATTERNS
from fastapi_patterns.add.wiring import Unsupported, find_scope, wire

KNOWN = frozenset(p.wiring.name for p in PATTERNS.values() if p.wiring)
BOTH = [
    (".core.problem_details", PATTERNS["errors"].wiring),
    (".core.request_context", PATTERNS["request-context"].wiring),
]


def patched(source: str, attr: str = "app") -> str:
    return wire(source.encode(), attr, BOTH, KNOWN).decode()


def added_lines(before: str, after: str) -> list[str]:
    """The lines the patch added; fails if it removed or changed any."""
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    assert not [line for line in diff if line.startswith("- ")], "\n".join(diff)
    return [line[2:] for line in diff if line.startswith("+ ")]


MODULE_APP = '''\
"""Docstring."""

import logging

from fastapi import FastAPI  # the framework

from . import deps
from .routers import items

log = logging.getLogger(__name__)
app = FastAPI(title="x")  # keep this comment
app.include_router(items.router)
'''


def test_module_level_app_gets_imports_and_calls_right_after_it() -> None:
    after = patched(MODULE_APP)
    assert added_lines(MODULE_APP, after) == [
        "from .core.problem_details import install_problem_details",
        "from .core.request_context import RequestContextMiddleware",
        "install_problem_details(app)",
        "app.add_middleware(RequestContextMiddleware)",
    ]
    lines = after.splitlines()
    assert lines.index("from .core.problem_details import install_problem_details") == (
        lines.index("from . import deps") + 1
    )
    assert lines[lines.index('app = FastAPI(title="x")  # keep this comment') + 1] == (
        "install_problem_details(app)"
    )


def test_a_second_run_changes_nothing() -> None:
    once = patched(MODULE_APP)
    assert patched(once) == once


def test_request_context_goes_after_every_middleware_the_app_adds() -> None:
    source = """\
from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware

app = FastAPI()
app.add_middleware(GZipMiddleware)


@app.middleware("http")
async def stamp(request, call_next):
    return await call_next(request)


@app.get("/")
async def root() -> dict[str, str]:
    return {}
"""
    after = patched(source)
    added_lines(source, after)
    lines = after.splitlines()
    stamp_end = lines.index("    return await call_next(request)")
    assert lines[stamp_end + 1 : stamp_end + 4] == [
        "",
        "",
        "app.add_middleware(RequestContextMiddleware)",
    ]
    assert lines.index("install_problem_details(app)") == lines.index("app = FastAPI()") + 1


def test_factory_is_wired_inside_before_its_return() -> None:
    source = """\
from fastapi import FastAPI

from .routers import router


def build() -> FastAPI:
    api = FastAPI()
    api.include_router(router)
    return api


app = build()
"""
    after = patched(source)
    added = added_lines(source, after)
    assert "    install_problem_details(api)" in after
    assert "    api.add_middleware(RequestContextMiddleware)" in after
    assert after.index("install_problem_details(api)") < after.index("return api")
    assert len(added) == 4
    assert patched(after) == after


def test_returns_of_functions_nested_in_the_factory_are_not_its_own() -> None:
    # A route defined inside the factory returns from the route, not from the factory.
    source = """\
from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/")
    def index() -> dict[str, str]:
        return {"ok": "yes"}

    class Helper:
        def value(self) -> int:
            return 1

    return app
"""
    after = patched(source, "create_app")
    assert (
        "    app = FastAPI()\n    install_problem_details(app)\n"
        "    app.add_middleware(RequestContextMiddleware)\n" in after
    )
    assert len(added_lines(source, after)) == 5  # a blank line, two imports, two calls
    assert patched(after, "create_app") == after


def test_factory_named_directly() -> None:
    source = (
        "from fastapi import FastAPI\n\n\ndef create_app() -> FastAPI:\n"
        "    app = FastAPI()\n    return app\n"
    )
    after = patched(source, "create_app")
    assert "    app.add_middleware(RequestContextMiddleware)\n    return app\n" in after


def test_crlf_line_endings_and_tabs_are_kept() -> None:
    source = "from fastapi import FastAPI\r\n\r\nfrom .x import y\r\n\r\napp = FastAPI()\r\n"
    after = patched(source)
    assert "\n" not in after.replace("\r\n", "")
    assert after.startswith(source.split("app =")[0].split("from .x")[0])


def test_imports_go_into_a_new_section_when_there_are_no_relative_ones() -> None:
    source = "from fastapi import FastAPI\n\napp = FastAPI()\n"
    after = patched(source)
    assert after.startswith(
        "from fastapi import FastAPI\n\nfrom .core.problem_details import install_problem_details\n"
    )


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("from fastapi import FastAPI\n\nif True:\n    app = FastAPI()\n", "not assigned"),
        (
            "from fastapi import FastAPI\n\n\ndef make():\n    return FastAPI()\n\n\n"
            "app = make()\n",
            "does not end with `return <the app>`",
        ),
        (
            "from fastapi import FastAPI\n\n\ndef make(x):\n    app = FastAPI()\n"
            "    if x:\n        return app\n    return app\n\n\napp = make(1)\n",
            "more than one place",
        ),
        ("from fastapi import FastAPI\napp = FastAPI(\n", "does not parse"),
    ],
    ids=["inside-if", "returns-constructor", "two-returns", "syntax-error"],
)
def test_shapes_it_cannot_patch_safely_are_refused(source: str, reason: str) -> None:
    with pytest.raises(Unsupported, match=reason):
        patched(source)


def test_app_built_by_an_imported_function_is_wired_at_module_level() -> None:
    # The factory lives elsewhere: the instance here is what gets the calls.
    source = "from .factory import create_app\n\napp = create_app()\n"
    scope = find_scope(cst.parse_module(source), "app")
    assert scope.factory is None and scope.app_var == "app"


def test_patched_module_is_clean_for_ruff_isort(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    target = tmp_path / "pkg" / "main.py"
    target.write_text(patched(MODULE_APP))
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "E,F,W,I",
         "--ignore", "F401", str(target)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout
