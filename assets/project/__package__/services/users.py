"""User use cases: sign-up, password authentication, lookup and listing."""

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.security import PasswordHasher
from ..models import User
from ..schemas import UserCreate, UserPage, UserRead


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

    async def get_active(self, user_id: int) -> UserRead | None:
        user = await self._session.get(User, user_id)
        if user is None or not user.is_active:
            return None
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
