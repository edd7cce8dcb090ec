"""How fast `fastapi-patterns audit` reads a big project (issue 12: 2,000 files under 3 s).

Builds a synthetic FastAPI service of --files Python modules in a temporary folder: routers
whose async handlers call into service classes and helpers in other modules, pydantic schemas,
settings, and a sprinkling of the anti-patterns the rules look for (plus a .venv and
node_modules the audit must skip). Then times, after one warm-up run:

- audit() in-process, ruff included (ruff runs in its own process while we parse), with
  ruff's own time reported separately;
- audit() in-process with use_ruff=False (our rules alone), in wall and CPU time (the CPU time
  is what an idle core would take; on a shared machine the wall time can be several times more);
- `fastapi-patterns audit --format json` as a new process (what CI and the slash command run);
- the baseline, measured in the same run: `ast.parse` of the same files and nothing else, so
  the ratio audit ÷ baseline says what our code costs whatever the machine's speed.

    python bench/audit.py              # table, 2,000 files, median of 3 runs
    python bench/audit.py --json       # the same as JSON
    python bench/audit.py --files 200 --runs 1
"""

from __future__ import annotations

import argparse
import ast
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BUNDLE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BUNDLE / "scripts"))

from fastapi_patterns.audit import audit  # noqa: E402
from fastapi_patterns.audit.project import build_index, source_files  # noqa: E402
from fastapi_patterns.audit.registry import rule_modules  # noqa: E402

TARGET_SECONDS = 3.0

ROUTER = '''\
"""Routes for resource {i}."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException

from shop.schemas.s{i} import Item{i}, ItemCreate{i}
from shop.services.svc{i} import Service{i}
from shop.helpers import h{h}

router = APIRouter(prefix="/r{i}", tags=["r{i}"])
ServiceDep = Annotated[Service{i}, Depends()]


@router.get("/")
async def list_items(service: ServiceDep, limit: int = 50) -> list[Item{i}]:
    return await service.list(limit=limit)


@router.get("/{{item_id}}")
async def get_item(item_id: int, service: ServiceDep) -> Item{i}:
    item = await service.get(item_id)
    if item is None:
        raise HTTPException(status_code=404, detail="not found")
    return item


@router.post("/", status_code=201)
async def create_item(body: ItemCreate{i}, service: ServiceDep) -> Item{i}:
    h{h}.normalise(body.name)
    return await service.create(body)


@router.delete("/{{item_id}}", status_code=204)
def delete_item(item_id: int, service: ServiceDep) -> None:
    service.forget(item_id)
{extra}'''

SERVICE = '''\
"""Service {i}: the business rules of resource {i}."""

import asyncio

from shop.helpers import h{h}
from shop.schemas.s{i} import Item{i}, ItemCreate{i}


class Service{i}:
    def __init__(self) -> None:
        self._items: dict[int, Item{i}] = {{}}

    async def list(self, limit: int) -> list[Item{i}]:
        await asyncio.sleep(0)
        return list(self._items.values())[:limit]

    async def get(self, item_id: int) -> Item{i} | None:
        return self._lookup(item_id)

    def _lookup(self, item_id: int) -> Item{i} | None:
        return self._items.get(item_id)

    async def create(self, body: ItemCreate{i}) -> Item{i}:
        item = Item{i}(id=len(self._items) + 1, name=h{h}.normalise(body.name))
        self._items[item.id] = item
        return item

    def forget(self, item_id: int) -> None:
        self._items.pop(item_id, None)
'''

SCHEMA = '''\
"""Schemas of resource {i}."""

from pydantic import BaseModel, Field


class ItemCreate{i}(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    tags: list[str] = []


class Item{i}(ItemCreate{i}):
    id: int
'''

HELPER = '''\
"""Helpers {i}."""

import re

_SPACES = re.compile(r"\\s+")


def normalise(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def slug(text: str) -> str:
    return normalise(text).lower().replace(" ", "-")
'''

# Anti-patterns, one in every 25 routers, so the report has findings to format.
EXTRA = """

import time
import requests


@router.get("/slow")
async def slow() -> dict[str, str]:
    time.sleep(0.1)
    return {"status": requests.get("https://example.invalid", timeout=5).text}
"""

MAIN = '''\
"""The app."""

from contextlib import asynccontextmanager

from fastapi import FastAPI

{imports}


@asynccontextmanager
async def lifespan(app: FastAPI):
    yield


app = FastAPI(lifespan=lifespan)
{includes}
'''


def build(root: Path, files: int) -> int:
    """Write a project of about `files` modules below root; returns how many .py files."""
    resources = max(1, (files - 8) // 4)  # a router, a service, a schema, a helper each
    written = 0

    def put(rel: str, text: str) -> None:
        nonlocal written
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written += rel.endswith(".py")

    for package in ("shop", "shop/routers", "shop/services", "shop/schemas", "shop/helpers"):
        put(f"{package}/__init__.py", "")
    for i in range(resources):
        extra = EXTRA if i % 25 == 0 else ""
        put(f"shop/routers/r{i}.py", ROUTER.format(i=i, h=i, extra=extra))
        put(f"shop/services/svc{i}.py", SERVICE.format(i=i, h=i))
        put(f"shop/schemas/s{i}.py", SCHEMA.format(i=i))
        put(f"shop/helpers/h{i}.py", HELPER.format(i=i))
    imports = "\n".join(f"from shop.routers import r{i}" for i in range(resources))
    includes = "\n".join(f"app.include_router(r{i}.router)" for i in range(resources))
    put("shop/main.py", MAIN.format(imports=imports, includes=includes))
    put("pyproject.toml", '[project]\nname = "shop"\ndependencies = ["fastapi"]\n')
    # what the audit must not read
    for i in range(200):
        put(f".venv/lib/python3.12/site-packages/dep/m{i}.py", "def f(:\n")
        put(f"node_modules/pkg/m{i}.py", "def f(:\n")
    return written - 400


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def stages(root: Path) -> dict[str, float]:
    """CPU seconds of each stage, in the order audit() runs them, on one fresh index: where the
    time goes (a rule module's figure includes the index lookups it is the first to make)."""
    gc.disable()  # as audit() does
    try:
        started = time.process_time()
        index = build_index(root)
        found = {"build_index": time.process_time() - started}
        for module in rule_modules():
            started = time.process_time()
            list(module.check(index))
            found[module.name] = time.process_time() - started
    finally:
        gc.enable()
    return {name: round(seconds, 3) for name, seconds in found.items()}


def parse_only(root: Path) -> float:
    """The baseline: CPU seconds Python's own parser takes to read the same files, and nothing
    else. No audit that reads syntax trees can be faster; the ratio to it is what the machine
    does not decide."""
    files = source_files(root)
    gc.disable()  # as audit() does: the trees are kept, and the collector would walk them
    try:
        started = time.process_time()
        trees = [ast.parse(path.read_bytes()) for path in files]
        return time.process_time() - started
    finally:
        del trees
        gc.enable()


def measure(root: Path, runs: int) -> dict[str, Any]:
    audit(root)  # warm-up: the page cache and imports, as a second CI run would see them
    total, ruff, ours, cpu, baseline = [], [], [], [], []
    for _ in range(runs):
        baseline.append(parse_only(root))
        report = audit(root)
        total.append(report.seconds)
        ruff.append(report.ruff_seconds or 0.0)
        started = time.process_time()
        ours.append(audit(root, use_ruff=False).seconds)
        cpu.append(time.process_time() - started)
    command = [str(Path(sys.executable).parent / "fastapi-patterns"), "audit", "--format", "json"]
    process = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
        process.append(time.perf_counter() - started)
        if done.returncode not in (0, 1):
            raise SystemExit(f"the audit failed: {done.stderr.strip()}")
    return {
        "files": report.files,
        "findings": len(report.findings),
        "warnings": len(report.warnings),
        "ruff_version": report.ruff_version,
        "audit_seconds": round(_median(total), 3),
        "ruff_seconds": round(_median(ruff), 3),
        "our_rules_seconds": round(_median(ours), 3),
        # CPU time of this process: what the wall time would be on an idle core
        "our_rules_cpu_seconds": round(_median(cpu), 3),
        "parse_only_cpu_seconds": round(_median(baseline), 3),
        "ratio_to_parse_only": round(_median(cpu) / max(_median(baseline), 1e-9), 2),
        "command_seconds": round(_median(process), 3),
        "stages_cpu_seconds": stages(root),
        "target_seconds": TARGET_SECONDS,
        "runs": runs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as folder:
        root = Path(folder)
        build(root, args.files)
        result = measure(root, args.runs)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"audited {result['files']} files: {result['findings']} findings")
        print(f"  audit(), ruff included   {result['audit_seconds']:.3f} s")
        ruff = f"{result['ruff_seconds']:.3f} s ({result['ruff_version']})"
        print(f"    ruff, in parallel      {ruff}")
        print(f"  audit(), our rules only  {result['our_rules_seconds']:.3f} s")
        print(f"    in CPU time            {result['our_rules_cpu_seconds']:.3f} s")
        parse = result["parse_only_cpu_seconds"]
        print(f"  baseline: ast.parse only {parse:.3f} s CPU (same files, same run)")
        print(f"    audit ÷ baseline       {result['ratio_to_parse_only']:.2f}")
        print(f"  fastapi-patterns audit   {result['command_seconds']:.3f} s (new process)")
        print(f"  target                   {TARGET_SECONDS:.1f} s for 2,000 files")
        print("  CPU seconds by stage:")
        for name, seconds in result["stages_cpu_seconds"].items():
            print(f"    {name:<22} {seconds:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
