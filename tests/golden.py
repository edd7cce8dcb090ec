"""Golden copies of generated projects, one text file per combination.

After an intended template change, refresh them and review the diff:
    make golden        (runs: .venv/bin/python tests/golden.py refresh)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from combos import GOLDEN, Combo
from fastapi_patterns.generate import generate

GOLDEN_DIR = Path(__file__).parent / "golden"
SEPARATOR = "==> {} <==\n"


def render_combo(combo: Combo) -> str:
    # Generated in an empty folder so the surrounding repository cannot influence options.
    with tempfile.TemporaryDirectory() as empty:
        generation = generate(
            combo.name,
            Path(empty) / combo.name,
            db=combo.db,
            redis=combo.redis,
            auth=combo.auth,
            layout=combo.layout,
            python="3.11",
            dry_run=True,
        )
    return "".join(
        SEPARATOR.format(path) + content.decode()
        for path, content in sorted(generation.files.items())
    )


def golden_path(combo: Combo) -> Path:
    return GOLDEN_DIR / f"{combo.id}.txt"


def refresh() -> None:
    GOLDEN_DIR.mkdir(exist_ok=True)
    for combo in GOLDEN:
        golden_path(combo).write_text(render_combo(combo))
        print(f"refreshed {golden_path(combo)}")


if __name__ == "__main__":
    if sys.argv[1:] != ["refresh"]:
        raise SystemExit("usage: python tests/golden.py refresh")
    refresh()
