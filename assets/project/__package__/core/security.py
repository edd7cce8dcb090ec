"""Access tokens (PyJWT, HMAC with a pinned algorithm) and password hashing (argon2).

Tokens carry `sub` (the user id), `iat` and `exp`, plus `aud`/`iss` when JWT_AUDIENCE /
JWT_ISSUER are set; decoding requires all of them and accepts only JWT_ALGORITHM, so
`alg: none` and algorithm-confusion tokens are refused.
"""

import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pwdlib import PasswordHash
from starlette.concurrency import run_in_threadpool

from ..schemas import MAX_ID
from .config import Settings
from .expiring import ExpiringMap


class InvalidTokenError(Exception):
    """The token is malformed, expired, signed with another key, or lacks a claim."""


def create_access_token(subject: str, settings: Settings) -> tuple[str, int]:
    """A signed token for `subject` and its lifetime in seconds."""
    now = datetime.now(UTC)
    lifetime = timedelta(minutes=settings.access_token_expire_minutes)
    claims: dict[str, Any] = {"sub": subject, "iat": now, "exp": now + lifetime}
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    token = jwt.encode(
        claims, settings.secret_key.get_secret_value(), algorithm=settings.jwt_algorithm
    )
    return token, int(lifetime.total_seconds())


def decode_access_token(token: str, settings: Settings) -> int:
    """The user id of a valid token; raises `InvalidTokenError` otherwise."""
    return _decode(token, settings)[0]


def _decode(token: str, settings: Settings) -> tuple[int, float]:
    """The user id and expiry (a Unix time) of a valid token."""
    required = ["exp", "iat", "sub"]
    if settings.jwt_audience:
        required.append("aud")
    if settings.jwt_issuer:
        required.append("iss")
    try:
        claims = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": required},
        )
    except jwt.InvalidTokenError as exc:
        raise InvalidTokenError(str(exc)) from exc
    subject = claims["sub"]
    # Bounded before int(): a larger id would reach the database as an out-of-range error.
    if not (
        isinstance(subject, str)
        and subject.isascii()
        and subject.isdecimal()
        and len(subject) <= len(str(MAX_ID))
        and 1 <= int(subject) <= MAX_ID
    ):
        raise InvalidTokenError("The sub claim is not a user id.")
    return int(subject), float(claims["exp"])


class AccessTokens:
    """`decode_access_token` for every authenticated request, remembering valid tokens.

    Clients send the same token until it expires, and checking its signature and claims
    costs more CPU than the rest of a cached request's authentication. A token that
    decoded once is kept, by its exact text, until its own `exp`: the answer could not
    change before then, as the key and the rules are fixed for the life of the process.
    Invalid tokens are never kept. At most `max_entries` are kept (`ExpiringMap`: emptied
    when full). `checks` counts the tokens checked in full, valid or not; `clock` is the
    Unix time `exp` is compared with.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._kept: ExpiringMap[str, int] = ExpiringMap(max_entries=max_entries)
        self.checks = 0

    def user_id(self, token: str) -> int:
        """The user id of a valid token; raises `InvalidTokenError` otherwise."""
        kept = self._kept.get(token, self._clock())
        if kept is not None:
            return kept
        self.checks += 1
        user_id, expires = _decode(token, self._settings)
        self._kept.put(token, user_id, expires)
        return user_id


class PasswordHasher:
    """argon2 hashing, run in worker threads so the event loop never waits on it.

    `warmup()` (called by the lifespan) computes the hash used for unknown users, so a
    login for an unknown email costs as much as one with a wrong password.

    `password_hash` replaces argon2's recommended parameters; the tests pass cheap ones
    (the recommended cost is about 0.1 s and 64 MiB per hash, on purpose). Hashes made
    with other parameters still verify, and are upgraded at the next login.
    """

    def __init__(self, password_hash: PasswordHash | None = None) -> None:
        self._hash = PasswordHash.recommended() if password_hash is None else password_hash
        self._dummy_hash = ""

    async def warmup(self) -> None:
        self._dummy_hash = await self.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await run_in_threadpool(self._hash.hash, password)

    async def verify(self, password: str, hashed: str) -> tuple[bool, str | None]:
        """Whether `password` matches, and a new hash when the stored one is outdated."""
        return await run_in_threadpool(self._hash.verify_and_update, password, hashed)

    async def verify_dummy(self, password: str) -> None:
        """Spend the time of one verification, for an unknown user."""
        await run_in_threadpool(self._hash.verify, password, self._dummy_hash)
