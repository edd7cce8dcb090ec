"""Database errors from the real servers, as a client of the generated service sees them.

The generated app maps database errors to problem documents (core/errors.py): data that
violates a constraint is 409, a database it cannot reach is 503 with Retry-After, any
other database error is a bug and 500; none of them shows SQL, driver messages or values
to the client. The project's own tests raise hand-built SQLAlchemy exceptions; here
PostgreSQL and MariaDB raise the real ones through their real drivers (asyncpg, asyncmy),
and the service's log shows which error the server gave.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from combos import Combo
from reliability import (
    assert_clean_log,
    assert_problem,
    database_name,
    figure,
    generate,
    migrate,
    service_env,
    sign_up,
)
from servers import MariaDBServer, PostgresServer
from service import Service

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("rel-db-errors")]

COMBOS = {
    "postgresql": Combo("postgresql", False, "jwt", "flat"),
    "mysql": Combo("mysql", False, "jwt", "flat"),
}
Database = PostgresServer | MariaDBServer

# What each server says, as the service logs it (the client must see none of it).
SERVER_SAYS = {
    "postgresql": {
        "duplicate": "duplicate key value violates unique constraint",
        "too long": "value too long for type character varying(5)",
    },
    "mysql": {
        "duplicate": "Duplicate entry 'same title' for key 'uq_test_title'",
        "too long": "Data too long for column 'title'",
    },
}
SHRINK_TITLE = {
    "postgresql": "ALTER TABLE items ALTER COLUMN title TYPE varchar(5)",
    "mysql": "ALTER TABLE items MODIFY title VARCHAR(5) NOT NULL",
}


@pytest.fixture(scope="module", params=list(COMBOS))
def db(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def project(db: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(COMBOS[db], tmp_path_factory, "db-errors")


def _shared_server(db: str, request: pytest.FixtureRequest) -> Database:
    name = "postgres_server" if db == "postgresql" else "mariadb_server"
    server: Database = request.getfixturevalue(name)
    return server


def _fresh_server(db: str, request: pytest.FixtureRequest) -> Database:
    name = "fresh_postgres_server" if db == "postgresql" else "fresh_mariadb_server"
    make: Callable[[], Database] = request.getfixturevalue(name)
    return make()


def _serve(db: str, project: Path, server: Database) -> tuple[Service, dict[str, str], str]:
    url = server.create_database()
    env = service_env(DATABASE_URL=url)
    migrate(project, env)
    return Service(project, COMBOS[db].package, env), env, database_name(url)


def test_violated_unique_constraint_is_409(
    db: str, project: Path, request: pytest.FixtureRequest, record_property: Any
) -> None:
    server = _shared_server(db, request)
    service, _, database = _serve(db, project, server)
    # A constraint the app does not check itself, so only the database refuses the row.
    server.execute("CREATE UNIQUE INDEX uq_test_title ON items (title)", database=database)
    with service:
        headers = sign_up(service.client, "unique@example.com")
        first = service.client.post("/items", json={"title": "same title"}, headers=headers)
        assert first.status_code == 201, first.text
        second = service.client.post("/items", json={"title": "same title"}, headers=headers)
        body = assert_problem(second, 409)
        assert body["detail"] == "The request conflicts with data that already exists."
        assert "same title" not in second.text
        listed = service.client.get("/items", headers=headers).json()
        assert [item["title"] for item in listed["items"]] == ["same title"]
        code = service.stop()
    log = service.log()
    assert code == 0, log[-4000:]
    assert_clean_log(log)
    assert "integrity_error" in log and SERVER_SAYS[db]["duplicate"] in log, log[-4000:]
    figure(record_property, f"{db}: a real unique violation answered 409 problem+json")


def test_value_too_long_for_the_column_is_500_without_details(
    db: str, project: Path, request: pytest.FixtureRequest, record_property: Any
) -> None:
    server = _shared_server(db, request)
    service, _, database = _serve(db, project, server)
    # The schema no longer matches the models: a bug (of a migration), not the client's
    # fault, so 500, and the service stays up.
    server.execute(SHRINK_TITLE[db], database=database)
    with service:
        headers = sign_up(service.client, "long@example.com")
        refused = service.client.post("/items", json={"title": "longer than five"}, headers=headers)
        body = assert_problem(refused, 500)
        assert body["detail"].startswith("An unexpected error occurred"), body
        assert "longer than five" not in refused.text and "varying" not in refused.text
        fits = service.client.post("/items", json={"title": "short"}, headers=headers)
        assert fits.status_code == 201, fits.text
        listed = service.client.get("/items", headers=headers).json()
        assert [item["title"] for item in listed["items"]] == ["short"]  # nothing half-written
        code = service.stop()
    log = service.log()
    assert code == 0, log[-4000:]
    assert "unhandled_exception" in log and SERVER_SAYS[db]["too long"] in log, log[-4000:]
    figure(record_property, f"{db}: a real value-too-long error answered 500, no details")


def test_database_down_is_503_with_retry_after(
    db: str, project: Path, request: pytest.FixtureRequest, record_property: Any
) -> None:
    server = _fresh_server(db, request)
    service, _, _ = _serve(db, project, server)
    with service:
        headers = sign_up(service.client, "down@example.com")
        assert service.client.post("/items", json={"title": "kept"}, headers=headers).is_success
        server.kill()
        for method, path, body in (
            ("GET", "/items", None),
            ("POST", "/items", {"title": "while down"}),
            ("GET", "/users/me", None),
        ):
            response = service.client.request(method, path, json=body, headers=headers)
            assert_problem(response, 503)
            assert response.headers["retry-after"].isdigit(), response.headers
        ready = service.client.get("/health/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["database"]["status"] == "error"
        server.start()  # same port, same data
        listed = service.client.get("/items", headers=headers)
        assert listed.status_code == 200, listed.text
        assert [item["title"] for item in listed.json()["items"]] == ["kept"]
        code = service.stop()
    log = service.log()
    assert code == 0, log[-4000:]
    assert_clean_log(log)
    assert "backing_service_unavailable" in log
    figure(record_property, f"{db}: server killed: 503 with Retry-After, then served again")
