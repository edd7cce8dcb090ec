"""CPU time per request that tracing and metrics add, against a same-run baseline.

    python bench/telemetry_cost.py [--requests N] [--rounds R] [--json]

Every variant is the same FastAPI app (one JSON route with a return type) with one kind of
telemetry switched on; each serves N sequential requests through httpx's ASGI transport per
round, rounds rotate the variant order, and the figure is the median over rounds of the
process's CPU time (all threads: a span processor's export thread counts) per request, minus
the baseline's of the same round. The ASGI client's own cost is in every variant alike, so
the differences are the telemetry's. references/observability.md quotes the results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from prometheus_client import CollectorRegistry

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "references" / "observability.md"


class _Discard(SpanExporter):
    """Exports nowhere: the cost measured is the app's, not a collector's network."""

    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _reference_block(defining: str) -> dict[str, Any]:
    """Execute the Python block of observability.md that defines `defining`."""
    text = REFERENCE.read_text(encoding="utf-8")
    for code in re.findall(r"^```python\n(.*?)^```", text, re.DOTALL | re.MULTILINE):
        if re.search(rf"^class {defining}\b", code, re.MULTILINE):
            namespace: dict[str, Any] = {"__name__": "observability_block"}
            exec(compile(code, f"{REFERENCE.name}:{defining}", "exec"), namespace)
            return namespace
    raise SystemExit(f"{REFERENCE}: no Python block defines {defining}.")


def _app(**options: Any) -> FastAPI:
    app = FastAPI(**options)

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id, "stock": 3}

    return app


def _tracing(sampler: Any = None, **config: Any) -> FastAPI:
    provider = TracerProvider(sampler=sampler) if sampler else TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(_Discard()))
    return _app(telemetry={"tracer_provider": provider, "metrics": False, **config})


def _otel_metrics() -> FastAPI:
    meters = MeterProvider(metric_readers=[InMemoryMetricReader()])
    return _app(telemetry={"meter_provider": meters, "tracing": False})


def _prometheus() -> FastAPI:
    block = _reference_block("PrometheusMetrics")
    registry = CollectorRegistry()
    app = _app()
    app.add_middleware(block["PrometheusMetrics"], registry=registry)
    return app


VARIANTS: dict[str, Callable[[], FastAPI]] = {
    "baseline (no telemetry)": _app,
    "OTel tracing, every request, with operation spans (FastAPI's default)": _tracing,
    "OTel tracing, every request, server span only": lambda: _tracing(operation_spans=False),
    "OTel tracing, 10% sampled, server span only": lambda: _tracing(
        ParentBased(TraceIdRatioBased(0.1)), operation_spans=False
    ),
    "OTel metrics (FastAPI's request duration histogram)": _otel_metrics,
    "Prometheus histogram middleware (prometheus-client)": _prometheus,
}


async def _cpu_per_request(app: FastAPI, requests: int) -> float:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for index in range(50):  # warm-up: first-request caches, lazy imports
            await client.get(f"/items/{index}")
        start = time.process_time()
        for index in range(requests):
            response = await client.get(f"/items/{index}")
        elapsed = time.process_time() - start
    assert response.status_code == 200
    return elapsed / requests * 1e6  # µs


def measure(requests: int, rounds: int) -> dict[str, dict[str, float]]:
    names = list(VARIANTS)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(rounds):
        order = names[round_number % len(names) :] + names[: round_number % len(names)]
        figures = {
            name: asyncio.run(_cpu_per_request(VARIANTS[name](), requests)) for name in order
        }
        base = figures[names[0]]
        for name in names:
            samples[name].append(figures[name] - base if name != names[0] else base)
    return {
        name: {"median_us": statistics.median(values), "min_us": min(values), "max_us": max(values)}
        for name, values in samples.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per variant and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.rounds < 1:
        parser.error("--requests and --rounds must be at least 1")
    results = measure(args.requests, args.rounds)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    baseline = next(iter(results))
    total = results[baseline]["median_us"]
    print(f"{baseline}: {total:.0f} µs CPU per request (ASGI client included)")
    for name, figure in list(results.items())[1:]:
        print(
            f"{name}: +{figure['median_us']:.0f} µs "
            f"(range {figure['min_us']:.0f} to {figure['max_us']:.0f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
