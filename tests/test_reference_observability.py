"""references/observability.md: library logs as JSON lines under a real uvicorn, the
Prometheus middleware's /metrics, and the telemetry cost benchmark's plumbing (its figures
are not asserted: speed belongs in bench/)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from reference_blocks import load, runnable_example, served
from service import Service

ROOT = Path(__file__).resolve().parents[1]
SERVED = """

configure_logging(sys.stdout.buffer)
app = make_app()


@app.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}
"""


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            lines.append(value)
    return lines


@pytest.fixture
def logging_app(tmp_path: Path) -> Iterator[Service]:
    source = "import sys\n" + runnable_example("observability.md", defining="configure_logging")
    with served(tmp_path, "logged", source + SERVED) as service:
        yield service


def test_uvicorn_and_sqlalchemy_lines_are_json_under_a_real_uvicorn(logging_app: Service) -> None:
    assert logging_app.client.get("/report").json() == {"value": 1}
    logging_app.stop()
    text = logging_app.log()
    lines = _json_lines(text)
    uvicorn_events = {line["event"] for line in lines if line.get("logger") == "uvicorn.error"}
    # uvicorn logged these after importing the app, which took its loggers over.
    assert "Application startup complete." in uvicorn_events
    assert any(event.startswith("Uvicorn running on http://127.0.0.1:") for event in uvicorn_events)
    assert "Application shutdown complete." in uvicorn_events
    (sql,) = [line for line in lines if line.get("event") == "SELECT 1"]
    assert (sql["logger"], sql["request_id"]) == ("sqlalchemy.engine.Engine", "r-42")
    # --no-access-log still holds: uvicorn writes access lines whenever its access logger
    # has a handler, an ancestor's included.
    assert [line for line in lines if line.get("logger") == "uvicorn.access"] == []
    assert '"GET /report' not in text
    # Nothing uvicorn wrote after the import is in its plain-text format any more.
    plain = [line for line in text.splitlines() if line.startswith("INFO:")]
    assert plain == [], plain


def test_the_prometheus_middleware_labels_by_route_template() -> None:
    block = load("observability.md", defining="PrometheusMetrics", name="reference_prometheus")
    registry = block.CollectorRegistry()
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    app.add_api_route("/metrics", block.metrics_endpoint(registry), include_in_schema=False)
    app.add_middleware(block.PrometheusMetrics, registry=registry)

    async def scrape() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for path in ("/items/1", "/items/2", "/nope"):
                await client.get(path)
            return await client.get("/metrics")

    response = asyncio.run(scrape())
    assert response.headers["content-type"].startswith("text/plain")
    name = "http_server_request_duration_seconds_count"
    counts = [line for line in response.text.splitlines() if line.startswith(name)]
    assert sorted(counts) == [
        name + '{method="GET",route="/items/{item_id}",status="200"} 2.0',
        name + '{method="GET",route="unmatched",status="404"} 1.0',
    ]


def test_the_cost_benchmark_measures_every_variant() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "telemetry_cost.py"), "--requests", "20",
         "--rounds", "1", "--json"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert len(figures) == 6
    assert next(iter(figures.values()))["median_us"] > 0  # the baseline: a real CPU time
    bad = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "telemetry_cost.py"), "--rounds", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "--rounds" in bad.stderr and "Traceback" not in bad.stderr
