"""What can go wrong while generating, as one family of errors the CLI catches together.

Each error's message is one line meant for the user, and its class carries the exit
code the command ends with. Only the standard library: the CLI imports this first.
"""

from __future__ import annotations

USAGE_ERROR = 2  # the request cannot be done as asked; another command line can do it
WRITE_ERROR = 1  # the request was fine, but writing (or the bundle itself) failed


class GeneratorError(Exception):
    """A problem the user can see coming or fix; the message is one line."""

    exit_code = WRITE_ERROR


class OptionError(GeneratorError):
    """A bad app name, an unknown or contradictory option value."""

    exit_code = USAGE_ERROR


class ExistingAppError(GeneratorError):
    """The context already holds a FastAPI app and --force was not given."""

    exit_code = USAGE_ERROR


class ConflictError(GeneratorError):
    """Existing files would be overwritten; lists them."""

    exit_code = USAGE_ERROR

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths
        shown = ", ".join(paths[:10]) + (f" and {len(paths) - 10} more" if len(paths) > 10 else "")
        super().__init__(f"Refusing to overwrite existing files (use --force): {shown}")


class WriteError(GeneratorError):
    """Writing failed; nothing was left half-written."""


class TemplateError(GeneratorError):
    """The bundle's templates cannot make this project; names the template."""
