"""`make bench-smoke`: the benchmark harness end to end in seconds, with sane numbers.

Only the plumbing is checked here (every variant ran, wrk output parsed, access lines
written, every section reported, every target given the verdict its figure earns, the
chart drawn); the figures themselves, and whether they meet their targets, are
`make bench`'s business: nothing here asserts a speed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bench_script import run_bench_script
from servers import PostgresServer, require_binary

pytestmark = pytest.mark.slow
VARIANTS = [
    *("a", "b", "b-run", "c", "d", "d-no-origin", "d-no-access-line", "d-granian", "d-asyncio"),
    *(
        "e-pg",
        "f-asyncpg",
        "g-core-pg",
        "e-sqlite",
        "g-core-sqlite",
        "e-pg-noturns",
        "e-pg-asyncio",
    ),
    *("e-pg-granian", "e-sqlite-granian"),
    *("post-e-pg", "post-f-asyncpg", "patch-e-pg", "patch-f-asyncpg"),
]
# They write one access line per request (under granian too: the app's own middleware).
LOGGING = [
    *("c", "d", "d-no-origin", "d-granian", "d-asyncio"),
    *("e-sqlite", "e-pg", "e-pg-noturns", "e-pg-asyncio", "e-pg-granian", "e-sqlite-granian"),
    *("post-e-pg", "patch-e-pg"),
]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    require_binary("wrk", "the benchmark smoke run generates load with it")
    require_binary("taskset", "the benchmark smoke run pins server and load to their CPUs")
    for tool in PostgresServer.TOOLS:
        require_binary(PostgresServer.tool_path(tool), "variant e runs on PostgreSQL")
    out = tmp_path_factory.mktemp("bench")
    run_bench_script("run.py", "--smoke", "--out", str(out))
    return json.loads((out / "results.json").read_text()), out


@pytest.fixture(scope="module")
def results(smoke: tuple[dict[str, Any], Path]) -> dict[str, Any]:
    return smoke[0]


def _variants(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["key"]: v for v in results["http"]["variants"]}


def test_every_variant_ran_once_with_parsed_figures(results: dict[str, Any]) -> None:
    variants = _variants(results)
    assert list(variants) == VARIANTS
    for key, variant in variants.items():
        (run,) = variant["runs"]
        assert run["rps"] > 0, key
        assert run["requests"] > 0, key
        assert 0 < run["p50_ms"] <= run["p75_ms"] <= run["p90_ms"] <= run["p99_ms"], key
        assert run["rss_kib"] > 10_000, key  # a Python process, not a parse of zero


def test_ratios_are_against_the_same_run_baseline(results: dict[str, Any]) -> None:
    variants = _variants(results)
    assert variants["b"]["rps_ratio"]["median"] == pytest.approx(1.0)
    d = variants["d"]
    expected = d["runs"][0]["rps"] / variants["b"]["runs"][0]["rps"]
    assert d["rps_ratio"]["median"] == pytest.approx(expected)
    # Beside it, against bare FastAPI served like `fastapi run` (uvicorn's access log on).
    served = d["runs"][0]["rps"] / variants["b-run"]["runs"][0]["rps"]
    assert d["rps_ratio_served"]["median"] == pytest.approx(served)


def test_write_rows_answer_their_status_and_are_undone(results: dict[str, Any]) -> None:
    variants = _variants(results)
    for key, status in (
        *(("post-e-pg", "201"), ("post-f-asyncpg", "201")),
        *(("patch-e-pg", "200"), ("patch-f-asyncpg", "200")),
    ):
        (run,) = variants[key]["runs"]
        # Every answer had the route's success status (write.lua tallies each one).
        assert list(run["statuses"]) == [status], key
        assert run["statuses"][status] == run["requests"] > 0, key
        assert run["rps"] > 0, key
        # After a POST run the rows it inserted (warm-up, measured and in-flight requests
        # alike) are deleted, so every run starts from the same table; PATCH inserts none.
        if key.startswith("post-"):
            assert run["rows_deleted"] >= run["requests"], key
        else:
            assert run["rows_deleted"] == 0, key
    targets = {t["name"]: t for t in results["targets"]}
    for write in ("POST", "PATCH"):
        for name in (f"e-pg {write} ÷ f {write} throughput", f"e-pg {write} p99 ÷ f {write} p99"):
            assert (targets[name]["target"], targets[name]["met"]) == ("—", None), name
            assert targets[name]["value"] > 0, name


def test_patch_rows_update_the_writers_items_in_turn(
    smoke: tuple[dict[str, Any], Path],
) -> None:
    results, out = smoke
    patch_e, patch_f = _variants(results)["patch-e-pg"], _variants(results)["patch-f-asyncpg"]
    assert patch_e["path"] == patch_f["path"]  # the same first id, then the same turns
    # The writer's 64 items were created one after another, so their ids follow the first.
    first = int(patch_e["path"].rsplit("/", 1)[1])
    log = (out / "work" / "logs" / "patch-e-pg-round1.log").read_text()
    ids = {int(n) for n in re.findall(r'"method":"PATCH","path":"/items/(\d+)"', log)}
    # Each wrk run (warm-up, then measured) starts at the first id and takes the next per
    # request, wrapping after the 64th: the ids seen are the first ones, as many as requests.
    assert ids == set(range(first, first + len(ids)))
    assert min(64, patch_e["runs"][0]["requests"]) <= len(ids) <= 64


def test_access_lines_are_really_written(results: dict[str, Any]) -> None:
    variants = _variants(results)
    for key in LOGGING:
        # One line per answered request; wrk may stop with a few requests in flight.
        assert variants[key]["logged_per_request"] >= 0.98, key


def test_every_target_has_the_verdict_its_figure_earns(results: dict[str, Any]) -> None:
    names = {t["name"] for t in results["targets"]}
    for expected in ("d ÷ b throughput", "d p99 ÷ b p99", "render+write of a full project"):
        assert expected in names
    for target in results["targets"]:
        assert isinstance(target["value"], int | float), target
        limit = re.match(r"([≥≤]) (\d+(?:\.\d+)?)", target["target"])
        if limit is None:  # a figure reported beside the targets, without one of its own
            assert (target["target"], target["met"]) == ("—", None), target
            continue
        bound = float(limit.group(2))
        earned = target["value"] >= bound if limit.group(1) == "≥" else target["value"] <= bound
        assert target["met"] is earned, target


def test_generator_cold_start_and_memory_sections(results: dict[str, Any]) -> None:
    generator = results["generator"]
    assert generator["render_write"]["files"] > 10
    # Measured, whatever the machine's speed (the targets for them are make bench's).
    assert generator["render_write"]["seconds"]["median"] > 0
    assert generator["to_ready"]["total"]["median"] > 0
    assert [c["first_200_s"]["median"] > 0 for c in results["coldstart"]] == [True] * 3
    after = results["memory"]["after_requests"]
    assert [m["key"] for m in after] == ["b", "d", "e-sqlite"]
    assert all(m["requests"] >= 1_000 and m["peak_kib"] >= m["rss_start_kib"] for m in after)
    small, large = results["memory"]["export"]
    assert (small["rows"], large["rows"]) == (small["table_rows"], large["table_rows"])


def test_database_path_is_counted_for_generated_and_hand_written(results: dict[str, Any]) -> None:
    rows = {row["key"]: row for row in results["dbpath"]}
    assert list(rows) == [
        *("e-pg", "f-asyncpg", "g-core-pg", "e-sqlite", "g-core-sqlite"),
        *("post-e-pg", "post-f-asyncpg", "patch-e-pg", "patch-f-asyncpg"),
    ]
    for key, row in rows.items():
        assert row["runs"][0]["requests"] >= 100, key  # the server's own count, in-flight too
        assert row["cpu_us_per_request"]["median"] > 0, key
    # The hand-written asyncpg app sends exactly its three statements; PostgreSQL counts them.
    assert rows["f-asyncpg"]["round_trips"] == pytest.approx(3.0, abs=0.05)
    # Its writes: the user, then one INSERT or UPDATE ... RETURNING; compared with their own.
    for write in ("post", "patch"):
        assert rows[f"{write}-f-asyncpg"]["round_trips"] == pytest.approx(2.0, abs=0.05)
        assert rows[f"{write}-e-pg"]["cpu_ratio"]["base"] == f"{write}-f-asyncpg"
    assert rows["g-core-pg"]["round_trips"] == pytest.approx(5.0, abs=0.05)  # BEGIN, ROLLBACK
    assert rows["e-sqlite"]["round_trips_measure"] == "sqlite_calls_per_request"
    assert rows["e-sqlite"]["round_trips"] > 0
    # Same bytes everywhere (dbpath raises otherwise), and a real page of items.
    for generated, baselines in (
        ("e-pg", ("f-asyncpg", "g-core-pg")),
        ("e-sqlite", ("g-core-sqlite",)),
    ):
        assert {rows[k]["body_sha256"] for k in (generated, *baselines)} == {
            rows[generated]["body_sha256"]
        }
        assert rows[generated]["body_bytes"] > 2_000
    targets = {t["name"] for t in results["targets"]}
    assert "e-pg ÷ f (hand-written asyncpg) throughput" in targets


def test_report_files_are_written(smoke: tuple[dict[str, Any], Path]) -> None:
    results, out = smoke
    text = (out / "RESULTS.md").read_text()
    for variant in _variants(results).values():
        assert variant["label"] in text
    # matplotlib is in the dev extra, so the suite's smoke run always draws the chart.
    assert (out / "results.png").read_bytes().startswith(b"\x89PNG")
