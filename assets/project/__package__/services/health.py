"""Readiness checks, shared by the health routes and the startup gate in the lifespan."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

from ..core.errors import describe_error
from ..schemas import CheckResult, Readiness

Check = Callable[[], Awaitable[object]]


class StartupError(RuntimeError):
    """A backing service did not become reachable within STARTUP_TIMEOUT."""


class HealthChecker:
    """Runs every check concurrently, each bounded by `timeout` seconds."""

    def __init__(self, checks: Mapping[str, Check], *, timeout: float) -> None:
        self._checks = dict(checks)
        self._timeout = timeout

    async def check(self) -> Readiness:
        results = await asyncio.gather(*(self._run(check) for check in self._checks.values()))
        ok = all(result.status == "ok" for result in results)
        return Readiness(
            status="ok" if ok else "unavailable",
            checks=dict(zip(self._checks, results, strict=True)),
        )

    async def _run(self, check: Check) -> CheckResult:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):
                await check()
        except Exception as exc:
            return CheckResult(
                status="error", latency_ms=_elapsed_ms(started), error=describe_error(exc)
            )
        return CheckResult(status="ok", latency_ms=_elapsed_ms(started))

    async def wait_until_ready(self, seconds: float) -> None:
        """Repeat the checks until all pass, for at most `seconds`.

        Raises `StartupError` naming each failing check, so a service that starts before
        its database (a common race under Compose or Kubernetes) gets a moment to wait.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        delay = 0.1
        while True:
            report = await self.check()
            if report.status == "ok":
                return
            if loop.time() + delay > deadline:
                failures = "; ".join(
                    f"{name}: {result.error}"
                    for name, result in report.checks.items()
                    if result.status != "ok"
                )
                raise StartupError(f"Startup check failed after {seconds:g}s: {failures}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
