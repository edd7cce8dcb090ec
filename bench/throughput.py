"""Section 1: throughput and latency of each variant, rounds interleaved, same-run baseline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server import SERVERS, clean_env
from summary import spread
from wrk import WrkResult, run_wrk

BASELINE = "b"
# Bare FastAPI as `fastapi run` serves it (uvicorn writing its access log): what users compare.
SERVED_BASELINE = "b-run"


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    app: str  # uvicorn import string
    app_dir: Path
    cwd: Path
    path: str  # what wrk requests
    env: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    access_log: bool = False  # the app writes one line per request, to be counted
    server: str = "uvicorn"  # or "granian" (bench/server.py)
    loop: str = "uvloop"  # uvicorn's event loop: "uvloop" or "asyncio"
    server_access_log: bool = False  # uvicorn's own access log, as `fastapi run` has it
    method: str = "GET"  # the write rows send JSON bodies (write.lua, count.lua)
    body: str | None = None
    # Section 1's PATCH rows: the path's last segment takes each of these ids in turn.
    path_ids: tuple[int, ...] = ()
    # Polled with GET until it answers 200 before the load starts (default: `path`).
    ready_path: str | None = None


@dataclass(frozen=True)
class Settings:
    rounds: int
    seconds: int
    warmup: int
    connections: int


def _one_run(variant: Variant, settings: Settings, log: Path) -> dict[str, Any]:
    with SERVERS[variant.server](
        variant.app,
        app_dir=variant.app_dir,
        cwd=variant.cwd,
        env=clean_env(**variant.env),
        log_path=log,
        **({"access_log": True} if variant.server_access_log else {}),
        **({"loop": variant.loop} if variant.loop != "uvloop" else {}),
    ) as server:
        server.start(variant.ready_path or variant.path, variant.headers)
        url = server.url(variant.path)

        def load(seconds: int) -> WrkResult:
            return run_wrk(
                url,
                seconds=seconds,
                connections=settings.connections,
                headers=variant.headers,
                method=variant.method,
                body=variant.body,
                path_ids=variant.path_ids,
            )

        warm = load(settings.warmup)
        result = load(settings.seconds)
        rss_kib = server.status_kb("VmRSS")
    row = {**_as_dict(result), "rss_kib": float(rss_kib)}
    if variant.access_log:
        # Lines of the benchmarked method and path (any of the ids for PATCH rows); the
        # server has stopped, so all are flushed.
        route = variant.path.split("?")[0]
        if variant.path_ids:
            route = route.rsplit("/", 1)[0] + "/"
        method = f'"{variant.method}"'
        lines = sum(1 for line in log.open(errors="replace") if route in line and method in line)
        row["logged_per_request"] = lines / (warm.requests + result.requests)
    return row


def _as_dict(result: WrkResult) -> dict[str, Any]:
    row: dict[str, Any] = {
        "rps": result.rps,
        "requests": result.requests,
        "seconds": result.seconds,
        "p50_ms": result.p50_ms,
        "p75_ms": result.p75_ms,
        "p90_ms": result.p90_ms,
        "p99_ms": result.p99_ms,
        "timeouts": result.timeouts,
    }
    if result.statuses:  # the write rows' answers by status (JSON keys are strings)
        row["statuses"] = {str(status): n for status, n in result.statuses.items()}
    return row


def measure(
    variants: list[Variant],
    settings: Settings,
    work: Path,
    after_run: Callable[[Variant], dict[str, Any]] | None = None,
) -> dict[str, object]:
    """Every variant once per round, the order rotated each round so drift hits all alike.
    `after_run`, called once each run's server has stopped, may undo what the run wrote;
    what it returns is added to the run's figures."""
    runs: dict[str, list[dict[str, Any]]] = {v.key: [] for v in variants}
    for round_no in range(settings.rounds):
        shift = round_no % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            log = work / "logs" / f"{variant.key}-round{round_no + 1}.log"
            row = _one_run(variant, settings, log)
            extra = after_run(variant) if after_run is not None else {}
            row |= extra
            runs[variant.key].append(row)
            print(
                f"  round {round_no + 1}  {variant.key:16} {row['rps']:>9,.0f} req/s"
                f"  p50 {row['p50_ms']:6.2f} ms  p99 {row['p99_ms']:6.2f} ms"
                + (f"  {row['timeouts']:.0f} timeouts" if row["timeouts"] else "")
                + "".join(f"  {n:,} x {status}" for status, n in row.get("statuses", {}).items())
                + "".join(f"  {name} {value:,}" for name, value in extra.items()),
                flush=True,
            )
    return {
        "settings": settings.__dict__,
        "variants": [summarise(v, runs) for v in variants],
    }


def summarise(variant: Variant, runs: dict[str, list[dict[str, Any]]]) -> dict[str, object]:
    mine = runs[variant.key]
    base = runs.get(BASELINE)
    out: dict[str, object] = {
        "key": variant.key,
        "label": variant.label,
        "path": variant.path,
        "runs": mine,
    }
    for metric in ("rps", "p50_ms", "p99_ms", "rss_kib"):
        out[metric] = spread(r[metric] for r in mine).as_dict()
    out["timeouts"] = sum(r.get("timeouts", 0) for r in mine)
    if "logged_per_request" in mine[0]:
        out["logged_per_request"] = min(r["logged_per_request"] for r in mine)
    if base:
        # Ratio per round against the baseline of that same round, then summarised.
        for metric in ("rps", "p99_ms"):
            ratios = [m[metric] / b[metric] for m, b in zip(mine, base, strict=True)]
            out[f"{metric}_ratio"] = spread(ratios).as_dict()
    if runs.get(SERVED_BASELINE):
        # The same against bare FastAPI served the way `fastapi run` serves it.
        ratios = [m["rps"] / b["rps"] for m, b in zip(mine, runs[SERVED_BASELINE], strict=True)]
        out["rps_ratio_served"] = spread(ratios).as_dict()
    return out
