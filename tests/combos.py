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

    @property
    def id(self) -> str:
        return f"{self.db}-{'redis' if self.redis else 'noredis'}-{self.auth}-{self.layout}"

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
            layout=self.layout,
            python="3.11",
        )
        return directory


# Every value appears, and every database runs with Redis on at least once.
MATRIX = [
    Combo("sqlite", False, "jwt", "flat"),  # the embedded default (make demo)
    Combo("sqlite", True, "none", "src"),
    Combo("postgresql", True, "jwt", "flat"),
    Combo("postgresql", False, "none", "src"),
    Combo("mysql", True, "jwt", "src"),
    Combo("none", True, "none", "flat"),
    Combo("none", False, "none", "src"),
]

GOLDEN = [MATRIX[0], MATRIX[2]]
