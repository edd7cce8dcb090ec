"""Run wrk pinned to the load-generator CPU and parse what it prints."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

LOAD_CPU = "1"  # the server owns CPU 0
COUNT_SCRIPT = Path(__file__).with_name("count.lua")
WRITE_SCRIPT = Path(__file__).with_name("write.lua")
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_LATENCY = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", re.M)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_REACHED = re.compile(r"count reached: (\d+) responses, (\d+) not 2xx")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_STATUSES = re.compile(r"^statuses: ?(.*)$", re.M)  # printed by write.lua


class WrkError(RuntimeError):
    """wrk failed, or its output was not what a clean run prints."""


@dataclass(frozen=True)
class WrkResult:
    rps: float
    requests: int
    seconds: float
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    errors: int  # non-2xx responses plus connect, read and write errors
    # Requests with no answer within --timeout: a measurement, not a failure (a saturated
    # server's queue), but wrk leaves them out of its latencies, so they are reported.
    timeouts: int = 0
    # Answers per HTTP status, when the run's script tallied them (write.lua does).
    statuses: dict[int, int] = field(default_factory=dict)


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkError("wrk is not installed; run `apt-get install -y wrk` (make bench does).")
    return found


def run_wrk(
    url: str,
    *,
    seconds: float,
    connections: int = 64,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    body: str | None = None,
    path_ids: Sequence[int] = (),
) -> WrkResult:
    """One bounded wrk run against a loopback URL; raises on errors or non-2xx answers
    (timeouts are counted in the result instead). With a method other than GET, each
    request carries `body` as JSON (write.lua), its path ending in the next of `path_ids`
    in turn when there are any, and the result has every answer's status."""
    command = [*_command(url, seconds, connections, headers), "--latency", url]
    if method != "GET":
        arguments = [method, body or "", *(str(n) for n in path_ids)]
        command[-1:-1] = ["-s", str(WRITE_SCRIPT)]
        command += ["--", *arguments]
    done = _run(command, seconds)
    result = parse(done.stdout)
    if method != "GET" and not result.statuses:
        raise WrkError(f"write.lua reported no statuses:\n{done.stdout}")
    # wrk counts only answers of 400 and above; a write answered 1xx or 3xx failed as well.
    odd = sum(n for status, n in result.statuses.items() if not 200 <= status < 300)
    if result.errors or odd:
        raise WrkError(f"wrk saw {result.errors + odd} errors or non-2xx answers:\n{done.stdout}")
    return result


def run_count(
    url: str,
    requests: int,
    *,
    connections: int = 64,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    body: str | None = None,
) -> int:
    """Send `requests` requests (then stop, or fail after 120 s); returns the 2xx count.
    With a method other than GET, each request carries `body` as JSON."""
    command = _command(url, 120, connections, headers)
    arguments = [str(requests)] if method == "GET" else [str(requests), method, body or ""]
    done = _run([*command, "-s", str(COUNT_SCRIPT), url, "--", *arguments], 120)
    reached = _REACHED.search(done.stdout)
    if reached is None:
        raise WrkError(f"wrk stopped before {requests} responses:\n{done.stdout}")
    seen, failed = int(reached.group(1)), int(reached.group(2))
    if failed:
        raise WrkError(f"{failed} of {seen} responses were not 2xx.")
    return seen


def _command(
    url: str, seconds: float, connections: int, headers: dict[str, str] | None
) -> list[str]:
    if urlsplit(url).hostname != "127.0.0.1":
        raise WrkError(f"Refusing to load {url}: benchmarks target 127.0.0.1 only.")
    command = ["taskset", "-c", LOAD_CPU, wrk_binary(), "-t1", f"-c{connections}"]
    command += [f"-d{max(seconds, 1):g}s", "--timeout", "5s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    return command


def _run(command: list[str], seconds: float) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    except subprocess.TimeoutExpired:
        raise WrkError(f"wrk did not finish within {seconds + 60:g}s.") from None
    if done.returncode != 0:
        raise WrkError(f"wrk exited with {done.returncode}: {done.stderr.strip()}")
    return done


def parse(text: str) -> WrkResult:
    """Requests/sec, totals and the 50/75/90/99% latencies from `wrk --latency` output."""
    latencies = {int(p): float(v) * _UNITS[u] for p, v, u in _LATENCY.findall(text)}
    rate, total = _RATE.search(text), _TOTAL.search(text)
    if rate is None or total is None or len(latencies) != 4:
        raise WrkError(f"Could not parse wrk output:\n{text}")
    non_2xx = _NON_2XX.search(text)
    socket = _SOCKET.search(text)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    timeouts = 0
    tallied = _STATUSES.search(text)
    statuses = {}
    if tallied:
        for part in tallied.group(1).split():
            status, count = part.split("=")
            statuses[int(status)] = int(count)
    if socket:
        connect, read, write, timeouts = (int(n) for n in socket.groups())
        errors += connect + read + write
    return WrkResult(
        rps=float(rate.group(1)),
        requests=int(total.group(1)),
        seconds=float(total.group(2)) * _UNITS[total.group(3)] / 1e3,
        p50_ms=latencies[50],
        p75_ms=latencies[75],
        p90_ms=latencies[90],
        p99_ms=latencies[99],
        errors=errors,
        timeouts=timeouts,
        statuses=statuses,
    )
