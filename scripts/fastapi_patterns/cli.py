"""Command line: argparse -> library calls. Importing this module needs only the stdlib."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .detect import detect_project, format_summary

USAGE_ERROR = 2
WRITE_ERROR = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="create-fastapi-app",
        description="Generate a production FastAPI service, or detect a project's context.",
    )
    parser.add_argument("name", nargs="?", help="distribution name of the new app, e.g. orders-api")
    parser.add_argument("--dir", type=Path, help="where to write the project (default: ./NAME)")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "mysql", "none"])
    redis = parser.add_mutually_exclusive_group()
    redis.add_argument("--redis", dest="redis", action="store_true", default=None)
    redis.add_argument("--no-redis", dest="redis", action="store_false")
    parser.add_argument("--auth", choices=["jwt", "none"])
    parser.add_argument("--layout", choices=["flat", "src"])
    parser.add_argument("--python", metavar="3.X", help="lowest Python the project supports")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--detect",
        nargs="?",
        const=".",
        metavar="PATH",
        help="only report the detected context of PATH (default: .)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _fail(message: str, code: int, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"error": message}))
    print(f"create-fastapi-app: error: {message}", file=sys.stderr)
    return code


def _detect(path: str, as_json: bool) -> int:
    detection = detect_project(Path(path))
    if as_json:
        print(json.dumps(detection.to_dict(), indent=2, sort_keys=True))
    else:
        print(format_summary(detection))
    return 0


def _print_plan(summary: dict[str, Any]) -> None:
    verb = "Would write" if summary["dry_run"] else "Wrote"
    print(f"{verb} {summary['project']} to {summary['directory']}")
    for key, option in summary["options"].items():
        print(f"  {key:<16} {option['value']!s:<12} ({option['source']})")
    for label in ("created", "overwritten", "unchanged"):
        for path in summary[label]:
            print(f"  {label:<11} {path}")
    for warning in summary["warnings"]:
        print(f"warning: {warning}")
    print("Next steps:")
    for step in summary["next_steps"]:
        print(f"  {step}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.detect is not None:
        return _detect(args.detect, args.json)
    if args.name is None:
        return _fail(
            "give the app name, e.g. create-fastapi-app orders-api", USAGE_ERROR, args.json
        )

    # Imported late so --detect works before jinja2 is installed.
    from .generate import ExistingAppError, generate
    from .options import OptionError
    from .render import TemplateError
    from .write import ConflictError, WriteError

    try:
        generation = generate(
            args.name,
            args.dir,
            db=args.db,
            redis=args.redis,
            auth=args.auth,
            layout=args.layout,
            python=args.python,
            force=args.force,
            dry_run=args.dry_run,
        )
    except (OptionError, ConflictError, ExistingAppError) as error:
        return _fail(str(error), USAGE_ERROR, args.json)
    except (WriteError, TemplateError) as error:
        return _fail(str(error), WRITE_ERROR, args.json)
    summary = generation.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_plan(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
