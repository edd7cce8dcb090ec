"""references/hardening.md against real servers: its complete example on a real Redis,
and root_path through a real uvicorn behind a prefix-stripping and a non-stripping proxy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from reference_blocks import runnable_example, served
from servers import RedisServer

ROOT_PATH_APP = """
from fastapi import FastAPI, Request

app = FastAPI({options})


@app.get("/health/live")
async def live() -> dict[str, str]:
    return {{"status": "ok"}}


@app.get("/items/{{item_id}}", name="item")
async def item(item_id: int, request: Request) -> dict[str, str]:
    return {{"self": str(request.url_for("item", item_id=item_id))}}
"""


def test_the_complete_example_on_a_real_redis(redis_server: RedisServer, tmp_path: Path) -> None:
    redis_server.flushall()
    script = tmp_path / "example.py"
    script.write_text(runnable_example("hardening.md", defining="RateLimit"), encoding="utf-8")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "REDIS_URL": redis_server.url}
    result = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    # The counts were kept in that Redis: one key per client.
    with redis.Redis.from_url(redis_server.url) as client:
        assert len(client.keys("ratelimit:login:*")) == 2


@pytest.mark.parametrize(
    ("options", "flags", "stripped", "unstripped"),
    [
        # uvicorn --root-path: for a proxy that strips /api.
        ("", ["--root-path", "/api"], 200, 404),
        # FastAPI(root_path=...): also serves paths that still carry the prefix.
        ('root_path="/api"', [], 200, 200),
    ],
    ids=["uvicorn-root-path", "fastapi-root-path"],
)
def test_root_path_behind_a_proxy(
    tmp_path: Path, options: str, flags: list[str], stripped: int, unstripped: int
) -> None:
    source = ROOT_PATH_APP.format(options=options)
    with served(tmp_path, "prefixed", source, *flags) as service:
        client = service.client
        response = client.get("/items/1")  # what a stripping proxy forwards
        assert response.status_code == stripped
        assert response.json() == {"self": f"{service.base_url}/api/items/1"}
        assert client.get("/api/items/1").status_code == unstripped
        assert client.get("/openapi.json").json()["servers"] == [{"url": "/api"}]
        assert "/api/openapi.json" in client.get("/docs").text
