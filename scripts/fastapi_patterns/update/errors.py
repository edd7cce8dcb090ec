"""The one error `update` raises for what a user can cause or fix; one line each."""

from __future__ import annotations

from ..errors import USAGE_ERROR, GeneratorError


class UpdateError(GeneratorError):
    """The project cannot be updated as asked; the message says why and what to do."""

    exit_code = USAGE_ERROR
