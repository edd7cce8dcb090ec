"""references/websockets.md through a real uvicorn, with the `websockets` client.

The reference's complete example is served as a module: the handshake refusals become
HTTP 403, the subprotocol token is negotiated, the lifespan's room is shared by two
sockets, uvicorn logs the handshake path (query included) without an access log, an
error after accept closes with 1011, and SIGTERM closes open sockets with 1012.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from reference_blocks import runnable_example, served
from service import Service

ORIGIN = "https://app.example.com"
TIMEOUT = 30.0
# Added to the example: a route that fails after accept.
FAILING_ROUTE = """

@app.websocket("/ws/fail")
async def fail(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.receive_text()
    raise RuntimeError("a bug after accept")
"""


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[Service]:
    source = runnable_example("websockets.md", defining="current_user") + FAILING_ROUTE
    with served(tmp_path, "chat", source) as service:
        yield service


def _url(service: Service, path: str = "/ws/chat") -> str:
    return f"ws://127.0.0.1:{service.port}{path}"


def _open(service: Service, token: str, origin: str = ORIGIN, path: str = "/ws/chat") -> connect:
    return connect(
        _url(service, path),
        origin=origin,  # type: ignore[arg-type]
        subprotocols=["bearer", token],  # type: ignore[list-item]
        open_timeout=TIMEOUT,
    )


async def _refusal(service: Service, token: str, origin: str, path: str = "/ws/chat") -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with _open(service, token, origin, path):
            pass
    return refused.value.response.status_code


def test_refused_handshakes_are_http_403(chat: Service) -> None:
    async def check() -> None:
        assert await _refusal(chat, "wrong", ORIGIN) == 403
        assert await _refusal(chat, "t-alice", "https://evil.test") == 403

    asyncio.run(check())


def test_the_room_is_shared_and_the_subprotocol_negotiated(chat: Service) -> None:
    async def check() -> None:
        async with _open(chat, "t-alice") as first, _open(chat, "t-alice") as second:
            assert first.subprotocol == "bearer"
            await first.send("hi")
            for socket in (first, second):
                assert await asyncio.wait_for(socket.recv(), TIMEOUT) == (
                    '{"from":"alice","text":"hi"}'
                )

    asyncio.run(check())


def test_uvicorn_logs_the_handshake_path_and_query_without_an_access_log(chat: Service) -> None:
    assert "--no-access-log" in chat.command

    async def check() -> None:
        await _refusal(chat, "wrong", ORIGIN, "/ws/chat?token=leaked-secret")

    asyncio.run(check())
    assert '"WebSocket /ws/chat?token=leaked-secret" 403' in chat.log()


def test_an_error_after_accept_drops_the_connection_without_a_close_code(chat: Service) -> None:
    async def check() -> None:
        async with _open(chat, "t-alice", path="/ws/fail") as socket:
            await socket.send("boom")
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), TIMEOUT)
        assert closed.value.rcvd is None  # no close frame: the client reports 1006

    asyncio.run(check())
    assert "a bug after accept" in chat.log()  # uvicorn logged the traceback


def test_sigterm_closes_open_sockets_with_1012(chat: Service) -> None:
    async def check() -> None:
        socket: ClientConnection
        async with _open(chat, "t-alice") as socket:
            assert chat.process is not None
            chat.process.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), TIMEOUT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012

    asyncio.run(check())
    assert chat.process is not None
    chat.process.wait(TIMEOUT)
    assert "Application shutdown complete." in chat.log()
