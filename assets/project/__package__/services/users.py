"""User use cases: sign-up, password authentication, lookup and listing."""

import time
from collections.abc import Callable

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.expiring import ExpiringMap
from ..core.security import PasswordHasher
from ..db import ReadEngine, read_rows
from ..models import User
from ..schemas import UserCreate, UserPage, UserRead

# The user a token names, as plain columns of the response model, built once.
_USERS = User.__table__.c
_USER_BY_ID = select(*(_USERS[name] for name in UserRead.model_fields)).where(
    _USERS.id == bindparam("user_id")
)


class EmailTakenError(Exception):
    """A user with this email already exists."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


class UserService:
    def __init__(self, session: AsyncSession, passwords: PasswordHasher) -> None:
        self._session = session
        self._passwords = passwords

    async def create(self, data: UserCreate, *, is_admin: bool = False) -> UserRead:
        email = normalize_email(data.email)
        if await self._by_email(email) is not None:
            raise EmailTakenError(email)
        user = User(
            email=email,
            hashed_password=await self._passwords.hash(data.password),
            full_name=data.full_name,
            is_admin=is_admin,
        )
        self._session.add(user)
        try:
            await self._session.flush()
        except IntegrityError as exc:  # a concurrent sign-up with the same email won
            raise EmailTakenError(email) from exc
        return UserRead.model_validate(user)

    async def authenticate(self, email: str, password: str) -> UserRead | None:
        """The active user with these credentials, or None.

        Unknown emails cost one hash verification too, so response times do not reveal
        which emails are registered.
        """
        email = normalize_email(email)
        # The form field is free text: one with NUL (which PostgreSQL refuses) is no email.
        user = None if "\x00" in email else await self._by_email(email)
        if user is None:
            await self._passwords.verify_dummy(password)
            return None
        valid, new_hash = await self._passwords.verify(password, user.hashed_password)
        if not valid or not user.is_active:
            return None
        if new_hash is not None:  # hashed with outdated parameters: upgrade it now
            user.hashed_password = new_hash
        return UserRead.model_validate(user)

    async def page(self, *, limit: int, offset: int) -> UserPage:
        total = await self._session.scalar(select(func.count()).select_from(User)) or 0
        rows = await self._session.scalars(
            select(User).order_by(User.id).limit(limit).offset(offset)
        )
        users = [UserRead.model_validate(row) for row in rows]
        return UserPage(items=users, total=total, limit=limit, offset=offset)

    async def _by_email(self, email: str) -> User | None:
        user: User | None = await self._session.scalar(select(User).where(User.email == email))
        return user


class ActiveUsers:
    """The active user behind a token's subject, for every authenticated request.

    With `ttl_seconds` > 0 a user found active is kept in this process for that long, so
    most requests skip the lookup. The trade-off: a user deactivated in the database
    keeps access to `CurrentUser` routes for up to `ttl_seconds` in each process that has
    them (references/auth.md); `fresh=True` (`/users/me`, administrator routes) always
    asks the database. Code that changes a user calls `forget(user_id)` after its commit
    (`db.after_commit`), which ends that at once in this process. A lookup takes its own
    connection for one statement (`db.read_rows`), so it never holds one while the
    request's own session waits. At most `max_entries` users are kept (`ExpiringMap`:
    emptied when full); `clock` measures the time to live.
    """

    def __init__(
        self,
        engine: ReadEngine,
        *,
        ttl_seconds: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._ttl = ttl_seconds
        self._clock = clock
        self._kept: ExpiringMap[int, UserRead] = ExpiringMap(max_entries=max_entries)

    async def get(self, user_id: int, *, fresh: bool = False) -> UserRead | None:
        now = self._clock()
        if not fresh and (kept := self._kept.get(user_id, now)) is not None:
            return kept
        rows = await read_rows(self._engine, _USER_BY_ID, {"user_id": user_id})
        row = rows[0] if rows else None
        if row is None or not row["is_active"]:
            self._kept.discard(user_id)
            return None
        user = UserRead.model_validate(row)
        if self._ttl > 0:
            self._kept.put(user_id, user, now + self._ttl)
        return user

    def forget(self, user_id: int) -> None:
        """Drop a kept user, so the next request reads their current state."""
        self._kept.discard(user_id)
