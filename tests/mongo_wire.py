"""A stand-in for a MongoDB server that speaks just enough of the wire protocol for a ping.

No MongoDB server can be installed on the machines this suite runs on (Debian no longer
packages it, and its downloads are outside the registries CI reaches), so the Motor and
PyMongo shapes of tests/test_add_all.py are served against this process instead. The real
drivers connect to it over a real socket: they handshake (`hello` in an OP_QUERY or an
OP_MSG), monitor it, and run `ping`, which is all a readiness check does. It keeps no data
and answers every other command with ok: 1, so it proves the check's wiring and its
behaviour when the server goes away, not anything about MongoDB's own behaviour.

    python tests/mongo_wire.py PORT   # listens on 127.0.0.1:PORT until SIGTERM
"""

from __future__ import annotations

import asyncio
import datetime
import errno
import itertools
import signal
import struct
import sys

import bson

OP_REPLY = 1
OP_QUERY = 2004
OP_MSG = 2013
_HEADER = struct.Struct("<iiii")  # messageLength, requestID, responseTo, opCode
_CHECKSUM_PRESENT = 1
# MongoDB 7.0's wire version: within every current driver's supported range.
_WIRE_VERSION = 21

_request_ids = itertools.count(1)
_connection_ids = itertools.count(1)


def _hello(connection_id: int) -> dict[str, object]:
    return {
        "helloOk": True,
        "ismaster": True,
        "isWritablePrimary": True,
        "maxBsonObjectSize": 16 * 1024 * 1024,
        "maxMessageSizeBytes": 48_000_000,
        "maxWriteBatchSize": 100_000,
        "localTime": datetime.datetime.now(datetime.UTC),
        "logicalSessionTimeoutMinutes": 30,
        "connectionId": connection_id,
        "minWireVersion": 0,
        "maxWireVersion": _WIRE_VERSION,
        "readOnly": False,
        "ok": 1.0,
    }


def _answer(command: dict[str, object], connection_id: int) -> dict[str, object]:
    name = next(iter(command), "").lower()
    if name in ("hello", "ismaster"):
        return _hello(connection_id)
    return {"ok": 1.0}


def _parse_op_msg(body: bytes) -> dict[str, object]:
    (flags,) = struct.unpack_from("<I", body)
    end = len(body) - (4 if flags & _CHECKSUM_PRESENT else 0)
    offset = 4
    command: dict[str, object] = {}
    while offset < end:
        kind = body[offset]
        offset += 1
        (size,) = struct.unpack_from("<i", body, offset)
        if kind == 0:  # the command document
            command = bson.decode(body[offset : offset + size])
        offset += size  # kind 1 (document sequences) carry data a ping never sends
    return command


def _parse_op_query(body: bytes) -> dict[str, object]:
    name_end = body.index(b"\x00", 4)  # after the flags: the collection name, a C string
    offset = name_end + 1 + 8  # then numberToSkip and numberToReturn
    (size,) = struct.unpack_from("<i", body, offset)
    return bson.decode(body[offset : offset + size])


def _message(op_code: int, response_to: int, payload: bytes) -> bytes:
    header = _HEADER.pack(_HEADER.size + len(payload), next(_request_ids), response_to, op_code)
    return header + payload


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    connection_id = next(_connection_ids)
    try:
        while True:
            header = await reader.readexactly(_HEADER.size)
            length, request_id, _, op_code = _HEADER.unpack(header)
            body = await reader.readexactly(length - _HEADER.size)
            if op_code == OP_MSG:
                reply = bson.encode(_answer(_parse_op_msg(body), connection_id))
                writer.write(_message(OP_MSG, request_id, struct.pack("<IB", 0, 0) + reply))
            elif op_code == OP_QUERY:  # the legacy handshake some drivers open with
                reply = bson.encode(_answer(_parse_op_query(body), connection_id))
                fields = struct.pack("<iqii", 0, 0, 0, 1)  # flags, cursor id, from, count
                writer.write(_message(OP_REPLY, request_id, fields + reply))
            else:
                break  # compression or a retired op code: the stand-in does not speak it
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    try:
        server = await asyncio.start_server(_serve, "127.0.0.1", port)
    except OSError as error:  # tests/servers.py retries on another port when it reads this
        in_use = error.errno == errno.EADDRINUSE
        sys.exit(f"Address already in use: {error}" if in_use else str(error))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print(f"MongoDB wire stand-in listening on 127.0.0.1:{port}", flush=True)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
