"""Microseconds per request of an app driven in-process, one layer switched off at a time.

No sockets and no server: the ASGI app is called directly in a loop on uvloop, so the
figures are the app's own cost per request (what the middleware, logging and JSON path add).

    python bench/profile_app.py --project bench/.work/run/sqlite/svc       # the table
    python bench/profile_app.py --project ... --pyinstrument d             # one profile
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "apps"))

from model import PATH  # bench/apps is put on the path above

from project import ORIGIN, service_env

Factory = Callable[[], Any]
_BASE_ENV: dict[str, str] = {}  # the service's settings before a configuration's overrides


async def _drive(app: Any, requests: int) -> float:
    """Seconds per request over `requests` sequential GETs of PATH, after a warm-up."""
    headers = [(b"host", b"127.0.0.1"), (b"origin", ORIGIN.encode()), (b"accept", b"*/*")]
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1", "method": "GET", "scheme": "http", "path": PATH,
        "raw_path": PATH.encode(), "query_string": b"", "root_path": "",
        "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    statuses = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async with app.router.lifespan_context(app) as state:
        state = dict(state or {})
        for _ in range(max(requests // 10, 100)):
            await app(dict(scope, state=dict(state)), receive, send)
        statuses.clear()
        started = time.perf_counter()
        for _ in range(requests):
            await app(dict(scope, state=dict(state)), receive, send)
        elapsed = time.perf_counter() - started
    if set(statuses) != {200}:
        raise RuntimeError(f"Expected only 200 answers, got {sorted(set(statuses))}.")
    return elapsed / requests


def _bare(module: str) -> Factory:
    def build() -> Any:
        sys.modules.pop(module, None)  # a fresh app, and its module-level configuration
        return importlib.import_module(module).app

    return build


def _generated(
    package: str, *, drop: tuple[str, ...] = (), first: bool = True, **env: str
) -> Factory:
    """The generated app from create_app(), with settings overridden through the env."""

    def build() -> Any:
        os.environ.update(_BASE_ENV | env)  # settings and logging are per process: reset
        config = importlib.import_module(f"{package}.core.config")
        app = importlib.import_module(f"{package}.main").create_app(config.Settings())
        app.user_middleware = [m for m in app.user_middleware if m.cls.__name__ not in drop]
        importlib.import_module("d_generated").add_bench_route(app, first=first)
        return app

    return build


def configurations(package: str) -> dict[str, Factory]:
    return {
        "b": _bare("b_fastapi"),
        "c": _bare("c_first_written"),
        "d": _generated(package),
        "d, route after the service's routers": _generated(package, first=False),
        "d, access line not rendered (LOG_LEVEL=warning)": _generated(package, LOG_LEVEL="warning"),
        "d, no CORS (CORS_ORIGINS empty)": _generated(package, CORS_ORIGINS=""),
        "d, no RequestContextMiddleware": _generated(package, drop=("RequestContextMiddleware",)),
        "d, neither middleware": _generated(
            package, drop=("RequestContextMiddleware",), CORS_ORIGINS=""
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="a generated project folder")
    parser.add_argument("--requests", type=int, default=10_000, help="per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pyinstrument", metavar="CONFIG", help="profile one configuration")
    args = parser.parse_args(argv)
    project = args.project.resolve()
    package = project.name.replace("-", "_")
    app_dir = project / "src" if (project / "src" / package).is_dir() else project
    sys.path.insert(0, str(app_dir))
    os.chdir(project)
    log = Path(tempfile.mkdtemp(prefix="bench-profile-")) / "app.log"
    _BASE_ENV.update(service_env(f"sqlite:///{project.parent}/app.db"))
    os.environ["BENCH_PACKAGE"] = package
    sys.stdout = open(log, "w")  # noqa: SIM115  (the app logs here, as under uvicorn)
    report = sys.__stdout__
    assert report is not None
    import uvloop

    configs = configurations(package)
    if args.pyinstrument:
        from pyinstrument import Profiler

        app = configs[args.pyinstrument]()
        with Profiler(async_mode="disabled") as profiler:
            uvloop.run(_drive(app, args.requests))
        report.write(profiler.output_text(unicode=True, color=False, show_all=True))
        return 0
    # Each app is built right before it runs: structlog's configuration is global.
    seconds: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(args.rounds):
        for name, build in configs.items():
            seconds[name].append(uvloop.run(_drive(build(), args.requests)))
    # The best round is the app's cost; slower rounds measure whatever else ran (timeit's rule).
    baseline = min(seconds["b"])
    report.write(f"{'configuration':52} {'best':>7}  {'ratio':>8}  median\n")
    for name, values in seconds.items():
        best = min(values)
        report.write(
            f"{name:52} {best * 1e6:7.1f}  {best / baseline:6.2f} x  "
            f"{statistics.median(values) * 1e6:6.1f} µs/request\n"
        )
    report.write(f"(log lines went to {log})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
