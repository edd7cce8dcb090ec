"""Generate a project with the real generator, migrate it, sign a user up and seed items."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from fastapi_patterns.generate import generate

BIN = Path(sys.executable).parent
# Generated settings require 32+ characters; this key signs benchmark tokens only.
SECRET_KEY = "bench-secret-key-not-for-production-0123456789"
EMAIL, PASSWORD = "bench@example.com", "correct horse battery staple"
ORIGIN = "http://localhost:3000"  # sent with every HTTP request; allowed by the service


@dataclass
class Project:
    path: Path
    package: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def app_dir(self) -> Path:
        src = self.path / "src"
        return src if (src / self.package).is_dir() else self.path

    @property
    def sqlite_file(self) -> Path:
        url = self.env["DATABASE_URL"]
        if not url.startswith("sqlite:///"):
            raise ValueError(f"{url} is not a SQLite file URL.")
        return Path(url.removeprefix("sqlite:///"))


def service_env(database_url: str) -> dict[str, str]:
    """Settings for a benchmark run: INFO access lines rendered as JSON, CORS allowing ORIGIN."""
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
        "CORS_ORIGINS": ORIGIN,
        "ENVIRONMENT": "production",
        "ACCESS_TOKEN_EXPIRE_MINUTES": "240",  # outlives a whole run
    }


def create(work: Path, name: str, *, db: str, layout: str = "flat") -> Project:
    """Generate `name` under `work` (replacing an older copy) with the library call."""
    target = work / name
    shutil.rmtree(target, ignore_errors=True)
    # An empty parent: the generator refuses to write beside an existing FastAPI app.
    target.parent.mkdir(parents=True, exist_ok=True)
    # A uvicorn project (the generator's default is granian): the uvicorn rows measure what
    # a uvicorn project runs, and the granian rows serve the same app with granian's command.
    generate(
        name, target, db=db, redis=False, auth="jwt", server="uvicorn", layout=layout, python="3.11"
    )
    return Project(target, name.replace("-", "_"))


def migrate(project: Project, env: dict[str, str]) -> float:
    """`alembic upgrade head` in the project folder; returns the seconds it took."""
    started = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "alembic"), "upgrade", "head"],
        cwd=project.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"alembic upgrade head failed in {project.path}:\n{done.stderr}")
    return time.perf_counter() - started


def sign_up(base_url: str, email: str = EMAIL) -> str:
    """Create a benchmark user and return a bearer token for it."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        created = client.post("/users", json={"email": email, "password": PASSWORD})
        if created.status_code not in (200, 201, 409):
            raise RuntimeError(f"POST /users answered {created.status_code}: {created.text}")
        token = client.post("/auth/token", data={"username": email, "password": PASSWORD})
        token.raise_for_status()
        return str(token.json()["access_token"])


def add_items(base_url: str, token: str, count: int) -> list[int]:
    """Create items through the API, so rows look exactly as the service writes them;
    returns their ids."""
    headers = {"Authorization": f"Bearer {token}"}
    ids = []
    with httpx.Client(base_url=base_url, timeout=30, headers=headers) as client:
        for n in range(count):
            answer = client.post("/items", json={"title": f"item {n}", "description": "bench"})
            if answer.status_code not in (200, 201):
                raise RuntimeError(f"POST /items answered {answer.status_code}: {answer.text}")
            ids.append(int(answer.json()["id"]))
    return ids


def copy_items(database: Path, total: int) -> int:
    """Grow the SQLite items table to `total` rows by copying one API-written row.

    Copying keeps every column the service set (owner, timestamps) without knowing the
    schema; only the primary key (new uuid, or left to autoincrement) and title change.
    """
    with sqlite3.connect(database) as con:
        table = _items_table(con)
        columns = con.execute(f'PRAGMA table_info("{table}")').fetchall()
        template = con.execute(f'SELECT * FROM "{table}" LIMIT 1').fetchone()
        existing = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        if template is None:
            raise RuntimeError(f"{database}: add one item through the API before copying.")
        names = [c[1] for c in columns]
        pk = next((c[1] for c in columns if c[5]), None)
        rows = []
        for n in range(existing, total):
            values = dict(zip(names, template, strict=True))
            if pk is not None:
                values[pk] = _new_key(values[pk])
            if "title" in values:
                values["title"] = f"item {n}"
            rows.append(tuple(values[name] for name in names))
        marks = ", ".join("?" for _ in names)
        quoted = ", ".join(f'"{name}"' for name in names)
        con.executemany(f'INSERT INTO "{table}" ({quoted}) VALUES ({marks})', rows)
        return int(con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])


def _items_table(con: sqlite3.Connection) -> str:
    names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for name in ("items", "item"):
        if name in names:
            return name
    raise RuntimeError(f"No items table among {names}.")


def _new_key(old: object) -> object:
    if isinstance(old, int):
        return None  # INTEGER PRIMARY KEY: SQLite assigns the next id
    if isinstance(old, bytes):
        return uuid.uuid4().bytes
    text = str(old)
    return uuid.uuid4().hex if len(text) == 32 else str(uuid.uuid4())
