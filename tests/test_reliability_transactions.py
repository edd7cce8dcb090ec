"""Issue 6.5: an exception after a write inside a request persists nothing.

The generated production code has no route that writes and then fails, and gets none:
a script run inside the generated project builds the app with `create_app(Settings())`,
adds test routes that write through the project's own services and dependencies and then
fail in different ways, and drives them over ASGI with the lifespan running, against the
real database. Controls that succeed must persist, so the check can fail.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from combos import Combo
from reliability import (
    MYSQL_REDIS_JWT,
    PG_REDIS_JWT,
    SQLITE_DEFAULT,
    assert_no_leak,
    figure,
    generate,
    migrate,
    service_env,
    sqlite_url,
)
from service import run

pytestmark = pytest.mark.slow

SCRIPT = """
import asyncio
import json

from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient

from {package}.api.deps import CurrentUser, ItemServiceDep
from {package}.core.config import Settings
from {package}.core.errors import ProblemException
from {package}.main import create_app
from {package}.schemas import ItemCreate, ItemRead, ItemUpdate


def add_failing_routes(app):
    @app.post("/test/{{case}}/{{item_id}}", status_code=201)
    async def write_then_fail(
        case: str, item_id: int, items: ItemServiceDep, user: CurrentUser
    ) -> ItemRead | None:
        if case.startswith("create"):
            written = await items.create(ItemCreate(title=case), owner_id=user.id)
        elif case.startswith("update"):
            written = await items.update(item_id, ItemUpdate(title=case), owner_id=user.id)
        else:
            assert await items.delete(item_id, owner_id=user.id)
            written = None
        if case.endswith("unhandled"):
            raise RuntimeError("failed after the write")
        if case.endswith("problem"):
            raise ProblemException(409, detail="failed after the write")
        if case.endswith("constraint"):
            # A second write breaks a foreign key: the database itself refuses it.
            await items.create(ItemCreate(title="orphan"), owner_id=2_000_000_000)
        return written


async def main():
    app = create_app(Settings())
    add_failing_routes(app)
    results = {{}}
    async with LifespanManager(app) as manager:
        transport = ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://test") as http:
            account = {{"email": "tx@example.com", "password": "transactions-password-1"}}
            assert (await http.post("/users", json=account)).status_code == 201
            form = {{"username": account["email"], "password": account["password"]}}
            token = (await http.post("/auth/token", data=form)).json()["access_token"]
            headers = {{"Authorization": f"Bearer {{token}}"}}
            seed = await http.post("/items", json={{"title": "seed"}}, headers=headers)
            seed_id = seed.json()["id"]
            await http.get(f"/items/{{seed_id}}", headers=headers)  # cached, where there is Redis
            for case in {cases!r}:
                response = await http.post(f"/test/{{case}}/{{seed_id}}", headers=headers)
                listed = await http.get("/items", headers=headers)
                seen = await http.get(f"/items/{{seed_id}}", headers=headers)
                results[case] = {{
                    "status": response.status_code,
                    "content_type": response.headers.get("content-type"),
                    "titles": sorted(item["title"] for item in listed.json()["items"]),
                    "seed": seen.json()["title"] if seen.status_code == 200 else seen.status_code,
                    "body": response.text,
                }}
    print(json.dumps(results))


asyncio.run(main())
"""

# case -> (status, the titles stored afterwards, the seed item's title as read)
FAILURES = {
    "create-unhandled": (500, ["seed"], "seed"),
    "create-problem": (409, ["seed"], "seed"),
    "create-constraint": (409, ["seed"], "seed"),
    "update-unhandled": (500, ["seed"], "seed"),
    "update-problem": (409, ["seed"], "seed"),
    "delete-unhandled": (500, ["seed"], "seed"),
    "delete-problem": (409, ["seed"], "seed"),
}
# Run last, in this order: they succeed, so they must persist.
CONTROLS = {
    "create-ok": (201, ["create-ok", "seed"], "seed"),
    "update-ok": (201, ["create-ok", "update-ok"], "update-ok"),
    "delete-ok": (201, ["create-ok"], 404),
}


@pytest.mark.parametrize(
    "combo",
    [
        pytest.param(PG_REDIS_JWT, id=PG_REDIS_JWT.id, marks=pytest.mark.xdist_group("rel-tx")),
        pytest.param(
            MYSQL_REDIS_JWT, id=MYSQL_REDIS_JWT.id, marks=pytest.mark.xdist_group("rel-tx")
        ),
        pytest.param(SQLITE_DEFAULT, id=SQLITE_DEFAULT.id, marks=pytest.mark.xdist_group("rel-tx")),
    ],
)
def test_an_exception_after_a_write_persists_nothing(
    combo: Combo,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
    record_property: Any,
) -> None:
    project = generate(combo, tmp_path_factory, "tx")
    if combo.db == "postgresql":
        env = service_env(DATABASE_URL=request.getfixturevalue("postgres_server").create_database())
    elif combo.db == "mysql":
        env = service_env(DATABASE_URL=request.getfixturevalue("mariadb_server").create_database())
    else:
        env = service_env(DATABASE_URL=sqlite_url(project))
    if combo.redis:
        env["REDIS_URL"] = request.getfixturevalue("redis_server").url_for_db(5)
        env["CACHE_PREFIX"] = f"tx-{combo.id}:"
    migrate(project, env)
    script = project.parent / "write_then_fail.py"
    cases = [*FAILURES, *CONTROLS]
    script.write_text(SCRIPT.format(package=combo.package, cases=cases))
    env["PYTHONPATH"] = str(project)
    result = run([sys.executable, str(script)], project, env, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    results = json.loads(result.stdout.strip().splitlines()[-1])

    for case, (status, titles, seed) in {**FAILURES, **CONTROLS}.items():
        got = results[case]
        assert got["status"] == status, (case, got)
        assert got["titles"] == titles, (case, got)
        assert got["seed"] == seed, (case, got)
        if status >= 400:
            assert got["content_type"] == "application/problem+json", (case, got)
            assert_no_leak(got["body"])
            for internal in ("RuntimeError", "foreign key", "FOREIGN KEY", "violates", "orphan"):
                assert internal not in got["body"], (case, got)
            if status == 500:
                assert "failed after the write" not in got["body"], (case, got)
    figure(
        record_property,
        f"{combo.id}: {len(FAILURES)} write-then-fail requests (create, update, delete x "
        "unhandled, handled, constraint) persisted nothing; "
        f"{len(CONTROLS)} successful controls persisted",
    )
