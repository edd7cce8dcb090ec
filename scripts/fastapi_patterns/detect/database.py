"""Which database (and driver) and whether Redis, from the evidence database_evidence
collects in seven tiers.

The strongest tier decides, then the folder nearest the project root. When that level
names several databases, SQLite gives way to a server database (it is usually the local
or test stand-in), and the rest is settled by the strongest other evidence, then by the
order postgresql, mysql, mongodb. Disagreeing evidence from tiers 1-6 is reported.
Redis is true when anything in tiers 1-6 points at it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .database_evidence import DEV_DEP, RUNTIME_DEP, TIER_NAMES, Evidence
from .database_names import DRIVER_PREFERENCE

SERVER_ORDER = ("postgresql", "mysql", "mongodb")


@dataclass(frozen=True)
class Decision:
    database: str
    driver: str | None
    database_source: str | None
    driver_source: str | None
    redis: bool
    redis_source: str | None


def decide(found: list[Evidence], warnings: list[str]) -> Decision:
    databases = [e for e in found if e.kind != "redis"]
    redis = sorted(
        (e for e in found if e.kind == "redis" and e.tier < DEV_DEP), key=lambda e: e.rank
    )
    redis_source = redis[0].source if redis else None
    if not databases:
        return Decision("none", None, None, None, bool(redis), redis_source)
    top = min(e.rank for e in databases)
    level = [e for e in databases if e.rank == top]
    kinds = {e.kind for e in level}
    if len(kinds) > 1 and kinds & set(SERVER_ORDER):
        kinds.discard("sqlite")
    if len(kinds) > 1:
        kinds = {_strongest_other(kinds, databases)}
    database = kinds.pop()
    winner = next(e for e in level if e.kind == database)
    driver, driver_source = _driver(database, winner, databases)
    disagreeing = sorted(
        {(e.source, e.detail, e.kind) for e in databases if e.kind != database and e.tier < DEV_DEP}
    )
    if disagreeing:
        others = "; ".join(
            f"{source} ({detail}) says {kind}" for source, detail, kind in disagreeing
        )
        warnings.append(
            f"Database: {winner.source} ({TIER_NAMES[winner.tier]}, {winner.detail}) decides"
            f" {database}; {others}."
        )
    return Decision(database, driver, winner.source, driver_source, bool(redis), redis_source)


def _strongest_other(kinds: set[str], found: list[Evidence]) -> str:
    """Among databases tied at the top, the one with the strongest evidence beyond the tie."""
    top = min(e.rank for e in found)

    def key(kind: str) -> tuple[tuple[int, int], int]:
        beyond = sorted(e.rank for e in found if e.kind == kind and e.rank != top)
        order = SERVER_ORDER.index(kind) if kind in SERVER_ORDER else len(SERVER_ORDER)
        return (beyond[0] if beyond else (99, 99)), order

    return min(sorted(kinds), key=key)


def _driver(
    database: str, winner: Evidence, found: list[Evidence]
) -> tuple[str | None, str | None]:
    """The driver: the winner's own, else one named by a URL and declared, else preference."""
    declared = [
        e for e in found if e.kind == database and e.driver and e.tier in (RUNTIME_DEP, DEV_DEP)
    ]
    named = {
        e.driver
        for e in found
        if e.kind == database and e.driver and e.tier not in (RUNTIME_DEP, DEV_DEP)
    }
    if winner.tier == RUNTIME_DEP:
        pool = [e for e in declared if e.rank == winner.rank]
        for evidence in pool:
            if evidence.driver in named:
                return evidence.driver, evidence.source
        return _preferred(database, pool)
    if winner.driver:
        return winner.driver, winner.source
    for evidence in sorted(declared, key=lambda e: e.rank):
        if evidence.driver in named:
            return evidence.driver, evidence.source
    if declared:
        return _preferred(database, sorted(declared, key=lambda e: e.rank))
    urls = sorted((e for e in found if e.kind == database and e.driver), key=lambda e: e.rank)
    if urls:
        return urls[0].driver, urls[0].source
    return None, None


def _preferred(database: str, pool: list[Evidence]) -> tuple[str | None, str | None]:
    if not pool:
        return None, None
    order = DRIVER_PREFERENCE.get(database, ())

    def position(e: Evidence) -> int:
        return order.index(e.driver) if e.driver in order else len(order)

    best = min(pool, key=lambda e: (e.rank, position(e)))
    return best.driver, best.source
