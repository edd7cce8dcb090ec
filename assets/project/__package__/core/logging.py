"""structlog, configured for speed: one line per event, rendered by orjson, written as bytes.

Context bound with `structlog.contextvars` (the request id, by the middleware) is merged
into every line. `LOG_FORMAT=console` prints key=value lines for humans instead.

Records of the standard `logging` module (uvicorn, SQLAlchemy, httpx, any library) are
rendered into the same lines by one root handler, with a `logger` field naming their
source; their levels stay the libraries' own (the root's default is WARNING).

The access line, written once per request, is the one line hot enough to skip structlog:
with `LOG_FORMAT=json` `access_log` renders it with orjson straight into stdout's buffer,
with the fields and order structlog would give it, and the buffer is flushed once per
turn of the event loop rather than once per line: a busy server writes the lines of many
requests with one system call. Lines still appear within milliseconds, in order (other
log lines flush the same buffer), and at exit Python flushes what is left.
"""

import asyncio
import logging
import sys
from collections.abc import Callable
from contextvars import copy_context
from time import time
from typing import Any, BinaryIO

import orjson
import structlog
from structlog.contextvars import STRUCTLOG_KEY_PREFIX
from structlog.typing import Processor

from .config import Settings

_PREFIX_LENGTH = len(STRUCTLOG_KEY_PREFIX)
# method, path, status, duration_ms, client, request_id
AccessLog = Callable[[str, str, int, float, str | None, str], None]


def configure_logging(settings: Settings) -> None:
    processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
    ]
    logger_factory: structlog.BytesLoggerFactory | structlog.WriteLoggerFactory
    if settings.log_format == "json":
        processors += [
            structlog.processors.TimeStamper(),  # epoch seconds: the cheapest timestamp
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            ),
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ]
        logger_factory = structlog.BytesLoggerFactory()
    else:
        processors += [
            structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
            structlog.processors.format_exc_info,
            structlog.processors.LogfmtRenderer(
                key_order=["timestamp", "level", "event"], drop_missing=True
            ),
        ]
        logger_factory = structlog.WriteLoggerFactory()
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(_level(settings)),
        logger_factory=logger_factory,
        cache_logger_on_first_use=True,
    )
    # The same chain for `logging` records, ending in text: the handler writes str.
    renderer: Processor = processors[-1]
    if settings.log_format == "json":
        renderer = structlog.processors.JSONRenderer(serializer=_json_text)
    _capture_standard_logging(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*processors[:3], structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *processors[3:-1],
                renderer,
            ],
        )
    )


def _json_text(value: Any, **options: Any) -> str:
    return orjson.dumps(value, **options).decode()


class _StdoutHandler(logging.Handler):
    """Writes each record to `sys.stdout` as it is then (tests replace it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
            sys.stdout.flush()
        except Exception:  # logging must never break the caller
            self.handleError(record)


def _capture_standard_logging(formatter: logging.Formatter) -> None:
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, _StdoutHandler)), None)
    if handler is None:  # create_app runs once per test: one handler, not one per app
        handler = _StdoutHandler()
        root.addHandler(handler)
    handler.setFormatter(formatter)
    # uvicorn gives its loggers their own handlers before it imports the app: hand its
    # records to the root handler instead, so its lines are JSON too ("uvicorn.error"
    # propagates to "uvicorn").
    server = logging.getLogger("uvicorn")
    server.handlers.clear()
    server.propagate = True
    # uvicorn writes an access line whenever "uvicorn.access" has a handler, its ancestors'
    # included: keep it without one. The middleware writes the access line (without the
    # query string, which can carry tokens); uvicorn's would repeat it.
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False


def access_log(settings: Settings) -> AccessLog | None:
    """What the middleware calls once per request; None when LOG_LEVEL hides INFO lines."""
    if _level(settings) > logging.INFO:
        return None
    if settings.log_format == "json":
        return _json_access_line
    return _structlog_access_line


def _level(settings: Settings) -> int:
    return logging.getLevelNamesMapping()[settings.log_level.upper()]


def _json_access_line(
    method: str, path: str, status: int, duration_ms: float, client: str | None, request_id: str
) -> None:
    line: dict[str, Any] = {
        "event": "request",
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": duration_ms,
        "client": client,
        "request_id": request_id,
        "level": "info",
        "timestamp": time(),
    }
    # Whatever else the app bound during the request, as `merge_contextvars` adds it
    # (the same loop, inlined: this runs for every request).
    for var, value in copy_context().items():
        name = var.name
        if name.startswith(STRUCTLOG_KEY_PREFIX) and value is not Ellipsis:
            line.setdefault(name[_PREFIX_LENGTH:], value)
    # Looked up per line, as structlog's BytesLogger does when it is created, so a
    # replaced sys.stdout (pytest's capsys) receives the line.
    out = sys.stdout.buffer
    out.write(orjson.dumps(line, default=repr, option=orjson.OPT_APPEND_NEWLINE))
    _flush_soon(out)


class _Flusher:
    """Flushes a stream once the running event loop has run the callbacks ready now."""

    __slots__ = ("loop", "pending")

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pending: BinaryIO | None = None

    def __call__(self, out: BinaryIO) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop in this thread: nothing would flush later
            out.flush()
            return
        if out is self.pending and loop is self.loop:
            return  # a flush is already scheduled
        if self.pending is not None and self.pending is not out:
            self.pending.flush()  # sys.stdout was replaced (tests): flush the old one now
        self.loop, self.pending = loop, out
        loop.call_soon(self.flush)

    def flush(self) -> None:
        out, self.pending = self.pending, None
        if out is not None:
            out.flush()


_flush_soon = _Flusher()


def _structlog_access_line(
    method: str, path: str, status: int, duration_ms: float, client: str | None, request_id: str
) -> None:
    structlog.get_logger().info(
        "request",
        method=method,
        path=path,
        status=status,
        duration_ms=duration_ms,
        client=client,
        request_id=request_id,
    )
