#!/usr/bin/env python3
"""Run create-fastapi-app straight from the bundle, without installing it.

`--detect`, `--help` and `--version` need only the standard library. Generating needs
jinja2 and ruamel.yaml (PyYAML is only for validating SKILL.md, in fastapi_patterns.skill);
when one is missing this prints the one command that installs them and exits with 3,
before anything is written. `fastapi_patterns_cli.py` runs the fastapi-patterns command
family the same way (`run_from_bundle`).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

BUNDLE = Path(__file__).resolve().parent.parent
# What generating imports beyond the standard library.
NEEDED = ("jinja2", "ruamel.yaml", "libcst")
MISSING_PACKAGES = 3


def main(argv: list[str]) -> int:
    return run_from_bundle("cli", "create-fastapi-app", argv)


def run_from_bundle(module: str, prog: str, argv: list[str]) -> int:
    """Run `fastapi_patterns.<module>.main(argv)` from this bundle as the command `prog`."""
    sys.path.insert(0, str(BUNDLE / "scripts"))
    try:
        from fastapi_patterns import cli  # the standard library only

        command = importlib.import_module(f"fastapi_patterns.{module}").main
    except KeyboardInterrupt:
        return 130
    return cli.run_quietly(lambda: _run(command, argv, prog))


def _run(command: Callable[[list[str]], int], argv: list[str], prog: str) -> int:
    # Asking argparse, not sniffing argv, decides what needs the packages: the command
    # imports them only when it is about to generate.
    try:
        return command(argv)
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in {name.split(".")[0] for name in NEEDED}:
            raise
    missing = [name for name in NEEDED if importlib.util.find_spec(name.split(".")[0]) is None]
    print(
        f"{prog}: missing Python packages ({', '.join(missing)}); install them"
        f' with:\n  {sys.executable} -m pip install "{BUNDLE}"',
        file=sys.stderr,
    )
    return MISSING_PACKAGES


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
