"""The one error `add` raises when it will not change the project, with the manual lines."""

from __future__ import annotations

from ..errors import WRITE_ERROR, GeneratorError


class AddRefused(GeneratorError):
    """Nothing was written; `manual` holds the exact lines a person can add instead."""

    exit_code = WRITE_ERROR

    def __init__(self, message: str, manual: list[str] | None = None) -> None:
        super().__init__(message)
        self.manual = manual or []
