"""Issue 6.8: bad settings stop the service at startup, naming the variable.

Each case starts the generated project's own entry point (`python -m package`) with one
bad variable (or two) and nothing else wrong. It must exit non-zero before serving, with
an "Invalid configuration" message naming the variable, without a traceback, and without
echoing the secret or password it was given. How long that takes is a recorded figure,
not an assertion; a process that never exits fails at the subprocess timeout.
"""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from combos import Combo
from reliability import PG_REDIS_JWT, SQLITE_DEFAULT, figure, generate, service_env, sqlite_url

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("rel-settings")]

WEAK_SECRET = "short-secret-0123456789abcdefgh"  # 31 characters
PASSWORD = "tiger-db-password-42"

# name -> (changes to a good environment (None removes), variables the message must name)
CASES: dict[str, tuple[dict[str, str | None], list[str]]] = {
    "secret missing": ({"SECRET_KEY": None}, ["SECRET_KEY: is required"]),
    "secret empty": ({"SECRET_KEY": ""}, ["SECRET_KEY: is required"]),
    "secret of 31 characters": ({"SECRET_KEY": WEAK_SECRET}, ["SECRET_KEY: must be at least 32"]),
    "secret too short for HS512": (
        {"SECRET_KEY": WEAK_SECRET + "0123456789", "JWT_ALGORITHM": "HS512"},
        ["JWT_ALGORITHM: HS512 needs a SECRET_KEY of at least 64 bytes"],
    ),
    "algorithm none": ({"JWT_ALGORITHM": "none"}, ["JWT_ALGORITHM"]),
    "database URL not a URL": (
        {"DATABASE_URL": "not a url"},
        ["DATABASE_URL: is not a database URL"],
    ),
    "database URL of another database": (
        {"DATABASE_URL": f"oracle://scott:{PASSWORD}@db.example/orders"},
        ["DATABASE_URL: uses 'oracle'"],
    ),
    "database URL over HTTP": ({"DATABASE_URL": "https://db.example/app"}, ["DATABASE_URL"]),
    "CORS any origin with credentials": (
        {"CORS_ORIGINS": "*", "CORS_ALLOW_CREDENTIALS": "true"},
        ["CORS_ALLOW_CREDENTIALS: cannot be true while CORS_ORIGINS contains '*'"],
    ),
    "CORS origin without a scheme": ({"CORS_ORIGINS": "app.example.com"}, ["CORS_ORIGINS"]),
    "pool size zero": ({"DB_POOL_SIZE": "0"}, ["DB_POOL_SIZE"]),
    "command timeout zero": ({"DB_COMMAND_TIMEOUT": "0"}, ["DB_COMMAND_TIMEOUT"]),
    "body limit not a number": ({"MAX_BODY_SIZE": "1MB"}, ["MAX_BODY_SIZE"]),
    "two at once": (
        {"SECRET_KEY": WEAK_SECRET, "DATABASE_URL": "not a url"},
        ["SECRET_KEY: must be at least 32", "DATABASE_URL: is not a database URL"],
    ),
}
REDIS_CASES: dict[str, tuple[dict[str, str | None], list[str]]] = {
    "Redis URL over HTTP": (
        {"REDIS_URL": f"http://user:{PASSWORD}@cache.example"},
        ["REDIS_URL: must start with redis://"],
    ),
}

SQLITE_CASES = ("secret", "database URL", "two at once")


def _start(
    project: Path, package: str, env: dict[str, str], changes: dict[str, str | None]
) -> tuple[int, str, float]:
    # Port 0: should a case get as far as listening, it takes no other process's port.
    env = {**env, "HOST": "127.0.0.1", "PORT": "0"}
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    started = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, "-m", package],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,  # validation comes before any server is reached: exit, never serve
            check=False,
        )
    except subprocess.TimeoutExpired as hung:
        return -1, f"still running after {hung.timeout:g}s: {hung.output!r}", hung.timeout
    return result.returncode, result.stdout + result.stderr, time.monotonic() - started


@pytest.mark.parametrize("combo", [PG_REDIS_JWT, SQLITE_DEFAULT], ids=lambda c: c.id)
def test_bad_settings_stop_startup_naming_the_variable(
    combo: Combo, tmp_path_factory: pytest.TempPathFactory, record_property: Any
) -> None:
    project = generate(combo, tmp_path_factory, "settings")
    # The generator writes a development .env (with a SECRET_KEY); these cases are about
    # the environment alone, as in a container.
    (project / ".env").unlink(missing_ok=True)
    # Valid everywhere else; no server is reached, because validation comes first.
    good = service_env(
        DATABASE_URL="postgresql://app@127.0.0.1:1/app"
        if combo.db == "postgresql"
        else sqlite_url(project)
    )
    if combo.redis:
        good["REDIS_URL"] = "redis://127.0.0.1:1/0"
    if combo.redis:
        cases = {**CASES, **REDIS_CASES}
    else:  # the same settings class: the cases that differ by database and secret suffice
        cases = {name: case for name, case in CASES.items() if name.startswith(SQLITE_CASES)}
    with ThreadPoolExecutor(2) as pool:
        outcomes = dict(
            zip(
                cases,
                pool.map(
                    lambda case: _start(project, combo.package, good, case[0]), cases.values()
                ),
                strict=True,
            )
        )
    slowest = 0.0
    for name, (code, output, seconds) in outcomes.items():
        expected = cases[name][1]
        assert code != 0, (name, output)
        assert "Invalid configuration:" in output, (name, output)
        for fragment in expected:
            assert fragment in output, (name, fragment, output)
        assert "Traceback" not in output, (name, output)
        for secret in (WEAK_SECRET, PASSWORD):
            assert secret not in output, (name, "echoed a secret", output)
        slowest = max(slowest, seconds)
    figure(
        record_property,
        f"{combo.id}: {len(cases)} bad configurations refused at startup, each naming its "
        f"variable, no traceback, no secret echoed; slowest exit {slowest:.1f}s",
    )
