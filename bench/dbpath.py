"""Section 5: what one `GET /items?limit=20` costs on the database path, counted, not timed.

For the generated service and the hand-written baselines (apps/f_asyncpg.py,
apps/g_core.py) on the same database:

- the response bytes, which must be identical to the generated service's (else: error);
- statements per request as PostgreSQL counted them (pg_stat_statements: BEGIN, COMMIT,
  the pool's ping and every query each count once; a statement's first prepare on a
  connection is amortised away over the run);
- hops to SQLite's worker thread per request (aiosqlite's `Connection._execute`, counted
  in the server process by apps/counted.py), SQLite's round trips;
- the server process's CPU time per request (user + system, from /proc), which a shared
  machine disturbs far less than req/s.

Counts come from the server's own request counter after wrk stops, so requests still in
flight when wrk exits are counted too. Standalone, for deciding a change by its figures:

    .venv/bin/python bench/dbpath.py              # 3 repetitions of 2,000 requests
    .venv/bin/python bench/dbpath.py --smoke      # 1 repetition of 200
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from server import Uvicorn, clean_env, get
from throughput import Variant
from wrk import run_count

HERE = Path(__file__).resolve().parent
APPS = HERE / "apps"
# Which baseline each generated variant is compared with, byte for byte and in the table.
GROUPS = {"e-pg": ("f-asyncpg", "g-core-pg"), "e-sqlite": ("g-core-sqlite",)}
# CPU per request is also given as a ratio to the same repetition's fastest baseline.
BASELINE = {
    "e-pg": "f-asyncpg",
    "g-core-pg": "f-asyncpg",
    "e-sqlite": "g-core-sqlite",
    "post-e-pg": "post-f-asyncpg",
    "patch-e-pg": "patch-f-asyncpg",
}
# The write rows: (key prefix, method, body). Their answers differ by id and time, so they
# are compared by status only; each run creates or changes the writer's items only.
WRITES = (
    ("post", "POST", '{"title": "bench", "description": "written by the benchmark"}'),
    ("patch", "PATCH", '{"title": "bench patch"}'),
)
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Fewer connections than the generated service's pool (15): costs are counted without
# requests queueing for a connection, which on a busy machine ends in 503s after
# DB_POOL_TIMEOUT; section 1 measures saturation at 64.
CONNECTIONS = 8


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def baselines(service_env: dict[str, str], db: str) -> list[Variant]:
    """The hand-written apps for one database, reading the generated service's settings."""
    env = {key: service_env[key] for key in ("DATABASE_URL", "SECRET_KEY")}
    path = "/items?limit=20&offset=0"

    def app(key: str, label: str, module: str) -> Variant:
        return Variant(key, label, f"{module}:app", APPS, APPS, path, env=env)

    if db == "postgresql":
        return [
            app("f-asyncpg", "f. hand-written on asyncpg, PostgreSQL", "f_asyncpg"),
            app("g-core-pg", "g. hand-written on SQLAlchemy Core, PostgreSQL", "g_core"),
        ]
    return [app("g-core-sqlite", "g. hand-written on SQLAlchemy Core, SQLite", "g_core")]


class Statements:
    """pg_stat_statements of one database, read and reset through psql."""

    def __init__(self, postgres: Any, database: str) -> None:
        self.postgres = postgres
        self.database = database
        postgres.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def reset(self) -> None:
        self.postgres.execute("SELECT pg_stat_statements_reset()")

    def calls(self) -> dict[str, int]:
        rows = self.postgres.execute(
            "SELECT regexp_replace(query, '\\s+', ' ', 'g'), calls FROM pg_stat_statements "
            f"JOIN pg_database d ON d.oid = dbid WHERE d.datname = '{self.database}'"
        )
        counted: dict[str, int] = {}
        for line in rows.splitlines():
            query, _, calls = line.rpartition("|")
            counted[query] = counted.get(query, 0) + int(calls)
        return counted


def _counters(server: Uvicorn, reset: bool = False) -> dict[str, int]:
    status, body = get(server.port, "/_bench/counters" + ("?reset=1" if reset else ""))
    if status != 200:
        raise RuntimeError(f"/_bench/counters answered {status}")
    return dict(json.loads(body))


def _quiet(server: Uvicorn, timeout: float = 30) -> dict[str, int]:
    """The counters once no request is in flight (wrk exits with some still running)."""
    deadline = time.monotonic() + timeout
    while (counts := _counters(server))["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.01)  # bench only: waiting for the server's own counter to settle
    return counts


def one_run(
    variant: Variant, requests: int, connections: int, statements: Statements | None, log: Path
) -> dict[str, Any]:
    """Start the app behind the counting wrapper, warm it up, then count one run."""
    env = variant.env | {"BENCH_TARGET": variant.app}
    if variant.app_dir != APPS:
        env["PYTHONPATH"] = str(variant.app_dir)
    server = Uvicorn(
        "counted:app", app_dir=APPS, cwd=variant.cwd, env=clean_env(**env), log_path=log
    )
    load = {"headers": variant.headers, "method": variant.method, "body": variant.body}
    with server:
        # Writes wait on the list route: GET of a write's path may not exist (f has no read-one).
        server.start(variant.path if variant.method == "GET" else "/items", variant.headers)
        status, body = send(server.port, variant)
        if status not in (200, 201):
            raise RuntimeError(f"{variant.key}: {variant.path} answered {status}: {body[:300]!r}")
        url = server.url(variant.path)
        run_count(url, max(requests // 4, 50), connections=connections, **load)
        _quiet(server)
        _counters(server, reset=True)
        if statements is not None:
            statements.reset()
        assert server.process is not None
        cpu_before = cpu_seconds(server.process.pid)
        run_count(url, requests, connections=connections, **load)
        counts = _quiet(server)
        cpu = cpu_seconds(server.process.pid) - cpu_before
        calls = statements.calls() if statements is not None else {}
    answered = counts["requests"]
    row: dict[str, Any] = {
        "requests": answered,
        "cpu_us_per_request": cpu * 1e6 / answered,
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "body_bytes": len(body),
    }
    if statements is not None:
        own = {q: c for q, c in calls.items() if "pg_stat_statements" not in q}
        row["statements_per_request"] = sum(own.values()) / answered
        row["statements"] = {q: round(c / answered, 3) for q, c in sorted(own.items())}
    else:
        row["sqlite_calls_per_request"] = counts["sqlite_calls"] / answered
    return row


def send(port: int, variant: Variant) -> tuple[int, bytes]:
    """The variant's request once, as wrk will send it."""
    if variant.method == "GET":
        return get(port, variant.path, variant.headers)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = variant.headers | {"Content-Type": "application/json"}
        connection.request(variant.method, variant.path, body=variant.body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def write_variants(
    generated: Variant, token: str, item_id: int, statements: Statements | None
) -> list[tuple[Variant, Statements | None]]:
    """POST /items and PATCH /items/{id} by the writer, generated and on asyncpg by hand."""
    env = {key: generated.env[key] for key in ("DATABASE_URL", "SECRET_KEY")}
    headers = generated.headers | {"Authorization": f"Bearer {token}"}
    out = []
    for prefix, method, body in WRITES:
        path = "/items" if method == "POST" else f"/items/{item_id}"
        route = f"{method} {path.replace(str(item_id), '{id}')}"
        mine = replace(
            generated,
            key=f"{prefix}-e-pg",
            label=f"e. generated {route}, PostgreSQL",
            path=path,
            headers=headers,
            method=method,
            body=body,
        )
        theirs = Variant(
            f"{prefix}-f-asyncpg",
            f"f. hand-written {route} on asyncpg",
            "f_asyncpg:app",
            APPS,
            APPS,
            path,
            env=env,
            headers=headers,
            method=method,
            body=body,
        )
        out += [(mine, statements), (theirs, statements)]
    return out


def measure(
    variants: list[tuple[Variant, Statements | None]],
    *,
    requests: int,
    connections: int,
    repetitions: int,
    work: Path,
) -> list[dict[str, Any]]:
    """Each variant `repetitions` times, interleaved; bodies checked against the generated."""
    runs: dict[str, list[dict[str, Any]]] = {v.key: [] for v, _ in variants}
    for repetition in range(repetitions):
        for variant, statements in variants:
            log = work / "logs" / f"dbpath-{variant.key}-{repetition + 1}.log"
            row = one_run(variant, requests, connections, statements, log)
            runs[variant.key].append(row)
            print(f"  {variant.key:14} {_line(row)}", flush=True)
    rows = [summarise(variant, runs[variant.key]) for variant, _ in variants]
    check_same_bytes(rows)
    for row in rows:
        base = BASELINE.get(_generated_key(row["key"]))
        if base in runs and row["key"] != base:
            # Per repetition against the baseline of that repetition: the machine's drift
            # (other jobs, CPU contention) hits both alike, so the ratio is steadier.
            ratios = [
                mine["cpu_us_per_request"] / theirs["cpu_us_per_request"]
                for mine, theirs in zip(row["runs"], runs[base], strict=True)
            ]
            row["cpu_ratio"] = {"base": base, **_spread(ratios)}
    return rows


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _line(row: dict[str, Any]) -> str:
    trips = row.get("statements_per_request", row.get("sqlite_calls_per_request"))
    return f"{row['cpu_us_per_request']:7.0f} µs CPU/request  {trips:5.2f} round trips/request"


def summarise(variant: Variant, runs: list[dict[str, Any]]) -> dict[str, Any]:
    cpu = [r["cpu_us_per_request"] for r in runs]
    out: dict[str, Any] = {
        "key": variant.key,
        "label": variant.label,
        "runs": runs,
        "cpu_us_per_request": _spread(cpu),
        "body_sha256": runs[0]["body_sha256"],
        "body_bytes": runs[0]["body_bytes"],
    }
    for field in ("statements_per_request", "sqlite_calls_per_request"):
        if field in runs[0]:
            out["round_trips"] = statistics.median(r[field] for r in runs)
            out["round_trips_measure"] = field
            out["statements"] = runs[-1].get("statements", {})
    return out


def _generated_key(key: str) -> str:
    """e-pg-before, e-pg-nocache, ... are variants of e-pg."""
    return next((g for g in GROUPS if key.startswith(g + "-")), key)


def check_same_bytes(rows: list[dict[str, Any]]) -> None:
    """Each baseline answers exactly the generated service's bytes; raise if not."""
    by_key = {row["key"]: row for row in rows}
    for generated, baselines in GROUPS.items():
        if generated not in by_key:
            continue
        others = [*baselines, *(k for k in by_key if _generated_key(k) == generated != k)]
        for key in others:
            if key.rpartition("-")[2] in _OTHER_BYTES:
                continue  # answers its own total by design
            if key in by_key and by_key[key]["body_sha256"] != by_key[generated]["body_sha256"]:
                raise RuntimeError(
                    f"{key} answers other bytes than {generated} "
                    f"({by_key[key]['body_bytes']} vs {by_key[generated]['body_bytes']} bytes)."
                )


def main(argv: list[str] | None = None) -> int:
    import postgres
    import run

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="1 repetition of 200 requests")
    parser.add_argument("--requests", type=int, help="requests per counted run")
    parser.add_argument("--repetitions", type=int, help="counted runs per variant")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--only", help="comma-separated variant keys")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument(
        "--levers", action="store_true", help="also copies with one lever changed each"
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="a bundle checkout (e.g. `git archive HEAD`): its generated service runs too",
    )
    args = parser.parse_args(argv)
    requests = args.requests or (200 if args.smoke else 2000)
    repetitions = args.repetitions or (1 if args.smoke else 3)
    work = HERE / ".work" / "dbpath"
    (work / "logs").mkdir(parents=True, exist_ok=True)
    with postgres.PinnedPostgres(extra_args=postgres.STATEMENT_STATS) as server:
        server.start()
        sqlite = run.prepare(work, "sqlite", f"sqlite:///{work}/sqlite/app.db")
        pg = run.prepare(work, "postgresql", server.create_database("bench"))
        variants = run.db_variants(sqlite, pg, Statements(server, "bench"))
        generated = list(variants)
        variants += run.write_rows(pg, variants)
        if args.levers:
            variants += lever_variants(generated, work)
        if args.before:
            variants += before_variants(args.before, generated, work)
        if args.only:
            keep = set(args.only.split(","))
            variants = [(v, s) for v, s in variants if v.key in keep]
        rows = measure(
            variants,
            requests=requests,
            connections=args.connections,
            repetitions=repetitions,
            work=work,
        )
    for row in rows:
        cpu = row["cpu_us_per_request"]
        ratio = row.get("cpu_ratio")
        shown = f" = {ratio['median']:.2f}x {ratio['base']}" if ratio else ""
        print(
            f"{row['label']:52} {cpu['median']:7.0f} µs CPU ({cpu['min']:.0f}-{cpu['max']:.0f})"
            f"{shown}  {row['round_trips']:5.2f} round trips  {row['body_bytes']} bytes"
        )
        for query, calls in row["statements"].items():
            print(f"      {calls:5.2f}  {query[:110]}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


def before_variants(
    bundle: Path, variants: list[tuple[Variant, Statements | None]], work: Path
) -> list[tuple[Variant, Statements | None]]:
    """The generated services of another bundle checkout, on the same databases and token."""
    import subprocess

    out = []
    for variant, statements in variants:
        if not variant.key.startswith("e-"):
            continue
        db = "postgresql" if variant.key == "e-pg" else "sqlite"
        target = work / "before" / db / "svc"
        script = (
            "import sys; from pathlib import Path; from fastapi_patterns.generate import generate;"
            f"generate('svc', Path(sys.argv[1]), db='{db}', redis=False, auth='jwt',"
            " layout='flat', python='3.11')"
        )
        subprocess.run(["rm", "-rf", str(target)], check=True)
        subprocess.run(
            [sys.executable, "-c", script, str(target)],
            env=clean_env(PYTHONPATH=str(bundle / "scripts")),
            check=True,
        )
        label = variant.label.replace("generated", "generated before")
        before = replace(
            variant, key=f"{variant.key}-before", label=label, app_dir=target, cwd=target
        )
        out.append((before, statements))
    return out


# Issue 15's levers, each variant a copy of the generated service changed by its settings
# and text edits: (key suffix, label, environment, [(generated file, text, replacement)]).
_NO_CACHE = {"CURRENT_USER_CACHE_SECONDS": "0"}
_PRE_PING = ("db.py", 'pool_pre_ping=driver != "asyncpg"', "pool_pre_ping=True")
_TX_READS = ("db.py", 'if engine.dialect.name == "postgresql":', "if False:")
# The access-token cache off: every request checks the token's signature and claims.
_NO_TOKEN_CACHE = [
    (
        "api/deps.py",
        "from ..core.security import InvalidTokenError\n",
        "from ..core.security import InvalidTokenError, decode_access_token\n",
    ),
    (
        "api/deps.py",
        "user_id = resources.tokens.user_id(credentials.credentials)",
        "user_id = decode_access_token(credentials.credentials, resources.settings)",
    ),
]
# Reads through SQLAlchemy's execution layer instead of asyncpg's own fetch.
_SA_EXECUTE = ("db.py", 'if reads.engine.dialect.driver != "asyncpg":', "if True:")
# The page without the window count: what keyset pagination's first page costs (LIMIT and
# nothing else; a later page adds WHERE id > :after where this one has OFFSET 0). Its total
# becomes the page's length, so its answer differs from e's (check_same_bytes skips it).
_NO_TOTAL = [
    (
        "services/items.py",
        'select(*_COLUMNS, func.count().over().label("total"))',
        "select(*_COLUMNS)",
    ),
    ("services/items.py", 'total = rows[0]["total"]', "total = len(rows)"),
]
# Lever suffixes whose answer differs from the generated service's by design.
_OTHER_BYTES = ("nototal",)
_LEVERS: list[tuple[str, str, dict[str, str], list[tuple[str, str, str]]]] = [
    ("nocache", "no user cache", _NO_CACHE, []),
    ("preping", "no user cache, pool pre-ping back", _NO_CACHE, [_PRE_PING]),
    ("tx", "no user cache, reads in a transaction", _NO_CACHE, [_TX_READS]),
    (
        "preping-tx",
        "no user cache, pre-ping, reads in a transaction",
        _NO_CACHE,
        [_PRE_PING, _TX_READS],
    ),
    ("notokens", "no access-token cache", {}, _NO_TOKEN_CACHE),
    ("saexec", "reads through SQLAlchemy's execute", {}, [_SA_EXECUTE]),
    (
        "notokens-saexec",
        "neither (token cache, asyncpg fetch)",
        {},
        [*_NO_TOKEN_CACHE, _SA_EXECUTE],
    ),
    ("nototal", "page without the window count (total = page length)", {}, _NO_TOTAL),
]


def lever_variants(
    variants: list[tuple[Variant, Statements | None]], work: Path
) -> list[tuple[Variant, Statements | None]]:
    """Copies of the generated services with one lever changed each (bench only)."""
    out = []
    for variant, statements in variants:
        if not variant.key.startswith("e-"):
            continue
        for suffix, label, env, edits in _LEVERS:
            if variant.key == "e-sqlite" and suffix not in ("nocache", "notokens", "nototal"):
                continue  # no pre-ping, BEGIN round trip or asyncpg path on SQLite
            out.append((changed_copy(variant, suffix, label, env, edits, work), statements))
    return out


# The read turns off: reads ask the pool directly, which does not serve them in order.
NO_TURNS = [
    ("db.py", "    await _take_turn(reads)\n", ""),
    ("db.py", "        reads.turns.release()\n", "        pass\n"),
]


def changed_copy(
    variant: Variant,
    suffix: str,
    label: str,
    env: dict[str, str],
    edits: list[tuple[str, str, str]],
    work: Path,
) -> Variant:
    """A copy of a generated service's project with text edits made to its package."""
    import shutil

    target = work / "levers" / f"{variant.key}-{suffix}"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(variant.app_dir, target, ignore=shutil.ignore_patterns("*.db"))
    for name, old, new in edits:
        path = target / "svc" / name
        text = path.read_text()
        if old not in text:
            raise RuntimeError(f"{path}: {old!r} is not there to change.")
        path.write_text(text.replace(old, new))
    return replace(
        variant,
        key=f"{variant.key}-{suffix}",
        label=f"{variant.label}, {label}",
        app_dir=target,
        cwd=target,
        env=variant.env | env,
    )


def with_headers(variant: Variant, headers: dict[str, str]) -> Variant:
    return replace(variant, headers=variant.headers | headers)


if __name__ == "__main__":
    sys.exit(main())
