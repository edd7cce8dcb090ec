"""X-Forwarded-For through the real entry point (`python -m <package>`), as the container runs it.

The entry point trusts proxy headers only from FORWARDED_ALLOW_IPS (default 127.0.0.1).
The client address the access line records must be the forwarded one when the request
comes from an allowed proxy, and the connection's own address otherwise, so a client
cannot choose the address that appears in the logs. Requests come from two loopback
addresses (127.0.0.1 and 127.0.0.2, both local on Linux) to play an allowed proxy and
an unknown one against the same server.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from combos import Combo
from reliability import generate, poll, service_env
from service import Service

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("proxy-headers")]

# No database and no auth: the quickest service to boot; the entry point is the same. Each
# server's entry point handles the headers its own way (uvicorn's option, granian's wrapper).
COMBOS = [Combo("none", False, "none", "flat"), Combo("none", False, "none", "flat", "granian")]
FORWARDED = "203.0.113.7"  # TEST-NET-3: what a proxy says the client's address is


@pytest.fixture(scope="module", params=COMBOS, ids=[combo.server for combo in COMBOS])
def combo(request: pytest.FixtureRequest) -> Combo:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def project(combo: Combo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(combo, tmp_path_factory, "proxy")


def _client_in_access_line(service: Service, source: str, forwarded_for: str | None) -> str:
    """Send GET /health/live from `source` and return the client its access line names."""
    request_id = uuid.uuid4().hex
    headers = {"X-Request-ID": request_id}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=service.base_url, transport=transport, timeout=10) as client:
        assert client.get("/health/live", headers=headers).status_code == 200
    found: list[dict[str, Any]] = []

    def logged() -> bool:
        found[:] = [
            line
            for line in map(_json_or_none, service.log().splitlines())
            if line and line.get("event") == "request" and line.get("request_id") == request_id
        ]
        return bool(found)

    poll(logged, 10, f"the access line of request {request_id}")
    (line,) = found
    client_address: str = line["client"]
    return client_address


def _json_or_none(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None  # the server's own lines are not all JSON
    return value if isinstance(value, dict) else None


def test_forwarded_for_is_trusted_only_from_the_default_proxy(combo: Combo, project: Path) -> None:
    with Service(project, combo.package, service_env(), server=combo.server) as service:
        assert "FORWARDED_ALLOW_IPS" not in service.env  # the default: 127.0.0.1
        # From the allowed proxy: the address it forwards.
        assert _client_in_access_line(service, "127.0.0.1", FORWARDED) == FORWARDED
        # A chain: the client wrote the first entry itself; the proxy appended what it saw.
        chain = f"198.51.100.1, {FORWARDED}"
        assert _client_in_access_line(service, "127.0.0.1", chain) == FORWARDED
        # From anywhere else: the header is ignored, the connection's address is logged.
        assert _client_in_access_line(service, "127.0.0.2", FORWARDED) == "127.0.0.2"
        # Without the header: the connection's address.
        assert _client_in_access_line(service, "127.0.0.1", None) == "127.0.0.1"
        assert service.stop() == 0


def test_forwarded_allow_ips_names_the_trusted_proxies(combo: Combo, project: Path) -> None:
    env = service_env(FORWARDED_ALLOW_IPS="127.0.0.2")
    with Service(project, combo.package, env, server=combo.server) as service:
        assert _client_in_access_line(service, "127.0.0.2", FORWARDED) == FORWARDED
        # 127.0.0.1 is no longer a trusted proxy.
        assert _client_in_access_line(service, "127.0.0.1", FORWARDED) == "127.0.0.1"
        assert service.stop() == 0
