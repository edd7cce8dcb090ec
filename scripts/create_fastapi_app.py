#!/usr/bin/env python3
"""Run create-fastapi-app straight from the bundle, without installing it.

`--detect`, `--help` and `--version` need only the standard library. Generating needs
jinja2 and ruamel.yaml (PyYAML is only for validating SKILL.md, in fastapi_patterns.skill);
when one is missing this prints the one command that installs them and exits with 3,
before anything is written.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

BUNDLE = Path(__file__).resolve().parent.parent
# What generating imports beyond the standard library.
NEEDED = ("jinja2", "ruamel.yaml")
MISSING_PACKAGES = 3


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(BUNDLE / "scripts"))
    try:
        from fastapi_patterns import cli  # the standard library only
    except KeyboardInterrupt:
        return 130
    return cli.run_quietly(lambda: _run(cli.main, argv))


def _run(command: Callable[[list[str]], int], argv: list[str]) -> int:
    # Asking argparse, not sniffing argv, decides what needs the packages: the command
    # imports them only when it is about to generate.
    try:
        return command(argv)
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in {name.split(".")[0] for name in NEEDED}:
            raise
    missing = [name for name in NEEDED if importlib.util.find_spec(name.split(".")[0]) is None]
    print(
        f"create-fastapi-app: missing Python packages ({', '.join(missing)}); install them"
        f' with:\n  {sys.executable} -m pip install "{BUNDLE}"',
        file=sys.stderr,
    )
    return MISSING_PACKAGES


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
