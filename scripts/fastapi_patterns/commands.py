"""`fastapi-patterns`: one parser for the command family (new, detect, audit, add, update).

`new` takes exactly the options of `create-fastapi-app` (its parser is the parent of `new`'s),
and every subcommand reports a problem the same way: one line on stderr, `{"error": ...}` on
stdout under --json, and the exit code of the error's class (errors.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .cli import UsageError, build_parser, fail, generate_and_report, run_quietly, shown
from .errors import GeneratorError
from .update import cli as update_cli

if TYPE_CHECKING:
    from .audit import AuditReport

PROG = "fastapi-patterns"
INTERNAL_ERROR = 2  # as ruff: a bug of ours is not a finding
# Files or folders whose presence marks a project's root, for paths given inside one.
_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")


def build_command_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Create, inspect and audit FastAPI services with production patterns.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    # `new` is create-fastapi-app: its own parser is the parent, so the options cannot drift.
    new = commands.add_parser(
        "new",
        parents=[build_parser()],
        conflict_handler="resolve",
        allow_abbrev=False,
        help="generate a production FastAPI service (same options as create-fastapi-app)",
        description="Generate a production FastAPI service (same as create-fastapi-app).",
    )
    for action in new._actions:
        if action.dest == "detect":  # that is `fastapi-patterns detect` here
            action.help = argparse.SUPPRESS

    detect = commands.add_parser(
        "detect",
        allow_abbrev=False,
        help="report what the generator detects about a project (read-only)",
        description="Report the detected context of a project: layout, app, database, Python.",
    )
    detect.add_argument("path", nargs="?", default=".", metavar="PATH", help="default: .")
    detect.add_argument("--json", action="store_true", help="machine-readable output")

    audit = commands.add_parser(
        "audit",
        allow_abbrev=False,
        help="find the anti-patterns the skill forbids in an existing project",
        description="Audit a FastAPI project for anti-patterns (our FPA rules plus ruff's"
        " FAST and ASYNC rules when ruff is installed). Exit 0: clean, 1: findings,"
        " 2: usage or internal error.",
    )
    audit.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: .)")
    audit.add_argument(
        "--format", choices=("text", "json", "sarif", "github"), help="default: text"
    )
    audit.add_argument("--json", action="store_true", help="same as --format json")
    audit.add_argument(
        "--select", metavar="CODES", help="comma-separated codes or prefixes, e.g. FPA1,ASYNC"
    )
    audit.add_argument("--ignore", metavar="CODES", help="comma-separated codes or prefixes")
    audit.add_argument(
        "--no-ruff", dest="ruff", action="store_false", help="do not run ruff's FAST/ASYNC rules"
    )
    audit.add_argument(
        "--fix",
        action="store_true",
        help="apply the automatic fixes (FPA301, FPA304, FPA311), then audit again",
    )
    audit.add_argument("--dry-run", action="store_true", help="with --fix: print the diff only")
    audit.add_argument(
        "--force", action="store_true", help="with --fix: patch files with uncommitted changes"
    )

    try:
        from .add.patterns import ALL, PATTERNS
    except ModuleNotFoundError as error:
        # Only `add` needs jinja2 and libcst: detect and audit run on the standard library
        # alone (the bundle's shim, /fastapi-audit), so the parser must build without them.
        available = names = f"unavailable ({error.name} is not installed)"
    else:
        available = "; ".join(f"{name}: {p.summary}" for name, p in PATTERNS.items())
        available += f"; {ALL}: every one"
        names = ", ".join([*PATTERNS, ALL])
    add = commands.add_parser(
        "add",
        allow_abbrev=False,
        help="add the bundle's patterns to an existing FastAPI app",
        usage=f"{PROG} add PATTERN... [PATH] [--app MODULE:ATTR] [--dry-run] [--json] [--force]",
        description=f"Add patterns to an existing FastAPI app: new modules, and a minimal"
        f" wiring patch of the app's module (imports and calls only). Patterns: {available}."
        " Exit 0: done (or nothing to do), 1: refused (nothing written), 2: usage error.",
    )
    add.add_argument(
        "items",
        nargs="+",
        metavar="PATTERN",
        help=f"one or more of {names}, then the project folder (default: .)",
    )
    add.add_argument("--app", metavar="MODULE:ATTR", help="the app to wire, e.g. app.main:app")
    add.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    add.add_argument(
        "--force", action="store_true", help="patch files that have uncommitted git changes"
    )
    add.add_argument("--json", action="store_true", help="machine-readable output")
    update_cli.add_parser(commands)
    return parser


def _new(args: argparse.Namespace) -> int:
    if args.detect is not None:
        raise UsageError("use `fastapi-patterns detect [PATH]` to detect a project's context")
    if args.name is None:
        raise UsageError("give the app name, e.g. fastapi-patterns new orders-api")
    return generate_and_report(args)  # the same generation and summary as create-fastapi-app


def _detect(args: argparse.Namespace) -> int:
    from .detect import detect_project, format_summary

    path = args.path
    if not os.path.isdir(path):
        problem = "does not exist" if not os.path.lexists(path) else "is not a folder"
        raise UsageError(f"{shown(path)} {problem}")
    detection = detect_project(Path(path))
    if args.json:
        print(json.dumps(detection.to_dict(), indent=2, sort_keys=True))
    else:
        print(format_summary(detection))
    return 0


def audit_root(paths: Sequence[Path]) -> Path:
    """Where finding paths are relative to: the current folder when every path is inside it
    (so paths are clickable, as ruff's), else the project around the given paths."""
    cwd = Path.cwd().resolve()
    resolved = [p.resolve() for p in paths] or [cwd]
    if all(p == cwd or cwd in p.parents for p in resolved):
        return cwd
    common = Path(os.path.commonpath(resolved))
    start = common if common.is_dir() else common.parent
    for folder in [start, *start.parents]:
        if any((folder / marker).exists() for marker in _PROJECT_MARKERS):
            return folder
    return start


def _audit(args: argparse.Namespace) -> int:
    from .audit import audit
    from .audit.output import FORMATTERS
    from .audit.suppress import split_option

    output = "json" if args.json else (args.format or "text")
    if args.json and args.format not in (None, "json"):
        raise UsageError(f"--json and --format {args.format} ask for two different outputs")
    paths = [Path(p) for p in args.paths]
    for path in paths:
        if not path.exists():
            raise UsageError(f"{shown(str(path))} does not exist")
    if (args.dry_run or args.force) and not args.fix:
        raise UsageError(f"{'--dry-run' if args.dry_run else '--force'} goes with --fix")

    def run_audit() -> AuditReport:
        return audit(
            audit_root(paths),
            [p.resolve() for p in paths] or None,
            select=split_option(args.select),
            ignore=split_option(args.ignore),
            use_ruff=args.ruff,
        )

    report = run_audit()
    if args.fix:
        fixed = _fix(report, args, output)
        if fixed and not args.dry_run:
            report = run_audit()  # what is left after the fixes
    sys.stdout.write(FORMATTERS[output](report))
    if output in ("text", "github"):
        for warning in report.warnings:
            print(f"{PROG}: warning: {warning}", file=sys.stderr)
    for error in report.errors:
        print(f"{PROG}: error: {error}", file=sys.stderr)
    return report.exit_code


def _fix(report: AuditReport, args: argparse.Namespace, output: str) -> int:
    """Apply (or, with --dry-run, diff) the automatic fixes; the number of findings fixed.
    The diff and what was done go to stdout in text format, to stderr otherwise."""
    from .add.fixes import fix_findings

    result = fix_findings(report.root, report.findings, dry_run=args.dry_run, force=args.force)
    stream = sys.stdout if output == "text" else sys.stderr
    if args.dry_run:
        stream.write(result.diff)
    verb = "would fix" if args.dry_run else "fixed"
    for path, codes in result.fixed.items():
        print(f"{verb}: {path} ({', '.join(sorted(set(codes)))})", file=stream)
    for reason in result.skipped:
        print(f"not fixed: {reason}", file=stream)
    print(f"{verb} {result.count} finding{'s' * (result.count != 1)}.", file=stream)
    return result.count


def _add(args: argparse.Namespace) -> int:
    from .add.engine import add_patterns
    from .add.patterns import ALL, PATTERNS
    from .add.refusal import AddRefused

    names = list(args.items)
    path = "."
    if names[-1] not in PATTERNS and names[-1] != ALL and len(names) > 1:
        path = names.pop()
    unknown = [n for n in names if n not in PATTERNS and n != ALL]
    if unknown:
        raise UsageError(
            f"unknown pattern {shown(unknown[0])}; choose from {', '.join([*PATTERNS, ALL])}"
        )
    if not os.path.isdir(path):
        problem = "does not exist" if not os.path.lexists(path) else "is not a folder"
        raise UsageError(f"{shown(path)} {problem}")
    try:
        result = add_patterns(
            Path(path), names, app=args.app, dry_run=args.dry_run, force=args.force
        )
    except AddRefused as refusal:
        if args.json:
            print(json.dumps({"error": str(refusal), "manual": refusal.manual}))
        else:
            for line in refusal.manual:
                print(line)
        print(f"{PROG}: error: {refusal}", file=sys.stderr)
        return refusal.exit_code
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    if args.dry_run:
        sys.stdout.write(result.diff)
    labels = ("would create", "would patch") if args.dry_run else ("created", "patched")
    for label, paths in zip(labels, (result.created, result.patched), strict=True):
        for rel in paths:
            print(f"{label}: {rel}")
    if not result.created and not result.patched:
        print(f"{result.app}: {', '.join(result.patterns)} already in place; nothing to do.")
    for note in result.notes:
        print(f"note: {note}")
    for warning in result.warnings:
        print(f"{PROG}: warning: {warning}", file=sys.stderr)
    return 0


def _run(argv: Sequence[str] | None) -> int:
    parser = build_command_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # argparse cannot give `add`'s PATH back once options came between it and the patterns.
        if args.command == "add" and not any(item.startswith("-") for item in extra):
            args.items += extra
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    as_json = bool(getattr(args, "json", False)) or getattr(args, "format", None) == "json"
    command = {
        "new": _new,
        "detect": _detect,
        "audit": _audit,
        "add": _add,
        "update": update_cli.run,
    }[args.command]
    try:
        return command(args)
    except GeneratorError as error:
        return fail(str(error), error.exit_code, as_json, PROG)
    except (RecursionError, MemoryError) as error:
        # a pathological file (thousands of nested brackets) must not end in a traceback
        message = f"internal error: {type(error).__name__} (input too deeply nested?)"
        return fail(message, INTERNAL_ERROR, as_json, PROG)


def main(argv: Sequence[str] | None = None) -> int:
    """The console script `fastapi-patterns`."""
    return run_quietly(lambda: _run(argv))


if __name__ == "__main__":
    raise SystemExit(main())
