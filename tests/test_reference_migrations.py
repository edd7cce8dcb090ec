"""references/migrations.md: its Kubernetes Job, and why migrations do not run at app start.

The race is shown on a real PostgreSQL: two `alembic upgrade head` processes (two workers
starting at once) on an empty database. The test holds an advisory lock that the first
revision takes, so both processes are inside their migration transaction before either
can finish: the order is forced, not left to timing.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import asyncpg
import pytest
import yaml

from reference_blocks import wait_until
from servers import PostgresServer
from test_references import ROOT, parse_blocks

DOC = ROOT / "references" / "migrations.md"
LOCK_KEY = 18_001  # the advisory lock the first revision waits for
WAIT_LIMIT = 60.0


def _blocks(lang: str) -> list[str]:
    return [block.code for block in parse_blocks(DOC)[0] if block.lang == lang]


def test_the_migration_job_is_a_valid_kubernetes_job() -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    (job,) = [doc for code in _blocks("yaml") if (doc := yaml.safe_load(code))["kind"] == "Job"]
    kubernetes_validate.validate(job, kubernetes_validate.latest_version(), strict=True)
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] == 0
    assert pod["containers"][0]["command"] == ["alembic", "upgrade", "head"]


def test_the_kubectl_steps_wait_for_the_job_named_in_the_manifest() -> None:
    (job,) = [yaml.safe_load(code) for code in _blocks("yaml")]
    name = job["metadata"]["name"]
    steps = [code for code in _blocks("sh") if "kubectl" in code]
    assert steps and f"job/{name}" in steps[0]


def _migrations_project(directory: Path, url: str) -> Path:
    """An `alembic init -t async` project whose first revision waits for LOCK_KEY."""
    subprocess.run(
        [sys.executable, "-m", "alembic", "init", "-t", "async", "migrations"],
        cwd=directory,
        check=True,
        capture_output=True,
    )
    ini = directory / "alembic.ini"
    ini.write_text(
        ini.read_text().replace("driver://user:pass@localhost/dbname", url), encoding="utf-8"
    )
    revision = textwrap.dedent(f"""\
        import sqlalchemy as sa
        from alembic import op

        revision = "0001"
        down_revision = None


        def upgrade() -> None:
            op.execute("SELECT pg_advisory_xact_lock({LOCK_KEY})")
            op.create_table("items", sa.Column("id", sa.Integer, primary_key=True))
        """)
    (directory / "migrations" / "versions" / "0001_items.py").write_text(revision)
    return directory


def test_two_workers_migrating_at_start_collide(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    url = postgres_server.create_database("migration_race")
    project = _migrations_project(tmp_path, url.replace("postgresql://", "postgresql+asyncpg://"))
    waiting = (
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = 'migration_race' AND wait_event_type = 'Lock'"
    )

    async def race() -> list[subprocess.CompletedProcess[str]]:
        holder = await asyncpg.connect(url)
        try:
            await holder.execute(f"SELECT pg_advisory_lock({LOCK_KEY})")
            workers = [
                subprocess.Popen(
                    [sys.executable, "-m", "alembic", "upgrade", "head"],
                    cwd=project,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                for _ in range(2)
            ]
            # Both are blocked: one on the advisory lock inside its migration, the other
            # behind the first one's uncommitted CREATE TABLE alembic_version.
            await asyncio.to_thread(
                wait_until,
                lambda: postgres_server.execute(waiting).strip() == "2",
                "both workers to block",
                WAIT_LIMIT,
            )
            await holder.execute(f"SELECT pg_advisory_unlock({LOCK_KEY})")
            outputs = [await asyncio.to_thread(w.communicate, None, WAIT_LIMIT) for w in workers]
            return [
                subprocess.CompletedProcess(w.args, w.returncode, out, "")
                for w, (out, _) in zip(workers, outputs, strict=True)
            ]
        finally:
            await holder.close()

    results = asyncio.run(race())
    codes = sorted(result.returncode for result in results)
    assert codes[0] == 0 and codes[1] != 0, [r.stdout for r in results]
    failed = next(r for r in results if r.returncode != 0)
    assert "duplicate key value violates unique constraint" in failed.stdout
    # The one that won migrated the database; a deploy step would have done it alone.
    assert postgres_server.execute("SELECT version_num FROM alembic_version", "migration_race") == (
        "0001\n"
    )
