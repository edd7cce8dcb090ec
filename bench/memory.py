"""Section 4: memory — peak RSS after N requests, and RSS while streaming the export."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from server import Uvicorn, clean_env
from throughput import Variant
from wrk import run_count

_SAMPLE = 0.002  # seconds between RSS samples while the export streams


# Fewer connections than the generated app's database pool (15): this section
# measures memory, not saturation, and a request queued past the pool's timeout on a busy
# machine would answer 503 and abort the run.
_CONNECTIONS = 8


def after_requests(variant: Variant, requests: int, log: Path) -> dict[str, object]:
    """Start fresh, send `requests` requests (_CONNECTIONS at once), read RSS and its peak."""
    server = Uvicorn(
        variant.app,
        app_dir=variant.app_dir,
        cwd=variant.cwd,
        env=clean_env(**variant.env),
        log_path=log,
    )
    with server:
        server.start(variant.path, variant.headers)
        started_kib = server.status_kb("VmRSS")
        answered = run_count(
            server.url(variant.path), requests, connections=_CONNECTIONS, headers=variant.headers
        )
        return {
            "key": variant.key,
            "label": variant.label,
            "requests": answered,
            "rss_start_kib": started_kib,
            "rss_end_kib": server.status_kb("VmRSS"),
            "peak_kib": server.status_kb("VmHWM"),
        }


class _Sampler(threading.Thread):
    """Polls the server's VmRSS until stopped; keeps the highest value seen."""

    def __init__(self, server: Uvicorn) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.peak_kib = 0
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak_kib = max(self.peak_kib, self.server.status_kb("VmRSS"))
            self.samples += 1
            time.sleep(_SAMPLE)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def export(server: Uvicorn, token: str) -> dict[str, object]:
    """Stream GET /items/export to the end while sampling the server's RSS."""
    headers = {"Authorization": f"Bearer {token}"}
    before_kib = server.status_kb("VmRSS")
    sampler = _Sampler(server)
    rows = size = 0
    started = time.perf_counter()
    sampler.start()
    try:
        with (
            httpx.Client(timeout=120) as client,
            client.stream("GET", server.url("/items/export"), headers=headers) as answer,
        ):
            answer.raise_for_status()
            for line in answer.iter_lines():
                rows += bool(line)
                size += len(line) + 1
    finally:
        sampler.stop()
    return {
        "rows": rows,
        "bytes": size,
        "seconds": time.perf_counter() - started,
        "rss_before_kib": before_kib,
        "rss_peak_kib": sampler.peak_kib,
        "growth_kib": sampler.peak_kib - before_kib,
        "samples": sampler.samples,
    }
