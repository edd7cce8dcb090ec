"""`make bench`: every benchmark of issue 5, then RESULTS.md, results.json and results.png.

    python bench/run.py            # full run (~8 minutes), writes into bench/
    python bench/run.py --smoke    # 1 round, 2 s runs at 4 connections; bench/.work/smoke

The server runs on CPU 0 and wrk on CPU 1 (taskset); all load targets 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import coldstart
import dbpath
import generator
import machine
import memory
import postgres
import project
import report
import throughput
from apps.model import PATH
from server import Uvicorn, clean_env

HERE = Path(__file__).resolve().parent
APPS = HERE / "apps"
SEED_ITEMS = 50  # full pages of GET /items?limit=20, as in issue 15's figures
WRITER_EMAIL = "writer@example.com"
DATABASE = "bench"  # the PostgreSQL database of the e-pg, f and g-pg rows
# The writer's items, which section 1's PATCH rows update in turn: one per connection of the
# full run, so 64 connections do not all queue on one row's lock.
WRITER_ITEMS = 64


@dataclass(frozen=True)
class Profile:
    rounds: int
    seconds: int
    warmup: int
    connections: int
    memory_requests: int
    export_rows: tuple[int, int]
    generate_reps: int
    ready_reps: int
    coldstart_reps: int
    dbpath_requests: int  # section 5: requests per counted run, and runs per variant
    dbpath_reps: int


# Many short rounds rather than a few long ones: a burst of noise from elsewhere on a shared
# machine spoils a round or two, and the median over nine rounds shrugs those off.
FULL = Profile(9, 5, 1, 64, 10_000, (10_000, 100_000), 10, 3, 5, 2_000, 3)
# The smoke run proves the harness end to end inside `make test`, beside other busy tests:
# 4 connections for 2 s, so even the database variants answer requests on a loaded machine
# (64 connections queue behind the pool and can finish nothing within one second).
SMOKE = Profile(1, 2, 1, 4, 1_000, (1_000, 10_000), 2, 1, 1, 100, 1)


@dataclass
class Service:
    """A generated project prepared for load: migrated, one user, seeded items."""

    project: project.Project
    token: str
    # A second user whose items the write routes create and change, so the reader's page
    # (and its total) stays the same whatever the writes do.
    writer_token: str = ""
    writer_items: tuple[int, ...] = ()  # created last: every later id is a benchmark's insert

    def variant(self, key: str, label: str, headers: dict[str, str]) -> throughput.Variant:
        return throughput.Variant(
            key,
            label,
            f"{self.project.package}.main:app",
            app_dir=self.project.app_dir,
            cwd=self.project.path,
            path="/items?limit=20&offset=0",
            env=self.project.env,
            headers=headers | {"Authorization": f"Bearer {self.token}"},
            access_log=True,
        )


def prepare(work: Path, db: str, database_url: str) -> Service:
    svc = project.create(work / db, "svc", db=db)
    svc.env = project.service_env(database_url)
    project.migrate(svc, clean_env(**svc.env))
    server = Uvicorn(
        f"{svc.package}.main:app",
        app_dir=svc.app_dir,
        cwd=svc.path,
        env=clean_env(**svc.env),
        log_path=work / "logs" / f"seed-{db}.log",
    )
    with server:
        server.start("/health/ready")
        token = project.sign_up(server.url(""))
        project.add_items(server.url(""), token, SEED_ITEMS)
        if db != "postgresql":  # the write rows run on PostgreSQL only
            return Service(svc, token)
        writer = project.sign_up(server.url(""), WRITER_EMAIL)
        writer_items = project.add_items(server.url(""), writer, WRITER_ITEMS)
    return Service(svc, token, writer, tuple(writer_items))


def db_variants(
    sqlite: Service, pg: Service | None, statements: dbpath.Statements | None
) -> list[tuple[throughput.Variant, dbpath.Statements | None]]:
    """GET /items?limit=20 generated and hand-written, each with its statement counter."""
    headers = {"Origin": project.ORIGIN}
    out: list[tuple[throughput.Variant, dbpath.Statements | None]] = []
    for service, db, key, label, counter in (
        (pg, "postgresql", "e-pg", "e. generated GET /items, PostgreSQL", statements),
        (sqlite, "sqlite", "e-sqlite", "e. generated GET /items, SQLite", None),
    ):
        if service is None:
            continue
        generated = service.variant(key, label, headers)
        out.append((generated, counter))
        for baseline in dbpath.baselines(service.project.env, db):
            out.append((dbpath.with_headers(baseline, generated.headers), counter))
    return out


def write_rows(
    pg: Service | None, variants: list[tuple[throughput.Variant, dbpath.Statements | None]]
) -> list[tuple[throughput.Variant, dbpath.Statements | None]]:
    """The write rows, on PostgreSQL: the generated e-pg and f on asyncpg (section 5
    PATCHes the writer's first item only: 8 connections, counted rather than timed)."""
    for variant, statements in variants:
        if pg is not None and variant.key == "e-pg":
            return dbpath.write_variants(variant, pg.writer_token, pg.writer_items[0], statements)
    return []


def http_write_variants(
    pg: Service | None, database: list[tuple[throughput.Variant, dbpath.Statements | None]]
) -> list[throughput.Variant]:
    """Section 1's POST and PATCH rows: e and f alike, each PATCH to the writer's next item.
    The GET of a write's path may not exist (f has no read-one): the runs wait on the list."""
    if pg is None:
        return []
    out = []
    for variant, _ in write_rows(pg, database):
        ids = pg.writer_items if variant.method == "PATCH" else ()
        out.append(dataclasses.replace(variant, path_ids=ids, ready_path="/items"))
    return out


def undo_writes(
    server: postgres.PinnedPostgres, pg: Service
) -> Callable[[throughput.Variant], dict[str, Any]]:
    """After each write run, delete the rows it inserted and vacuum the table (PATCH leaves
    dead row versions too), so every run, the GET rows' included, starts from the same table;
    the count deleted goes into the run's figures."""
    last_seeded = max(pg.writer_items)

    def undo(variant: throughput.Variant) -> dict[str, Any]:
        if variant.method == "GET":
            return {}
        deleted = server.execute(
            f"WITH gone AS (DELETE FROM items WHERE id > {last_seeded} RETURNING 1)"
            " SELECT count(*) FROM gone",
            DATABASE,
        )
        server.execute("VACUUM items", DATABASE)
        return {"rows_deleted": int(deleted)}

    return undo


def http_variants(sqlite: Service, pg: Service | None, work: Path) -> list[throughput.Variant]:
    headers = {"Origin": project.ORIGIN}

    def bare(key: str, label: str, module: str, logs: bool = False) -> throughput.Variant:
        return throughput.Variant(
            key, label, f"{module}:app", APPS, APPS, PATH, headers=headers, access_log=logs
        )

    generated_stack = throughput.Variant(
        "d",
        "d. generated stack, same route",
        "d_generated:app",
        app_dir=APPS,
        cwd=sqlite.project.path,
        path=PATH,
        env=sqlite.project.env
        | {"BENCH_PACKAGE": sqlite.project.package, "PYTHONPATH": str(sqlite.project.app_dir)},
        headers=headers,
        access_log=True,
    )
    # The same app answering requests without Origin (same-origin or server-to-server
    # callers): CORS then only looks at the headers, which shows what its work costs.
    same_origin = dataclasses.replace(
        generated_stack, key="d-no-origin", label="d. same, requests without Origin", headers={}
    )
    # The same app with LOG_LEVEL=warning: no access line, which shows what logging one
    # JSON line per request costs (rendering it and the write to the log file).
    no_access_line = dataclasses.replace(
        generated_stack,
        key="d-no-access-line",
        label="d. same, access line off (LOG_LEVEL=warning)",
        env=generated_stack.env | {"LOG_LEVEL": "warning"},
        access_log=False,
    )
    variants = [
        bare("a", "a. Starlette + orjson bytes (ceiling)", "a_starlette"),
        bare("b", "b. FastAPI, return type (baseline)", "b_fastapi"),
        dataclasses.replace(
            bare("b-run", "b. same, served like `fastapi run` (uvicorn's access log)", "b_fastapi"),
            server_access_log=True,
        ),
        bare("c", "c. patterns as first written", "c_first_written", logs=True),
        generated_stack,
        same_origin,
        no_access_line,
        dataclasses.replace(
            generated_stack, key="d-granian", label="d. same, under granian", server="granian"
        ),
        dataclasses.replace(
            generated_stack,
            key="d-asyncio",
            label="d. same, uvicorn on asyncio's loop",
            loop="asyncio",
        ),
    ]
    # The real GET /items, generated and hand-written (f, g), PostgreSQL first; the
    # generated one under granian too; then POST and PATCH, generated and on asyncpg.
    reads = db_variants(sqlite, pg, None)
    database = [variant for variant, _ in reads]
    granian = [
        dataclasses.replace(
            v, key=f"{v.key}-granian", label=f"{v.label}, under granian", server="granian"
        )
        for v in database
        if v.key.startswith("e-")
    ]
    # The generated one on PostgreSQL with its reads asking the pool directly, not in turn.
    no_turns = [
        dbpath.changed_copy(v, "noturns", "reads not in turn", {}, dbpath.NO_TURNS, work)
        for v in database
        if v.key == "e-pg"
    ]
    # uvicorn on asyncio's own loop instead of uvloop (the generated __main__.py's choice).
    asyncio_loop = [
        dataclasses.replace(
            v, key=f"{v.key}-asyncio", label=f"{v.label}, uvicorn on asyncio's loop", loop="asyncio"
        )
        for v in database
        if v.key == "e-pg"
    ]
    return variants + database + no_turns + asyncio_loop + granian + http_write_variants(pg, reads)


def run(profile: Profile, out: Path, work: Path, smoke: bool) -> dict[str, object]:
    started = time.perf_counter()
    shutil.rmtree(work, ignore_errors=True)
    (work / "logs").mkdir(parents=True)
    results: dict[str, object] = {
        "mode": "smoke" if smoke else "full",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "profile": profile.__dict__,
        "load": {"start": load_average()},
    }
    with contextlib.ExitStack() as stack:
        say("setup: generating and migrating the SQLite and PostgreSQL services", started)
        sqlite = prepare(work, "sqlite", f"sqlite:///{work}/sqlite/app.db")
        pg = None
        statements = None
        after_run = None
        if postgres.available():
            server = stack.enter_context(
                postgres.PinnedPostgres(extra_args=postgres.STATEMENT_STATS)
            )
            pg = prepare(work, "postgresql", server.create_database(DATABASE))
            statements = dbpath.Statements(server, DATABASE)
            after_run = undo_writes(server, pg)
        else:
            results["skipped"] = ["e-pg: PostgreSQL is not installed (bench/ensure-tools.sh)"]
            print(f"skipping {results['skipped'][0]}", flush=True)
        results["machine"] = machine.describe(postgres.postgres_binary() if pg else None)
        variants = http_variants(sqlite, pg, work)

        say("1. HTTP throughput and latency", started)
        settings = throughput.Settings(
            profile.rounds, profile.seconds, profile.warmup, profile.connections
        )
        results["http"] = throughput.measure(variants, settings, work, after_run)

        say("5. the database path: round trips and CPU per request", started)
        counted = db_variants(sqlite, pg, statements)
        results["dbpath"] = dbpath.measure(
            counted + write_rows(pg, counted),
            requests=profile.dbpath_requests,
            connections=dbpath.CONNECTIONS,
            repetitions=profile.dbpath_reps,
            work=work,
        )

    by_key = {v.key: v for v in variants}
    say("3. cold start", started)
    results["coldstart"] = [
        coldstart.measure(
            "a_starlette", APPS, {}, PATH, profile.coldstart_reps, work / "logs" / "cold-a.log"
        ),
        coldstart.measure(
            "b_fastapi", APPS, {}, PATH, profile.coldstart_reps, work / "logs" / "cold-b.log"
        ),
        coldstart.measure(
            f"{sqlite.project.package}.main",
            sqlite.project.app_dir,
            sqlite.project.env,
            "/health/ready",
            profile.coldstart_reps,
            work / "logs" / "cold-svc.log",
        ),
    ]

    say("4. memory", started)
    results["memory"] = {
        "after_requests": [
            memory.after_requests(
                by_key[key], profile.memory_requests, work / "logs" / f"mem-{key}.log"
            )
            for key in ("b", "d", "e-sqlite")
        ],
        "export": export_runs(sqlite, profile.export_rows, work),
    }

    say("2. generator", started)
    results["generator"] = {
        "render_write": generator.render_write(profile.generate_reps),
        "cli": generator.cli(profile.generate_reps),
        "to_ready": generator.to_ready(profile.ready_reps, work / "ready"),
        "detect": generator.detector(smoke),
    }
    results["load"]["end"] = load_average()
    results["elapsed_s"] = time.perf_counter() - started
    results["targets"] = report.targets(results)
    return results


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def say(what: str, started: float) -> None:
    print(f"[{time.perf_counter() - started:5.0f} s] {what}", flush=True)


def export_runs(sqlite: Service, rows: tuple[int, int], work: Path) -> list[dict[str, object]]:
    runs = []
    for total in rows:
        project.copy_items(sqlite.project.sqlite_file, total)
        server = Uvicorn(
            f"{sqlite.project.package}.main:app",
            app_dir=sqlite.project.app_dir,
            cwd=sqlite.project.path,
            env=clean_env(**sqlite.project.env),
            log_path=work / "logs" / f"export-{total}.log",
        )
        with server:
            server.start("/health/ready")
            runs.append({"table_rows": total, **memory.export(server, sqlite.token)})
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--smoke", action="store_true", help="1 round, 2 s runs at 4 connections, small counts"
    )
    parser.add_argument("--out", type=Path, help="where RESULTS.md, results.json/png go")
    parser.add_argument("--rounds", type=int, help="override the profile's rounds")
    parser.add_argument("--seconds", type=int, help="override the measured seconds per run")
    args = parser.parse_args(argv)
    profile = SMOKE if args.smoke else FULL
    overrides = {"rounds": args.rounds, "seconds": args.seconds}
    profile = Profile(**(profile.__dict__ | {k: v for k, v in overrides.items() if v}))
    out = args.out or (HERE / ".work" / "smoke" if args.smoke else HERE)
    # A run given its own --out keeps its scratch there, so concurrent runs never collide.
    scratch = HERE / ".work" / ("smoke-run" if args.smoke else "run")
    work = args.out / "work" if args.out else scratch
    out.mkdir(parents=True, exist_ok=True)
    results = run(profile, out, work, args.smoke)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "RESULTS.md").write_text(report.markdown(results))
    print(report.console(results))
    print(f"wrote {out / 'RESULTS.md'} and {out / 'results.json'}")
    draw_chart(results, out / "results.png", required=not args.smoke)
    return 0


def draw_chart(results: dict[str, object], path: Path, *, required: bool) -> None:
    """The PNG needs matplotlib (the bench extra); the smoke run may go without it."""
    try:
        import chart
    except ImportError:
        if required:
            raise SystemExit(
                "matplotlib is missing; install the bench extra: pip install -e '.[bench]'"
            ) from None
        print("no chart: matplotlib is not installed (pip install -e '.[bench]')")
        return
    chart.draw(results, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
