"""Golden copies of generated projects, one text file per case.

After an intended template change, refresh them and review the diff:
    make golden        (runs: .venv/bin/python tests/golden.py refresh)
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from combos import MATRIX, Combo
from fastapi_patterns.generate import generate
from workspaces import make_workspace

GOLDEN_DIR = Path(__file__).parent / "golden"
SEPARATOR = "==> {} <==\n"


@dataclass(frozen=True)
class GoldenCase:
    combo: Combo
    package_manager: str = "pip"  # detected from the workspace the project is generated in

    @property
    def id(self) -> str:
        suffix = "" if self.package_manager == "pip" else f"-{self.package_manager}"
        return self.combo.id + suffix


# Between them: every database, Redis on and off, both auths and layouts, both servers, and
# the package managers whose Dockerfile and README differ most (pip, uv, Poetry).
GOLDEN = [
    GoldenCase(Combo("sqlite", False, "jwt", "flat", "granian")),  # the default project
    GoldenCase(MATRIX[2]),  # postgresql-redis-jwt-flat
    GoldenCase(Combo("mysql", True, "jwt", "src"), "uv"),
    GoldenCase(Combo("none", False, "none", "flat"), "poetry"),
    GoldenCase(Combo("sqlite", True, "none", "src")),
    GoldenCase(MATRIX[-1]),  # postgresql-redis-jwt-src-granian
]


def render_case(case: GoldenCase) -> str:
    # Generated in a folder holding only the package manager's evidence, so the
    # surrounding repository cannot influence the options.
    combo = case.combo
    with tempfile.TemporaryDirectory() as empty:
        workspace = make_workspace(Path(empty), case.package_manager)
        generation = generate(
            combo.name,
            workspace / combo.name,
            db=combo.db,
            redis=combo.redis,
            auth=combo.auth,
            server=combo.server,
            layout=combo.layout,
            python="3.11",
            dry_run=True,
        )
    assert generation.options.package_manager == case.package_manager, generation.options
    return "".join(
        SEPARATOR.format(path) + content.decode()
        for path, content in sorted(generation.files.items())
    )


def golden_path(case: GoldenCase) -> Path:
    return GOLDEN_DIR / f"{case.id}.txt"


def refresh() -> None:
    GOLDEN_DIR.mkdir(exist_ok=True)
    for case in GOLDEN:
        golden_path(case).write_text(render_case(case))
        print(f"refreshed {golden_path(case)}")
    known = {golden_path(case) for case in GOLDEN}
    for stale in sorted(set(GOLDEN_DIR.glob("*.txt")) - known):
        stale.unlink()
        print(f"removed {stale} (no longer a golden case)")


if __name__ == "__main__":
    if sys.argv[1:] != ["refresh"]:
        raise SystemExit("usage: python tests/golden.py refresh")
    refresh()
