"""Whether the suite runs under CI, decided in one place.

Under CI a test that lacks a program or server it needs must fail, never skip: a skipped
test in CI is a check that silently stopped running. CI services set CI to "true" (GitHub,
GitLab), "True" or "1"; anything else, or nothing, means a developer's machine.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

_TRUE = frozenset({"true", "1", "yes"})


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in _TRUE


def missing(message: str) -> NoReturn:
    """Fail the calling test under CI, skip it elsewhere; `message` says what is missing
    and how to get it."""
    if in_ci():
        pytest.fail(f"{message} (CI is set, so this is a failure rather than a skip.)", False)
    pytest.skip(message)
