"""references/deployment.md's claims about uvicorn and the Kubernetes manifests.

Each test is named after the section that makes the claim. The SIGTERM tests run a real
uvicorn process: once as an ordinary child and once as PID 1 of a new PID namespace, the
way the exec-form `CMD` of a container runs it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from uvicorn.config import Config

from ci import missing
from fastapi_patterns.generate import generate

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "references" / "deployment.md"
STARTED = "Application startup complete."
# A lifespan-only ASGI app: uvicorn starts it, and SIGTERM shuts it down cleanly.
LIFESPAN_APP = """\
async def app(scope, receive, send):
    assert scope["type"] == "lifespan"
    while True:
        message = await receive()
        done = message["type"] == "lifespan.shutdown"
        await send({"type": message["type"] + ".complete"})
        if done:
            return
"""


# ---------------------------------------------------------- Behind a proxy or load balancer


def test_proxy_forwarded_allow_ips_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    assert Config(app="unused:app").forwarded_allow_ips == "127.0.0.1,::1"
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.0/8")
    assert Config(app="unused:app").forwarded_allow_ips == "10.0.0.0/8"


# --------------------------------------------------------------------- Graceful shutdown


def _serve_then_sigterm(tmp_path: Path, prefix: list[str]) -> int:
    """Start uvicorn (under `prefix`), SIGTERM it once started; its exit status."""
    (tmp_path / "lifespan_app.py").write_text(LIFESPAN_APP)
    command = [
        *prefix, sys.executable, "-m", "uvicorn", "lifespan_app:app",
        "--host", "127.0.0.1", "--port", "0", "--lifespan", "on",
    ]  # fmt: skip
    with subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE, text=True) as process:
        try:
            assert process.stderr is not None
            seen = []
            for line in process.stderr:  # blocks until uvicorn says it started
                seen.append(line)
                if STARTED in line:
                    break
            else:
                pytest.fail(f"uvicorn never started:\n{''.join(seen)}")
            uvicorn_pid = process.pid
            if prefix:  # unshare --fork: uvicorn is unshare's only child
                children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text()
                (uvicorn_pid,) = map(int, children.split())
            os.kill(uvicorn_pid, signal.SIGTERM)
            process.stderr.read()  # to the end: uvicorn has closed it by exiting
            return process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()


def test_graceful_shutdown_sigterm_kills_uvicorn_when_not_pid_1(tmp_path: Path) -> None:
    # uvicorn re-raises the signal after its clean shutdown: 143 in a shell.
    assert _serve_then_sigterm(tmp_path, []) == -signal.SIGTERM


def test_graceful_shutdown_sigterm_exits_0_as_pid_1(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        missing("needs root and util-linux `unshare` to run uvicorn as PID 1")
    # As PID 1 the re-raised SIGTERM (default action) is ignored by the kernel: exit 0.
    assert _serve_then_sigterm(tmp_path, [unshare, "--pid", "--fork", "--kill-child"]) == 0


# ------------------------------------------------------------------------ Kubernetes


def _reference_manifest() -> dict[str, Any]:
    text = REFERENCE.read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    (deployment,) = [block for block in blocks if "kind: Deployment" in block]
    loaded: dict[str, Any] = yaml.safe_load(deployment)
    return loaded


def _generated_manifest_and_check_timeout(tmp_path: Path) -> tuple[dict[str, Any], float]:
    files = generate(
        "claims",
        tmp_path / "claims",
        dry_run=True,
        cwd=tmp_path,
        db="postgresql",
        redis=True,
        auth="jwt",
        layout="flat",
        python="3.11",
    ).files
    manifest = yaml.safe_load(files["deploy/kubernetes/deployment.yaml"].decode())
    config = files["claims/core/config.py"].decode()
    found = re.search(r"health_check_timeout: float = Field\(default=([\d.]+)", config)
    assert found is not None
    return manifest, float(found.group(1))


def _probes(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    return {name: probe for name, probe in container.items() if name.endswith("Probe")}


def test_kubernetes_every_readiness_probe_outlasts_the_check_timeout(tmp_path: Path) -> None:
    generated, check_timeout = _generated_manifest_and_check_timeout(tmp_path)
    for manifest in (_reference_manifest(), generated):
        probes = _probes(manifest)
        assert set(probes) == {"startupProbe", "livenessProbe", "readinessProbe"}
        for name, probe in probes.items():
            # Kubernetes' default timeoutSeconds is 1: every probe states its own.
            assert "timeoutSeconds" in probe, name
            if probe["httpGet"]["path"] == "/health/ready":
                assert probe["timeoutSeconds"] > check_timeout, name
