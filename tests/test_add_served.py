"""Apps patched by `fastapi-patterns add errors request-context`, served by a real uvicorn
process: request id and timing headers, problem+json for an unknown path, a bad body and an
unhandled error, and the app's own handlers still answering their exceptions."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from add_fixtures import (
    BASE_HTTP_MIDDLEWARE,
    FACTORY,
    FLAT,
    IN_INIT,
    OWN_HANDLERS,
    SRC,
    Shape,
    write,
)
from fastapi_patterns.add.engine import add_patterns
from service import Service, base_env

pytestmark = pytest.mark.xdist_group("add-served")
PROBLEM = "application/problem+json"


@pytest.fixture(
    params=[FLAT, FACTORY, SRC, IN_INIT, OWN_HANDLERS, BASE_HTTP_MIDDLEWARE],
    ids=lambda s: s.id,
    scope="module",
)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Shape, Service]]:
    shape: Shape = request.param
    root = write(tmp_path_factory.mktemp(shape.id), shape.files)
    add_patterns(root, ["errors", "request-context"])
    package = shape.module.split(".")[0].split(":")[0]
    service = Service(root, package, base_env(), uvicorn_cli=True, src_layout=shape is SRC)
    # The module the fixture serves may not be package.main (svc:app); name it exactly.
    service.command[3] = shape.module
    with service:  # waits until the app answers (a 404 for /health/live is an answer)
        yield shape, service


def test_request_id_and_timing_headers(served: tuple[Shape, Service]) -> None:
    _, service = served
    response = service.client.post("/items", json={"name": "pen", "price": 2.5})
    assert response.status_code == 200
    assert len(response.headers["x-request-id"]) == 32
    assert response.headers["x-response-time"].endswith("ms")
    kept = service.client.get("/docs", headers={"X-Request-ID": "trace-123"})
    assert kept.headers["x-request-id"] == "trace-123"


def test_access_line_is_json_with_the_request_id(served: tuple[Shape, Service]) -> None:
    _, service = served
    service.client.get("/docs", headers={"X-Request-ID": "access-line-check"})
    # The line is written once the response is sent, so it may follow the client's read.
    deadline = time.monotonic() + 10
    matching: list[dict[str, object]] = []
    while not matching and time.monotonic() < deadline:
        lines = [json.loads(line) for line in service.log().splitlines() if line.startswith("{")]
        matching = [line for line in lines if line["request_id"] == "access-line-check"]
        time.sleep(0.02)  # polling interval, bounded by the deadline
    assert matching and matching[0]["path"] == "/docs" and matching[0]["status"] == 200


def test_unknown_path_is_a_problem(served: tuple[Shape, Service]) -> None:
    _, service = served
    response = service.client.get("/nowhere", headers={"X-Request-ID": "req-404"})
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == 404 and body["title"] == "Not Found"
    assert body["instance"] == "/nowhere" and body["request_id"] == "req-404"


def test_bad_body_is_a_problem_unless_the_app_handles_it(served: tuple[Shape, Service]) -> None:
    shape, service = served
    response = service.client.post("/items", json={"name": "pen", "price": "free", "pw": "s3"})
    if shape is OWN_HANDLERS:  # its own RequestValidationError handler wins
        assert response.status_code == 400
        assert response.json() == {"message": "invalid body"}
        return
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert [error["loc"] for error in body["errors"]] == [["body", "price"]]
    assert "free" not in response.text  # the input is not echoed back


@pytest.mark.parametrize("served", [OWN_HANDLERS], ids=["own-handlers"], indirect=True)
def test_own_handler_wins_and_unhandled_errors_are_problems(
    served: tuple[Shape, Service],
) -> None:
    _, service = served
    stock = service.client.get("/stock")
    assert stock.status_code == 409 and stock.json() == {"message": "out of stock"}
    boom = service.client.get("/boom", headers={"X-Request-ID": "req-500"})
    assert boom.status_code == 500
    assert boom.headers["content-type"] == PROBLEM
    assert boom.json()["request_id"] == "req-500"
    assert "secret" not in boom.text


@pytest.mark.parametrize("served", [BASE_HTTP_MIDDLEWARE], ids=["base-http"], indirect=True)
def test_the_apps_own_middleware_still_runs_inside(served: tuple[Shape, Service]) -> None:
    _, service = served
    response = service.client.get("/nowhere")
    assert "x-elapsed" in response.headers  # TimingMiddleware, left in place
    assert response.headers["content-type"] == PROBLEM
    assert len(response.headers["x-request-id"]) == 32
