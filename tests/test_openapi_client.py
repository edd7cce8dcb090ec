"""Issue 10: the generated service's OpenAPI document, read by tools nobody here wrote.

The document a running service serves is checked by a maintained validator
(openapi-spec-validator), holds the error contract (one problem schema referenced
everywhere, stable operation ids, 500 on every route, 503 with Retry-After where the
database is touched, 413 where a body is taken), and a mainstream client generator
(openapi-python-client) turns it into a client that signs up, logs in, creates, reads and
lists items, and gets problem documents back for a missing item and an invalid one.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from ci import missing
from combos import Combo
from reliability import (
    BIN,
    PASSWORD,
    SQLITE_DEFAULT,
    generate,
    migrate,
    service_env,
    sqlite_url,
)
from service import Service, run

# One worker boots the services and generates the client for the whole module.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("openapi-client")]

NO_DB = Combo("none", False, "none", "flat")
PROBLEM = "#/components/schemas/Problem"
VALIDATION_PROBLEM = "#/components/schemas/ValidationProblem"
# The default app's operations: (method, path) -> operation id.
OPERATION_IDS = {
    ("post", "/items"): "create_item",
    ("get", "/items"): "list_items",
    ("get", "/items/export"): "export_items",
    ("get", "/items/{item_id}"): "read_item",
    ("patch", "/items/{item_id}"): "update_item",
    ("delete", "/items/{item_id}"): "delete_item",
    ("post", "/auth/token"): "issue_token",
    ("post", "/users"): "sign_up",
    ("get", "/users"): "list_users",
    ("get", "/users/me"): "read_current_user",
    ("get", "/health/live"): "read_liveness",
    ("get", "/health/ready"): "read_readiness",
    ("get", "/health"): "read_health",
}
HEALTH = {"/health/live", "/health/ready", "/health"}
# Readiness answers 503 with its own report, which probes and people read.
REPORTS = {"/health/ready", "/health"}


@pytest.fixture(scope="module", params=[SQLITE_DEFAULT, NO_DB], ids=lambda combo: combo.id)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Combo, Service]]:
    """A migrated project under a real uvicorn process."""
    combo: Combo = request.param
    project = generate(combo, tmp_path_factory, "openapi")
    env = service_env()
    if combo.db != "none":
        env["DATABASE_URL"] = sqlite_url(project)
        migrate(project, env)
    with Service(project, combo.package, env) as service:
        yield combo, service


@pytest.fixture(scope="module")
def document(served: tuple[Combo, Service]) -> dict[str, Any]:
    response = served[1].client.get("/openapi.json")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def test_a_maintained_validator_accepts_the_document(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_problem_schemas_are_declared_once_and_referenced(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    schemas = document["components"]["schemas"]
    assert set(schemas["ValidationProblem"]["properties"]) == {
        *schemas["Problem"]["properties"],
        "errors",
    }
    inline_copies = text.count('"request_id"') - 2  # Problem and ValidationProblem
    references = text.count(f'"{PROBLEM}"') + text.count(f'"{VALIDATION_PROBLEM}"')
    errors = 0
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400 or (path in REPORTS and status == "503"):
                continue
            errors += 1
            expected = VALIDATION_PROBLEM if status == "422" else PROBLEM
            media = response["content"]["application/problem+json"]
            assert media == {"schema": {"$ref": expected}}, (method, path, status)
    assert (inline_copies, references) == (0, errors)


def test_operation_ids_are_the_endpoint_names(
    served: tuple[Combo, Service], document: dict[str, Any]
) -> None:
    combo = served[0]
    ids = {(method, path): op["operationId"] for method, path, op in _operations(document)}
    if combo.auth == "jwt":
        assert ids == OPERATION_IDS
    else:
        assert ids == {
            key: name
            for key, name in OPERATION_IDS.items()
            if not key[1].startswith(("/users", "/auth"))
        }


def test_every_route_documents_the_errors_it_can_answer(
    served: tuple[Combo, Service], document: dict[str, Any]
) -> None:
    combo = served[0]
    for method, path, operation in _operations(document):
        responses = operation["responses"]
        where = (method, path, sorted(responses))
        assert "500" in responses, where
        touches_database = combo.db != "none" and path not in HEALTH
        if touches_database:
            retry_after = responses["503"]["headers"]["Retry-After"]
            assert retry_after["required"] is True, where
        elif path not in REPORTS:
            assert "503" not in responses, where
        assert ("413" in responses) == ("requestBody" in operation), where
        protected = combo.auth == "jwt" and (
            path.startswith("/items") or path in ("/users/me", "/auth/token")
        )
        assert ("401" in responses) == (protected or (method, path) == ("get", "/users")), where


def _generate_client(base_url: str, directory: Path) -> str:
    """Generate a client package from the running service; returns its import name."""
    if importlib.util.find_spec("openapi_python_client") is None:
        missing("openapi-python-client is not installed; pip install -e '.[dev]' installs it")
    package = "service_client"
    result = run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--url", f"{base_url}/openapi.json",
            "--output-path", str(directory / package),
            "--meta", "none",
        ],
        directory,
        # Its post-generation hooks run ruff, which lives beside it.
        {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
        timeout=120,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # The one thing it cannot type: a JSON Lines body (it knows no sequential media type).
    warnings = [line for line in output.splitlines() if line.startswith("WARNING")]
    assert warnings == ["WARNING parsing GET /items/export within items."], output
    return package


@pytest.mark.parametrize("served", [SQLITE_DEFAULT], ids=[SQLITE_DEFAULT.id], indirect=True)
def test_a_generated_client_drives_the_service(
    served: tuple[Combo, Service], tmp_path: Path
) -> None:
    service = served[1]
    package = _generate_client(service.base_url, tmp_path)
    models_dir = tmp_path / package / "models"
    assert sorted(path.stem for path in models_dir.glob("*problem*.py")) == [
        "problem",
        "validation_problem",
    ]
    sys.path.insert(0, str(tmp_path))
    try:
        _drive(package, service.base_url)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.split(".")[0] == package]:
            del sys.modules[name]


def _drive(package: str, base_url: str) -> None:
    def load(name: str) -> Any:
        return importlib.import_module(f"{package}.{name}")

    client, models = load("client"), load("models")
    sign_up, issue_token = load("api.users.sign_up"), load("api.auth.issue_token")
    create_item, read_item = load("api.items.create_item"), load("api.items.read_item")
    list_items = load("api.items.list_items")
    email = "client@example.com"

    with client.Client(base_url=base_url) as anonymous:
        account = models.UserCreate(email=email, password=PASSWORD)
        user = sign_up.sync(client=anonymous, body=account)
        assert isinstance(user, models.UserRead), user
        assert user.email == email
        form = models.BodyIssueToken(username=email, password=PASSWORD)
        token = issue_token.sync(client=anonymous, body=form)
        assert isinstance(token, models.Token), token
        refused = read_item.sync_detailed(client=anonymous, item_id=1)
        assert refused.status_code == 401
        assert isinstance(refused.parsed, models.Problem)

    with client.AuthenticatedClient(base_url=base_url, token=token.access_token) as api:
        created = create_item.sync(client=api, body=models.ItemCreate(title="from a client"))
        assert isinstance(created, models.ItemRead), created
        assert created.title == "from a client"
        assert created.owner_id == user.id
        read = read_item.sync(client=api, item_id=created.id)
        assert isinstance(read, models.ItemRead)
        assert read.to_dict() == created.to_dict()
        page = list_items.sync(client=api, limit=10, offset=0)
        assert isinstance(page, models.ItemPage)
        assert (page.total, [item.id for item in page.items]) == (1, [created.id])

        absent = read_item.sync_detailed(client=api, item_id=created.id + 1000)
        assert absent.status_code == 404
        problem = absent.parsed
        assert isinstance(problem, models.Problem), problem
        assert problem.status == 404
        assert problem.detail == f"Item {created.id + 1000} does not exist."
        assert problem.request_id == absent.headers["x-request-id"]

        invalid = create_item.sync_detailed(client=api, body=models.ItemCreate(title=""))
        assert invalid.status_code == 422
        assert isinstance(invalid.parsed, models.ValidationProblem), invalid.parsed
        [issue] = invalid.parsed.errors
        assert (issue.loc, issue.type_) == (["body", "title"], "string_too_short")
