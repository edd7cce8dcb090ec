"""`bench/usercache.py --smoke`: the three ways to get a request's user, measured end to end.

Only the plumbing is checked (the generated project imported, PostgreSQL and Redis
reached, every way timed in every round, ratios taken against the same round's database
lookup); how fast each way is belongs to the benchmark, so nothing here asserts a speed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench_script import run_bench_script
from servers import PostgresServer, RedisServer, require_binary

pytestmark = pytest.mark.slow
WAYS = ["memory", "redis", "postgres", "asyncpg"]


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    require_binary("taskset", "the benchmark pins its servers to their CPU")
    for tool in PostgresServer.TOOLS:
        require_binary(PostgresServer.tool_path(tool), "the user lookup runs on PostgreSQL")
    require_binary(RedisServer.tool_path("redis-server"), "the cached user is read from Redis")
    out = tmp_path_factory.mktemp("usercache")
    stdout = run_bench_script(
        "usercache.py", "--smoke", "--out", str(out / "usercache.json"), "--work", str(out / "work")
    )
    result: dict[str, Any] = json.loads((out / "usercache.json").read_text())
    assert result["table"] in stdout
    return result


def test_every_way_ran_in_every_round_with_positive_figures(document: dict[str, Any]) -> None:
    rows = {row["key"]: row for row in document["rows"]}
    assert list(rows) == WAYS
    for key, row in rows.items():
        assert len(row["runs"]) == document["rounds"] == 2, key
        for concurrency in ("1", "16"):
            for run in row["runs"]:
                assert run[concurrency]["lookups"] >= 192, key  # 200 split over 16 workers
                assert run[concurrency]["cpu_us"] > 0, key
                assert run[concurrency]["wall_us"] > 0, key
            assert row[f"cpu_us_c{concurrency}"]["median"] > 0, key
            assert row[f"wall_us_c{concurrency}"]["median"] > 0, key


def test_cpu_ratios_are_against_the_same_rounds_database_lookup(document: dict[str, Any]) -> None:
    rows = {row["key"]: row for row in document["rows"]}
    assert rows["postgres"]["cpu_ratio_c1"]["median"] == pytest.approx(1.0)
    redis, postgres = rows["redis"]["runs"], rows["postgres"]["runs"]
    pairs = zip(redis, postgres, strict=True)
    expected = [mine["1"]["cpu_us"] / base["1"]["cpu_us"] for mine, base in pairs]
    ratio = rows["redis"]["cpu_ratio_c1"]
    assert (ratio["min"], ratio["max"]) == pytest.approx((min(expected), max(expected)))


def test_the_table_names_every_way(document: dict[str, Any]) -> None:
    for row in document["rows"]:
        assert f"| {row['label']} |" in document["table"]
