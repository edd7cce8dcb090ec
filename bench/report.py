"""Turn the results dictionary into target verdicts, RESULTS.md and a console table."""

from __future__ import annotations

from typing import Any

from summary import Spread, spread

Results = dict[str, Any]
# The 100k-row export may grow RSS by at most this much more than the 10k-row one:
# a buffering endpoint would hold ~10x the rows; a streaming one holds one batch.
EXPORT_FLAT_MIB = 8.0


def _spread(d: dict[str, float]) -> Spread:
    return Spread(d["median"], d["min"], d["max"], int(d["n"]))


def _variant(results: Results, key: str) -> dict[str, Any] | None:
    return next((v for v in results["http"]["variants"] if v["key"] == key), None)


def _target(name: str, value: float | None, shown: str, target: str, met: bool | None) -> dict:
    return {"name": name, "value": value, "shown": shown, "target": target, "met": met}


# Ratios reported beside the targets, without one of their own.
_BESIDE = (
    ("d-no-origin", "d ÷ b, requests without Origin"),
    ("d-no-access-line", "d ÷ b, access line off"),
    ("d-granian", "d under granian ÷ b under uvicorn"),
    ("c", "c ÷ b throughput (as first written)"),
    ("e-sqlite", "e-sqlite ÷ b throughput (real GET /items)"),
    ("e-pg", "e-pg ÷ b throughput (real GET /items)"),
)
# Generator timings with a target: (section, field, name, decimals, limit in seconds).
_SECONDS = (
    ("render_write", "seconds", "render+write of a full project", 3, 0.3),
    ("cli", "seconds", "create-fastapi-app command, whole process", 3, 0.3),
    ("to_ready", "total", "command → 200 on /health/ready", 2, 2.0),
)


def targets(results: Results) -> list[dict[str, Any]]:
    """Every figure the issue sets a target for (met True/False), plus c and e beside them."""
    out = []
    d = _variant(results, "d")
    if d is not None:
        rps, p99 = _spread(d["rps_ratio"]), _spread(d["p99_ms_ratio"])
        out.append(
            _target("d ÷ b throughput", rps.median, rps.show(2), "≥ 0.85", rps.median >= 0.85)
        )
        out.append(_target("d p99 ÷ b p99", p99.median, p99.show(2), "≤ 1.25", p99.median <= 1.25))
        if "rps_ratio_served" in d:
            served = _spread(d["rps_ratio_served"])
            name = "d ÷ b served like `fastapi run`"
            out.append(_target(name, served.median, served.show(2), "—", None))
    for key, name in _BESIDE:
        variant = _variant(results, key)
        if variant is not None:
            rps = _spread(variant["rps_ratio"])
            out.append(_target(name, rps.median, rps.show(2), "—", None))
    out += _db_path_targets(results)
    gen = results.get("generator", {})
    for section, field, name, decimals, limit in _SECONDS:
        if section in gen:
            s = _spread(gen[section][field])
            shown = s.show(decimals, " s")
            out.append(_target(name, s.median, shown, f"≤ {limit:g} s", s.median <= limit))
    out += gen.get("detect", {}).get("targets", [])
    exports = results.get("memory", {}).get("export", [])
    if len(exports) == 2:
        extra = (exports[1]["growth_kib"] - exports[0]["growth_kib"]) / 1024
        out.append(
            _target(
                f"export RSS growth, {exports[1]['rows']:,} - {exports[0]['rows']:,} rows",
                extra,
                f"{extra:+.1f} MiB",
                f"≤ {EXPORT_FLAT_MIB:g} MiB (flat)",
                extra <= EXPORT_FLAT_MIB,
            )
        )
    return out


# Issue 15: the generated GET /items against the same work written by hand, per round.
# (key, baseline, metric, name, comparison, bound)
_DB_PATH_TARGETS = (
    ("e-pg", "f-asyncpg", "rps", "e-pg ÷ f (hand-written asyncpg) throughput", "≥", 0.8),
    ("e-pg", "f-asyncpg", "p99_ms", "e-pg p99 ÷ f p99", "≤", 2.0),
    ("e-sqlite", "g-core-sqlite", "rps", "e-sqlite ÷ g (hand-written Core, SQLite)", "≥", 0.9),
)


def _per_round(results: Results, key: str, base: str, metric: str) -> Spread | None:
    mine, theirs = _variant(results, key), _variant(results, base)
    if mine is None or theirs is None:
        return None
    ratios = [m[metric] / t[metric] for m, t in zip(mine["runs"], theirs["runs"], strict=True)]
    return spread(ratios)


# The same ratios for the generated service under granian, and for the write routes
# against their own hand-written baselines: figures, without a target.
_DB_PATH_BESIDE = (
    ("d-granian", "b", "p99_ms", "d under granian p99 ÷ b p99"),
    ("d-asyncio", "b", "rps", "d, uvicorn on asyncio's loop, ÷ b"),
    ("d-asyncio", "b", "p99_ms", "d, uvicorn on asyncio's loop, p99 ÷ b p99"),
    ("e-pg-asyncio", "f-asyncpg", "rps", "e-pg, uvicorn on asyncio's loop, ÷ f throughput"),
    ("e-pg-asyncio", "f-asyncpg", "p99_ms", "e-pg, uvicorn on asyncio's loop, p99 ÷ f p99"),
    ("e-pg-noturns", "f-asyncpg", "rps", "e-pg, reads not in turn, ÷ f throughput"),
    ("e-pg-noturns", "f-asyncpg", "p99_ms", "e-pg, reads not in turn, p99 ÷ f p99"),
    ("e-pg-granian", "f-asyncpg", "rps", "e-pg under granian ÷ f throughput"),
    ("e-pg-granian", "f-asyncpg", "p99_ms", "e-pg under granian p99 ÷ f p99"),
    ("e-sqlite-granian", "g-core-sqlite", "rps", "e-sqlite under granian ÷ g throughput"),
    ("post-e-pg", "post-f-asyncpg", "rps", "e-pg POST ÷ f POST throughput"),
    ("post-e-pg", "post-f-asyncpg", "p99_ms", "e-pg POST p99 ÷ f POST p99"),
    ("patch-e-pg", "patch-f-asyncpg", "rps", "e-pg PATCH ÷ f PATCH throughput"),
    ("patch-e-pg", "patch-f-asyncpg", "p99_ms", "e-pg PATCH p99 ÷ f PATCH p99"),
)


def _db_path_targets(results: Results) -> list[dict[str, Any]]:
    out = []
    for key, base, metric, name, sign, bound in _DB_PATH_TARGETS:
        ratio = _per_round(results, key, base, metric)
        if ratio is not None:
            met = ratio.median >= bound if sign == "≥" else ratio.median <= bound
            out.append(_target(name, ratio.median, ratio.show(2), f"{sign} {bound:g}", met))
    for key, base, metric, name in _DB_PATH_BESIDE:
        ratio = _per_round(results, key, base, metric)
        if ratio is not None:
            out.append(_target(name, ratio.median, ratio.show(2), "—", None))
    return out


def dbpath_table(results: Results) -> str:
    rows = []
    for row in results.get("dbpath", []):
        cpu = row["cpu_us_per_request"]
        ratio = row.get("cpu_ratio")
        measure = {
            "statements_per_request": "statements (pg_stat_statements)",
            "sqlite_calls_per_request": "hops to SQLite's thread",
        }[row["round_trips_measure"]]
        rows.append(
            [
                row["label"],
                f"{row['round_trips']:.2f} {measure}",
                Spread(cpu["median"], cpu["min"], cpu["max"], len(row["runs"])).show(0),
                f"{ratio['median']:.2f} of {ratio['base']}" if ratio else "—",
                f"{row['body_bytes']:,}",
            ]
        )
    header = ["app", "round trips / request", "CPU µs / request", "CPU ÷ baseline", "body bytes"]
    return _table(header, rows)


def _statements(results: Results) -> str:
    lines = []
    for row in results.get("dbpath", []):
        if row.get("statements"):
            lines.append(f"- {row['label']}:")
            lines += [
                f"  - {calls:.2f} per request: `{query[:100]}`"
                for query, calls in row["statements"].items()
            ]
    return "\n".join(lines)


def _met(flag: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "—"}[flag]


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _mib(kib: float) -> str:
    return f"{kib / 1024:.1f}"


def http_table(results: Results) -> str:
    rows = []
    for v in results["http"]["variants"]:
        ratio = _spread(v["rps_ratio"]).show(2) if "rps_ratio" in v else ""
        served = _spread(v["rps_ratio_served"]).show(2) if "rps_ratio_served" in v else ""
        p99_ratio = _spread(v["p99_ms_ratio"]).show(2) if "p99_ms_ratio" in v else ""
        logged = f"{v['logged_per_request']:.2f}" if "logged_per_request" in v else "—"
        p99 = _spread(v["p99_ms"]).show(2)
        if v.get("timeouts"):
            # wrk leaves requests unanswered after 5 s out of its percentiles: say so.
            p99 += f" ({v['timeouts']} timed out)"
        rows.append(
            [
                v["label"],
                _spread(v["rps"]).show(0),
                f"{1e6 / v['rps']['median']:.0f}" if v["rps"]["median"] else "—",
                ratio,
                served,
                _spread(v["p50_ms"]).show(2),
                p99,
                p99_ratio,
                _mib(v["rss_kib"]["median"]),
                logged,
            ]
        )
    header = [
        "variant",
        "req/s",
        "µs/request",
        "÷ b",
        "÷ b as `fastapi run`",
        "p50 ms",
        "p99 ms",
        "p99 ÷ b",
        "RSS MiB",
        "log lines / request",
    ]
    return _table(header, rows)


def targets_table(results: Results) -> str:
    rows = [[t["name"], t["shown"], t["target"], _met(t["met"])] for t in results["targets"]]
    return _table(["measure", "median (min-max)", "target", "met"], rows)


def _machine(results: Results) -> str:
    m = results["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    return "\n".join(
        [
            f"- CPU: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; Linux {m['kernel']}",
            f"- Python {m['python']}; {m['wrk']}; {m['postgresql']}",
            f"- {packages}",
        ]
    )


def _generator(results: Results) -> str:
    gen = results["generator"]
    rw = gen["render_write"]
    rows = [
        [
            f"render+write, {rw['files']} files (library call, median of {rw['seconds']['n']})",
            _spread(rw["seconds"]).show(3, " s"),
        ],
        [
            "create-fastapi-app command (new interpreter, imports, write)",
            _spread(gen["cli"]["seconds"]).show(3, " s"),
        ],
    ]
    for step in ("generate", "migrate", "boot", "total"):
        rows.append([f"to /health/ready: {step}", _spread(gen["to_ready"][step]).show(2, " s")])
    for row in gen["detect"].get("rows", []):
        rows.append([row["name"], row["shown"]])
    text = _table(["step", "seconds, median (min-max)"], rows)
    if "skipped" in gen["detect"]:
        text += f"\n\nDetector benchmark skipped: {gen['detect']['skipped']}."
    return text


def _coldstart(results: Results) -> str:
    rows = [
        [
            f"`{c['module']}` → `{c['path']}`",
            _spread(c["import_s"]).show(3),
            _spread(c["first_200_s"]).show(3),
        ]
        for c in results["coldstart"]
    ]
    return _table(["app", "import, s", "process start → first 200, s"], rows)


def _memory(results: Results) -> str:
    mem = results["memory"]
    rows = [
        [
            m["label"],
            f"{m['requests']:,}",
            _mib(m["rss_start_kib"]),
            _mib(m["rss_end_kib"]),
            _mib(m["peak_kib"]),
        ]
        for m in mem["after_requests"]
    ]
    first = _table(["app", "requests", "RSS at start, MiB", "RSS after, MiB", "peak, MiB"], rows)
    rows = [
        [
            f"{e['rows']:,}",
            f"{e['bytes'] / 2**20:.1f}",
            f"{e['seconds']:.2f}",
            _mib(e["rss_before_kib"]),
            _mib(e["rss_peak_kib"]),
            f"{e['growth_kib'] / 1024:+.1f}",
        ]
        for e in mem["export"]
    ]
    second = _table(
        ["rows exported", "body MiB", "seconds", "RSS before, MiB", "peak, MiB", "growth, MiB"],
        rows,
    )
    return f"{first}\n\nNDJSON export (`GET /items/export`, SQLite):\n\n{second}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def markdown(results: Results) -> str:
    s = results["http"]["settings"]
    load = results.get("load", {})
    skipped = "".join(f"\nSkipped: {note}.\n" for note in results.get("skipped", []))
    return f"""# Benchmark results

Written by `make bench` ([bench/run.py](run.py)) on {results["date"]} ({results["mode"]} run,
{results["elapsed_s"] / 60:.1f} minutes). Method: [README.md](README.md). Ratios are taken per
round against variant b of the same round; tables give the median and (min-max) over rounds.

## Machine

{_machine(results)}
- Load average (1 min) at start and end: {load.get("start", "?")} and {load.get("end", "?")}
  (other processes on the machine show up as noise in the ranges)

## Targets

{targets_table(results)}

## 1. HTTP: one 10-field JSON route, the real GET /items and its writes, one worker

uvicorn (uvloop, httptools, `--no-access-log`; granian with uvloop and its access log off
where a row says so) pinned to CPU 0, wrk pinned to CPU 1:
{s["connections"]} connections, {_plural(s["rounds"], "round")} of {s["seconds"]} s after a
{s["warmup"]} s warm-up, a fresh server per run, the variant order rotated each round. Every
request carries an `Origin` header; e adds a bearer token. The POST and PATCH rows send a
second user's token and a JSON body; each PATCH updates the next of that user's items in
turn (not one row that every connection waits to lock), and after every write run the rows
it inserted are deleted and the table vacuumed, so each run and the GET rows start from the
same table. µs/request is 10⁶ ÷ req/s: the server's time per request on its one core. The
last column counts access lines in the log file per request wrk reported; requests still in
flight when wrk stops are logged but not counted, so it sits slightly above 1.00.

{http_table(results)}
{skipped}
![throughput and p99 per variant](results.png)

## 2. Generator

{_generator(results)}

## 3. Cold start

Import: the app module in a fresh interpreter, interpreter start excluded. First 200: from
starting uvicorn to the first 200 answer on the path shown (readiness includes the database
check, and for the generated service the argon2 warm-up hash of its lifespan).

{_coldstart(results)}

## 4. Memory

RSS is read from `/proc/PID/status` (VmRSS, and VmHWM for the peak). The generated service's
peak includes its lifespan's argon2 warm-up hash (argon2's recommended 64 MiB of memory),
which is returned to the OS right after startup.

{_memory(results)}

## 5. The database path: round trips and CPU per request

`GET /items?limit=20` with a bearer token on 50 items, generated (e) and written by hand
(f: asyncpg; g: SQLAlchemy Core), counted rather than timed ([dbpath.py](dbpath.py)): each
app behind a counting wrapper, {_plural(results["profile"]["dbpath_requests"], "request")} per
run at 8 connections after a warm-up, {_plural(results["profile"]["dbpath_reps"], "run")} per
app. Statements are PostgreSQL's own count (pg_stat_statements; the pool pre-ping's empty
`;` query is not counted, its BEGIN and ROLLBACK are); on SQLite each hop to aiosqlite's
worker thread is a round trip. CPU is the server process's user + system time per request,
and its ratio to the baseline of the same run. Every app answered the same bytes.

{dbpath_table(results)}

Statements per request:

{_statements(results)}
"""


def console(results: Results) -> str:
    return f"\n{http_table(results)}\n\n{targets_table(results)}\n"
