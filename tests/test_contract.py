"""The behavioural contract (tests/contract.py) holds for both apps the bundle ships.

(a) the generated default project (SQLite, no Redis, JWT, flat layout), generated into a
temporary folder, and (b) the single-file template, each served by a real uvicorn
process. Every rule runs against both, the two apps must answer the same requests alike,
and the contract must notice a renamed response header in either app.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from combos import Combo
from contract import (
    CHECKS,
    Served,
    check_response_headers,
    serve_generated,
    serve_single_file,
    transcript,
)

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "assets" / "fastapi-app-template.py"
# The generator's default options for a new project (make demo): SQLite, no Redis, JWT,
# flat. Both apps run under the same uvicorn launcher, so the project's own server (granian
# by default) plays no part here.
DEFAULT = Combo("sqlite", False, "jwt", "flat")
APPS = ("generated", "single_file")

pytestmark = pytest.mark.xdist_group("contract")


@pytest.fixture(scope="module")
def generated_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return DEFAULT.generate(tmp_path_factory.mktemp("contract-generated") / DEFAULT.name)


@pytest.fixture(scope="module")
def generated(generated_project: Path) -> Iterator[Served]:
    served = serve_generated(generated_project, DEFAULT.package, generated_project.parent / "data")
    with served.service:
        yield served


@pytest.fixture(scope="module")
def single_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("contract-single-file")
    served = serve_single_file(TEMPLATE, folder / "run", folder / "data")
    with served.service:
        yield served


@pytest.mark.parametrize("app", APPS)
@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__.removeprefix("check_"))
def test_contract(
    app: str, check: Callable[[Served], None], request: pytest.FixtureRequest
) -> None:
    check(request.getfixturevalue(app))


def test_both_apps_answer_alike(generated: Served, single_file: Served) -> None:
    """Status, headers and bodies of the same requests, less ids, times and names."""
    for ours, theirs in zip(transcript(generated), transcript(single_file), strict=True):
        assert ours == theirs


# ------------------------------------------------- the contract notices a renamed header


def _renamed(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} is no longer in the middleware; update this test"
    return text.replace(old, new)


def test_contract_fails_on_a_renamed_header_in_the_single_file(tmp_path: Path) -> None:
    copy = tmp_path / "renamed-header-app.py"
    copy.write_text(
        _renamed(
            TEMPLATE.read_text(encoding="utf-8"),
            '(b"x-request-id", self.request_id)',
            '(b"x-correlation-id", self.request_id)',
        ),
        encoding="utf-8",
    )
    served = serve_single_file(copy, tmp_path / "run", tmp_path / "data")
    with served.service:
        assert served.client.get("/health/live").headers["x-correlation-id"]
        with pytest.raises(AssertionError):
            check_response_headers(served)


def test_contract_fails_on_a_renamed_header_in_the_generated_app(
    generated_project: Path, tmp_path: Path
) -> None:
    project = shutil.copytree(generated_project, tmp_path / DEFAULT.name)
    middleware = project / DEFAULT.package / "core" / "middleware.py"
    middleware.write_text(
        _renamed(
            middleware.read_text(encoding="utf-8"),
            '(b"x-response-time", b"%.2fms" % elapsed_ms)',
            '(b"x-elapsed", b"%.2fms" % elapsed_ms)',
        ),
        encoding="utf-8",
    )
    served = serve_generated(project, DEFAULT.package, tmp_path / "data")
    with served.service:
        assert served.client.get("/health/live").headers["x-elapsed"]
        with pytest.raises(AssertionError):
            check_response_headers(served)
