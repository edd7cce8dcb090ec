"""Command line: argparse -> library calls. Importing this module needs only the stdlib."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .detect import detect_project, format_summary
from .errors import USAGE_ERROR, WRITE_ERROR, GeneratorError
from .options import AUTHS, CHOICES, DATABASES, LAYOUTS, SERVERS

READER_GONE = 141  # 128 + SIGPIPE: what a shell reports for `git log | head`
INTERRUPTED = 130  # 128 + SIGINT: Ctrl-C
# `--detect` given without a value. argv cannot hold a NUL byte, so no PATH equals it.
_NO_PATH = "\0"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="create-fastapi-app",
        description="Generate a production FastAPI service, or detect a project's context.",
        # `--det` must not quietly mean --detect (nor become ambiguous when a flag is added).
        allow_abbrev=False,
    )
    parser.add_argument("name", nargs="?", help="distribution name of the new app, e.g. orders-api")
    parser.add_argument("--dir", type=Path, help="where to write the project (default: ./NAME)")
    parser.add_argument("--db", choices=DATABASES)
    redis = parser.add_mutually_exclusive_group()
    redis.add_argument("--redis", dest="redis", action="store_true", default=None)
    redis.add_argument("--no-redis", dest="redis", action="store_false")
    parser.add_argument("--auth", choices=AUTHS)
    parser.add_argument("--server", choices=SERVERS, help="what `python -m PACKAGE` serves with")
    parser.add_argument("--layout", choices=LAYOUTS)
    parser.add_argument("--python", metavar="3.X", help="lowest Python the project supports")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    parser.add_argument(
        "--no-env",
        dest="env",
        action="store_false",
        help="do not write the development .env (by default it is written, with a fresh"
        " SECRET_KEY, unless .env exists)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--detect",
        nargs="?",
        const=_NO_PATH,
        metavar="PATH",
        help="only report the detected context of PATH (default: .); PATH may also come"
        " after the other options",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def fail(message: str, code: int, as_json: bool, prog: str = "create-fastapi-app") -> int:
    """Report an error in one line (and as JSON on stdout with --json); returns `code`."""
    if as_json:
        print(json.dumps({"error": message}))
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


class UsageError(GeneratorError):
    """The command line asks for something that cannot be done; the message says why."""

    exit_code = USAGE_ERROR


def detect_path(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str | None:
    """The folder `--detect` reads, or None when the command generates.

    argparse takes an optional value only right after its flag, so `--detect --json ../svc`
    leaves the path in the app name's place: a lone positional is the path either way.
    """
    if args.detect is None:
        return None
    path: str = (args.name or ".") if args.detect == _NO_PATH else args.detect
    quoted = shown(path)
    if args.detect != _NO_PATH and args.name is not None:
        raise UsageError(
            f"--detect reads one folder but got two, {quoted} and {shown(args.name)};"
            " an app name cannot be given with --detect"
        )
    # Generation options would be silently ignored. (parse_args([]) rather than
    # get_default: --redis/--no-redis share a destination with two different defaults.)
    defaults = vars(parser.parse_args([]))
    ignored = [
        f"--{'no-' if value is False else ''}{dest.replace('_', '-')}"
        for dest, value in vars(args).items()
        if dest not in ("name", "detect", "json") and value != defaults[dest]
    ]
    if ignored:
        raise UsageError(
            f"{', '.join(ignored)} cannot be used with --detect, which only reads {quoted}"
        )
    if not os.path.isdir(path):
        problem = "does not exist" if not os.path.lexists(path) else "is not a folder"
        # `orders-api --detect`: say how the name was understood.
        hint = "; with --detect it names the folder to read" if args.name else ""
        raise UsageError(f"{quoted} {problem}{hint}")
    try:
        with os.scandir(path):
            pass
    except OSError as error:
        raise UsageError(f"{quoted} cannot be read: {error.strerror or error}") from None
    return path


def shown(path: str) -> str:
    """A path for a one-line message: quoted and escaped when it is empty or holds a
    newline, a control character or bytes that are not UTF-8."""
    return path if path and path.isprintable() else repr(path)


def _detect(path: str, as_json: bool) -> int:
    detection = detect_project(Path(path))
    if as_json:
        print(json.dumps(detection.to_dict(), indent=2, sort_keys=True))
    else:
        print(format_summary(detection))
    return 0


_ENV_DETAIL = {
    "created": " (development settings, mode 0600, not in the manifest)",
    "kept": " (it exists: never overwritten, not even with --force)",
    "skipped": "",
}


def _print_plan(summary: dict[str, Any]) -> None:
    verb = "Would write" if summary["dry_run"] else "Wrote"
    print(f"{verb} {summary['project']} to {summary['directory']}")
    for key, option in summary["options"].items():
        print(f"  {key:<16} {option['value']!s:<12} ({option['source']})")
    for label in ("created", "overwritten", "unchanged"):
        for path in summary[label]:
            print(f"  {label:<11} {path}")
    env = summary["env_file"]
    print(f"  {env['status']:<11} {env['path']}{_ENV_DETAIL[env['status']]}")
    for warning in summary["warnings"]:
        print(f"warning: {warning}")
    # The same lines as `next_steps` in --json: each runs as printed, in one shell.
    print("Next steps, in one shell (the last one serves the app):")
    for step in summary["next_steps"]:
        print(f"  {step}")
    for note in summary["next_steps_notes"]:
        print(note)


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: the command, ending quietly however the user ends it."""
    return run_quietly(lambda: _main(argv))


def run_quietly(command: Callable[[], int]) -> int:
    """Run a command so that nothing a user can cause ends in a traceback.

    A reader that goes away (`| head`) ends it like git with 141, Ctrl-C with 130, both
    silently; a failing disk or permission becomes one line and exit 1. Paths that are not
    UTF-8 are printed with backslash escapes instead of failing to encode.
    """
    if getattr(sys.stdout, "errors", None) == "strict" and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        code = command()
        if sys.stdout is not None:  # None when started with stdout closed (`>&-`)
            sys.stdout.flush()  # here, not at exit, so a reader gone meanwhile is caught below
    except BrokenPipeError:
        _discard_unwritable_output()
        return READER_GONE
    except KeyboardInterrupt:
        _discard_unwritable_output()
        return INTERRUPTED
    except OSError as error:
        _discard_unwritable_output()  # `> /dev/full`: the final flush would fail again
        where = f"{error.filename}: " if error.filename else ""
        try:
            return fail(f"{where}{error.strerror or error}", WRITE_ERROR, False)
        except OSError:  # stderr cannot be written either
            _discard_unwritable_output()
            return WRITE_ERROR
    return code


def _discard_unwritable_output() -> None:
    """Point stdout/stderr at /dev/null when their reader is gone, so the interpreter's
    final flush does not complain either."""
    for stream in (sys.stdout, sys.stderr):
        if stream is None:
            continue
        try:
            stream.flush()
        except OSError:
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())
                os.close(devnull)
            except (OSError, ValueError):
                pass  # not a real file (captured output): nothing will flush it later


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        path = detect_path(parser, args)
    except UsageError as error:
        return fail(str(error), error.exit_code, args.json)
    if path is not None:
        return _detect(path, args.json)
    if args.name is None:
        return fail("give the app name, e.g. create-fastapi-app orders-api", USAGE_ERROR, args.json)

    try:
        return generate_and_report(args)
    except GeneratorError as error:
        return fail(str(error), error.exit_code, args.json)


def generate_and_report(args: argparse.Namespace) -> int:
    """Generate from parsed arguments and print the summary; raises GeneratorError."""
    # Imported late so --detect works before jinja2 is installed.
    from .generate import generate

    generation = generate(
        args.name,
        args.dir,
        force=args.force,
        dry_run=args.dry_run,
        env=args.env,
        **{key: getattr(args, key) for key in CHOICES},
    )
    summary = generation.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_plan(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
