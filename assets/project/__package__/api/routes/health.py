"""Health routes for probes and people.

`/health/live` does no I/O: a slow database must not get the process restarted.
`/health/ready` and `/health` answer 503 with the same report (not problem+json) when a
check fails, so load balancers and Kubernetes take the instance out of rotation.
"""

from typing import Any

import structlog
from fastapi import APIRouter, Response

from ... import __version__
from ...schemas import HealthReport, Liveness, Readiness
from ..deps import HealthDep, SettingsDep

router = APIRouter(prefix="/health", tags=["health"])


def _unavailable(model: type[Readiness]) -> dict[int | str, dict[str, Any]]:
    return {
        503: {
            "model": model,
            "description": "A check failed. The body is the report itself, not problem+json.",
        },
    }


@router.get("/live", summary="Liveness: the process is up")
async def read_liveness() -> Liveness:
    return Liveness()


@router.get(
    "/ready", summary="Readiness: every backing service answers", responses=_unavailable(Readiness)
)
async def read_readiness(health: HealthDep, response: Response) -> Readiness:
    report = await health.check()
    if report.status != "ok":
        response.status_code = 503
        structlog.get_logger().warning("not_ready", checks=report.model_dump()["checks"])
    return report


@router.get("", summary="Version and every check", responses=_unavailable(HealthReport))
async def read_health(health: HealthDep, settings: SettingsDep, response: Response) -> HealthReport:
    report = await health.check()
    if report.status != "ok":
        response.status_code = 503
    return HealthReport(
        status=report.status,
        checks=report.checks,
        name=settings.app_name,
        version=__version__,
        environment=settings.environment,
    )
