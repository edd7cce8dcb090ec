"""references/responses.md's claims about the installed FastAPI and httpx.

Each test is named after the section that makes the claim. Whether a response took
FastAPI's fast path shows in who serialized it: on the fast path pydantic-core writes the
bytes and the response class's `render()` is never called; off it, `render()` receives
plain Python objects and serializes them itself.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterable
from typing import Any, ClassVar

import httpx
import pytest
from fastapi import FastAPI
from fastapi.exceptions import FastAPIDeprecationWarning
from fastapi.responses import JSONResponse, ORJSONResponse, UJSONResponse
from pydantic import BaseModel


class Item(BaseModel):
    id: int


class RecordingJSONResponse(JSONResponse):
    """A custom response class, as teams write them "for speed"; it records what it gets."""

    rendered: ClassVar[list[Any]] = []

    def render(self, content: Any) -> bytes:
        RecordingJSONResponse.rendered.append(content)
        return super().render(content)


def _get(app: FastAPI, path: str) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path)

    return asyncio.run(run())


def test_fast_path_return_type_skips_the_response_class(monkeypatch: pytest.MonkeyPatch) -> None:
    rendered: ClassVar[list[Any]] = []
    original = JSONResponse.render

    def render(self: JSONResponse, content: Any) -> bytes:
        rendered.append(content)
        return original(self, content)

    monkeypatch.setattr(JSONResponse, "render", render)
    app = FastAPI()

    @app.get("/typed")
    async def typed() -> Item:
        return Item(id=1)

    @app.get("/untyped")
    async def untyped():  # type: ignore[no-untyped-def]  # the slow path on purpose
        return {"id": 1}

    assert _get(app, "/typed").json() == {"id": 1}
    assert rendered == []  # pydantic-core wrote the bytes
    assert _get(app, "/untyped").json() == {"id": 1}
    assert rendered == [{"id": 1}]  # jsonable_encoder + json.dumps


def test_orjson_costs_custom_default_response_class_is_silent_and_slow() -> None:
    RecordingJSONResponse.rendered.clear()
    app = FastAPI(default_response_class=RecordingJSONResponse)

    @app.get("/typed")
    async def typed() -> Item:
        return Item(id=1)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning of any kind
        assert _get(app, "/typed").json() == {"id": 1}
    # Off the fast path: the class got Python objects to serialize itself.
    assert RecordingJSONResponse.rendered == [{"id": 1}]


@pytest.mark.parametrize("response_class", [ORJSONResponse, UJSONResponse])
def test_orjson_costs_orjson_and_ujson_responses_are_deprecated(
    response_class: type[Any],
) -> None:
    # PEP 702 @deprecated: type checkers report them, and creating one warns.
    assert response_class.__deprecated__
    if response_class is ORJSONResponse:  # ujson is not installed here
        with pytest.warns(FastAPIDeprecationWarning):
            response_class({"id": 1})


def test_streaming_json_lines_async_clients_read_with_aiter_lines() -> None:
    app = FastAPI()

    @app.get("/items")
    async def items() -> AsyncIterable[Item]:
        for n in range(3):
            yield Item(id=n)

    async def run() -> list[str]:
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://test") as client,
            client.stream("GET", "/items") as response,
        ):
            assert response.headers["content-type"] == "application/jsonl"
            return [line async for line in response.aiter_lines()]

    assert asyncio.run(run()) == ['{"id":0}', '{"id":1}', '{"id":2}']


def test_other_streams_sse_with_event_source_response() -> None:
    from fastapi.sse import EventSourceResponse

    app = FastAPI()

    @app.get("/events", response_class=EventSourceResponse)
    async def events() -> AsyncIterable[Item]:
        for n in range(2):
            yield Item(id=n)

    response = _get(app, "/events")
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.text == 'data: {"id":0}\n\ndata: {"id":1}\n\n'
