#!/usr/bin/env python3
"""Run create-fastapi-app straight from the bundle, without installing it.

`--detect` needs only the standard library. Generating needs jinja2 and
ruamel.yaml; when they are missing this prints the one command that installs them.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BUNDLE = Path(__file__).resolve().parent.parent
NEEDED = ("jinja2", "ruamel.yaml", "yaml")


def main() -> int:
    sys.path.insert(0, str(BUNDLE / "scripts"))
    wants_generation = "--detect" not in sys.argv[1:] and not {"-h", "--help", "--version"} & set(
        sys.argv[1:]
    )
    if wants_generation:
        missing = [name for name in NEEDED if importlib.util.find_spec(name.split(".")[0]) is None]
        if missing:
            print(
                "create-fastapi-app: missing Python packages "
                f"({', '.join(missing)}); install them with:\n"
                f'  {sys.executable} -m pip install "{BUNDLE}"',
                file=sys.stderr,
            )
            return 3
    from fastapi_patterns.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
