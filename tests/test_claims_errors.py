"""references/errors.md's claims: problem titles are RFC 9110's phrases on every Python.

`HTTPStatus(...).phrase` follows the running Python (3.13 renamed four statuses), so the
titles are pinned in `status_phrase()`. These tests run the `status_phrase()` of both apps
this bundle ships, the single-file template and a generated project's `core/errors.py`,
against RFC 9110's table.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path

import pytest
from starlette.exceptions import HTTPException

from fastapi_patterns.generate import generate

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "assets" / "fastapi-app-template.py"
# RFC 9110 section 15's reason phrases for the client and server errors it defines.
RFC9110 = {
    400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
    407: "Proxy Authentication Required", 408: "Request Timeout", 409: "Conflict",
    410: "Gone", 411: "Length Required", 412: "Precondition Failed",
    413: "Content Too Large", 414: "URI Too Long", 415: "Unsupported Media Type",
    416: "Range Not Satisfiable", 417: "Expectation Failed", 421: "Misdirected Request",
    422: "Unprocessable Content", 426: "Upgrade Required", 500: "Internal Server Error",
    501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout", 505: "HTTP Version Not Supported",
}  # fmt: skip
RENAMED_IN_PYTHON_3_13 = {
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    416: "Requested Range Not Satisfiable",
    422: "Unprocessable Entity",
}
PHRASE_NODES = {"_RFC9110_TITLES", "_python_phrase", "status_phrase"}


def _defined_name(node: ast.stmt) -> str | None:
    if isinstance(node, ast.FunctionDef):
        return node.name
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    return None


def _status_phrase_in(source: str) -> Callable[[int], str]:
    """`status_phrase` as defined in `source`, with what it uses, and nothing else run."""
    kept = [node for node in ast.parse(source).body if _defined_name(node) in PHRASE_NODES]
    assert len(kept) == len(PHRASE_NODES), [getattr(node, "name", node) for node in kept]
    namespace: dict[str, object] = {"HTTPStatus": HTTPStatus}
    exec(compile(ast.Module(body=kept, type_ignores=[]), "<status_phrase>", "exec"), namespace)
    status_phrase = namespace["status_phrase"]
    assert callable(status_phrase)
    return status_phrase  # type: ignore[return-value]


def _generated_errors_module(tmp_path: Path) -> str:
    files = generate(
        "claims", tmp_path / "claims", dry_run=True, cwd=tmp_path, db="sqlite", redis=False,
        auth="jwt", layout="flat", python="3.11",
    ).files  # fmt: skip
    return files["claims/core/errors.py"].decode()


@pytest.fixture(params=["single-file template", "generated project"])
def status_phrase(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[int], str]:
    if request.param == "single-file template":
        return _status_phrase_in(TEMPLATE.read_text())
    return _status_phrase_in(_generated_errors_module(tmp_path))


def test_the_shape_titles_are_rfc_9110_phrases(status_phrase: Callable[[int], str]) -> None:
    assert {status: status_phrase(status) for status in RFC9110} == RFC9110
    assert status_phrase(599) == "Error"  # no phrase at all: still a title


def test_the_shape_python_phrases_differ_by_version() -> None:
    for status, old in RENAMED_IN_PYTHON_3_13.items():
        expected = RFC9110[status] if sys.version_info >= (3, 13) else old
        assert HTTPStatus(status).phrase == expected
    unchanged = set(RFC9110) - set(RENAMED_IN_PYTHON_3_13)
    assert {status: HTTPStatus(status).phrase for status in unchanged} == {
        status: RFC9110[status] for status in unchanged
    }


def test_handlers_starlette_default_detail_is_pythons_phrase() -> None:
    # Why `_http_error` drops a detail equal to Python's phrase as well as to the title.
    assert HTTPException(413).detail == HTTPStatus(413).phrase
