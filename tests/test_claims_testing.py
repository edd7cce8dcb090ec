"""references/testing.md's claims about the installed fakeredis.

Each test is named after the section that makes the claim.
"""

from __future__ import annotations

import asyncio
import importlib.util

import fakeredis
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from ci import missing


def test_databases_and_redis_fakeredis_runs_lua_with_the_lua_extra() -> None:
    if importlib.util.find_spec("lupa") is None:
        missing("fakeredis runs Lua only with its extra: pip install 'fakeredis[lua]'")

    async def run() -> object:
        client = fakeredis.FakeAsyncRedis()
        try:
            await client.set("hits", 41)
            increment = client.register_script("return redis.call('INCR', KEYS[1])")
            return await increment(keys=["hits"])
        finally:
            await client.aclose()

    assert asyncio.run(run()) == 42


def test_databases_and_redis_fakeredis_simulates_an_outage() -> None:
    async def run() -> None:
        server = fakeredis.FakeServer()
        client = fakeredis.FakeAsyncRedis(server=server)
        try:
            assert await client.ping()
            server.connected = False
            with pytest.raises(RedisConnectionError):
                await client.ping()
        finally:
            await client.aclose()

    asyncio.run(run())
