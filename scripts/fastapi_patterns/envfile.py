"""The development `.env`: `.env.example` with a fresh SECRET_KEY, so the app starts as is.

Unlike every other generated file it is random, private (mode 0600), never overwritten,
and left out of the manifest and the golden copies: it belongs to the developer.
"""

from __future__ import annotations

import re
import secrets

ENV_FILE = ".env"
EXAMPLE_FILE = ".env.example"
# 64 bytes of entropy, 86 characters: long enough for HS512, the strictest algorithm.
SECRET_BYTES = 64

_EMPTY_SECRET = re.compile(rb"^SECRET_KEY=$", re.MULTILINE)
_HEADER = (
    b"# Local development settings, written once by create-fastapi-app from .env.example.\n"
    b"# Git-ignored and private to you: keep it out of version control and logs.\n"
)


def development_env(example: bytes, *, needs_secret: bool) -> bytes:
    """The example's settings under a header of their own, with SECRET_KEY filled in."""
    # The example's first paragraph is its header comment; the settings follow.
    _, _, settings = example.partition(b"\n\n")
    if needs_secret:
        key = secrets.token_urlsafe(SECRET_BYTES).encode()
        settings, count = _EMPTY_SECRET.subn(b"SECRET_KEY=" + key, settings)
        if count != 1:
            raise ValueError(f"{EXAMPLE_FILE} must have exactly one empty SECRET_KEY= line.")
    return _HEADER + b"\n" + settings
