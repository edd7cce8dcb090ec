"""The generated-project combinations the suite builds, and how to build one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi_patterns.generate import generate

# 32-character minimum is enforced by the generated settings; this one is for tests only.
TEST_SECRET = "test-secret-key-for-generated-projects-0123456789"


@dataclass(frozen=True)
class Combo:
    db: str
    redis: bool
    auth: str
    layout: str
    # Given to the generator explicitly, so the combinations do not follow its default.
    server: str = "uvicorn"

    @property
    def id(self) -> str:
        served = "-granian" if self.server == "granian" else ""
        return f"{self.db}-{'redis' if self.redis else 'noredis'}-{self.auth}-{self.layout}{served}"

    @property
    def name(self) -> str:
        return "svc-" + self.id

    @property
    def package(self) -> str:
        return self.name.replace("-", "_")

    def generate(self, directory: Path) -> Path:
        generate(
            self.name,
            directory,
            db=self.db,
            redis=self.redis,
            auth=self.auth,
            server=self.server,
            layout=self.layout,
            python="3.11",
        )
        return directory


# Every value appears, and every database runs with Redis on at least once; granian serves
# the combination with the most to serve (a database server, Redis, JWT, the src layout).
MATRIX = [
    Combo("sqlite", False, "jwt", "flat"),  # make demo's options, on uvicorn
    Combo("sqlite", True, "none", "src"),
    Combo("postgresql", True, "jwt", "flat"),
    Combo("postgresql", False, "none", "src"),
    Combo("mysql", True, "jwt", "src"),
    Combo("none", True, "none", "flat"),
    Combo("none", False, "none", "src"),
    Combo("postgresql", True, "jwt", "src", "granian"),
]

GOLDEN = [MATRIX[0], MATRIX[2]]
